/* GET /v1/journeys/{id} and GET /v1/journeys: the caller's journeys from
 * the read model. Someone else's journey is 404, never 403, which would
 * tell that it exists. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "journey_cache.h"

#define RFC3339(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define DEFAULT_LIMIT 20
#define MAX_LIMIT 100

/* Journey status from its steps (DESIGN.md §3). */
static const char *journey_status(int planned, json_t *steps)
{
    int action = 0, failed = 0, open = 0;
    size_t i;
    json_t *step;
    if (!planned)
        return "in_progress";
    json_array_foreach(steps, i, step)
    {
        const char *s = json_string_value(json_object_get(step, "status"));
        action |= strcmp(s, "action_required") == 0;
        failed |= strcmp(s, "failed") == 0;
        open |= strcmp(s, "done") != 0 && strcmp(s, "not_applicable") != 0;
    }
    if (action)
        return "action_required";
    if (failed)
        return "failed";
    return open ? "in_progress" : "completed";
}

/* clang-format off */
/* The journey's recipients (projection_recipients.c) as a JSON list, in
 * the order they were notified: each partner, its administration, the
 * fields it received with the gateway's French labels (a name without one
 * shows as itself), its legal basis, mandatory or chosen, and when it was
 * notified and acknowledged (null until then). */
#define RECIPIENTS_JSON                                                                            \
    "(SELECT coalesce(json_agg(row_to_json(q) ORDER BY q.notified_at, q.step), '[]'::json) FROM (" \
    "  SELECT x.partner, x.administration, x.step_code AS step,"                                   \
    "   (SELECT json_agg(json_build_object('name', f.name, 'label', coalesce(l.label, f.name))"    \
    "     ORDER BY f.ord) FROM unnest(x.fields) WITH ORDINALITY AS f(name, ord)"                   \
    "     LEFT JOIN recipient_field_labels l ON l.name = f.name) AS fields,"                       \
    "   x.legal_basis, x.basis, " RFC3339("x.notified_at") " AS notified_at,"                      \
    "   " RFC3339("x.acknowledged_at") " AS acknowledged_at"                                       \
    "  FROM journey_recipients x WHERE x.journey_id = j.journey_id) q)"
/* clang-format on */

/* A journey and its steps in one row, so one query (one snapshot) serves
 * a journey or a whole page: PostgreSQL aggregates the steps as JSON. */
#define JOURNEY_COLUMNS                                                                            \
    "j.journey_id, j.kind, j.planned, " RFC3339("j.created_at") ", " RFC3339(                      \
        "j.updated_at") ","                                                                        \
                        " (SELECT coalesce(json_agg(json_build_object("                            \
                        "   'code', s.code, 'administration', s.administration, 'label', s.label," \
                        "   'status', s.status, 'received_at', " RFC3339(                          \
                            "s.received_at") ","                                                   \
                                             "   'updated_at', " RFC3339(                          \
                                                 "s.updated_at") ", 'due_at', " RFC3339("s.due_"   \
                                                                                        "at") ","  \
                                                                                              "  " \
                                                                                              " '" \
                                                                                              "de" \
                                                                                              "ta" \
                                                                                              "il" \
                                                                                              "'," \
                                                                                              " s" \
                                                                                              ".d" \
                                                                                              "et" \
                                                                                              "ai" \
                                                                                              "l)" \
                                                                                              " O" \
                                                                                              "RD" \
                                                                                              "ER" \
                                                                                              " B" \
                                                                                              "Y " \
                                                                                              "s." \
                                                                                              "po" \
                                                                                              "si" \
                                                                                              "ti" \
                                                                                              "on" \
                                                                                              " N" \
                                                                                              "UL" \
                                                                                              "LS" \
                                                                                              " L" \
                                                                                              "AS" \
                                                                                              "T," \
                                                                                              " s" \
                                                                                              ".c" \
                                                                                              "od" \
                                                                                              "e)" \
                                                                                              ", " \
                                                                                              "'[" \
                                                                                              "]'" \
                                                                                              ")"  \
                                                                                              "  " \
                                                                                              "FR" \
                                                                                              "OM" \
                                                                                              " j" \
                                                                                              "ou" \
                                                                                              "rn" \
                                                                                              "ey" \
                                                                                              "_s" \
                                                                                              "te" \
                                                                                              "ps" \
                                                                                              " s" \
                                                                                              " W" \
                                                                                              "HE" \
                                                                                              "RE" \
                                                                                              " s" \
                                                                                              ".j" \
                                                                                              "ou" \
                                                                                              "rn" \
                                                                                              "ey" \
                                                                                              "_i" \
                                                                                              "d " \
                                                                                              "= " \
                                                                                              "j." \
                                                                                              "jo" \
                                                                                              "ur" \
                                                                                              "ne" \
                                                                                              "y_" \
                                                                                              "id" \
                                                                                              ")"
#define STEPS_COLUMN 5
/* The usager's rating (ratings.c), or NULL: after JOURNEY_COLUMNS. */
#define RATING_COLUMN                                                                              \
    "(SELECT json_build_object('score', r.score, 'comment', r.comment, 'rated_at', " RFC3339(      \
        "r.rated_at") ") FROM journey_ratings r WHERE r.journey_id = j.journey_id)"
#define RATING_INDEX (STEPS_COLUMN + 1)
/* Its recipients, after the rating (RECIPIENTS_JSON). */
#define RECIPIENTS_INDEX (RATING_INDEX + 1)

/* The journey of one row of a JOURNEY_COLUMNS query; NULL if its steps do
 * not parse (which would be a bug). */
static json_t *journey_from_row(PGresult *res, int row)
{
    json_t *steps = json_loads(PQgetvalue(res, row, STEPS_COLUMN), 0, NULL);
    if (!json_is_array(steps)) {
        json_decref(steps);
        mdv_error("journey %s: steps do not parse", PQgetvalue(res, row, 0));
        return NULL;
    }
    int planned = strcmp(PQgetvalue(res, row, 2), "t") == 0;
    json_t *rating = PQgetisnull(res, row, RATING_INDEX)
                         ? json_null()
                         : json_loads(PQgetvalue(res, row, RATING_INDEX), 0, NULL);
    if (!rating) {
        json_decref(steps);
        mdv_error("journey %s: rating does not parse", PQgetvalue(res, row, 0));
        return NULL;
    }
    json_t *recipients = json_loads(PQgetvalue(res, row, RECIPIENTS_INDEX), 0, NULL);
    if (!json_is_array(recipients)) {
        json_decref(steps);
        json_decref(rating);
        json_decref(recipients);
        mdv_error("journey %s: recipients do not parse", PQgetvalue(res, row, 0));
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", PQgetvalue(res, row, 0),
                     "kind", PQgetvalue(res, row, 1), "status", journey_status(planned, steps),
                     "created_at", PQgetvalue(res, row, 3), "updated_at", PQgetvalue(res, row, 4),
                     "steps", steps, "recipients", recipients, "rating", rating);
}

json_t *journey_json(PGconn *conn, const char *journey_id, const char *usager, int *failed)
{
    const char *params[] = {journey_id, usager};
    PGresult *res = mdv_pg_query(conn,
                                 "SELECT " JOURNEY_COLUMNS ", " RATING_COLUMN ", " RECIPIENTS_JSON
                                 " FROM journeys j"
                                 " WHERE j.journey_id = $1 AND " GATEWAY_CALLER_SEES("2"),
                                 2, params);
    json_t *journey = res && PQntuples(res) == 1 ? journey_from_row(res, 0) : NULL;
    *failed = !res || (PQntuples(res) == 1 && !journey);
    PQclear(res);
    return journey;
}

/* A journey's version, its ETag: a digest of the transaction ids that
 * wrote its row, each of its steps' rows and its rating's row (xmin). Any change to what a
 * GET shows is a new row version with a new xmin, and reading the xmins
 * writes nothing and costs a scan of the journey's steps index; no
 * counter for the projection to keep. The leading "1:" names this
 * representation: change it when the journey's JSON changes shape. */
/* clang-format off */
#define JOURNEY_VERSION                                                                            \
    "md5('2:' || j.xmin::text || ':' || coalesce((SELECT string_agg(s.code || '=' ||"             \
    "   s.xmin::text, ',' ORDER BY s.code)"                                                        \
    "  FROM journey_steps s WHERE s.journey_id = j.journey_id), '') || ':' ||"                     \
    " coalesce((SELECT r.xmin::text FROM journey_ratings r WHERE r.journey_id = j.journey_id), '')"\
    " || ':' || coalesce((SELECT string_agg(x.step_code || '=' || x.xmin::text, ',' ORDER BY"      \
    "   x.step_code) FROM journey_recipients x WHERE x.journey_id = j.journey_id), ''))"

/* Journey status from its steps (DESIGN.md §3): action_required, then
 * failed, then in_progress while a step is open, else completed; in
 * progress until the plan is known. */
#define JOURNEY_STATUS                                                                             \
    "CASE WHEN NOT j.planned THEN 'in_progress'"                                                   \
    " WHEN bool_or(s.status = 'action_required') THEN 'action_required'"                          \
    " WHEN bool_or(s.status = 'failed') THEN 'failed'"                                             \
    " WHEN bool_or(s.status NOT IN ('done', 'not_applicable')) THEN 'in_progress'"                 \
    " ELSE 'completed' END"

/* One journey as the API shows it, serialised by PostgreSQL (row_to_json
 * writes compact JSON, members in this order), so that the gateway hands
 * the text on as it comes. */
#define JOURNEY_BODY                                                                               \
    "(SELECT row_to_json(r)::text FROM ("                                                          \
    "  SELECT j.journey_id AS id, j.kind, " JOURNEY_STATUS " AS status,"                           \
    "   " RFC3339("j.created_at") " AS created_at,"                                                \
    "   " RFC3339("j.updated_at") " AS updated_at,"                                                \
    "   coalesce(('[' || string_agg(row_to_json(t)::text, ','"                                     \
    "    ORDER BY s.position NULLS LAST, s.code) || ']')::json, '[]'::json) AS steps,"             \
    "   " RECIPIENTS_JSON " AS recipients,"                                                        \
    "   (SELECT row_to_json(g) FROM (SELECT r.score, r.comment,"                                   \
    "    " RFC3339("r.rated_at") " AS rated_at"                                                    \
    "    FROM journey_ratings r WHERE r.journey_id = j.journey_id) g) AS rating"                   \
    "  FROM journey_steps s CROSS JOIN LATERAL ("                                                  \
    "   SELECT s.code, s.administration, s.label, s.status,"                                       \
    "    " RFC3339("s.received_at") " AS received_at,"                                             \
    "    " RFC3339("s.updated_at") " AS updated_at,"                                               \
    "    " RFC3339("s.due_at") " AS due_at, s.detail) t"                                           \
    "  WHERE s.journey_id = j.journey_id) r)"
/* clang-format on */

/* $1 journey, $2 usager, $3 the tags the client holds (a JSON list of
 * texts, "*" for any, or NULL). One round trip: the version, and the body
 * only when the client does not hold that version already, so that a 304
 * costs the version's small scan; then whether the caller owns the journey
 * (rather than seeing it under a mandate), which alone may be cached. */
const char gateway_get_journey_sql[] =
    "SELECT v.version, CASE WHEN v.version = ANY (t.held) OR '*' = ANY (t.held) THEN NULL"
    " ELSE " JOURNEY_BODY " END, j.usager_id = $2"
    " FROM journeys j CROSS JOIN LATERAL (SELECT " JOURNEY_VERSION " AS version) v"
    " CROSS JOIN (SELECT ARRAY(SELECT json_array_elements_text($3::json)) AS held) t"
    " WHERE j.journey_id = $1 AND " GATEWAY_CALLER_SEES("2");

/* A journey and its steps in one row, so one query (one snapshot) serves
 * a whole page: PostgreSQL aggregates each journey as JSON, beside its
 * version and its place in the order. */
const char gateway_list_page_sql[] =
    "SELECT j.journey_id, " JOURNEY_VERSION ", " JOURNEY_BODY ","
    " (extract(epoch FROM j.created_at) * 1000000)::bigint AS micros"
    " FROM journeys j WHERE " GATEWAY_CALLER_SEES(
        "1") " AND ((extract(epoch FROM j.created_at) * 1000000)::bigint, j.journey_id)"
             "     < ($2::bigint, $3::uuid)"
             " ORDER BY micros DESC, j.journey_id DESC LIMIT $4::int";

/* RFC 9111 §5.2.2: a journey is the usager's (private), and a cache must
 * ask before reusing it (no-cache): If-None-Match, answered 304 while the
 * version holds. */
static void cacheable(struct mdv_http_response *res, const char *version)
{
    char quoted[MDV_HTTP_ETAG_LEN + 2];
    snprintf(quoted, sizeof(quoted), "\"%s\"", version);
    mdv_http_add_header(res, "ETag", quoted);
    mdv_http_add_header(res, "Cache-Control", "private, no-cache");
}

/* The client's tags as a JSON list for $3, or NULL when it sent none. */
static char *held_tags(const struct mdv_http_inm *inm)
{
    char *tags[MDV_HTTP_INM_MAX];
    char any[] = "*";
    int n = inm->any ? 1 : inm->count;
    if (n == 0)
        return NULL;
    for (int i = 0; i < n; i++)
        tags[i] = inm->any ? any : (char *)inm->tags[i];
    return mdv_pg_texts_json(tags, (size_t)n);
}

/* Answers from one get_journey row, and keeps the answer when the caller
 * owns the journey: an agent sees it under a mandate, which can end at
 * any moment, so the database decides each time. */
static void journey_answer(struct gateway *gw, const struct journey_cache_ticket *ticket,
                           const char *journey_id, const char *usager, PGresult *row,
                           struct mdv_http_response *res)
{
    const char *version = PQgetvalue(row, 0, 0);
    cacheable(res, version);
    if (PQgetisnull(row, 0, 1)) {
        res->status = 304;
        return;
    }
    if (strcmp(PQgetvalue(row, 0, 2), "t") == 0)
        journey_cache_put(gw->cache, ticket, journey_id, usager, version, PQgetvalue(row, 0, 1));
    mdv_http_json_text(res, 200, mdv_xstrdup(PQgetvalue(row, 0, 1)));
}

/* Answers from the cache: 0, or -1 when it does not hold the journey for
 * this caller (ticket then says what a put needs). */
static int cached_answer(struct gateway *gw, const char *journey_id, const char *usager,
                         const struct mdv_http_inm *inm, struct mdv_http_response *res,
                         struct journey_cache_ticket *ticket)
{
    char version[JOURNEY_CACHE_ETAG_LEN];
    char *body = NULL;
    if (!journey_cache_get(gw->cache, journey_id, usager, version, &body, ticket))
        return -1;
    cacheable(res, version);
    if (mdv_http_inm_matches(inm, version)) {
        res->status = 304;
        free(body);
    } else {
        mdv_http_json_text(res, 200, body);
    }
    return 0;
}

void journeys_get(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    char usager[MDV_AUTH_SUB_LEN];
    struct mdv_http_inm inm;
    struct journey_cache_ticket ticket;

    if (gateway_authenticate(gw, req, res, usager, sizeof(usager)) != 0)
        return;
    if (!mdv_uuid_valid(req->param)) {
        gateway_not_found(res);
        return;
    }
    mdv_http_inm_parse(mdv_http_header(req, "If-None-Match"), &inm);
    if (cached_answer(gw, req->param, usager, &inm, res, &ticket) == 0)
        return;
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn) {
        mdv_http_unavailable(res);
        return;
    }
    char *held = held_tags(&inm);
    const char *params[] = {req->param, usager, held};
    PGresult *row = mdv_pg_query_prepared(conn, "get_journey", 3, params);
    mdv_pg_pool_put(gw->pool, conn);
    if (!row)
        mdv_http_unavailable(res);
    else if (PQntuples(row) != 1)
        gateway_not_found(res);
    else
        journey_answer(gw, &ticket, req->param, usager, row, res);
    PQclear(row);
    free(held);
}

/* The cursor is "<created_at in µs since the epoch>_<journey id>" of the
 * last item of the previous page. Clients treat it as opaque; anything this
 * API could not have returned (a count PostgreSQL's bigint cannot hold, a
 * sign, other bytes) is refused here, never sent to the database. Returns 0
 * when it parses. */
static int parse_cursor(const char *cursor, char *micros, size_t mlen, char *id)
{
    const char *sep = strchr(cursor, '_');
    size_t n = sep ? (size_t)(sep - cursor) : 0;
    if (!sep || n == 0 || n >= mlen || strspn(cursor, "0123456789") != n ||
        !mdv_uuid_valid(sep + 1))
        return -1;
    memcpy(micros, cursor, n);
    micros[n] = '\0';
    errno = 0;
    unsigned long long value = strtoull(micros, NULL, 10);
    if (errno == ERANGE || value > INT64_MAX)
        return -1;
    mdv_strlcpy(id, sep + 1, MDV_UUID_LEN);
    return 0;
}

static int page_limit(const char *text)
{
    char *end = NULL;
    long n = text ? strtol(text, &end, 10) : DEFAULT_LIMIT;
    if (text && (*end || n < 1 || n > MAX_LIMIT))
        return -1;
    return (int)n;
}

static void bad_query(struct mdv_http_response *res, const char *field, const char *message)
{
    json_t *errors = json_array();
    mdv_http_field_error(errors, field, message);
    mdv_http_problem(res, 422, "validation", "Paramètre invalide", "A query parameter is invalid.",
                     errors);
}

#define LIST_ID 0
#define LIST_VERSION 1
#define LIST_BODY 2
#define LIST_MICROS 3

/* The page's items, NULL if one does not parse (which would be a bug). */
static json_t *page_items(PGresult *page, int limit)
{
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(page) && i < limit; i++) {
        json_t *j = json_loads(PQgetvalue(page, i, LIST_BODY), 0, NULL);
        if (!json_is_object(j)) {
            mdv_error("journey %s: its JSON does not parse", PQgetvalue(page, i, LIST_ID));
            json_decref(j);
            json_decref(items);
            return NULL;
        }
        json_array_append_new(items, j);
    }
    return items;
}

/* A page's version: SHA-256 over the page's size and each row's id and
 * version, the one past the page included (it decides next_cursor). The
 * same rows at the same versions make the same page of that size; a page
 * of one and a page of two can hold the same rows. */
static void page_version(PGresult *page, int limit, char out[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        abort(); /* memory */
    EVP_DigestUpdate(md, &limit, sizeof(limit));
    for (int i = 0; i < PQntuples(page); i++) {
        EVP_DigestUpdate(md, PQgetvalue(page, i, LIST_ID), (size_t)PQgetlength(page, i, LIST_ID));
        EVP_DigestUpdate(md, PQgetvalue(page, i, LIST_VERSION),
                         (size_t)PQgetlength(page, i, LIST_VERSION) + 1);
    }
    EVP_DigestFinal_ex(md, digest, &len);
    EVP_MD_CTX_free(md);
    for (unsigned int i = 0; i < len && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* The page after (micros, after_id), newest first. */
static void list_page(PGconn *conn, const struct mdv_http_request *req, const char *usager,
                      int limit, const char *micros, const char *after_id,
                      struct mdv_http_response *res)
{
    char limit_text[16], version[65] = "";
    struct mdv_http_inm inm;
    snprintf(limit_text, sizeof(limit_text), "%d", limit + 1);
    const char *params[] = {usager, micros, after_id, limit_text};
    PGresult *page = mdv_pg_query_prepared(conn, "list_page", 4, params);
    if (!page) {
        mdv_http_unavailable(res);
        return;
    }
    page_version(page, limit, version);
    mdv_http_inm_parse(mdv_http_header(req, "If-None-Match"), &inm);
    if (mdv_http_inm_matches(&inm, version)) {
        cacheable(res, version);
        res->status = 304;
        PQclear(page);
        return;
    }
    json_t *items = page_items(page, limit), *next = json_null();
    if (PQntuples(page) > limit) {
        char *c = mdv_xasprintf("%s_%s", PQgetvalue(page, limit - 1, LIST_MICROS),
                                PQgetvalue(page, limit - 1, LIST_ID));
        next = json_string(c);
        free(c);
    }
    PQclear(page);
    if (!items) {
        json_decref(next);
        mdv_http_unavailable(res);
        return;
    }
    cacheable(res, version);
    mdv_http_json(res, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

void journeys_list(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    char usager[MDV_AUTH_SUB_LEN];
    /* Without a cursor, the page after the newest possible journey. */
    char micros[24] = "9223372036854775807",
         id[MDV_UUID_LEN] = "ffffffff-ffff-ffff-ffff-ffffffffffff";
    const char *cursor = mdv_http_query(req, "cursor");
    int limit = page_limit(mdv_http_query(req, "limit"));

    if (gateway_authenticate(gw, req, res, usager, sizeof(usager)) != 0)
        return;
    if (limit < 0) {
        bad_query(res, "limit", "must be an integer from 1 to 100");
        return;
    }
    /* An empty cursor is the first page, as a client that always sends
     * the previous next_cursor expects. */
    if (cursor && !*cursor)
        cursor = NULL;
    if (cursor && parse_cursor(cursor, micros, sizeof(micros), id) != 0) {
        bad_query(res, "cursor", "is not a cursor this API returned");
        return;
    }
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn) {
        mdv_http_unavailable(res);
        return;
    }
    list_page(conn, req, usager, limit, micros, id, res);
    mdv_pg_pool_put(gw->pool, conn);
}
