/* POST /v1/journeys/{id}/rating: the usager rates a completed démarche, as
 * Services Publics+ asks (a score from 0 to 10, an optional comment).
 *
 * Only the journey's usager (anyone else's journey is 404, as everywhere;
 * for a journey declared under a mandate, the usager it names: the agent
 * who declared it sees it but is refused with 403, since the démarche is
 * the usager's to judge, and an agent's score would count in the public
 * average as the usager's), only once it is completed (before: 409, there is nothing to judge yet),
 * and once per journey (a second rating is 409: the first one stands, so
 * the published average counts each démarche once). journey_ratings'
 * primary key holds the "once" across gateway replicas. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "journey_cache.h"
#include "validation.h"

/* What Services Publics+ leaves to a free comment: a few sentences. */
#define COMMENT_MAX 1000

/* A comment may span lines (a textarea), but holds no other control
 * character. Returns the problem or NULL; *blank is set when it holds
 * nothing but white space (taken as no comment). */
const char *rating_comment_problem(const char *text, int *blank)
{
    size_t chars = 0;
    *blank = 1;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t') || *p == 0x7f)
            return "must not contain control characters other than line breaks and tabs";
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
            *blank = 0;
        chars += (*p & 0xC0) != 0x80;
    }
    return chars > COMMENT_MAX ? "must be at most " MDV_STR(COMMENT_MAX) " characters" : NULL;
}

void rating_validate(json_t *body, json_t *errors)
{
    static const char *const known[] = {"score", "comment"};
    json_t *score = json_object_get(body, "score");
    json_t *comment = json_object_get(body, "comment");
    int blank;

    unknown_fields(body, "", known, MDV_ARRAY_LEN(known), errors);
    if (!score)
        mdv_http_field_error(errors, "score", "is required");
    else if (!json_is_integer(score) || json_integer_value(score) < 0 ||
             json_integer_value(score) > 10)
        mdv_http_field_error(errors, "score", "must be an integer from 0 to 10");
    if (comment && !json_is_null(comment) && !json_is_string(comment))
        mdv_http_field_error(errors, "comment", "must be a string");
    else if (json_is_string(comment)) {
        const char *problem = rating_comment_problem(json_string_value(comment), &blank);
        if (problem)
            mdv_http_field_error(errors, "comment", problem);
    }
}

/* The journey's status for its owner: 1 found (written to status), 0 not
 * theirs or unknown, -1 database error. */
static int owned_status(PGconn *conn, const char *journey_id, const char *usager, char *status,
                        size_t len)
{
    int failed = 0;
    json_t *journey = journey_json(conn, journey_id, usager, &failed);
    if (!journey)
        return failed ? -1 : 0;
    mdv_strlcpy(status, json_string_value(json_object_get(journey, "status")), len);
    json_decref(journey);
    return 1;
}

/* Inserts the rating unless the journey has one: 1 inserted, 0 it had
 * one (a concurrent insert waits for the other's commit, then finds it),
 * -1 error. */
static int insert(PGconn *conn, const char *journey_id, const char *usager, int score,
                  const char *comment)
{
    char score_text[8];
    snprintf(score_text, sizeof(score_text), "%d", score);
    const char *params[] = {journey_id, usager, score_text, comment};
    /* The rating is on the journey: its followers and every gateway's
     * cache learn of it at commit, as of the projection's writes. */
    PGresult *res = mdv_pg_query(
        conn,
        "WITH r AS (INSERT INTO journey_ratings (journey_id, usager_id, score, comment)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING journey_id)"
        " SELECT pg_notify('mdv_journey_changed', journey_id::text) FROM r",
        4, params);
    if (!res)
        return -1;
    int inserted = PQntuples(res) == 1;
    PQclear(res);
    return inserted;
}

enum rating_result rating_record(PGconn *conn, struct journey_cache *cache, const char *journey_id,
                                 const struct gateway_caller *caller, int score,
                                 const char *comment)
{
    char status[32];
    const char *usager = caller->sub;
    int blank = 1, found = owned_status(conn, journey_id, usager, status, sizeof(status));

    if (found <= 0)
        return found < 0 ? RATING_FAILED : RATING_NOT_FOUND;
    if (caller->agent)
        return RATING_BY_AGENT;
    if (strcmp(status, "completed") != 0)
        return RATING_NOT_COMPLETED;
    if (comment && !rating_comment_problem(comment, &blank) && blank)
        comment = NULL;
    int inserted = insert(conn, journey_id, usager, score, comment);
    if (inserted < 0)
        return RATING_FAILED;
    if (!inserted)
        return RATING_ALREADY;
    /* This process at once, so that the usager's next GET here shows it;
     * the notification reaches the others. */
    journey_cache_invalidate(cache, journey_id);
    mdv_info("journey %s rated %d", journey_id, score);
    return RATING_RECORDED;
}

/* The rating as the journey shows it, read back for the answer. */
static json_t *rating_json(PGconn *conn, const char *journey_id, const char *usager)
{
    int failed = 0;
    json_t *journey = journey_json(conn, journey_id, usager, &failed);
    json_t *rating = journey ? json_incref(json_object_get(journey, "rating")) : NULL;
    json_decref(journey);
    return rating;
}

static void conflict(struct mdv_http_response *res, const char *slug, const char *title,
                     const char *detail, const char *message)
{
    json_t *errors = json_array();
    mdv_http_field_error(errors, "score", message);
    mdv_http_problem(res, 409, slug, title, detail, errors);
}

static void answer(PGconn *conn, enum rating_result result, const char *journey_id,
                   const char *usager, struct mdv_http_response *res)
{
    json_t *rating = NULL;
    switch (result) {
    case RATING_RECORDED:
        rating = rating_json(conn, journey_id, usager);
        if (!rating) {
            mdv_http_unavailable(res);
            return;
        }
        mdv_http_json(res, 201, rating);
        snprintf(res->location, sizeof(res->location), "/v1/journeys/%s", journey_id);
        return;
    case RATING_NOT_FOUND:
        gateway_not_found(res);
        return;
    case RATING_NOT_COMPLETED:
        conflict(res, "journey-not-completed", "Démarche pas encore terminée",
                 "A journey can be rated once it is completed.",
                 "the journey is not completed yet");
        return;
    case RATING_ALREADY:
        conflict(res, "already-rated", "Démarche déjà évaluée",
                 "This journey has been rated already; the first rating stands.",
                 "this journey has been rated already");
        return;
    case RATING_BY_AGENT:
        mdv_http_problem(res, 403, "agent-cannot-rate", "Seul l'usager évalue sa démarche",
                         "A France services agent does not rate a démarche declared under a "
                         "mandate: the usager it names does, once signed in.",
                         NULL);
        return;
    case RATING_FAILED:
        mdv_http_unavailable(res);
        return;
    }
}

void ratings_post(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    struct gateway_caller caller;

    if (gateway_caller_get(gw, req, res, &caller) != 0)
        return;
    if (!mdv_uuid_valid(req->param)) {
        gateway_not_found(res);
        return;
    }
    json_t *body = mdv_http_read_json(req, res, rating_validate, "Évaluation invalide");
    if (!body)
        return;
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (conn) {
        int score = (int)json_integer_value(json_object_get(body, "score"));
        const char *comment = json_string_value(json_object_get(body, "comment"));
        answer(conn, rating_record(conn, gw->cache, req->param, &caller, score, comment),
               req->param, caller.sub, res);
        mdv_pg_pool_put(gw->pool, conn);
    } else {
        mdv_http_unavailable(res);
    }
    json_decref(body);
}
