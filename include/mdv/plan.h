/* Journey plans (DESIGN.md §3): the steps an owner service publishes first
 * for each kind it owns, with their owners, French labels and délais
 * annoncés, read at start from the owner's rules/plans.json:
 *
 *   {"year": 2026, "source": "...",
 *    "plans": [{"kind": "bereavement", "steps": [
 *        {"code": "...", "owner": "...", "administration": "...",
 *         "label": "...", "due_days": 1, "source": "..."}, ...]}]}
 *
 * Every step names its source: the délai annoncé is official data. */
#ifndef MDV_PLAN_H
#define MDV_PLAN_H

#include <stddef.h>
#include <time.h>

#include "mdv/journey/v1/journey.pb-c.h"
#include "mdv/service.h"

struct mdv_plan_step {
    const char *code;
    const char *owner;
    const char *administration;
    const char *label;
    int due_days;
};

struct mdv_plan {
    const char *kind;
    struct mdv_plan_step *steps;
    size_t count;
};

struct mdv_plans;

/* Loads and checks the file; says what is wrong (file, plan, step) on
 * stderr and returns NULL. Free with mdv_plans_free. */
struct mdv_plans *mdv_plans_load(const char *path) MDV_MUSTCHECK;
void mdv_plans_free(struct mdv_plans *plans);

/* The plan of kind, or NULL when this owner has none. Points into plans. */
const struct mdv_plan *mdv_plans_find(const struct mdv_plans *plans, const char *kind);
/* The step of that code in the plan, or NULL. */
const struct mdv_plan_step *mdv_plan_step(const struct mdv_plan *plan, const char *code);

/* Emits <owner>.journey_planned for journey_id in the message's
 * transaction, each due_at counted from submitted (the declaration's
 * submitted_at, RFC 3339; now when it cannot be read). */
int mdv_plan_publish(struct mdv_msg *msg, const struct mdv_plan *plan, const char *journey_id,
                     const char *submitted) MDV_MUSTCHECK;

/* Emits <owner>.steps_added: steps (given by code, taken from plan) join a
 * journey that is already planned; the projection merges them. */
int mdv_plan_add_steps(struct mdv_msg *msg, const struct mdv_plan *plan, const char *journey_id,
                       const char *const *codes, size_t n, const char *submitted) MDV_MUSTCHECK;

#endif
