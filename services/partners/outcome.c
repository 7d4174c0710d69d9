/* What a partner reports on one of its steps, whichever way it came: a
 * PartnerOutcome on its outcomes topic (the partner is the topic's: the
 * broker lets only it write there) or POST /partners/v1/outcomes
 * (outcomes_http.c, the partner named by its token). Both are checked
 * alike and applied here, in the caller's transaction: a partner may
 * report only on a step it was notified for, and each idempotency key is
 * applied once, so a partner that retries changes nothing. An outcome
 * before any commit of the partner's group still says it received the
 * notice, so the step is reported received first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/pg.h"
#include "mdv/journey.h"
#include "partners.h"

/* What a partner may say of its step: the journey's statuses past
 * pending. "received" acknowledges without deciding (a partner that does
 * not commit offsets in its group, or reports over HTTP). */
static const mdv_step_status allowed[] = {
    MDV_STEP_RECEIVED,       MDV_STEP_IN_PROGRESS,     MDV_STEP_DONE,
    MDV_STEP_NOT_APPLICABLE, MDV_STEP_ACTION_REQUIRED, MDV_STEP_FAILED};

static int status_of(const char *name, mdv_step_status *out)
{
    for (size_t i = 0; i < MDV_ARRAY_LEN(allowed); i++)
        if (strcmp(mdv_step_status_name(allowed[i]), name) == 0) {
            *out = allowed[i];
            return 0;
        }
    return -1;
}

/* RFC 9110 visible characters: a key travels in an HTTP header too. */
static int key_is_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > PARTNERS_KEY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return 0;
    return 1;
}

/* A detail is one short line for the usager's page. */
static int detail_is_valid(const char *detail)
{
    size_t n = strlen(detail);
    if (n == 0 || n > PARTNERS_DETAIL_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)detail[i] < 0x20 || detail[i] == 0x7f)
            return 0;
    return 1;
}

const char *partners_outcome_problem(const struct partners_outcome *o, const char **field,
                                     mdv_step_status *status)
{
    *field = "journey_id";
    if (!mdv_uuid_valid(o->journey_id))
        return "must be a journey id (UUID)";
    *field = "step_code";
    if (!*o->step_code || strlen(o->step_code) > PARTNERS_STEP_MAX)
        return "must be the code of one of your steps";
    *field = "status";
    if (status_of(o->status, status) != 0)
        return "must be received, in_progress, done, not_applicable, action_required or failed";
    *field = "detail";
    if (!detail_is_valid(o->detail))
        return "must be 1 to 255 bytes of text on one line";
    *field = "idempotency_key";
    if (!key_is_valid(o->idempotency_key))
        return "must be 1 to 128 visible ASCII characters";
    *field = NULL;
    return NULL;
}

/* The notice of that step: 1 with whether it was received, 0 when this
 * partner was never notified of it, -1 on error. */
static int owned_notice(struct mdv_msg *msg, const struct partners_partner *p,
                        const struct partners_outcome *o, int *received)
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
                     const struct partners_outcome *o)
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
                         const struct partners_outcome *o)
{
    const char *params[] = {o->journey_id, o->step_code};
    return mdv_pg_exec(msg->conn,
                       "UPDATE notices SET received_at = now() WHERE journey_id = $1"
                       " AND step_code = $2 AND received_at IS NULL",
                       2, params) == 0
               ? partners_step_received(msg, p, o->journey_id, o->step_code)
               : -1;
}

/* The reports a fresh outcome makes: received first when it was not, then
 * what it says (nothing more when it says only received). */
static int report(struct mdv_msg *msg, const struct partners_partner *p,
                  const struct partners_outcome *o, mdv_step_status status, int received)
{
    if (!received && mark_received(msg, p, o) != 0)
        return -1;
    if (status == MDV_STEP_RECEIVED)
        return 0;
    return mdv_journey_report_next(msg, o->journey_id, o->step_code, status, o->detail);
}

enum partners_applied partners_outcome_apply(struct mdv_msg *msg, const struct partners_partner *p,
                                             const struct partners_outcome *o,
                                             mdv_step_status status)
{
    int received = 0;
    int owned = owned_notice(msg, p, o, &received);
    if (owned <= 0)
        return owned < 0 ? PARTNERS_FAILED : PARTNERS_NOT_OWNED;
    int fresh = claim_key(msg, p, o);
    if (fresh <= 0)
        return fresh < 0 ? PARTNERS_FAILED : PARTNERS_REPLAYED;
    if (report(msg, p, o, status, received) != 0)
        return PARTNERS_FAILED;
    mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: %s reports %s", o->step_code, p->id, o->status);
    return PARTNERS_APPLIED;
}

static enum mdv_outcome apply_kafka(struct mdv_msg *msg, const struct partners_partner *p,
                                    const struct partners_outcome *o, mdv_step_status status)
{
    switch (partners_outcome_apply(msg, p, o, status)) {
    case PARTNERS_APPLIED:
        return MDV_OK;
    case PARTNERS_REPLAYED:
        mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: outcome %s of %s applied before: nothing done",
                   o->step_code, o->idempotency_key, p->id);
        return MDV_OK;
    case PARTNERS_NOT_OWNED:
        return mdv_msg_reject(msg,
                              "partner %s reports on step %s of journey %s, which it does not"
                              " own: refused",
                              p->id, o->step_code, o->journey_id);
    default:
        return mdv_msg_db_failure(msg);
    }
}

enum mdv_outcome partners_on_outcome(struct mdv_msg *msg)
{
    const struct partners_partner *p = partners_partner_of_topic(msg, 1);
    mdv_step_status status = MDV_STEP_DONE;
    const char *field = NULL;
    if (!p)
        return mdv_msg_reject(msg, "outcome on %s, no partner's outcomes topic",
                              rd_kafka_topic_name(msg->rkm->rkt));
    Mdv__Partner__V1__PartnerOutcome *m =
        mdv__partner__v1__partner_outcome__unpack(NULL, msg->rkm->len, msg->rkm->payload);
    if (!m)
        return mdv_msg_reject(msg, "value is not a PartnerOutcome protobuf");
    struct partners_outcome o = {m->journey_id, m->step_code, m->status, m->detail,
                                 m->idempotency_key};
    const char *why = partners_outcome_problem(&o, &field, &status);
    enum mdv_outcome outcome =
        why ? mdv_msg_reject(msg, "PartnerOutcome of %s invalid: %s %s", p->id, field, why)
            : apply_kafka(msg, p, &o, status);
    mdv__partner__v1__partner_outcome__free_unpacked(m, NULL);
    return outcome;
}
