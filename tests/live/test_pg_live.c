/* Tests of shared/pg.c against a real PostgreSQL server: what a commit of a
 * failed transaction returns, and which real failures are retried and
 * which dead-letter their message. Run by the end-to-end suite
 * (tests/e2e/test_live.py) with MDV_LIVE_PG_DSN naming a scratch database
 * of the test stack; they need the server's real SQLSTATEs, which a mock
 * would only restate. */
#include "../unit/unit.h"

#include "mdv/pg.h"
#include "mdv/util.h"

static const char *dsn(void)
{
    const char *value = getenv("MDV_LIVE_PG_DSN");
    if (!value || !*value)
        fail_msg("MDV_LIVE_PG_DSN is not set (run through tests/e2e/test_live.py)");
    return value;
}

static PGconn *connect_or_fail(void)
{
    PGconn *conn = mdv_pg_connect(dsn(), 10000);
    assert_non_null(conn);
    return conn;
}

static void exec_or_fail(PGconn *conn, const char *sql)
{
    assert_int_equal(mdv_pg_exec(conn, sql, 0, NULL), 0);
}

static int setup_table(void **state)
{
    PGconn *conn = connect_or_fail();
    exec_or_fail(conn, "DROP TABLE IF EXISTS live_items");
    exec_or_fail(conn, "CREATE TABLE live_items (id int PRIMARY KEY, n int NOT NULL)");
    *state = conn;
    return 0;
}

static int teardown_table(void **state)
{
    PGconn *conn = *state;
    mdv_pg_rollback(conn);
    PQfinish(conn);
    return 0;
}

static long count_items(PGconn *conn)
{
    long n = -1;
    assert_int_equal(mdv_pg_query_longs(conn, "SELECT count(*) FROM live_items", 0, NULL, &n, 1),
                     0);
    return n;
}

/* PostgreSQL answers the COMMIT of an aborted transaction with COMMAND_OK
 * and the tag ROLLBACK: taking it for a success would store the offset of
 * a message whose inbox row and effect were rolled back. */
static void test_commit_of_a_failed_transaction_is_a_failure(void **state)
{
    PGconn *conn = *state;
    struct capture c;
    capture_start(&c);
    int begun = mdv_pg_begin(conn);
    int first = mdv_pg_exec(conn, "INSERT INTO live_items VALUES (1, 1)", 0, NULL);
    int duplicate = mdv_pg_exec(conn, "INSERT INTO live_items VALUES (1, 2)", 0, NULL);
    int after = mdv_pg_exec(conn, "INSERT INTO live_items VALUES (2, 2)", 0, NULL); /* 25P02 */
    int committed = mdv_pg_commit(conn);
    char *said = capture_end(&c);

    assert_int_equal(begun, 0);
    assert_int_equal(first, 0);
    assert_int_equal(duplicate, -1);
    assert_int_equal(after, -1);
    assert_int_equal(committed, -1);
    assert_non_null(strstr(said, "COMMIT rolled back"));
    /* The cause is kept, not "transaction aborted": the data's fault. */
    assert_string_equal(mdv_pg_last_sqlstate(), "23505");
    assert_int_equal(mdv_pg_failure_is_transient(conn), 0);
    assert_int_equal(PQtransactionStatus(conn), PQTRANS_IDLE);
    assert_int_equal(count_items(conn), 0);
    free(said);
}

static void test_commit_of_a_good_transaction_succeeds(void **state)
{
    PGconn *conn = *state;
    assert_int_equal(mdv_pg_begin(conn), 0);
    exec_or_fail(conn, "INSERT INTO live_items VALUES (1, 1)");
    assert_int_equal(mdv_pg_commit(conn), 0);
    assert_int_equal(count_items(conn), 1);
}

/* One row of the classification table: how to provoke the failure, the
 * SQLSTATE the server gives, and whether the message may be retried. */
struct failure_case {
    const char *what;
    const char *prepare;   /* on the connection, before BEGIN (may be NULL) */
    const char *blocker;   /* on a second connection, in an open transaction */
    const char *statement; /* the failing statement, inside the transaction */
    const char *param;     /* its $1, or NULL */
    const char *sqlstate;
    int transient;
};

static const struct failure_case failure_cases[] = {
    /* The database's state: never the message's fault. */
    {"read-only database", "SET default_transaction_read_only = on", NULL,
     "INSERT INTO live_items VALUES (10, 1)", NULL, "25006", 1},
    {"lock timeout", "SET lock_timeout = '100ms'", "LOCK TABLE live_items IN ACCESS EXCLUSIVE MODE",
     "INSERT INTO live_items VALUES (11, 1)", NULL, "55P03", 1},
    {"statement timeout", "SET statement_timeout = '50ms'", NULL, "SELECT pg_sleep(2)", NULL,
     "57014", 1},
    {"program error (undefined table)", NULL, NULL, "INSERT INTO no_such_table VALUES (1)", NULL,
     "42P01", 1},
    /* The message's data: retrying cannot help. */
    {"unique violation", NULL, "INSERT INTO live_items VALUES (12, 1)",
     "INSERT INTO live_items VALUES (12, 2)", NULL, "23505", 0},
    {"not-null violation", NULL, NULL, "INSERT INTO live_items VALUES (13, NULL)", NULL, "23502",
     0},
    {"bad integer text", NULL, NULL, "INSERT INTO live_items VALUES ($1::int, 1)", "twelve",
     "22P02", 0},
    {"division by zero", NULL, NULL, "SELECT 1 / 0", NULL, "22012", 0},
    {"index row too large", NULL, "CREATE TABLE IF NOT EXISTS live_wide (t text PRIMARY KEY)",
     "INSERT INTO live_wide SELECT string_agg(md5(i::text), '') FROM generate_series(1, 300) i",
     NULL, "54000", 0},
};

static int run_case(const struct failure_case *fc)
{
    PGconn *conn = connect_or_fail();
    PGconn *other = NULL;
    int failures = 0;
    if (fc->blocker) {
        other = connect_or_fail();
        /* Committed when it only makes a row or a table; held open when it
         * is a lock. */
        int hold = strncmp(fc->blocker, "LOCK", 4) == 0;
        if (hold)
            exec_or_fail(other, "BEGIN");
        exec_or_fail(other, fc->blocker);
    }
    if (fc->prepare)
        exec_or_fail(conn, fc->prepare);
    const char *params[] = {fc->param};
    struct capture c;
    capture_start(&c);
    int begun = mdv_pg_begin(conn);
    int rc = mdv_pg_exec(conn, fc->statement, fc->param ? 1 : 0, fc->param ? params : NULL);
    char state[8];
    mdv_strlcpy(state, mdv_pg_last_sqlstate(), sizeof(state));
    int transient = mdv_pg_failure_is_transient(conn);
    mdv_pg_rollback(conn);
    free(capture_end(&c));
    if (begun != 0 || rc != -1)
        ROW_FAILED(failures, "%s: the statement did not fail", fc->what);
    if (strcmp(state, fc->sqlstate) != 0)
        ROW_FAILED(failures, "%s: sqlstate %s, expected %s", fc->what, state, fc->sqlstate);
    if (transient != fc->transient)
        ROW_FAILED(failures, "%s: %s, expected %s", fc->what, transient ? "transient" : "permanent",
                   fc->transient ? "transient" : "permanent");
    PQfinish(other);
    PQfinish(conn);
    return failures;
}

static void test_only_failures_the_data_causes_are_permanent(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(failure_cases); i++)
        failures += run_case(&failure_cases[i]);
    assert_int_equal(failures, 0);
}

/* A new transaction starts with no failure on record: an old one must not
 * decide the next message's fate. */
static void test_begin_forgets_the_previous_failure(void **state)
{
    PGconn *conn = *state;
    struct capture c;
    capture_start(&c);
    int begun = mdv_pg_begin(conn);
    int failed = mdv_pg_exec(conn, "SELECT 1 / 0", 0, NULL);
    mdv_pg_rollback(conn);
    int again = mdv_pg_begin(conn);
    free(capture_end(&c));
    assert_int_equal(begun, 0);
    assert_int_equal(failed, -1);
    assert_int_equal(again, 0);
    assert_string_equal(mdv_pg_last_sqlstate(), "");
    mdv_pg_rollback(conn);
}

/* libpq prints the server's notices raw on stderr unless told otherwise:
 * a service's log must stay one JSON object a line. */
static void test_server_notices_are_json_log_lines(void **state)
{
    PGconn *conn = *state;
    struct capture c;
    capture_start(&c);
    int rc = mdv_pg_exec(conn, "DO $$ BEGIN RAISE NOTICE 'live notice'; END $$", 0, NULL);
    char *said = capture_end(&c);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(said, "\"message\":\"database said: NOTICE:  live notice\""));
    for (const char *line = said; *line; line = strchr(line, '\n') + 1) {
        assert_int_equal(*line, '{');
        if (!strchr(line, '\n'))
            break;
        if (!line[strcspn(line, "\n") + 1])
            break;
    }
    free(said);
}

/* How many times the statement prepared for sql on this session ran
 * (-1: no statement was prepared for it). */
static long prepared_runs(PGconn *conn, const char *sql)
{
    const char *params[] = {sql};
    long runs = -1;
    if (mdv_pg_query_longs(conn,
                           "SELECT generic_plans + custom_plans FROM pg_prepared_statements"
                           " WHERE statement = $1",
                           1, params, &runs, 1) != 0)
        return -1;
    return runs;
}

static void run_or_fail(PGconn *conn, const char *sql, const char *param)
{
    const char *params[] = {param};
    PGresult *res = mdv_pg_query(conn, sql, 1, params);
    assert_non_null(res);
    PQclear(res);
}

#define LOOKUP "SELECT n FROM live_items WHERE id = $1"

/* The hot paths run the same few texts for every message: parsed,
 * analysed and planned once per session, then only bound and run. */
static void test_a_statement_run_again_is_prepared_once(void **state)
{
    PGconn *conn = *state;
    for (int i = 0; i < 3; i++)
        run_or_fail(conn, LOOKUP, "1");
    assert_int_equal(prepared_runs(conn, LOOKUP), 3);
}

/* Prepared statements are not transactional: one prepared in a
 * transaction that rolled back is still there for the next. */
static void test_a_statement_prepared_in_a_rolled_back_transaction_stays_prepared(void **state)
{
    PGconn *conn = *state;
    assert_int_equal(mdv_pg_begin(conn), 0);
    run_or_fail(conn, LOOKUP, "1");
    mdv_pg_rollback(conn);
    run_or_fail(conn, LOOKUP, "2");
    assert_int_equal(prepared_runs(conn, LOOKUP), 2);
}

/* A server session ended (a restart, a terminated backend): the session
 * libpq's reset makes has none of the old statements, which must be
 * prepared again rather than called by a name the server never heard. */
static void test_a_reset_connection_prepares_its_statements_again(void **state)
{
    PGconn *conn = *state;
    PGconn *other = connect_or_fail();
    char pid[16];
    snprintf(pid, sizeof(pid), "%d", PQbackendPID(conn));
    const char *params[] = {pid};
    run_or_fail(conn, LOOKUP, "1");
    struct capture c;
    capture_start(&c);
    int terminated = mdv_pg_exec(other, "SELECT pg_terminate_backend($1::int, 5000)", 1, params);
    PGresult *lost = mdv_pg_query(conn, LOOKUP, 1, params); /* meets the closed session */
    int ensured = mdv_pg_ensure(&conn, dsn());
    *state = conn;
    free(capture_end(&c));
    assert_int_equal(terminated, 0);
    assert_null(lost);
    assert_int_equal(ensured, 0);
    run_or_fail(conn, LOOKUP, "1");
    assert_int_equal(prepared_runs(conn, LOOKUP), 1);
    PQfinish(other);
}

/* What PREPARE does not take keeps the unnamed statement, and a session
 * keeps a bounded number of texts: past the bound, statements still run,
 * unprepared. */
static void test_only_dml_and_queries_are_prepared_and_at_most_256_per_session(void **state)
{
    PGconn *conn = *state;
    exec_or_fail(conn, "LISTEN live_channel");
    for (int i = 0; i < 300; i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SELECT $1::int + %d", i);
        run_or_fail(conn, sql, "1");
    }
    long n = -1;
    assert_int_equal(
        mdv_pg_query_longs(conn, "SELECT count(*) FROM pg_prepared_statements", 0, NULL, &n, 1), 0);
    assert_int_equal(n, 256);
    assert_int_equal(prepared_runs(conn, "LISTEN live_channel"), -1);
    assert_int_equal(prepared_runs(conn, "SELECT $1::int + 299"), -1);
}

/* The relay's session: its commits return before the WAL flush, the
 * others' still wait for it. */
static void test_a_session_told_so_commits_asynchronously_and_no_other(void **state)
{
    PGconn *conn = *state;
    PGconn *other = connect_or_fail();
    assert_int_equal(mdv_pg_commit_asynchronously(conn), 0);
    PGresult *mine = mdv_pg_query(conn, "SHOW synchronous_commit", 0, NULL);
    PGresult *theirs = mdv_pg_query(other, "SHOW synchronous_commit", 0, NULL);
    assert_non_null(mine);
    assert_non_null(theirs);
    assert_string_equal(PQgetvalue(mine, 0, 0), "off");
    assert_string_equal(PQgetvalue(theirs, 0, 0), "on");
    PQclear(mine);
    PQclear(theirs);
    assert_int_equal(mdv_pg_begin(conn), 0);
    exec_or_fail(conn, "INSERT INTO live_items VALUES (1, 1)");
    assert_int_equal(mdv_pg_commit(conn), 0);
    assert_int_equal(count_items(other), 1);
    PQfinish(other);
}

/* What the commit hook saw: how often it ran, and how many rows another
 * session could read then (the outbox's relay reads them). */
static int hook_runs;
static long hook_saw;
static PGconn *hook_reader;

static void note_commit(PGconn *conn)
{
    (void)conn;
    hook_runs++;
    hook_saw = count_items(hook_reader);
}

/* The outbox wakes its relay from this hook: it must run once, after the
 * commit (a relay woken before would read nothing and sleep), and never
 * for a transaction that did not commit. */
static void test_the_commit_hook_runs_once_after_the_commit_and_only_then(void **state)
{
    PGconn *conn = *state;
    hook_reader = connect_or_fail();
    hook_runs = 0;
    hook_saw = -1;
    assert_int_equal(mdv_pg_begin(conn), 0);
    exec_or_fail(conn, "INSERT INTO live_items VALUES (1, 1)");
    mdv_pg_after_commit(conn, note_commit);
    mdv_pg_after_commit(conn, note_commit); /* two rows, one wake */
    assert_int_equal(mdv_pg_commit(conn), 0);
    assert_int_equal(hook_runs, 1);
    assert_int_equal(hook_saw, 1);

    assert_int_equal(mdv_pg_begin(conn), 0);
    exec_or_fail(conn, "INSERT INTO live_items VALUES (2, 2)");
    mdv_pg_after_commit(conn, note_commit);
    mdv_pg_rollback(conn);
    assert_int_equal(mdv_pg_begin(conn), 0);
    assert_int_equal(mdv_pg_commit(conn), 0); /* the rolled back one's hook is gone */

    assert_int_equal(mdv_pg_begin(conn), 0);
    exec_or_fail(conn, "INSERT INTO live_items VALUES (3, 3)");
    mdv_pg_after_commit(conn, note_commit);
    assert_int_equal(mdv_pg_exec(conn, "INSERT INTO live_items VALUES (3, 3)", 0, NULL), -1);
    assert_int_equal(mdv_pg_commit(conn), -1); /* rolled back by the server */
    assert_int_equal(mdv_pg_begin(conn), 0);
    assert_int_equal(mdv_pg_commit(conn), 0);
    assert_int_equal(hook_runs, 1);
    PQfinish(hook_reader);
}

/* A COMMIT whose connection is lost has an unknown outcome: the hook runs
 * all the same, or rows that did commit would wait for the relay's poll.
 * Here the session is gone before its COMMIT, so nothing committed: the
 * wake is one for nothing, which is all it costs. */
static void test_the_commit_hook_runs_when_the_commit_outcome_is_unknown(void **state)
{
    (void)state;
    PGconn *lost = connect_or_fail();
    hook_reader = connect_or_fail();
    hook_runs = 0;
    assert_int_equal(mdv_pg_begin(lost), 0);
    exec_or_fail(lost, "INSERT INTO live_items VALUES (1, 1)");
    mdv_pg_after_commit(lost, note_commit);
    char pid[16];
    snprintf(pid, sizeof(pid), "%d", PQbackendPID(lost));
    const char *params[] = {pid};
    PGresult *res =
        mdv_pg_query(hook_reader, "SELECT pg_terminate_backend($1::int, 10000)", 1, params);
    assert_non_null(res);
    assert_string_equal(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    assert_int_equal(mdv_pg_commit(lost), -1);
    assert_int_equal(hook_runs, 1);
    assert_int_equal(hook_saw, 0);
    PQfinish(lost);
    PQfinish(hook_reader);
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup_table, teardown_table)
    const struct CMUnitTest tests[] = {
        TEST(test_commit_of_a_failed_transaction_is_a_failure),
        TEST(test_commit_of_a_good_transaction_succeeds),
        TEST(test_only_failures_the_data_causes_are_permanent),
        TEST(test_begin_forgets_the_previous_failure),
        TEST(test_server_notices_are_json_log_lines),
        TEST(test_a_statement_run_again_is_prepared_once),
        TEST(test_a_statement_prepared_in_a_rolled_back_transaction_stays_prepared),
        TEST(test_a_reset_connection_prepares_its_statements_again),
        TEST(test_only_dml_and_queries_are_prepared_and_at_most_256_per_session),
        TEST(test_a_session_told_so_commits_asynchronously_and_no_other),
        TEST(test_the_commit_hook_runs_once_after_the_commit_and_only_then),
        TEST(test_the_commit_hook_runs_when_the_commit_outcome_is_unknown),
    };
#undef TEST
    return cmocka_run_group_tests_name("pg (live server)", tests, NULL, NULL);
}
