/* Journey steps as their owners report them (DESIGN.md §3): reports with
 * a per-step sequence kept in the owner's database, each step's effect
 * applied once (once per occurrence when several journeys declare the same
 * thing). The handling of each event (its decode and check, which
 * effect, which step) lives in the services. */
#include "mdv/journey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/pg.h"

const char *mdv_step_status_name(mdv_step_status status)
{
    switch (status) {
    case MDV_STEP_PENDING:
        return "pending";
    case MDV_STEP_RECEIVED:
        return "received";
    case MDV_STEP_IN_PROGRESS:
        return "in_progress";
    case MDV_STEP_DONE:
        return "done";
    case MDV_STEP_NOT_APPLICABLE:
        return "not_applicable";
    case MDV_STEP_ACTION_REQUIRED:
        return "action_required";
    case MDV_STEP_FAILED:
        return "failed";
    default:
        return NULL;
    }
}

int mdv_journey_report(struct mdv_msg *msg, const char *journey_id, const char *code,
                       uint32_t sequence, mdv_step_status status, const char *detail)
{
    char now[MDV_TIME_LEN];
    Mdv__Journey__V1__StepReported report = MDV__JOURNEY__V1__STEP_REPORTED__INIT;

    mdv_time_now(now);
    report.journey_id = (char *)journey_id;
    report.code = (char *)code;
    report.sequence = sequence;
    report.status = status;
    report.detail = (char *)detail;
    report.reported_at = now;
    return mdv_msg_emit(msg, "step_reported", "journey", journey_id, journey_id, &report.base);
}

/* The next sequence of a step's reports, from the owner's database: a step
 * may have any number of reports over weeks, and the projection keeps the
 * highest. */
static int next_sequence(PGconn *conn, const char *journey_id, const char *code, uint32_t *out)
{
    const char *params[] = {journey_id, code};
    long last = 0;
    if (mdv_pg_query_longs(conn,
                           "INSERT INTO step_sequences (journey_id, code, last) VALUES ($1, $2, 1)"
                           " ON CONFLICT (journey_id, code)"
                           " DO UPDATE SET last = step_sequences.last + 1 RETURNING last",
                           2, params, &last, 1) != 0)
        return -1;
    *out = (uint32_t)last;
    return 0;
}

int mdv_journey_report_next(struct mdv_msg *msg, const char *journey_id, const char *code,
                            mdv_step_status status, const char *detail)
{
    uint32_t sequence = 0;
    if (next_sequence(msg->conn, journey_id, code, &sequence) != 0)
        return -1;
    return mdv_journey_report(msg, journey_id, code, sequence, status, detail);
}

int mdv_journey_record_effect(struct mdv_msg *msg, const char *journey_id, const char *step_code,
                              const struct mdv_effect *effect)
{
    const char *status = mdv_step_status_name(effect->status);
    const char *params[] = {journey_id, step_code, status ? status : "pending", effect->detail,
                            msg->svc->config.instance_id};
    return mdv_pg_exec(msg->conn,
                       "INSERT INTO applied_effects (journey_id, effect, status, detail,"
                       " instance_id) VALUES ($1, $2, $3, $4, $5)",
                       5, params);
}

/* Claims the occurrence for this journey: 1 when this service had not
 * applied it yet, 0 when it had (the insert waits for a concurrent claim
 * to commit), -1 on error. */
static int claim_occurrence(PGconn *conn, const char *occurrence, const char *journey_id)
{
    const char *params[] = {occurrence, journey_id};
    PGresult *res = mdv_pg_query(conn,
                                 "INSERT INTO occurrences (occurrence, journey_id) VALUES ($1, $2)"
                                 " ON CONFLICT DO NOTHING",
                                 2, params);
    if (!res)
        return -1;
    int claimed = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return claimed;
}

/* An occurrence applied before, for another journey: this one's step
 * tells what was done then, and when. Writes that journey into first. */
static int describe_repeat(PGconn *conn, const char *occurrence, const char *step_code,
                           char first[MDV_UUID_LEN], struct mdv_effect *out)
{
    const char *params[] = {occurrence, step_code};
    PGresult *res = mdv_pg_query(conn,
                                 "SELECT o.journey_id, e.status,"
                                 " to_char(o.applied_at AT TIME ZONE 'Europe/Paris', 'DD/MM/YYYY'),"
                                 " e.detail"
                                 " FROM occurrences o LEFT JOIN applied_effects e"
                                 "   ON e.journey_id = o.journey_id AND e.effect = $2"
                                 " WHERE o.occurrence = $1",
                                 2, params);
    if (!res || PQntuples(res) != 1) {
        PQclear(res);
        return -1;
    }
    mdv_strlcpy(first, PQgetvalue(res, 0, 0), MDV_UUID_LEN);
    out->status = strcmp(PQgetvalue(res, 0, 1), "not_applicable") == 0 ? MDV_STEP_NOT_APPLICABLE
                                                                       : MDV_STEP_DONE;
    if (PQgetisnull(res, 0, 3))
        snprintf(out->detail, sizeof(out->detail), "Déjà pris en compte le %s",
                 PQgetvalue(res, 0, 2));
    else
        snprintf(out->detail, sizeof(out->detail), "Déjà pris en compte le %s : %s",
                 PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3));
    PQclear(res);
    return 0;
}

/* Applies the effect once per occurrence (once per journey without one).
 * Sets *report to 0 when this very journey had it applied already. */
static int apply_once(struct mdv_msg *msg, const struct mdv_step_work *work, mdv_effect_fn apply,
                      void *ctx, struct mdv_effect *effect, int *report)
{
    char first[MDV_UUID_LEN];
    *report = 1;
    int claimed =
        work->occurrence ? claim_occurrence(msg->conn, work->occurrence, work->journey_id) : 1;
    if (claimed < 0)
        return -1;
    if (claimed) {
        if (apply(msg, ctx, effect) != 0 ||
            mdv_journey_record_effect(msg, work->journey_id, work->step_code, effect) != 0)
            return -1;
        return 0;
    }
    if (describe_repeat(msg->conn, work->occurrence, work->step_code, first, effect) != 0)
        return -1;
    *report = strcmp(first, work->journey_id) != 0;
    mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: applied before (journey %s): nothing applied",
               work->step_code, first);
    return 0;
}

int mdv_journey_apply_step(struct mdv_msg *msg, const struct mdv_step_work *work,
                           mdv_effect_fn apply, void *ctx)
{
    struct mdv_effect effect = {MDV_STEP_NOT_APPLICABLE, MDV_DETAIL_NO_RECORD};
    int report = 1;
    if (apply_once(msg, work, apply, ctx, &effect, &report) != 0)
        return -1;
    if (!report)
        return 0;
    if (mdv_journey_report_next(msg, work->journey_id, work->step_code, MDV_STEP_RECEIVED,
                                "Déclaration reçue") != 0 ||
        mdv_journey_report_next(msg, work->journey_id, work->step_code, effect.status,
                                effect.detail) != 0)
        return -1;
    mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: %s", work->step_code, effect.detail);
    return 0;
}
