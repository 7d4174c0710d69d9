/* Tests of the HTTP handlers' pool (shared/pg.c) against a real
 * PostgreSQL server: a request finding every connection held waits for
 * one only as long as the pool's bound, then is refused, counted and
 * logged; a connection given back within the bound still reaches its
 * waiter. Run by the end-to-end suite (tests/e2e/test_live.py) with
 * MDV_LIVE_PG_DSN naming a scratch database of the test stack; a held
 * connection needs a server that accepts it. */
#include "../unit/unit.h"

#include <pthread.h>

#include "mdv/metrics.h"
#include "mdv/pg.h"
#include "mdv/util.h"

/* Short, so that the refusal is quick; the waiter's bound long, so that
 * only a wait that no put ends could meet it. */
#define SHORT_WAIT_MS 200
#define LONG_WAIT_MS 30000

static const char *dsn(void)
{
    const char *value = getenv("MDV_LIVE_PG_DSN");
    if (!value || !*value)
        fail_msg("MDV_LIVE_PG_DSN is not set (run through tests/e2e/test_live.py)");
    return value;
}

/* The pool's refusals so far, as /metrics shows them. */
static double wait_timeouts(void)
{
    static const char name[] = "\nmdv_pg_pool_wait_timeouts_total ";
    char *text = mdv_metrics_render();
    const char *line = strstr(text, name);
    double value = line ? atof(line + strlen(name)) : -1;
    free(text);
    return value;
}

static void test_a_get_finding_every_connection_held_is_refused_at_the_bound(void **state)
{
    (void)state;
    struct mdv_pg_pool *pool = mdv_pg_pool_new(dsn(), 1, NULL, 0, SHORT_WAIT_MS);
    PGconn *held = mdv_pg_pool_get(pool);
    assert_non_null(held);
    double before = wait_timeouts();
    struct capture c;
    capture_start(&c);
    double start = mdv_monotonic_seconds();
    PGconn *none = mdv_pg_pool_get(pool);
    double waited = mdv_monotonic_seconds() - start;
    char *said = capture_end(&c);

    assert_null(none);
    assert_true(waited >= SHORT_WAIT_MS / 1000.0); /* it did wait, not refuse at once */
    assert_true(wait_timeouts() == before + 1);
    assert_non_null(strstr(said, "no pooled database connection came back within 200 ms"));
    assert_non_null(strstr(said, "\"level\":\"warn\""));
    free(said);
    /* The refusal took no slot: the connection given back serves again. */
    mdv_pg_pool_put(pool, held);
    PGconn *again = mdv_pg_pool_get(pool);
    assert_ptr_equal(again, held);
    mdv_pg_pool_put(pool, again);
    mdv_pg_pool_destroy(pool);
}

/* A burst of refusals is one log line a window, counting them; the metric
 * counts each. */
static void test_refusals_in_a_burst_log_one_line_and_count_each(void **state)
{
    (void)state;
    struct mdv_pg_pool *pool = mdv_pg_pool_new(dsn(), 1, NULL, 0, 0);
    PGconn *held = mdv_pg_pool_get(pool);
    assert_non_null(held);
    double before = wait_timeouts();
    struct capture c;
    capture_start(&c);
    int refused = 0;
    for (int i = 0; i < 5; i++)
        refused += mdv_pg_pool_get(pool) == NULL;
    char *said = capture_end(&c);

    assert_int_equal(refused, 5);
    assert_true(wait_timeouts() == before + 5);
    const char *line = strstr(said, "no pooled database connection came back");
    assert_non_null(line);
    assert_null(strstr(line + 1, "no pooled database connection came back"));
    free(said);
    mdv_pg_pool_put(pool, held);
    mdv_pg_pool_destroy(pool);
}

struct waiter {
    struct mdv_pg_pool *pool;
    PGconn *got;
};

static void *wait_for_a_connection(void *arg)
{
    struct waiter *w = arg;
    w->got = mdv_pg_pool_get(w->pool);
    return NULL;
}

static void test_a_connection_given_back_within_the_bound_reaches_its_waiter(void **state)
{
    (void)state;
    struct mdv_pg_pool *pool = mdv_pg_pool_new(dsn(), 1, NULL, 0, LONG_WAIT_MS);
    PGconn *held = mdv_pg_pool_get(pool);
    assert_non_null(held);
    struct waiter w = {pool, NULL};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, wait_for_a_connection, &w), 0);
    mdv_sleep_ms(100); /* most likely waiting by now; either way it gets held */
    mdv_pg_pool_put(pool, held);
    pthread_join(thread, NULL);
    assert_ptr_equal(w.got, held);
    mdv_pg_pool_put(pool, w.got);
    mdv_pg_pool_destroy(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_get_finding_every_connection_held_is_refused_at_the_bound),
        cmocka_unit_test(test_refusals_in_a_burst_log_one_line_and_count_each),
        cmocka_unit_test(test_a_connection_given_back_within_the_bound_reaches_its_waiter),
    };
    return cmocka_run_group_tests_name("pg pool (live server)", tests, NULL, NULL);
}
