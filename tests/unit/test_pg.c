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

/* The value conn was opened with for keyword, or NULL. */
static char *conninfo_value(PGconn *conn, const char *keyword)
{
    PQconninfoOption *opts = PQconninfo(conn);
    char *value = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0 && o->val)
            value = mdv_xstrdup(o->val);
    PQconninfoFree(opts);
    return value;
}

/* Each row: a DSN, then what the connection must be opened with. */
static const struct {
    const char *dsn;
    long statement_timeout_ms;
    const char *expect[7][2];
} opened[] = {
    {NO_DATABASE,
     0,
     {{"keepalives", "1"},
      {"keepalives_idle", "10"},
      {"keepalives_interval", "5"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", "25000"},
      {"connect_timeout", "2"},
      {"dbname", "mdv_unit"}}},
    /* The DSN's own settings win, each on its own. */
    {NO_DATABASE " keepalives_idle=60 tcp_user_timeout=0",
     0,
     {{"keepalives_idle", "60"},
      {"tcp_user_timeout", "0"},
      {"keepalives_interval", "5"},
      {"keepalives_count", "3"}}},
    {NO_DATABASE, 5000, {{"options", "-c statement_timeout=5000"}, {"keepalives", "1"}}},
    {NO_DATABASE " options='-c search_path=x'", 5000, {{"options", "-c search_path=x"}}},
    {"postgresql://127.0.0.1:1/mdv_unit?keepalives_count=9",
     0,
     {{"keepalives_count", "9"}, {"keepalives_idle", "10"}, {"dbname", "mdv_unit"}}},
};

static void test_connections_detect_a_dead_peer_in_seconds_unless_the_dsn_says(void **state)
{
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(opened); i++) {
        PGconn *conn = mdv_pg_open(opened[i].dsn, NULL, opened[i].statement_timeout_ms);
        assert_non_null(conn);
        for (size_t k = 0; k < 7 && opened[i].expect[k][0]; k++) {
            char *value = conninfo_value(conn, opened[i].expect[k][0]);
            if (!value || strcmp(value, opened[i].expect[k][1]) != 0)
                fail_msg("%s: %s is %s, not %s", opened[i].dsn, opened[i].expect[k][0],
                         value ? value : "unset", opened[i].expect[k][1]);
            free(value);
        }
        PQfinish(conn);
    }
}

/* The pool's, the consumers' (mdv_pg_ensure) and the listener's go through
 * mdv_pg_open: named, the listener's stays named. */
static void test_ensure_and_a_named_connection_get_the_same_settings(void **state)
{
    (void)state;
    PGconn *conn = NULL;
    struct capture c;
    capture_start(&c);
    assert_int_equal(mdv_pg_ensure(&conn, NO_DATABASE), -1);
    free(capture_end(&c));
    char *idle = conninfo_value(conn, "keepalives_idle");
    assert_string_equal(idle, "10");
    free(idle);
    PQfinish(conn);
    conn = mdv_pg_open(NO_DATABASE " application_name=other", "mdv-unit-listen", 0);
    char *name = conninfo_value(conn, "application_name");
    char *timeout = conninfo_value(conn, "tcp_user_timeout");
    assert_string_equal(name, "mdv-unit-listen");
    assert_string_equal(timeout, "25000");
    free(name);
    free(timeout);
    PQfinish(conn);
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
    struct mdv_pg_pool *pool = mdv_pg_pool_new(NO_DATABASE, 2, NULL, 0, 0);
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
        cmocka_unit_test(test_connections_detect_a_dead_peer_in_seconds_unless_the_dsn_says),
        cmocka_unit_test(test_ensure_and_a_named_connection_get_the_same_settings),
        cmocka_unit_test(test_a_broken_connection_is_a_transient_failure),
        cmocka_unit_test(test_pool_get_returns_null_when_unreachable_and_keeps_its_slots),
    };
    return cmocka_run_group_tests_name("pg (no server)", tests, NULL, NULL);
}
