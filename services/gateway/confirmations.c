/* POST /v1/journeys/{id}/confirmations: the usager confirms a step that
 * waits for them (status action_required), such as the pre-filled pension
 * de réversion claim. The gateway checks the journey is theirs and the step
 * waits, then publishes StepConfirmed for the step's owner, which reports
 * what follows on the journey.
 *
 * Exactly one confirmation per step, whatever the number of gateway
 * replicas: the database holds it (step_confirmations, claimed in the
 * transaction of the outbox row); the others are 409, and a request that
 * comes back with the Idempotency-Key of the one that won gets its 202. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "mdv/gateway/v1/declarations.pb-c.h"
#include "mdv/outbox.h"

#define DECLARATIONS_TOPIC "mdv.gateway.declarations.v1"

/* The step's status in the caller's journey: 1 found (status written), 0
 * no such journey of theirs, -2 no such step in it, -1 database error. */
static int step_status(PGconn *conn, const char *journey_id, const char *usager, const char *code,
                       char *status, size_t len)
{
    const char *params[] = {journey_id, usager, code};
    PGresult *res = mdv_pg_query(conn,
                                 "SELECT s.status FROM journeys j"
                                 " LEFT JOIN journey_steps s"
                                 "   ON s.journey_id = j.journey_id AND s.code = $3"
                                 " WHERE j.journey_id = $1 AND " GATEWAY_CALLER_SEES("2"),
                                 3, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1 ? (PQgetisnull(res, 0, 0) ? -2 : 1) : 0;
    if (found == 1)
        mdv_strlcpy(status, PQgetvalue(res, 0, 0), len);
    PQclear(res);
    return found;
}

static int publish(PGconn *conn, const char *journey_id, const char *usager, const char *code,
                   const char *choice)
{
    Mdv__Gateway__V1__StepConfirmed confirmed = MDV__GATEWAY__V1__STEP_CONFIRMED__INIT;
    char now[MDV_TIME_LEN];
    mdv_time_now(now);
    confirmed.journey_id = (char *)journey_id;
    confirmed.usager_id = (char *)usager;
    confirmed.code = (char *)code;
    confirmed.confirmed_at = now;
    confirmed.choice = (char *)(choice ? choice : "");
    struct mdv_outbox_event ev = {
        .topic = DECLARATIONS_TOPIC,
        .aggregatetype = "journey",
        .meta = {"gateway", "fr.gouv.mdv.gateway.step_confirmed.v1", journey_id, journey_id, NULL},
        .message = &confirmed.base,
    };
    return mdv_outbox_add(conn, &ev);
}

static void accepted(struct mdv_http_response *res, const char *journey_id, const char *code)
{
    char self[128];
    snprintf(self, sizeof(self), "/v1/journeys/%s", journey_id);
    mdv_http_json(res, 202,
                  json_pack("{s:s, s:s, s:{s:s}}", "journey_id", journey_id, "step", code, "links",
                            "journey", self));
    mdv_strlcpy(res->location, self, sizeof(res->location));
}

/* What step_confirmations already holds for a request. */
enum previous {
    PREVIOUS_NONE,       /* nothing: the step may be confirmed */
    PREVIOUS_REPLAY,     /* this request's key confirmed this step: answer 202 again */
    PREVIOUS_KEY_REUSED, /* this request's key confirmed another step */
    PREVIOUS_TAKEN,      /* the step was confirmed by another request */
};

/* params: journey id, code, usager, Idempotency-Key (NULL when none). A
 * key's own row comes first: a key that confirmed another step is misused
 * whatever this step's state. */
static int previous_confirmation(PGconn *conn, const char *const params[4], enum previous *out)
{
    PGresult *res =
        mdv_pg_query(conn,
                     "SELECT CASE WHEN usager_id = $3 AND idempotency_key = $4"
                     "   THEN CASE WHEN journey_id = $1 AND code = $2 THEN 'replay'"
                     "        ELSE 'key_reused' END"
                     "   ELSE 'taken' END"
                     " FROM step_confirmations"
                     " WHERE (journey_id = $1 AND code = $2)"
                     "    OR (usager_id = $3 AND idempotency_key = $4)"
                     " ORDER BY (usager_id = $3 AND idempotency_key = $4) DESC NULLS LAST LIMIT 1",
                     4, params);
    if (!res)
        return -1;
    const char *found = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
    *out = strcmp(found, "replay") == 0       ? PREVIOUS_REPLAY
           : strcmp(found, "key_reused") == 0 ? PREVIOUS_KEY_REUSED
           : strcmp(found, "taken") == 0      ? PREVIOUS_TAKEN
                                              : PREVIOUS_NONE;
    PQclear(res);
    return 0;
}

/* Claims the step's one confirmation: 1 claimed, 0 claimed before (by a
 * concurrent request too: the insert waits for its commit), -1 error. */
static int claim(PGconn *conn, const char *const params[4])
{
    PGresult *res = mdv_pg_query(conn,
                                 "INSERT INTO step_confirmations (journey_id, code, usager_id,"
                                 " idempotency_key) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                                 4, params);
    if (!res)
        return -1;
    int claimed = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return claimed;
}

static void nothing_to_confirm(struct mdv_http_response *res, const char *status)
{
    char *detail = mdv_xasprintf("The step is %s: nothing waits for a confirmation.", status);
    mdv_http_problem(res, 409, "nothing-to-confirm", "Aucune confirmation attendue", detail, NULL);
    free(detail);
}

/* Answers a request that does not confirm: its key's replay or misuse, a
 * step confirmed by another request while the journey still shows it
 * waiting, or a step that waits for nothing (any more). */
static void answer_unclaimed(struct mdv_http_response *res, enum previous previous,
                             const char *status, const char *journey_id, const char *code)
{
    if (previous == PREVIOUS_REPLAY)
        accepted(res, journey_id, code);
    else if (previous == PREVIOUS_KEY_REUSED)
        mdv_http_problem(res, 422, "idempotency-key-reused", "Clé d'idempotence déjà utilisée",
                         "This Idempotency-Key confirmed another step.", NULL);
    else if (strcmp(status, "action_required") != 0)
        nothing_to_confirm(res, status);
    else
        mdv_http_problem(res, 409, "already-confirmed", "Étape déjà confirmée",
                         "This step has been confirmed already.", NULL);
}

/* The transaction: the claim and StepConfirmed commit together, so one
 * request publishes; any other is answered from what it found. */
static void confirm_waiting(PGconn *conn, const char *const params[4], const char *status,
                            const char *choice, struct mdv_http_response *res)
{
    const char *journey_id = params[0], *code = params[1], *usager = params[2];
    enum previous previous = PREVIOUS_NONE;
    int claimed = 0;

    if (mdv_pg_begin(conn) != 0 || previous_confirmation(conn, params, &previous) != 0)
        goto fail;
    if (previous == PREVIOUS_NONE && strcmp(status, "action_required") == 0) {
        if ((claimed = claim(conn, params)) < 0 ||
            (!claimed && previous_confirmation(conn, params, &previous) != 0))
            goto fail;
    }
    if (!claimed) {
        mdv_pg_rollback(conn);
        answer_unclaimed(res, previous, status, journey_id, code);
        return;
    }
    if (publish(conn, journey_id, usager, code, choice) != 0 || mdv_pg_commit(conn) != 0)
        goto fail;
    mdv_info("step %s of journey %s confirmed by the usager", code, journey_id);
    accepted(res, journey_id, code);
    return;
fail:
    mdv_pg_rollback(conn);
    mdv_http_unavailable(res);
}

/* Checks the journey is the caller's and has the step, then confirms. */
static void confirm(PGconn *conn, const char *journey_id, const char *usager, const char *code,
                    const char *choice, const char *key, struct mdv_http_response *res)
{
    const char *params[] = {journey_id, code, usager, key};
    char status[32];
    int found = step_status(conn, journey_id, usager, code, status, sizeof(status));
    if (found == 0) {
        gateway_not_found(res);
    } else if (found == -2) {
        json_t *errors = json_array();
        mdv_http_field_error(errors, "step", "this journey has no such step");
        mdv_http_problem(res, 422, "validation", "Étape inconnue",
                         "The journey has no step with this code.", errors);
    } else if (found < 0) {
        mdv_http_unavailable(res);
    } else {
        confirm_waiting(conn, params, status, choice, res);
    }
}

void confirmations_post(const struct mdv_http_request *req, struct mdv_http_response *res,
                        void *ctx)
{
    struct gateway *gw = ctx;
    char usager[MDV_AUTH_SUB_LEN];
    const char *key;

    if (gateway_authenticate(gw, req, res, usager, sizeof(usager)) != 0 ||
        gateway_idempotency_key(req, res, &key) != 0)
        return;
    if (!mdv_uuid_valid(req->param)) {
        gateway_not_found(res);
        return;
    }
    json_t *body = mdv_http_read_json(req, res, confirmation_validate, "Confirmation invalide");
    if (!body)
        return;
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (conn) {
        confirm(conn, req->param, usager, json_string_value(json_object_get(body, "step")),
                json_string_value(json_object_get(body, "choice")), key, res);
        mdv_pg_pool_put(gw->pool, conn);
    } else {
        mdv_http_unavailable(res);
    }
    json_decref(body);
}
