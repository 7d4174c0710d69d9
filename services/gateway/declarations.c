/* POST /v1/declarations: authenticate, check, then in one transaction
 * record the journey and put DeclarationSubmitted in the outbox. The
 * Idempotency-Key makes a retried POST safe. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "mdv/outbox.h"
#include "submission.h"

#define DECLARATIONS_TOPIC "mdv.gateway.declarations.v1"

/* Hex SHA-256 of the body: a replay must carry the same request. */
static void body_hash(const struct mdv_http_request *req, char out[65])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(req->body ? req->body : "", req->body_len, digest, &len, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < len && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static void accepted(struct mdv_http_response *res, const char *journey_id)
{
    char self[128];
    snprintf(self, sizeof(self), "/v1/journeys/%s", journey_id);
    mdv_http_json(res, 202,
                  json_pack("{s:s, s:s, s:{s:s}}", "journey_id", journey_id, "status",
                            "in_progress", "links", "self", self));
    mdv_strlcpy(res->location, self, sizeof(res->location));
}

/* The owner of the body's kind learns of it from the outbox. */
static int publish(PGconn *conn, json_t *body, const char *journey_id, const char *usager)
{
    struct submission s;
    char now[MDV_TIME_LEN];

    mdv_time_now(now);
    submission_build(&s, body, journey_id, usager, now);
    struct mdv_outbox_event ev = {
        .topic = DECLARATIONS_TOPIC,
        .aggregatetype = "journey",
        .meta = {"gateway", "fr.gouv.mdv.gateway.declaration_submitted.v1", journey_id, journey_id,
                 NULL},
        .message = &s.message.base,
    };
    return mdv_outbox_add(conn, &ev);
}

/* The usager's consent to each optional recipient chosen: what and when. */
static int record_consents(PGconn *conn, json_t *body, const char *journey_id)
{
    json_t *chosen = json_object_get(body, "recipients");
    if (json_array_size(chosen) == 0)
        return 0;
    char *list = json_dumps(chosen, JSON_COMPACT);
    const char *params[] = {journey_id, list};
    int rc = mdv_pg_exec(conn,
                         "INSERT INTO consents (journey_id, partner)"
                         " SELECT $1, json_array_elements_text($2::json)",
                         2, params);
    free(list);
    return rc;
}

/* $1 journey, $2 usager, $3 kind, $4 the mandate it is declared under
 * ("" for none, mandates.c). */
const char gateway_insert_journey_sql[] =
    "INSERT INTO journeys (journey_id, usager_id, kind, mandate_id)"
    " VALUES ($1, $2, $3, NULLIF($4, '')::uuid)";

/* The same with an Idempotency-Key ($4, the body's hash $5; the mandate
 * $6), in one
 * statement: the journey is written only when this request claims the
 * key, so that a replay costs no more round trips than a first request. */
const char gateway_claim_and_insert_journey_sql[] =
    "WITH claim AS (INSERT INTO idempotency_keys (usager_id, idempotency_key, request_hash,"
    " journey_id) VALUES ($2, $4, $5, $1) ON CONFLICT DO NOTHING RETURNING journey_id)"
    " INSERT INTO journeys (journey_id, usager_id, kind, mandate_id)"
    " SELECT journey_id, $2, $3, NULLIF($6, '')::uuid FROM claim";

/* $1 usager, $2 key, $3 the body's hash: the earlier request's journey
 * when its body was the same. */
const char gateway_previous_claim_sql[] =
    "SELECT request_hash = $3, journey_id FROM idempotency_keys"
    " WHERE usager_id = $1 AND idempotency_key = $2";

/* Writes the journey, claiming the key when there is one. Returns 1 when
 * written, 0 when the key was used before (writing the earlier journey into
 * previous, or "" when the body differed), -1 on error. */
static int insert_journey(PGconn *conn, const char *const journey[4], const char *key,
                          const char *hash, char previous[MDV_UUID_LEN])
{
    const char *params[] = {journey[0], journey[1], journey[2], key, hash, journey[3]};
    const char *plain[] = {journey[0], journey[1], journey[2], journey[3]};
    PGresult *res = key ? mdv_pg_query_prepared(conn, "claim_and_insert_journey", 6, params)
                        : mdv_pg_query_prepared(conn, "insert_journey", 4, plain);
    if (!res)
        return -1;
    int inserted = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    if (inserted)
        return 1;
    const char *claim[] = {journey[1], key, hash};
    res = key ? mdv_pg_query_prepared(conn, "previous_claim", 3, claim) : NULL;
    if (!res || PQntuples(res) != 1) {
        PQclear(res);
        return -1;
    }
    mdv_strlcpy(previous, strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? PQgetvalue(res, 0, 1) : "",
                MDV_UUID_LEN);
    PQclear(res);
    return 0;
}

/* The transaction: key and journey, outbox. */
/* usager: the journey's owner (the caller, or for an agent the mandate's
 * usager, whose Idempotency-Keys these are too); mandate_id "" for none. */
static void record(PGconn *conn, const struct mdv_http_request *req, json_t *body,
                   const char *usager, const char *mandate_id, struct mdv_http_response *res)
{
    const char *key = mdv_http_header(req, "Idempotency-Key");
    char journey_id[MDV_UUID_LEN], previous[MDV_UUID_LEN], hash[65] = "";
    const char *journey[] = {journey_id, usager, json_string_value(json_object_get(body, "kind")),
                             mandate_id};
    int inserted;

    mdv_uuid_new(journey_id);
    body_hash(req, hash);
    if (mdv_pg_begin(conn) != 0 ||
        (inserted = insert_journey(conn, journey, key, hash, previous)) < 0)
        goto fail;
    if (!inserted) {
        mdv_pg_rollback(conn);
        if (previous[0])
            accepted(res, previous);
        else
            mdv_http_problem(res, 422, "idempotency-key-reused", "Déclaration déjà envoyée",
                             "This Idempotency-Key was used with another body.", NULL);
        return;
    }
    if (record_consents(conn, body, journey_id) != 0 ||
        publish(conn, body, journey_id, usager) != 0 || mdv_pg_commit(conn) != 0)
        goto fail;
    mdv_info("declaration accepted, journey %s (%s)", journey_id, journey[2]);
    accepted(res, journey_id);
    return;
fail:
    mdv_pg_rollback(conn);
    mdv_http_unavailable(res);
}

void declarations_post(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    struct gateway_caller caller;
    char owner[MDV_AUTH_SUB_LEN], mandate_id[MDV_UUID_LEN];
    const char *key;

    if (gateway_caller_get(gw, req, res, &caller) != 0 ||
        gateway_idempotency_key(req, res, &key) != 0)
        return;
    json_t *body = mdv_http_read_json(req, res, declaration_validate_mandated,
                                      "Déclaration incomplète ou invalide");
    if (!body)
        return;
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn)
        mdv_http_unavailable(res);
    else if (gateway_mandate_owner(conn, &caller, body, res, owner, mandate_id) == 0)
        record(conn, req, body, owner, mandate_id, res);
    if (conn)
        mdv_pg_pool_put(gw->pool, conn);
    json_decref(body);
}
