/* The journeys read model, fed by JourneyPlanned and StepReported from
 * every service's events topic. Order-independent: a report may arrive
 * before the plan (they travel on different topics), and a step keeps the
 * report with the highest sequence. */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "mdv/journey.h"

/* A journey unknown here was not declared through this gateway. */
static enum mdv_outcome touch_journey(struct mdv_msg *msg, const char *journey_id, int planned)
{
    const char *params[] = {journey_id, planned ? "t" : "f"};
    PGresult *res = mdv_pg_query(msg->conn,
                                 "UPDATE journeys SET planned = planned OR $2::boolean,"
                                 " updated_at = greatest(updated_at, clock_timestamp())"
                                 " WHERE journey_id = $1",
                                 2, params);
    if (!res)
        return mdv_msg_db_failure(msg);
    int found = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return found ? MDV_OK : mdv_msg_reject(msg, "journey %s unknown to the gateway", journey_id);
}

static int plan_step(struct mdv_msg *msg, const char *journey_id, size_t position,
                     const Mdv__Journey__V1__PlannedStep *step)
{
    char pos[24];
    snprintf(pos, sizeof(pos), "%zu", position);
    const char *params[] = {journey_id,           step->code,  pos,
                            step->administration, step->label, *step->due_at ? step->due_at : NULL};
    return mdv_pg_exec(msg->conn,
                       "INSERT INTO journey_steps (journey_id, code, position, administration,"
                       " label, due_at) VALUES ($1, $2, $3, $4, $5, $6)"
                       " ON CONFLICT (journey_id, code) DO UPDATE SET"
                       " position = EXCLUDED.position, administration = EXCLUDED.administration,"
                       " label = EXCLUDED.label, due_at = EXCLUDED.due_at",
                       6, params);
}

int projection_planned_decode(const void *value, size_t len, Mdv__Journey__V1__JourneyPlanned **out,
                              char *err, size_t errlen)
{
    Mdv__Journey__V1__JourneyPlanned *plan =
        mdv__journey__v1__journey_planned__unpack(NULL, len, value);

    *out = NULL;
    if (!plan) {
        snprintf(err, errlen, "value is not a JourneyPlanned protobuf");
        return -1;
    }
    if (!mdv_uuid_valid(plan->journey_id) || plan->n_steps == 0) {
        snprintf(err, errlen, "JourneyPlanned without journey id or steps");
        mdv__journey__v1__journey_planned__free_unpacked(plan, NULL);
        return -1;
    }
    *out = plan;
    return 0;
}

enum mdv_outcome projection_on_planned(struct mdv_msg *msg)
{
    Mdv__Journey__V1__JourneyPlanned *plan = NULL;
    char err[256];
    if (projection_planned_decode(msg->rkm->payload, msg->rkm->len, &plan, err, sizeof(err)) != 0)
        return mdv_msg_reject(msg, "%s", err);
    enum mdv_outcome outcome = touch_journey(msg, plan->journey_id, 1);
    for (size_t i = 0; i < plan->n_steps && outcome == MDV_OK; i++)
        if (plan_step(msg, plan->journey_id, i, plan->steps[i]) != 0)
            outcome = mdv_msg_db_failure(msg);
    mdv__journey__v1__journey_planned__free_unpacked(plan, NULL);
    return outcome;
}

/* A step added to a journey already planned goes after the planned ones
 * (positions from ADDED_POSITION on, in the order they were added); a step
 * the plan also names keeps the plan's place. */
#define ADDED_POSITION "1000"

static int add_step(struct mdv_msg *msg, const char *journey_id,
                    const Mdv__Journey__V1__PlannedStep *step)
{
    const char *params[] = {journey_id, step->code, step->administration, step->label,
                            *step->due_at ? step->due_at : NULL};
    return mdv_pg_exec(msg->conn,
                       "INSERT INTO journey_steps (journey_id, code, position, administration,"
                       " label, due_at) VALUES ($1, $2, " ADDED_POSITION
                       " + (SELECT count(*) FROM journey_steps"
                       "    WHERE journey_id = $1 AND position >= " ADDED_POSITION "),"
                       " $3, $4, $5)"
                       " ON CONFLICT (journey_id, code) DO UPDATE SET"
                       " administration = EXCLUDED.administration, label = EXCLUDED.label,"
                       " due_at = EXCLUDED.due_at,"
                       " position = coalesce(journey_steps.position, EXCLUDED.position)",
                       5, params);
}

int projection_added_decode(const void *value, size_t len, Mdv__Journey__V1__StepsAdded **out,
                            char *err, size_t errlen)
{
    Mdv__Journey__V1__StepsAdded *added = mdv__journey__v1__steps_added__unpack(NULL, len, value);

    *out = NULL;
    if (!added) {
        snprintf(err, errlen, "value is not a StepsAdded protobuf");
        return -1;
    }
    int ok = mdv_uuid_valid(added->journey_id) && added->n_steps > 0;
    for (size_t i = 0; ok && i < added->n_steps; i++)
        ok = *added->steps[i]->code != '\0';
    if (!ok) {
        snprintf(err, errlen, "StepsAdded without journey id, steps or step codes");
        mdv__journey__v1__steps_added__free_unpacked(added, NULL);
        return -1;
    }
    *out = added;
    return 0;
}

enum mdv_outcome projection_on_steps_added(struct mdv_msg *msg)
{
    Mdv__Journey__V1__StepsAdded *added = NULL;
    char err[256];
    if (projection_added_decode(msg->rkm->payload, msg->rkm->len, &added, err, sizeof(err)) != 0)
        return mdv_msg_reject(msg, "%s", err);
    enum mdv_outcome outcome = touch_journey(msg, added->journey_id, 0);
    for (size_t i = 0; i < added->n_steps && outcome == MDV_OK; i++)
        if (add_step(msg, added->journey_id, added->steps[i]) != 0)
            outcome = mdv_msg_db_failure(msg);
    mdv__journey__v1__steps_added__free_unpacked(added, NULL);
    return outcome;
}

/* received_at: the first time the administration said it had the
 * declaration, whatever order the reports came in. */
static int apply_report(struct mdv_msg *msg, const Mdv__Journey__V1__StepReported *r,
                        const char *status, const char *reported_at)
{
    char sequence[16];
    snprintf(sequence, sizeof(sequence), "%u", r->sequence);
    const char *params[] = {r->journey_id, r->code, status, sequence, r->detail, reported_at};
    return mdv_pg_exec(
        msg->conn,
        "INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail, received_at,"
        " updated_at) VALUES ($1, $2, $3, $4, $5,"
        " CASE WHEN $3 <> 'pending' THEN $6::timestamptz END, $6::timestamptz)"
        " ON CONFLICT (journey_id, code) DO UPDATE SET"
        " received_at = least(s.received_at, EXCLUDED.received_at),"
        " status = CASE WHEN EXCLUDED.sequence > s.sequence THEN EXCLUDED.status ELSE s.status END,"
        " detail = CASE WHEN EXCLUDED.sequence > s.sequence THEN EXCLUDED.detail ELSE s.detail END,"
        " updated_at = CASE WHEN EXCLUDED.sequence > s.sequence THEN EXCLUDED.updated_at"
        "              ELSE s.updated_at END,"
        " sequence = greatest(s.sequence, EXCLUDED.sequence)",
        6, params);
}

int projection_step_decode(const void *value, size_t len, Mdv__Journey__V1__StepReported **out,
                           const char **status, char *err, size_t errlen)
{
    Mdv__Journey__V1__StepReported *report =
        mdv__journey__v1__step_reported__unpack(NULL, len, value);

    *out = NULL;
    if (!report) {
        snprintf(err, errlen, "value is not a StepReported protobuf");
        return -1;
    }
    *status = mdv_step_status_name(report->status);
    if (!mdv_uuid_valid(report->journey_id) || !*report->code || *status == NULL ||
        report->sequence == 0) {
        snprintf(err, errlen, "StepReported without journey id, code, status or sequence");
        mdv__journey__v1__step_reported__free_unpacked(report, NULL);
        return -1;
    }
    *out = report;
    return 0;
}

enum mdv_outcome projection_on_step(struct mdv_msg *msg)
{
    Mdv__Journey__V1__StepReported *report = NULL;
    const char *status = NULL;
    char now[MDV_TIME_LEN], err[256];
    if (projection_step_decode(msg->rkm->payload, msg->rkm->len, &report, &status, err,
                               sizeof(err)) != 0)
        return mdv_msg_reject(msg, "%s", err);
    mdv_time_now(now);
    const char *reported_at = *report->reported_at ? report->reported_at : now;
    enum mdv_outcome outcome = touch_journey(msg, report->journey_id, 0);
    if (outcome == MDV_OK && apply_report(msg, report, status, reported_at) != 0)
        outcome = mdv_msg_db_failure(msg);
    mdv__journey__v1__step_reported__free_unpacked(report, NULL);
    return outcome;
}
