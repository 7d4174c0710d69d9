/* Unit tests of shared/pg.c, for what it does when no database answers
 * (the rest needs a PostgreSQL server: tests/e2e). Port 1 on the loopback
 * refuses connections at once. */
#include "unit.h"

#include "mdv/pg.h"
#include "mdv/util.h"

#define NO_DATABASE "host=127.0.0.1 port=1 dbname=mdv_unit connect_timeout=2"

static void test_connect_gives_up_after_its_timeout(void **state)
{
    (void)state;
    struct capture c;
    double start = mdv_monotonic_seconds();
    capture_start(&c);
    PGconn *conn = mdv_pg_connect(NO_DATABASE, 300);
    char *said = capture_end(&c);
    double elapsed = mdv_monotonic_seconds() - start;
    assert_null(conn);
    assert_true(elapsed < 3.0);
    assert_non_null(strstr(said, "database connection failed"));
    free(said);
}

static void test_ensure_fails_and_leaves_a_connection_to_finish(void **state)
{
    (void)state;
    PGconn *conn = NULL;
    struct capture c;
    capture_start(&c);
    int rc = mdv_pg_ensure(&conn, NO_DATABASE);
    int again = mdv_pg_ensure(&conn, NO_DATABASE); /* reset attempt on a bad one */
    char *said = capture_end(&c);
    assert_int_equal(rc, -1);
    assert_int_equal(again, -1);
    assert_non_null(conn);
    assert_int_not_equal(PQstatus(conn), CONNECTION_OK);
    PQfinish(conn);
    free(said);
}

static void test_a_broken_connection_is_a_transient_failure(void **state)
{
    (void)state;
    assert_int_equal(mdv_pg_failure_is_transient(NULL), 1);
    PGconn *conn = PQconnectdb(NO_DATABASE);
    assert_int_equal(mdv_pg_failure_is_transient(conn), 1);
    mdv_pg_rollback(conn); /* safe on a broken connection */
    mdv_pg_rollback(NULL);
    PQfinish(conn);
}

static void test_pool_get_returns_null_when_unreachable_and_keeps_its_slots(void **state)
{
    (void)state;
    struct mdv_pg_pool *pool = mdv_pg_pool_new(NO_DATABASE, 2, NULL);
    struct capture c;
    capture_start(&c);
    /* More attempts than slots: a failed get must give its slot back. */
    int nulls = 0;
    for (int i = 0; i < 5; i++)
        nulls += mdv_pg_pool_get(pool) == NULL;
    char *said = capture_end(&c);
    assert_int_equal(nulls, 5);
    mdv_pg_pool_destroy(pool);
    mdv_pg_pool_destroy(NULL);
    free(said);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_gives_up_after_its_timeout),
        cmocka_unit_test(test_ensure_fails_and_leaves_a_connection_to_finish),
        cmocka_unit_test(test_a_broken_connection_is_a_transient_failure),
        cmocka_unit_test(test_pool_get_returns_null_when_unreachable_and_keeps_its_slots),
    };
    return cmocka_run_group_tests_name("pg (no server)", tests, NULL, NULL);
}
