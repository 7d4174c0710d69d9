/* Journey plans: reading an owner's rules/plans.json and publishing a
 * plan, or steps added to one. */
#include "mdv/plan.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/log.h"
#include "mdv/util.h"

struct mdv_plans {
    struct mdv_plan *plans;
    size_t count;
    json_t *json; /* owns the strings */
};

static int read_step(json_t *item, struct mdv_plan_step *step, const char *where)
{
    json_error_t error;
    if (json_unpack_ex(item, &error, JSON_STRICT, "{s:s, s:s, s:s, s:s, s:i, s:s}", "code",
                       &step->code, "owner", &step->owner, "administration", &step->administration,
                       "label", &step->label, "due_days", &step->due_days, "source",
                       &(const char *){NULL}) != 0) {
        fprintf(stderr, "%s: %s\n", where, error.text);
        return -1;
    }
    if (step->due_days < 0) {
        fprintf(stderr, "%s: due_days must not be negative\n", where);
        return -1;
    }
    return 0;
}

static int read_plan(json_t *item, struct mdv_plan *plan, const char *path, size_t index)
{
    json_error_t error;
    json_t *steps = NULL;
    if (json_unpack_ex(item, &error, JSON_STRICT, "{s:s, s:o}", "kind", &plan->kind, "steps",
                       &steps) != 0) {
        fprintf(stderr, "%s: plans[%zu]: %s\n", path, index, error.text);
        return -1;
    }
    if (!json_is_array(steps) || json_array_size(steps) == 0) {
        fprintf(stderr, "%s: plans[%zu] (%s): \"steps\" must be a non-empty list\n", path, index,
                plan->kind);
        return -1;
    }
    plan->count = json_array_size(steps);
    plan->steps = mdv_xcalloc(plan->count, sizeof(*plan->steps));
    for (size_t i = 0; i < plan->count; i++) {
        char where[256];
        snprintf(where, sizeof(where), "%s: plans[%zu] (%s): steps[%zu]", path, index, plan->kind,
                 i);
        if (read_step(json_array_get(steps, i), &plan->steps[i], where) != 0)
            return -1;
    }
    return 0;
}

struct mdv_plans *mdv_plans_load(const char *path)
{
    json_error_t error;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        fprintf(stderr, "%s:%d: %s\n", path, error.line, error.text);
        return NULL;
    }
    json_t *list = json_object_get(root, "plans");
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        !json_is_integer(json_object_get(root, "year")) ||
        !json_is_string(json_object_get(root, "source"))) {
        fprintf(stderr, "%s: needs \"year\", \"source\" and a non-empty \"plans\" list\n", path);
        json_decref(root);
        return NULL;
    }
    struct mdv_plans *plans = mdv_xcalloc(1, sizeof(*plans));
    plans->json = root;
    plans->count = json_array_size(list);
    plans->plans = mdv_xcalloc(plans->count, sizeof(*plans->plans));
    for (size_t i = 0; i < plans->count; i++) {
        if (read_plan(json_array_get(list, i), &plans->plans[i], path, i) != 0 ||
            mdv_plans_find(plans, plans->plans[i].kind) != &plans->plans[i]) {
            if (mdv_plans_find(plans, plans->plans[i].kind) != &plans->plans[i])
                fprintf(stderr, "%s: plans[%zu]: kind %s planned twice\n", path, i,
                        plans->plans[i].kind);
            mdv_plans_free(plans);
            return NULL;
        }
    }
    return plans;
}

void mdv_plans_free(struct mdv_plans *plans)
{
    if (!plans)
        return;
    for (size_t i = 0; i < plans->count; i++)
        free(plans->plans[i].steps);
    free(plans->plans);
    json_decref(plans->json);
    free(plans);
}

const struct mdv_plan *mdv_plans_find(const struct mdv_plans *plans, const char *kind)
{
    for (size_t i = 0; i < plans->count; i++)
        if (plans->plans[i].kind && strcmp(plans->plans[i].kind, kind) == 0)
            return &plans->plans[i];
    return NULL;
}

const struct mdv_plan_step *mdv_plan_step(const struct mdv_plan *plan, const char *code)
{
    for (size_t i = 0; i < plan->count; i++)
        if (strcmp(plan->steps[i].code, code) == 0)
            return &plan->steps[i];
    return NULL;
}

static time_t parse_time(const char *text)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!text || !strptime(text, "%Y-%m-%dT%H:%M:%S", &tm))
        return time(NULL);
    return timegm(&tm);
}

/* The PlannedStep messages of steps, due dates counted from submitted;
 * they point into steps and into the arrays the caller frees. */
struct planned_steps {
    Mdv__Journey__V1__PlannedStep *steps;
    Mdv__Journey__V1__PlannedStep **ptrs;
    char (*due)[MDV_TIME_LEN];
    size_t count;
};

static void planned_steps_fill(struct planned_steps *out, const struct mdv_plan_step *const *steps,
                               size_t n, const char *submitted)
{
    time_t from = parse_time(submitted);
    out->count = n;
    out->steps = mdv_xcalloc(n ? n : 1, sizeof(*out->steps));
    out->ptrs = mdv_xcalloc(n ? n : 1, sizeof(*out->ptrs));
    out->due = mdv_xcalloc(n ? n : 1, sizeof(*out->due));
    for (size_t i = 0; i < n; i++) {
        mdv__journey__v1__planned_step__init(&out->steps[i]);
        mdv_time_plus_days(from, steps[i]->due_days, out->due[i]);
        out->steps[i].code = (char *)steps[i]->code;
        out->steps[i].owner = (char *)steps[i]->owner;
        out->steps[i].administration = (char *)steps[i]->administration;
        out->steps[i].label = (char *)steps[i]->label;
        out->steps[i].due_at = out->due[i];
        out->ptrs[i] = &out->steps[i];
    }
}

static void planned_steps_free(struct planned_steps *p)
{
    free(p->steps);
    free(p->ptrs);
    free(p->due);
}

int mdv_plan_publish(struct mdv_msg *msg, const struct mdv_plan *plan, const char *journey_id,
                     const char *submitted)
{
    Mdv__Journey__V1__JourneyPlanned planned = MDV__JOURNEY__V1__JOURNEY_PLANNED__INIT;
    const struct mdv_plan_step **steps = mdv_xcalloc(plan->count, sizeof(*steps));
    struct planned_steps p;
    char now[MDV_TIME_LEN];

    for (size_t i = 0; i < plan->count; i++)
        steps[i] = &plan->steps[i];
    planned_steps_fill(&p, steps, plan->count, submitted);
    mdv_time_now(now);
    planned.journey_id = (char *)journey_id;
    planned.kind = (char *)plan->kind;
    planned.n_steps = p.count;
    planned.steps = p.ptrs;
    planned.planned_at = now;
    int rc = mdv_msg_emit(msg, "journey_planned", "journey", journey_id, journey_id, &planned.base);
    planned_steps_free(&p);
    free(steps);
    return rc;
}

int mdv_plan_add_steps(struct mdv_msg *msg, const struct mdv_plan *plan, const char *journey_id,
                       const char *const *codes, size_t n, const char *submitted)
{
    Mdv__Journey__V1__StepsAdded added = MDV__JOURNEY__V1__STEPS_ADDED__INIT;
    const struct mdv_plan_step **steps = mdv_xcalloc(n ? n : 1, sizeof(*steps));
    struct planned_steps p;
    char now[MDV_TIME_LEN];
    int rc = -1;

    for (size_t i = 0; i < n; i++) {
        steps[i] = mdv_plan_step(plan, codes[i]);
        if (!steps[i]) {
            mdv_error("plan %s has no step %s", plan->kind, codes[i]);
            free(steps);
            return -1;
        }
    }
    planned_steps_fill(&p, steps, n, submitted);
    mdv_time_now(now);
    added.journey_id = (char *)journey_id;
    added.n_steps = p.count;
    added.steps = p.ptrs;
    added.added_at = now;
    rc = mdv_msg_emit(msg, "steps_added", "journey", journey_id, journey_id, &added.base);
    planned_steps_free(&p);
    free(steps);
    return rc;
}
