/* A webhook partner's own API (services/partners/openapi.yaml), each route
 * authenticated as that partner (api.c):
 *
 *   PUT  /partners/v1/webhook                 registers or changes its endpoint
 *   GET  /partners/v1/webhook                 the endpoint, enabled or disabled
 *   POST /partners/v1/webhook/secret          a new secret (returned once)
 *   GET  /partners/v1/deliveries              its delivery log, newest first
 *   GET  /partners/v1/deliveries/{id}         one delivery with its attempts
 *   POST /partners/v1/deliveries/{id}/replay  one more attempt, same webhook-id
 *
 * The first registration makes the secret and returns it; later ones
 * keep it (a rotation is its own call). Registering again re-enables an
 * endpoint a 410 disabled, and its waiting deliveries go out. A delivery
 * of another partner is 404, as one that does not exist. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/webhook.h"
#include "partners.h"

#define URL_MAX 2048
#define DEFAULT_LIMIT 20
#define MAX_LIMIT 100
#define RFC3339(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

static void field_problem(struct mdv_http_response *res, int status, const char *title,
                          const char *field, const char *message)
{
    json_t *errors = json_array();
    mdv_http_field_error(errors, field, message);
    mdv_http_problem(res, status, status == 404 ? "not-found" : "validation", title,
                     "Some fields are missing or invalid; see errors.", errors);
}

/* The partner of the request, webhook partners only (a Kafka partner has
 * no endpoint: 404 names why). */
static const struct partners_partner *webhook_partner(struct partners_api *api,
                                                      const struct mdv_http_request *req,
                                                      struct mdv_http_response *res)
{
    const struct partners_partner *p = partners_api_authenticate(api, req, res);
    if (p && !p->webhook) {
        mdv_http_problem(res, 404, "not-found", "Pas de webhook pour ce partenaire",
                         "This partner receives its notices on Kafka, not by webhook.", NULL);
        return NULL;
    }
    return p;
}

/* Why url is no endpoint this service POSTs to, or NULL: an absolute
 * http or https URL with a host, no credentials, no fragment (curl's URL
 * parser decides what the parts are). */
static const char *url_problem(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *fragment = NULL;
    const char *why = NULL;
    if (strlen(url) > URL_MAX)
        why = "must have at most 2048 characters";
    else if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
             curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
        why = "must be an absolute URL";
    else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        why = "must be an http or https URL";
    else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
        why = "must not carry credentials";
    else if (curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK)
        why = "must not carry a fragment";
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(fragment);
    curl_url_cleanup(u);
    return why;
}

static void validate_endpoint(json_t *body, json_t *errors)
{
    const char *key;
    json_t *value;
    json_t *url = json_object_get(body, "url");
    if (!url)
        mdv_http_field_error(errors, "url", "is required");
    else if (!json_is_string(url))
        mdv_http_field_error(errors, "url", "must be a string");
    else if (url_problem(json_string_value(url)))
        mdv_http_field_error(errors, "url", url_problem(json_string_value(url)));
    json_object_foreach(body, key, value)
    {
        if (strcmp(key, "url") != 0)
            mdv_http_field_error(errors, key, "is not a member of an endpoint");
    }
}

#define ENDPOINT_COLUMNS                                                                           \
    "url, CASE WHEN disabled_at IS NULL THEN 'enabled' ELSE 'disabled' "                           \
    "END, " RFC3339("disabled_at") ", " RFC3339("created_at") ", " RFC3339(                        \
        "updated_at") ", " RFC3339("CASE WHEN previous_until > now() THEN "                        \
                                   "previous_until END")

/* The endpoint's JSON from a row of ENDPOINT_COLUMNS. */
static json_t *endpoint_json(const PGresult *r)
{
    json_t *e =
        json_pack("{s:s, s:s, s:s, s:s}", "url", PQgetvalue(r, 0, 0), "status", PQgetvalue(r, 0, 1),
                  "created_at", PQgetvalue(r, 0, 3), "updated_at", PQgetvalue(r, 0, 4));
    json_object_set_new(e, "disabled_at",
                        PQgetisnull(r, 0, 2) ? json_null() : json_string(PQgetvalue(r, 0, 2)));
    json_object_set_new(e, "previous_secret_expires_at",
                        PQgetisnull(r, 0, 5) ? json_null() : json_string(PQgetvalue(r, 0, 5)));
    return e;
}

/* Registers or changes p's endpoint; the secret only on the first
 * registration. Deliveries waiting for the endpoint were due all along
 * (a 410 left them due): the claim only needed an enabled endpoint. */
static int register_endpoint(PGconn *conn, const struct partners_partner *p, const char *url,
                             struct mdv_http_response *res)
{
    char secret[MDV_WEBHOOK_SECRET_LEN];
    if (mdv_webhook_secret_new(secret) != 0)
        return -1;
    const char *params[] = {p->id, url, secret};
    PGresult *r = mdv_pg_query(conn,
                               "INSERT INTO endpoints (partner, url, secret) VALUES ($1, $2, $3)"
                               " ON CONFLICT (partner) DO UPDATE SET url = $2, disabled_at = NULL, "
                               "updated_at = now()"
                               " RETURNING " ENDPOINT_COLUMNS ", xmax = 0",
                               3, params);
    if (!r)
        return -1;
    int created = strcmp(PQgetvalue(r, 0, 6), "t") == 0;
    json_t *e = endpoint_json(r);
    PQclear(r);
    if (created)
        json_object_set_new(e, "secret", json_string(secret));
    /* The workers wake: what waited for the endpoint is due. */
    if (mdv_pg_exec(conn, "SELECT pg_notify('mdv_deliveries', '')", 0, NULL) != 0) {
        json_decref(e);
        return -1;
    }
    mdv_http_json(res, created ? 201 : 200, e);
    return 0;
}

void partners_webhook_put(const struct mdv_http_request *req, struct mdv_http_response *res,
                          void *ctx)
{
    struct partners_api *api = ctx;
    const struct partners_partner *p = webhook_partner(api, req, res);
    if (!p)
        return;
    json_t *body = mdv_http_read_json(req, res, validate_endpoint, "Adresse de webhook invalide");
    if (!body)
        return;
    PGconn *conn = mdv_pg_pool_get(api->pool);
    if (!conn || mdv_pg_begin(conn) != 0 ||
        register_endpoint(conn, p, json_string_value(json_object_get(body, "url")), res) != 0 ||
        mdv_pg_commit(conn) != 0) {
        if (conn)
            mdv_pg_rollback(conn);
        json_decref(res->json);
        res->json = NULL;
        mdv_http_unavailable(res);
    } else {
        mdv_info("webhook endpoint of %s: %s", p->id,
                 json_string_value(json_object_get(body, "url")));
    }
    if (conn) /* a failed get gave its slot back */
        mdv_pg_pool_put(api->pool, conn);
    json_decref(body);
}

static void no_endpoint(struct mdv_http_response *res)
{
    mdv_http_problem(res, 404, "not-found", "Aucune adresse de webhook enregistrée",
                     "Register an endpoint first: PUT /partners/v1/webhook.", NULL);
}

void partners_webhook_get(const struct mdv_http_request *req, struct mdv_http_response *res,
                          void *ctx)
{
    struct partners_api *api = ctx;
    const struct partners_partner *p = webhook_partner(api, req, res);
    if (!p)
        return;
    const char *params[] = {p->id};
    PGconn *conn = mdv_pg_pool_get(api->pool);
    PGresult *r =
        conn ? mdv_pg_query(conn, "SELECT " ENDPOINT_COLUMNS " FROM endpoints WHERE partner = $1",
                            1, params)
             : NULL;
    if (!r)
        mdv_http_unavailable(res);
    else if (PQntuples(r) == 0)
        no_endpoint(res);
    else
        mdv_http_json(res, 200, endpoint_json(r));
    PQclear(r);
    if (conn) /* a failed get gave its slot back */
        mdv_pg_pool_put(api->pool, conn);
}

/* The current secret becomes the previous one, signing beside the new
 * one for the overlap; a previous one still in its overlap is dropped. */
void partners_webhook_rotate(const struct mdv_http_request *req, struct mdv_http_response *res,
                             void *ctx)
{
    struct partners_api *api = ctx;
    const struct partners_partner *p = webhook_partner(api, req, res);
    char secret[MDV_WEBHOOK_SECRET_LEN], overlap[24];
    if (!p)
        return;
    if (mdv_webhook_secret_new(secret) != 0) {
        mdv_http_unavailable(res);
        return;
    }
    snprintf(overlap, sizeof(overlap), "%ld", partners_schedule.overlap_s);
    const char *params[] = {p->id, secret, overlap};
    PGconn *conn = mdv_pg_pool_get(api->pool);
    PGresult *r = conn ? mdv_pg_query(conn,
                                      "UPDATE endpoints SET previous_secret = secret, secret = $2,"
                                      " previous_until = now() + make_interval(secs => $3::int),"
                                      " updated_at = now() WHERE partner = $1"
                                      " RETURNING " RFC3339("previous_until"),
                                      3, params)
                       : NULL;
    if (!r)
        mdv_http_unavailable(res);
    else if (PQntuples(r) == 0)
        no_endpoint(res);
    else {
        mdv_http_json(res, 201,
                      json_pack("{s:s, s:s}", "secret", secret, "previous_secret_expires_at",
                                PQgetvalue(r, 0, 0)));
        mdv_info("webhook secret of %s rotated; the previous one signs until %s", p->id,
                 PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    if (conn) /* a failed get gave its slot back */
        mdv_pg_pool_put(api->pool, conn);
}

#define DELIVERY_COLUMNS                                                                                                                        \
    "d.id, d.journey_id, d.step_code, d.event_type, d.status, "                                                                                 \
    "d.attempts, " RFC3339("d.created_at") ", " RFC3339(                                                                                        \
        "CASE WHEN d.status = "                                                                                                                 \
        "'pending' THEN "                                                                                                                       \
        "d.next_attempt_at END") ", " RFC3339("d.delivered_at") ", " RFC3339("d.dead_at") ", "                                                  \
                                                                                          "d."                                                  \
                                                                                          "last_"                                               \
                                                                                          "error,"                                              \
                                                                                          " d."                                                 \
                                                                                          "seq,"                                                \
                                                                                          " ("                                                  \
                                                                                          "SELECT"                                              \
                                                                                          " "                                                   \
                                                                                          "coales"                                              \
                                                                                          "ce("                                                 \
                                                                                          "json_"                                               \
                                                                                          "agg("                                                \
                                                                                          "json_"                                               \
                                                                                          "build_"                                              \
                                                                                          "object"                                              \
                                                                                          "('n', "                                              \
                                                                                          "a.n, "                                               \
                                                                                          "'repla"                                              \
                                                                                          "y', "                                                \
                                                                                          "a."                                                  \
                                                                                          "replay"                                              \
                                                                                          ", "                                                  \
                                                                                          "'url',"                                              \
                                                                                          " a."                                                 \
                                                                                          "url,"                                                \
                                                                                          " '"                                                  \
                                                                                          "starte"                                              \
                                                                                          "d_at',"                                              \
                                                                                          " " RFC3339("a.started_at") ", 'ended_at', " RFC3339( \
                                                                                              "a."                                              \
                                                                                              "en"                                              \
                                                                                              "de"                                              \
                                                                                              "d_"                                              \
                                                                                              "a"                                               \
                                                                                              "t") ", "                                         \
                                                                                                   "'http_"                                     \
                                                                                                   "status',"                                   \
                                                                                                   " a.http_"                                   \
                                                                                                   "status, "                                   \
                                                                                                   "'error',"                                   \
                                                                                                   " a."                                        \
                                                                                                   "error, "                                    \
                                                                                                   "'retry_"                                    \
                                                                                                   "after',"                                    \
                                                                                                   " " RFC3339(                                 \
                                                                                                       "a.retry_after") ") ORDER BY a.n), '[]') FROM delivery_attempts a WHERE a.delivery_id = d.id)"

static json_t *text_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

static json_t *delivery_json(const PGresult *r, int i)
{
    json_t *d =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "id", PQgetvalue(r, i, 0), "journey_id",
                  PQgetvalue(r, i, 1), "step_code", PQgetvalue(r, i, 2), "event_type",
                  PQgetvalue(r, i, 3), "status", PQgetvalue(r, i, 4), "attempt_count",
                  (json_int_t)atoll(PQgetvalue(r, i, 5)), "created_at", PQgetvalue(r, i, 6));
    json_object_set_new(d, "next_attempt_at", text_or_null(r, i, 7));
    json_object_set_new(d, "delivered_at", text_or_null(r, i, 8));
    json_object_set_new(d, "dead_at", text_or_null(r, i, 9));
    json_object_set_new(d, "last_error", text_or_null(r, i, 10));
    json_t *attempts = json_loads(PQgetvalue(r, i, 12), 0, NULL);
    json_object_set_new(d, "attempts", attempts ? attempts : json_array());
    return d;
}

static int page_limit(const char *text)
{
    char *end = NULL;
    long n = text ? strtol(text, &end, 10) : DEFAULT_LIMIT;
    if (text && (*end || n < 1 || n > MAX_LIMIT))
        return -1;
    return (int)n;
}

/* The cursor is the seq of the previous page's last delivery (opaque to
 * clients): digits only, or it is refused before the database sees it. */
static int valid_cursor(const char *cursor)
{
    size_t n = strlen(cursor);
    return n > 0 && n <= 18 && strspn(cursor, "0123456789") == n;
}

static void list_page(PGconn *conn, const struct partners_partner *p, int limit, const char *after,
                      const char *status, struct mdv_http_response *res)
{
    char limit_text[16];
    snprintf(limit_text, sizeof(limit_text), "%d", limit + 1);
    const char *params[] = {p->id, after, limit_text, status};
    PGresult *r = mdv_pg_query(conn,
                               "SELECT " DELIVERY_COLUMNS " FROM deliveries d WHERE d.partner = $1"
                               " AND d.seq < $2::bigint AND ($4::text IS NULL OR d.status = $4)"
                               " ORDER BY d.seq DESC LIMIT $3::int",
                               4, params);
    if (!r) {
        mdv_http_unavailable(res);
        return;
    }
    json_t *items = json_array();
    int rows = PQntuples(r);
    for (int i = 0; i < rows && i < limit; i++)
        json_array_append_new(items, delivery_json(r, i));
    json_t *next = rows > limit ? json_string(PQgetvalue(r, limit - 1, 11)) : json_null();
    PQclear(r);
    mdv_http_json(res, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

void partners_deliveries_list(const struct mdv_http_request *req, struct mdv_http_response *res,
                              void *ctx)
{
    struct partners_api *api = ctx;
    const struct partners_partner *p = webhook_partner(api, req, res);
    const char *cursor = mdv_http_query(req, "cursor"), *status = mdv_http_query(req, "status");
    int limit = page_limit(mdv_http_query(req, "limit"));
    if (!p)
        return;
    if (limit < 0) {
        field_problem(res, 422, "Paramètre invalide", "limit", "must be an integer from 1 to 100");
        return;
    }
    if (cursor && !*cursor)
        cursor = NULL;
    if (cursor && !valid_cursor(cursor)) {
        field_problem(res, 422, "Paramètre invalide", "cursor",
                      "is not a cursor this API returned");
        return;
    }
    if (status && strcmp(status, "pending") != 0 && strcmp(status, "delivered") != 0 &&
        strcmp(status, "dead") != 0) {
        field_problem(res, 422, "Paramètre invalide", "status",
                      "must be pending, delivered or dead");
        return;
    }
    PGconn *conn = mdv_pg_pool_get(api->pool);
    if (!conn) {
        mdv_http_unavailable(res);
        return;
    }
    list_page(conn, p, limit, cursor ? cursor : "9223372036854775807", status, res);
    if (conn) /* a failed get gave its slot back */
        mdv_pg_pool_put(api->pool, conn);
}

static void no_delivery(struct mdv_http_response *res)
{
    field_problem(res, 404, "Transmission introuvable", "id", "no delivery of yours has this id");
}

void partners_delivery_get(const struct mdv_http_request *req, struct mdv_http_response *res,
                           void *ctx)
{
    struct partners_api *api = ctx;
    const struct partners_partner *p = webhook_partner(api, req, res);
    if (!p)
        return;
    if (!mdv_uuid_valid(req->param)) {
        no_delivery(res);
        return;
    }
    const char *params[] = {p->id, req->param};
    PGconn *conn = mdv_pg_pool_get(api->pool);
    PGresult *r = conn ? mdv_pg_query(conn,
                                      "SELECT " DELIVERY_COLUMNS " FROM deliveries d"
                                      " WHERE d.partner = $1 AND d.id = $2",
                                      2, params)
                       : NULL;
    if (!r)
        mdv_http_unavailable(res);
    else if (PQntuples(r) == 0)
        no_delivery(res);
    else
        mdv_http_json(res, 200, delivery_json(r, 0));
    PQclear(r);
    if (conn) /* a failed get gave its slot back */
        mdv_pg_pool_put(api->pool, conn);
}

/* One more attempt, due now, under the same webhook-id and body: a
 * delivered or dead delivery is pending again for that attempt only (its
 * schedule's length becomes one more than made); a failure leaves a
 * delivered one delivered and a dead one dead. */
void partners_delivery_replay(const struct mdv_http_request *req, struct mdv_http_response *res,
                              void *ctx)
{
    struct partners_api *api = ctx;
    const struct partners_partner *p = webhook_partner(api, req, res);
    if (!p)
        return;
    if (!mdv_uuid_valid(req->param)) {
        no_delivery(res);
        return;
    }
    const char *params[] = {p->id, req->param};
    PGconn *conn = mdv_pg_pool_get(api->pool);
    PGresult *r =
        conn ? mdv_pg_query(conn,
                            "WITH replayed AS (UPDATE deliveries SET status = 'pending',"
                            " replay_pending = true, next_attempt_at = now(),"
                            " max_attempts = CASE WHEN status = 'pending' THEN max_attempts"
                            " ELSE attempts + 1 END WHERE partner = $1 AND id = $2 "
                            "RETURNING id)"
                            " SELECT id, pg_notify('mdv_deliveries', '') FROM replayed",
                            2, params)
             : NULL;
    if (!r)
        mdv_http_unavailable(res);
    else if (PQntuples(r) == 0)
        no_delivery(res);
    else {
        mdv_http_json(res, 202,
                      json_pack("{s:s, s:s}", "id", PQgetvalue(r, 0, 0), "status", "pending"));
        mdv_info("delivery %s of %s: replay asked", req->param, p->id);
    }
    PQclear(r);
    if (conn) /* a failed get gave its slot back */
        mdv_pg_pool_put(api->pool, conn);
}
