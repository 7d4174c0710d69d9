/* The plan of a bereavement journey: its steps, owners, French labels and
 * délais annoncés, read from rules/plan.json at start. */
#ifndef BEREAVEMENT_PLAN_H
#define BEREAVEMENT_PLAN_H

#include <stddef.h>
#include <time.h>

#include "mdv/journey/v1/journey.pb-c.h"

struct plan_step {
    const char *code;
    const char *owner;
    const char *administration;
    const char *label;
    int due_days;
};

struct plan {
    struct plan_step *steps;
    size_t count;
    void *json; /* owns the strings */
};

/* Loads and checks the file; prints file:line on error. Returns NULL on
 * error; free with plan_free. */
struct plan *plan_load(const char *path);
void plan_free(struct plan *plan);

/* Fills a JourneyPlanned for journey_id, due dates counted from
 * submitted. The message points into plan and into storage, an array of
 * plan->count steps and pointers the caller provides, plus due, an array
 * of plan->count strings of MDV_TIME_LEN. */
void plan_to_message(const struct plan *plan, const char *journey_id, time_t submitted,
                     Mdv__Journey__V1__JourneyPlanned *out, Mdv__Journey__V1__PlannedStep *steps,
                     Mdv__Journey__V1__PlannedStep **step_ptrs, char (*due)[32]);

#endif
