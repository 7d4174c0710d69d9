/* POST /partners/v1/outcomes: a partner reports on one of its steps over
 * HTTP (services/partners/openapi.yaml). Authenticated as that partner,
 * checked like a PartnerOutcome on its outcomes topic and applied by the
 * same function (outcome.c) in one transaction. The Idempotency-Key is
 * the outcome's idempotency key: a replay gets the first answer, the same
 * key with another report is 422. Another partner's step, or an unknown
 * journey, is 404: the answer never tells whose it is or whether it
 * exists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mdv/journey.h"
#include "partners.h"

#define RFC3339(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

static const char *const members[] = {"journey_id", "step_code", "status", "detail"};

/* Every member a string, none unknown; the values are checked after. */
static void validate(json_t *body, json_t *errors)
{
    const char *key;
    json_t *value;
    for (size_t i = 0; i < MDV_ARRAY_LEN(members); i++) {
        json_t *v = json_object_get(body, members[i]);
        if (!v)
            mdv_http_field_error(errors, members[i], "is required");
        else if (!json_is_string(v))
            mdv_http_field_error(errors, members[i], "must be a string");
    }
    json_object_foreach(body, key, value)
    {
        int known = 0;
        for (size_t i = 0; i < MDV_ARRAY_LEN(members); i++)
            known |= strcmp(key, members[i]) == 0;
        if (!known)
            mdv_http_field_error(errors, key, "is not a member of an outcome");
    }
}

static void invalid(struct mdv_http_response *res, const char *field, const char *message)
{
    json_t *errors = json_array();
    mdv_http_field_error(errors, strcmp(field, "idempotency_key") == 0 ? "Idempotency-Key" : field,
                         message);
    mdv_http_problem(res, 422, "validation", "Compte rendu invalide",
                     "Some fields are missing or invalid; see errors.", errors);
}

static void not_owned(struct mdv_http_response *res)
{
    json_t *errors = json_array();
    mdv_http_field_error(errors, "step_code", "no step of yours by this code on this journey");
    mdv_http_problem(res, 404, "not-found", "Étape introuvable",
                     "You were notified of no such step on such a journey.", errors);
}

/* The answer of the outcome recorded under this key: 202 with it when it
 * is the same report, 422 when the key was used for another. -1 on a
 * database error. */
static int answer(PGconn *conn, const struct partners_partner *p, const struct partners_outcome *o,
                  struct mdv_http_response *res)
{
    const char *params[] = {p->id, o->idempotency_key};
    PGresult *r = mdv_pg_query(conn,
                               "SELECT journey_id, step_code, status, detail, " RFC3339(
                                   "reported_at") " FROM outcomes"
                                                  " WHERE partner = $1 AND idempotency_key = $2",
                               2, params);
    if (!r || PQntuples(r) != 1) {
        PQclear(r);
        return -1;
    }
    if (strcasecmp(PQgetvalue(r, 0, 0), o->journey_id) != 0 ||
        strcmp(PQgetvalue(r, 0, 1), o->step_code) != 0 ||
        strcmp(PQgetvalue(r, 0, 2), o->status) != 0 || strcmp(PQgetvalue(r, 0, 3), o->detail) != 0)
        mdv_http_problem(res, 422, "idempotency-key-reused", "Compte rendu déjà envoyé",
                         "This Idempotency-Key was used for another outcome.", NULL);
    else
        mdv_http_json(res, 202,
                      json_pack("{s:s, s:s, s:s, s:s, s:s}", "journey_id", PQgetvalue(r, 0, 0),
                                "step_code", PQgetvalue(r, 0, 1), "status", PQgetvalue(r, 0, 2),
                                "detail", PQgetvalue(r, 0, 3), "reported_at", PQgetvalue(r, 0, 4)));
    PQclear(r);
    return 0;
}

/* The transaction: the same apply as the consumer's, then the answer. */
static void record(struct partners_api *api, PGconn *conn, const struct partners_partner *p,
                   const struct partners_outcome *o, mdv_step_status status,
                   struct mdv_http_response *res)
{
    struct mdv_msg msg;
    partners_api_msg(api, conn, o->journey_id, &msg);
    if (mdv_pg_begin(conn) != 0)
        goto fail;
    enum partners_applied applied = partners_outcome_apply(&msg, p, o, status);
    if (applied == PARTNERS_FAILED)
        goto fail;
    if (applied == PARTNERS_NOT_OWNED) {
        mdv_pg_rollback(conn);
        not_owned(res);
        return;
    }
    if (answer(conn, p, o, res) != 0 || mdv_pg_commit(conn) != 0)
        goto fail;
    return;
fail:
    mdv_pg_rollback(conn);
    json_decref(res->json);
    res->json = NULL;
    mdv_http_unavailable(res);
}

static void report(struct partners_api *api, const struct partners_partner *p, json_t *body,
                   const char *key, struct mdv_http_response *res)
{
    struct partners_outcome o = {
        json_string_value(json_object_get(body, "journey_id")),
        json_string_value(json_object_get(body, "step_code")),
        json_string_value(json_object_get(body, "status")),
        json_string_value(json_object_get(body, "detail")),
        key,
    };
    mdv_step_status status;
    const char *field = NULL;
    const char *why = partners_outcome_problem(&o, &field, &status);
    if (why) {
        invalid(res, field, why);
        return;
    }
    PGconn *conn = mdv_pg_pool_get(api->pool);
    if (!conn) {
        mdv_http_unavailable(res);
        return;
    }
    record(api, conn, p, &o, status, res);
    mdv_pg_pool_put(api->pool, conn);
}

void partners_outcomes_post(const struct mdv_http_request *req, struct mdv_http_response *res,
                            void *ctx)
{
    struct partners_api *api = ctx;
    const struct partners_partner *p = partners_api_authenticate(api, req, res);
    if (!p)
        return;
    const char *key = mdv_http_header(req, "Idempotency-Key");
    if (!key) {
        invalid(res, "Idempotency-Key", "is required: the partner's key of this outcome");
        return;
    }
    json_t *body = mdv_http_read_json(req, res, validate, "Compte rendu invalide");
    if (!body)
        return;
    report(api, p, body, key, res);
    json_decref(body);
}
