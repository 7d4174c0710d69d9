/* The journeys read model, fed by JourneyPlanned and StepReported from
 * every service's events topic. Order-independent: a report may arrive
 * before the plan (they travel on different topics), and a step keeps the
 * report with the highest sequence. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "mdv/journey.h"

/* A journey unknown here was not declared through this gateway. Every
 * write of the read model goes through here, in its transaction: the
 * notification tells the journey's live followers (live.c) at commit, and
 * updated_at, their event id, grows at each write. */
static enum mdv_outcome touch_journey(struct mdv_msg *msg, const char *journey_id, int planned)
{
    const char *params[] = {journey_id, planned ? "t" : "f"};
    PGresult *res = mdv_pg_query(
        msg->conn,
        "UPDATE journeys SET planned = planned OR $2::boolean,"
        " updated_at = greatest(updated_at + interval '1 microsecond', clock_timestamp())"
        " WHERE journey_id = $1 RETURNING pg_notify('mdv_journey_changed', journey_id::text)",
        2, params);
    if (!res)
        return mdv_msg_db_failure(msg);
    int found = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return found ? MDV_OK : mdv_msg_reject(msg, "journey %s unknown to the gateway", journey_id);
}

/* A list of steps as JSON, one object each with its place in the list
 * (ord), for json_to_recordset: the statement writes them all at once. The
 * caller frees the text; NULL when a text is not UTF-8, which the database
 * would refuse too. */
static char *steps_json(Mdv__Journey__V1__PlannedStep *const *steps, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const Mdv__Journey__V1__PlannedStep *step = steps[i];
        json_t *row =
            json_pack("{s:I, s:s, s:s, s:s, s:o}", "ord", (json_int_t)i, "code", step->code,
                      "administration", step->administration, "label", step->label, "due_at",
                      *step->due_at ? json_string(step->due_at) : json_null());
        if (!row) {
            json_decref(list);
            return NULL;
        }
        json_array_append_new(list, row);
    }
    char *text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    if (!text)
        abort(); /* allocation failure, as mdv_xmalloc does */
    return text;
}

/* The rows of $2 (steps_json), a code named twice keeping its last entry,
 * as writing them one after the other did. */
#define STEPS_OF_JSON                                                                              \
    "steps AS (SELECT DISTINCT ON (code) * FROM json_to_recordset($2::json)"                       \
    "   AS x(ord int, code text, administration text, label text, due_at timestamptz)"             \
    "   ORDER BY code, ord DESC)"

/* The plan's steps, each at its place in the plan, in one statement. */
static enum mdv_outcome plan_steps(struct mdv_msg *msg,
                                   const Mdv__Journey__V1__JourneyPlanned *plan)
{
    char *steps = steps_json(plan->steps, plan->n_steps);
    if (!steps)
        return mdv_msg_reject(msg, "JourneyPlanned with a text that is not UTF-8");
    const char *params[] = {plan->journey_id, steps};
    int rc = mdv_pg_exec(msg->conn,
                         "WITH " STEPS_OF_JSON
                         " INSERT INTO journey_steps (journey_id, code, position, administration,"
                         " label, due_at) SELECT $1::uuid, code, ord, administration, label, due_at"
                         " FROM steps"
                         " ON CONFLICT (journey_id, code) DO UPDATE SET"
                         " position = EXCLUDED.position, administration = EXCLUDED.administration,"
                         " label = EXCLUDED.label, due_at = EXCLUDED.due_at",
                         2, params);
    free(steps);
    return rc == 0 ? MDV_OK : mdv_msg_db_failure(msg);
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
    if (outcome == MDV_OK)
        outcome = plan_steps(msg, plan);
    mdv__journey__v1__journey_planned__free_unpacked(plan, NULL);
    return outcome;
}

/* A step added to a journey already planned goes after the planned ones
 * (positions from ADDED_POSITION on, in the order they were added); a step
 * the plan also names keeps the plan's place. */
#define ADDED_POSITION "1000"

/* In one statement. Positions go on from the added steps already there,
 * in the order of the list, for the steps that have none yet (a report
 * may have come first); a step with a place keeps it. */
static enum mdv_outcome add_steps(struct mdv_msg *msg, const Mdv__Journey__V1__StepsAdded *added)
{
    char *steps = steps_json(added->steps, added->n_steps);
    if (!steps)
        return mdv_msg_reject(msg, "StepsAdded with a text that is not UTF-8");
    const char *params[] = {added->journey_id, steps};
    int rc = mdv_pg_exec(
        msg->conn,
        "WITH " STEPS_OF_JSON ","
        " placed AS (SELECT code FROM journey_steps WHERE journey_id = $1::uuid"
        "   AND position IS NOT NULL),"
        " fresh AS (SELECT code, row_number() OVER (ORDER BY ord) AS n FROM steps"
        "   WHERE code NOT IN (SELECT code FROM placed)),"
        " base AS (SELECT count(*) AS c FROM journey_steps WHERE journey_id = $1::uuid"
        "   AND position >= " ADDED_POSITION ")"
        " INSERT INTO journey_steps (journey_id, code, position, administration, label, due_at)"
        " SELECT $1::uuid, s.code, " ADDED_POSITION " + base.c + coalesce(fresh.n, 1) - 1,"
        " s.administration, s.label, s.due_at"
        " FROM steps s CROSS JOIN base LEFT JOIN fresh USING (code)"
        " ON CONFLICT (journey_id, code) DO UPDATE SET"
        " administration = EXCLUDED.administration, label = EXCLUDED.label,"
        " due_at = EXCLUDED.due_at,"
        " position = coalesce(journey_steps.position, EXCLUDED.position)",
        2, params);
    free(steps);
    return rc == 0 ? MDV_OK : mdv_msg_db_failure(msg);
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
    if (outcome == MDV_OK)
        outcome = add_steps(msg, added);
    mdv__journey__v1__steps_added__free_unpacked(added, NULL);
    return outcome;
}

/* received_at: the first time the administration said it had the
 * declaration, whatever order the reports came in. The journey touched in
 * the same statement (one round trip per report, the projection's most
 * frequent message), with its notification to its live followers (live.c,
 * as touch_journey); *found says whether it is known here. */
static int apply_report(struct mdv_msg *msg, const Mdv__Journey__V1__StepReported *r,
                        const char *status, const char *reported_at, long *found)
{
    char sequence[16];
    snprintf(sequence, sizeof(sequence), "%u", r->sequence);
    const char *params[] = {r->journey_id, r->code, status, sequence, r->detail, reported_at};
    return mdv_pg_query_longs(
        msg->conn,
        "WITH journey AS (UPDATE journeys SET"
        "   updated_at = greatest(updated_at + interval '1 microsecond', clock_timestamp())"
        "   WHERE journey_id = $1::uuid"
        "   RETURNING journey_id, pg_notify('mdv_journey_changed', journey_id::text)),"
        " report AS (INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail,"
        "   received_at, updated_at)"
        "   SELECT journey_id, $2::text, $3::text, $4::bigint, $5::text,"
        "   CASE WHEN $3::text <> 'pending' THEN $6::timestamptz END, $6::timestamptz"
        "   FROM journey"
        "   ON CONFLICT (journey_id, code) DO UPDATE SET"
        "   received_at = least(s.received_at, EXCLUDED.received_at),"
        "   status = CASE WHEN EXCLUDED.sequence > s.sequence THEN EXCLUDED.status"
        "            ELSE s.status END,"
        "   detail = CASE WHEN EXCLUDED.sequence > s.sequence THEN EXCLUDED.detail"
        "            ELSE s.detail END,"
        "   updated_at = CASE WHEN EXCLUDED.sequence > s.sequence THEN EXCLUDED.updated_at"
        "                ELSE s.updated_at END,"
        "   sequence = greatest(s.sequence, EXCLUDED.sequence))"
        " SELECT count(*) FROM journey",
        6, params, found, 1);
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
    long found = 0;
    enum mdv_outcome outcome = MDV_OK;
    if (apply_report(msg, report, status, reported_at, &found) != 0)
        outcome = mdv_msg_db_failure(msg);
    else if (!found)
        outcome = mdv_msg_reject(msg, "journey %s unknown to the gateway", report->journey_id);
    mdv__journey__v1__step_reported__free_unpacked(report, NULL);
    return outcome;
}
