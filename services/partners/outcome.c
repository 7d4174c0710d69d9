/* What a partner reports on its outcomes topic (a PartnerOutcome): the
 * partner is the topic's (the broker lets only it write there), and it
 * may report only on a step it was notified for. Each idempotency key is
 * applied once: a partner that retries changes nothing. An outcome before
 * any commit of the partner's group still says it received the notice, so
 * the step is reported received first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/pg.h"
#include "mdv/journey.h"
#include "partners.h"

#define KEY_MAX 128
#define DETAIL_MAX 255

static int status_of(const char *name, mdv_step_status *out)
{
    static const mdv_step_status allowed[] = {MDV_STEP_IN_PROGRESS, MDV_STEP_DONE,
                                              MDV_STEP_NOT_APPLICABLE, MDV_STEP_ACTION_REQUIRED,
                                              MDV_STEP_FAILED};
    for (size_t i = 0; i < MDV_ARRAY_LEN(allowed); i++)
        if (strcmp(mdv_step_status_name(allowed[i]), name) == 0) {
            *out = allowed[i];
            return 0;
        }
    return -1;
}

/* Why the outcome cannot be applied, before the database is asked. */
static const char *problem(const Mdv__Partner__V1__PartnerOutcome *o, mdv_step_status *status)
{
    if (!mdv_uuid_valid(o->journey_id))
        return "journey_id is not a UUID";
    if (status_of(o->status, status) != 0)
        return "status is not in_progress, done, not_applicable, action_required or failed";
    size_t n = strlen(o->idempotency_key);
    if (n == 0 || n > KEY_MAX)
        return "idempotency_key must have 1 to 128 characters";
    n = strlen(o->detail);
    if (n == 0 || n > DETAIL_MAX)
        return "detail must have 1 to 255 bytes";
    return NULL;
}

/* The notice of that step: 1 with whether it was received, 0 when this
 * partner was never notified of it, -1 on error. */
static int owned_notice(struct mdv_msg *msg, const struct partners_partner *p,
                        const Mdv__Partner__V1__PartnerOutcome *o, int *received)
{
    const char *params[] = {o->journey_id, o->step_code, p->id};
    PGresult *res = mdv_pg_query(msg->conn,
                                 "SELECT received_at IS NOT NULL FROM notices"
                                 " WHERE journey_id = $1 AND step_code = $2 AND partner = $3"
                                 " FOR UPDATE",
                                 3, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    *received = found && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return found;
}

/* 1 when this key is new for the partner, 0 when it was applied before. */
static int claim_key(struct mdv_msg *msg, const struct partners_partner *p,
                     const Mdv__Partner__V1__PartnerOutcome *o)
{
    const char *params[] = {p->id,        o->idempotency_key, o->journey_id,
                            o->step_code, o->status,          o->detail};
    PGresult *res = mdv_pg_query(msg->conn,
                                 "INSERT INTO outcomes (partner, idempotency_key, journey_id,"
                                 " step_code, status, detail) VALUES ($1, $2, $3, $4, $5, $6)"
                                 " ON CONFLICT DO NOTHING",
                                 6, params);
    if (!res)
        return -1;
    int fresh = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return fresh;
}

static int mark_received(struct mdv_msg *msg, const struct partners_partner *p,
                         const Mdv__Partner__V1__PartnerOutcome *o)
{
    const char *params[] = {o->journey_id, o->step_code};
    return mdv_pg_exec(msg->conn,
                       "UPDATE notices SET received_at = now() WHERE journey_id = $1"
                       " AND step_code = $2 AND received_at IS NULL",
                       2, params) == 0
               ? partners_step_received(msg, p, o->journey_id, o->step_code)
               : -1;
}

static enum mdv_outcome apply(struct mdv_msg *msg, const struct partners_partner *p,
                              const Mdv__Partner__V1__PartnerOutcome *o, mdv_step_status status)
{
    int received = 0;
    int owned = owned_notice(msg, p, o, &received);
    if (owned < 0)
        return mdv_msg_db_failure(msg);
    if (!owned)
        return mdv_msg_reject(msg,
                              "partner %s reports on step %s of journey %s, which it does not"
                              " own: refused",
                              p->id, o->step_code, o->journey_id);
    int fresh = claim_key(msg, p, o);
    if (fresh < 0)
        return mdv_msg_db_failure(msg);
    if (!fresh) {
        mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: outcome %s of %s applied before: nothing done",
                   o->step_code, o->idempotency_key, p->id);
        return MDV_OK;
    }
    if ((!received && mark_received(msg, p, o) != 0) ||
        mdv_journey_report_next(msg, o->journey_id, o->step_code, status, o->detail) != 0)
        return mdv_msg_db_failure(msg);
    mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: %s reports %s", o->step_code, p->id, o->status);
    return MDV_OK;
}

enum mdv_outcome partners_on_outcome(struct mdv_msg *msg)
{
    const struct partners_partner *p = partners_partner_of_topic(msg, 1);
    mdv_step_status status = MDV_STEP_DONE;
    if (!p)
        return mdv_msg_reject(msg, "outcome on %s, no partner's outcomes topic",
                              rd_kafka_topic_name(msg->rkm->rkt));
    Mdv__Partner__V1__PartnerOutcome *o =
        mdv__partner__v1__partner_outcome__unpack(NULL, msg->rkm->len, msg->rkm->payload);
    if (!o)
        return mdv_msg_reject(msg, "value is not a PartnerOutcome protobuf");
    const char *why = problem(o, &status);
    enum mdv_outcome outcome =
        why ? mdv_msg_reject(msg, "PartnerOutcome of %s invalid: %s", p->id, why)
            : apply(msg, p, o, status);
    mdv__partner__v1__partner_outcome__free_unpacked(o, NULL);
    return outcome;
}
