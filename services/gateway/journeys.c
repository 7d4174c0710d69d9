/* GET /v1/journeys/{id} and GET /v1/journeys: the caller's journeys from
 * the read model. Someone else's journey is 404, never 403, which would
 * tell that it exists. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

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
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", PQgetvalue(res, row, 0), "kind",
                     PQgetvalue(res, row, 1), "status", journey_status(planned, steps),
                     "created_at", PQgetvalue(res, row, 3), "updated_at", PQgetvalue(res, row, 4),
                     "steps", steps, "rating", rating);
}

json_t *journey_json(PGconn *conn, const char *journey_id, const char *usager, int *failed)
{
    const char *params[] = {journey_id, usager};
    PGresult *res = mdv_pg_query(conn,
                                 "SELECT " JOURNEY_COLUMNS ", " RATING_COLUMN " FROM journeys j"
                                 " WHERE j.journey_id = $1 AND j.usager_id = $2",
                                 2, params);
    json_t *journey = res && PQntuples(res) == 1 ? journey_from_row(res, 0) : NULL;
    *failed = !res || (PQntuples(res) == 1 && !journey);
    PQclear(res);
    return journey;
}

void journeys_get(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    char usager[MDV_AUTH_SUB_LEN];
    int failed = 0;

    if (gateway_authenticate(gw, req, res, usager, sizeof(usager)) != 0)
        return;
    if (!mdv_uuid_valid(req->param)) {
        gateway_not_found(res);
        return;
    }
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn) {
        gateway_unavailable(res);
        return;
    }
    json_t *journey = journey_json(conn, req->param, usager, &failed);
    mdv_pg_pool_put(gw->pool, conn);
    if (journey)
        mdv_http_json(res, 200, journey);
    else if (failed)
        gateway_unavailable(res);
    else
        gateway_not_found(res);
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

/* The page after (micros, after_id), newest first. */
static void list_page(PGconn *conn, const char *usager, int limit, const char *micros,
                      const char *after_id, struct mdv_http_response *res)
{
    char limit_text[16];
    snprintf(limit_text, sizeof(limit_text), "%d", limit + 1);
    const char *params[] = {usager, micros, after_id, limit_text};
    PGresult *page =
        mdv_pg_query(conn,
                     "SELECT " JOURNEY_COLUMNS ", " RATING_COLUMN
                     ", (extract(epoch FROM j.created_at) * 1000000)::bigint AS micros"
                     " FROM journeys j WHERE j.usager_id = $1"
                     " AND ((extract(epoch FROM j.created_at) * 1000000)::bigint, j.journey_id)"
                     "     < ($2::bigint, $3::uuid)"
                     " ORDER BY micros DESC, j.journey_id DESC LIMIT $4::int",
                     4, params);
    if (!page) {
        gateway_unavailable(res);
        return;
    }
    json_t *items = json_array();
    int rows = PQntuples(page), failed = 0;
    for (int i = 0; i < rows && i < limit && !failed; i++) {
        json_t *j = journey_from_row(page, i);
        failed = !j;
        if (j)
            json_array_append_new(items, j);
    }
    json_t *next = json_null();
    if (rows > limit) {
        char *c = mdv_xasprintf("%s_%s", PQgetvalue(page, limit - 1, RATING_INDEX + 1),
                                PQgetvalue(page, limit - 1, 0));
        next = json_string(c);
        free(c);
    }
    PQclear(page);
    if (failed) {
        json_decref(items);
        json_decref(next);
        gateway_unavailable(res);
        return;
    }
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
        gateway_unavailable(res);
        return;
    }
    list_page(conn, usager, limit, micros, id, res);
    mdv_pg_pool_put(gw->pool, conn);
}
