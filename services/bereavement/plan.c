/* Reading the journey plan data file. */
#include "plan.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "mdv/log.h"
#include "mdv/util.h"

static int read_step(json_t *item, struct plan_step *step, size_t index, const char *path)
{
    json_error_t error;
    if (json_unpack_ex(item, &error, JSON_STRICT, "{s:s, s:s, s:s, s:s, s:i, s:s}", "code",
                       &step->code, "owner", &step->owner, "administration", &step->administration,
                       "label", &step->label, "due_days", &step->due_days, "source",
                       &(const char *){NULL}) != 0) {
        fprintf(stderr, "%s: steps[%zu]: %s\n", path, index, error.text);
        return -1;
    }
    if (step->due_days < 0) {
        fprintf(stderr, "%s: steps[%zu]: due_days must not be negative\n", path, index);
        return -1;
    }
    return 0;
}

struct plan *plan_load(const char *path)
{
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);
    if (!root) {
        fprintf(stderr, "%s:%d: %s\n", path, error.line, error.text);
        return NULL;
    }
    json_t *steps = json_object_get(root, "steps");
    if (!json_is_array(steps) || json_array_size(steps) == 0) {
        fprintf(stderr, "%s: \"steps\" must be a non-empty list\n", path);
        json_decref(root);
        return NULL;
    }
    struct plan *plan = mdv_xcalloc(1, sizeof(*plan));
    plan->json = root;
    plan->count = json_array_size(steps);
    plan->steps = mdv_xcalloc(plan->count, sizeof(*plan->steps));
    for (size_t i = 0; i < plan->count; i++) {
        if (read_step(json_array_get(steps, i), &plan->steps[i], i, path) != 0) {
            plan_free(plan);
            return NULL;
        }
    }
    return plan;
}

void plan_free(struct plan *plan)
{
    if (!plan)
        return;
    json_decref(plan->json);
    free(plan->steps);
    free(plan);
}

void plan_to_message(const struct plan *plan, const char *journey_id, time_t submitted,
                     Mdv__Journey__V1__JourneyPlanned *out, Mdv__Journey__V1__PlannedStep *steps,
                     Mdv__Journey__V1__PlannedStep **step_ptrs, char (*due)[32])
{
    for (size_t i = 0; i < plan->count; i++) {
        mdv__journey__v1__planned_step__init(&steps[i]);
        mdv_time_plus_days(submitted, plan->steps[i].due_days, due[i]);
        steps[i].code = (char *)plan->steps[i].code;
        steps[i].owner = (char *)plan->steps[i].owner;
        steps[i].administration = (char *)plan->steps[i].administration;
        steps[i].label = (char *)plan->steps[i].label;
        steps[i].due_at = due[i];
        step_ptrs[i] = &steps[i];
    }
    out->journey_id = (char *)journey_id;
    out->kind = "bereavement";
    out->n_steps = plan->count;
    out->steps = step_ptrs;
}
