/* GET /v1/indicators: the public indicators, as Services Publics+ publishes
 * them, computed from the journeys read model (what the projection made of
 * the events): per administration and step, the number of final steps, the
 * median délai constaté (received → final) against the median délai
 * annoncé (due → received) and the share of steps final within their délai
 * annoncé; per kind of démarche, the number of ratings and their average.
 *
 * Only aggregates, and none of fewer than INDICATORS_MIN_COUNT steps or
 * ratings: below it a figure could single out one usager (whose délai,
 * whose score). Computed on request from journey_steps and
 * journey_ratings, then kept for MDV_INDICATORS_MAX_AGE_S seconds (README,
 * "Public indicators", says why with the measured cost: seconds of
 * database time on a large read model), so that a public endpoint without
 * authentication costs the database one computation per period whatever
 * the number of requests. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

#define INDICATORS_MIN_COUNT 5
#define INDICATORS_MIN_COUNT_TEXT MDV_STR(INDICATORS_MIN_COUNT)

/* A step counts once final with a decision: done or failed. A step that
 * was not applicable ("Aucun dossier à ce nom") had nothing to process:
 * counting its instant answer would flatter the délais. Its délai
 * constaté runs from received_at (the administration had it) to
 * updated_at, the report that made it final. */
static const char steps_sql[] =
    "SELECT s.administration, s.code, mode() WITHIN GROUP (ORDER BY s.label), count(*),"
    " round(percentile_cont(0.5) WITHIN GROUP"
    "   (ORDER BY extract(epoch FROM s.updated_at - s.received_at))),"
    " count(s.due_at),"
    " round(percentile_cont(0.5) WITHIN GROUP"
    "   (ORDER BY extract(epoch FROM s.due_at - s.received_at))),"
    " count(*) FILTER (WHERE s.updated_at <= s.due_at)"
    " FROM journey_steps s"
    " WHERE s.status IN ('done', 'failed') AND s.received_at IS NOT NULL"
    "   AND s.administration IS NOT NULL"
    " GROUP BY s.administration, s.code HAVING count(*) >= $1::int"
    " ORDER BY s.administration, s.code";

static const char ratings_sql[] =
    "SELECT j.kind, count(*), round(avg(r.score), 2)"
    " FROM journey_ratings r JOIN journeys j ON j.journey_id = r.journey_id"
    " GROUP BY j.kind HAVING count(*) >= $1::int ORDER BY j.kind";

static json_t *number(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_real(atof(PQgetvalue(res, row, col)));
}

/* The délai annoncé's figures only over at least the minimum count of
 * steps that had one. */
static json_t *step_row(PGresult *res, int row)
{
    long announced = atol(PQgetvalue(res, row, 5));
    int published = announced >= INDICATORS_MIN_COUNT;
    json_t *share = published ? json_real((double)atol(PQgetvalue(res, row, 7)) / (double)announced)
                              : json_null();
    return json_pack("{s:s, s:s, s:s?, s:I, s:I, s:o, s:o, s:o}", "administration",
                     PQgetvalue(res, row, 0), "code", PQgetvalue(res, row, 1), "label",
                     PQgetisnull(res, row, 2) ? NULL : PQgetvalue(res, row, 2), "final_steps",
                     (json_int_t)atol(PQgetvalue(res, row, 3)), "announced_steps",
                     (json_int_t)announced, "median_delay_seconds", number(res, row, 4),
                     "median_announced_seconds", published ? number(res, row, 6) : json_null(),
                     "within_announced_share", share);
}

static json_t *rating_row(PGresult *res, int row)
{
    return json_pack("{s:s, s:I, s:o}", "kind", PQgetvalue(res, row, 0), "ratings",
                     (json_int_t)atol(PQgetvalue(res, row, 1)), "average_score",
                     number(res, row, 2));
}

#define INDICATORS_STATEMENT_TIMEOUT "120s"

/* Both lists from one snapshot (a repeatable-read transaction). */
static json_t *compute(PGconn *conn)
{
    const char *params[] = {INDICATORS_MIN_COUNT_TEXT};
    PGresult *steps = NULL, *ratings = NULL;
    json_t *out = NULL;
    char now[MDV_TIME_LEN];

    if (mdv_pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL) != 0)
        goto out;
    /* The aggregate reads the whole read model: seconds when it is large,
     * past the pool's statement_timeout (MDV_PG_STATEMENT_TIMEOUT_MS),
     * which is sized for a request's statements. One request at a time
     * computes it, the others meanwhile get the previous answer. */
    if (mdv_pg_exec(conn, "SET LOCAL statement_timeout = '" INDICATORS_STATEMENT_TIMEOUT "'", 0,
                    NULL) != 0)
        goto out;
    mdv_time_now(now);
    steps = mdv_pg_query(conn, steps_sql, 1, params);
    ratings = steps ? mdv_pg_query(conn, ratings_sql, 1, params) : NULL;
    if (!ratings)
        goto out;
    json_t *step_list = json_array(), *rating_list = json_array();
    for (int i = 0; i < PQntuples(steps); i++)
        json_array_append_new(step_list, step_row(steps, i));
    for (int i = 0; i < PQntuples(ratings); i++)
        json_array_append_new(rating_list, rating_row(ratings, i));
    out = json_pack("{s:s, s:i, s:o, s:o}", "computed_at", now, "minimum_count",
                    INDICATORS_MIN_COUNT, "steps", step_list, "ratings", rating_list);
out:
    mdv_pg_rollback(conn);
    PQclear(steps);
    PQclear(ratings);
    return out;
}

static struct {
    pthread_mutex_t lock;
    pthread_cond_t done; /* a computation ended */
    char *body;          /* the last answer, as JSON text */
    double at;           /* when it was computed (monotonic seconds) */
    int computing;       /* a request is computing the next one */
} cache = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0};

/* Computes outside the lock (it takes seconds on a large read model);
 * returns with the lock held again and the cache updated on success. */
static void refresh_locked(struct gateway *gw)
{
    cache.computing = 1;
    pthread_mutex_unlock(&cache.lock);
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    json_t *fresh = conn ? compute(conn) : NULL;
    if (conn)
        mdv_pg_pool_put(gw->pool, conn);
    char *text = fresh ? json_dumps(fresh, JSON_COMPACT) : NULL;
    json_decref(fresh);
    pthread_mutex_lock(&cache.lock);
    if (text) {
        free(cache.body);
        cache.body = text;
        cache.at = mdv_monotonic_seconds();
    }
    cache.computing = 0;
    pthread_cond_broadcast(&cache.done);
}

/* One request computes when the answer is older than the maximum age;
 * meanwhile the others get the previous answer at once (no HTTP thread
 * waits on the aggregate), or, before the first one, wait for it. */
char *indicators_text(struct gateway *gw)
{
    pthread_mutex_lock(&cache.lock);
    int stale = !cache.body || mdv_monotonic_seconds() - cache.at >= gw->indicators_max_age;
    if (stale && !cache.computing)
        refresh_locked(gw);
    while (!cache.body && cache.computing)
        pthread_cond_wait(&cache.done, &cache.lock);
    char *text = mdv_xstrdup(cache.body);
    pthread_mutex_unlock(&cache.lock);
    return text;
}

void indicators_get(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    (void)req;
    char *text = indicators_text(ctx);
    if (!text) {
        mdv_http_unavailable(res);
        return;
    }
    res->status = 200;
    res->text = text;
    res->content_type = "application/json";
}
