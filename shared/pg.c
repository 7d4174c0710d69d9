/* PostgreSQL adapter. Every statement is parameterised; SQL text never
 * contains input. */
#include "mdv/pg.h"

#include <jansson.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdv/log.h"
#include "mdv/metrics.h"
#include "mdv/pg_statements.h"

/* SQLSTATE of this thread's last failed statement, for the retry decision. */
static __thread char last_sqlstate[6];

/* What this thread's open transaction asked to run once it commits. */
static __thread struct {
    PGconn *conn;
    mdv_pg_commit_hook fn;
} after_commit;

/* An arbitrary constant: the advisory lock key that serialises migrations
 * (the outbox's per-aggregate lock class is MDV_OUTBOX_ORDER_LOCK_CLASS). */
#define MIGRATION_LOCK_KEY "4242001"

/* The server's notices (NOTICE, WARNING, a FATAL before it closes the
 * connection) go to the JSON log rather than raw to stderr. */
static void log_notice(void *arg, const char *message)
{
    (void)arg;
    size_t len = strcspn(message, "\n");
    mdv_info("database said: %.*s", (int)len, message);
}

/* libpq turns TCP keepalives on but leaves their timing to the kernel (a first probe
 * after two hours idle) and data sent to a vanished peer retransmitted for
 * a quarter of an hour or more: a pooled connection whose server host went
 * away, or whose firewall state was dropped, would hang the request on it
 * that long. With these, a dead peer is detected in 25 s, idle (10 s, then
 * 3 probes 5 s apart) or mid-statement (25 s without an acknowledgement).
 * They come before the DSN, so a DSN that sets one keeps its own. */
static const char *const transport_keys[] = {"keepalives", "keepalives_idle", "keepalives_interval",
                                             "keepalives_count", "tcp_user_timeout"};
static const char *const transport_values[] = {"1", "10", "5", "3", "25000"};

/* keys/values: the transport defaults, then options (when given), then the
 * DSN, then application_name (when given): each later entry wins. */
PGconn *mdv_pg_open(const char *dsn, const char *application_name, long statement_timeout_ms)
{
    enum { TRANSPORT = MDV_ARRAY_LEN(transport_keys) };
    const char *keys[TRANSPORT + 4], *values[TRANSPORT + 4];
    char options[64];
    int n = 0;
    for (; n < TRANSPORT; n++) {
        keys[n] = transport_keys[n];
        values[n] = transport_values[n];
    }
    if (statement_timeout_ms > 0) {
        snprintf(options, sizeof(options), "-c statement_timeout=%ld", statement_timeout_ms);
        keys[n] = "options";
        values[n++] = options;
    }
    keys[n] = "dbname";
    values[n++] = dsn;
    if (application_name) {
        keys[n] = "application_name";
        values[n++] = application_name;
    }
    keys[n] = values[n] = NULL;
    return PQconnectdbParams(keys, values, 1);
}

static PGconn *connect_logged(const char *dsn, long statement_timeout_ms)
{
    PGconn *conn = mdv_pg_open(dsn, NULL, statement_timeout_ms);
    if (!conn)
        return NULL;
    PQsetNoticeProcessor(conn, log_notice, NULL);
    if (mdv_pg_statements_attach(conn) != 0)
        mdv_warn("no statement cache on this connection: its statements run unprepared");
    return conn;
}

PGconn *mdv_pg_connect(const char *dsn, long timeout_ms)
{
    double deadline = mdv_monotonic_seconds() + (double)timeout_ms / 1000.0;
    long backoff_ms = 100;

    for (;;) {
        PGconn *conn = connect_logged(dsn, 0);
        if (PQstatus(conn) == CONNECTION_OK)
            return conn;
        mdv_warn("database connection failed: %s", PQerrorMessage(conn));
        PQfinish(conn);
        if (mdv_monotonic_seconds() + (double)backoff_ms / 1000.0 > deadline)
            return NULL;
        mdv_sleep_ms(backoff_ms);
        backoff_ms = backoff_ms < 2000 ? backoff_ms * 2 : 2000;
    }
}

/* mdv_pg_ensure, a new connection opened with statement_timeout_ms (0:
 * the server's). */
static int ensure_with(PGconn **conn, const char *dsn, long statement_timeout_ms)
{
    /* Reading what is pending notices a connection the server closed
     * (a restart) without a round trip: libpq then marks it bad. */
    if (*conn && PQstatus(*conn) == CONNECTION_OK)
        PQconsumeInput(*conn);
    if (*conn && PQstatus(*conn) == CONNECTION_OK)
        return 0;
    if (*conn) {
        PQreset(*conn);
        if (PQstatus(*conn) == CONNECTION_OK) {
            mdv_info("database connection re-established");
            return 0;
        }
        PQfinish(*conn);
    }
    *conn = connect_logged(dsn, statement_timeout_ms);
    if (PQstatus(*conn) == CONNECTION_OK)
        return 0;
    mdv_warn("database unreachable: %s", PQerrorMessage(*conn));
    return -1;
}

int mdv_pg_ensure(PGconn **conn, const char *dsn)
{
    return ensure_with(conn, dsn, 0);
}

/* res if the statement succeeded; else logs why, clears res, NULL. */
static PGresult *checked(PGconn *conn, PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    /* 25P02 ("current transaction is aborted") only repeats an earlier
     * failure of the transaction: keep that one, it says why. */
    if (!state || strcmp(state, "25P02") != 0 || !last_sqlstate[0])
        mdv_strlcpy(last_sqlstate, state ? state : "", sizeof(last_sqlstate));
    mdv_warn("statement failed: %s (sqlstate %s)", PQerrorMessage(conn), state ? state : "none");
    PQclear(res);
    return NULL;
}

PGresult *mdv_pg_query_bin(PGconn *conn, const char *sql, int nparams, const char *const *params,
                           const int *lengths, const int *formats)
{
    return checked(conn, mdv_pg_statements_exec(conn, sql, nparams, params, lengths, formats));
}

PGresult *mdv_pg_query_prepared(PGconn *conn, const char *name, int nparams,
                                const char *const *params)
{
    return checked(conn, PQexecPrepared(conn, name, nparams, params, NULL, NULL, 0));
}

PGresult *mdv_pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    return mdv_pg_query_bin(conn, sql, nparams, params, NULL, NULL);
}

int mdv_pg_query_longs(PGconn *conn, const char *sql, int nparams, const char *const *params,
                       long *out, int n)
{
    PGresult *res = mdv_pg_query(conn, sql, nparams, params);
    if (!res)
        return -1;
    int ok = PQntuples(res) > 0 && PQnfields(res) >= n;
    for (int i = 0; ok && i < n; i++)
        out[i] = atol(PQgetvalue(res, 0, i));
    PQclear(res);
    return ok ? 0 : -1;
}

int mdv_pg_exec(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    PGresult *res = mdv_pg_query(conn, sql, nparams, params);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

void mdv_pg_after_commit(PGconn *conn, mdv_pg_commit_hook fn)
{
    after_commit.conn = conn;
    after_commit.fn = fn;
}

/* The hook of conn's transaction, taken (NULL when it asked for none). */
static mdv_pg_commit_hook take_after_commit(PGconn *conn)
{
    if (after_commit.conn != conn)
        return NULL;
    mdv_pg_commit_hook fn = after_commit.fn;
    after_commit.conn = NULL;
    after_commit.fn = NULL;
    return fn;
}

int mdv_pg_begin(PGconn *conn)
{
    last_sqlstate[0] = '\0'; /* a new transaction: no failure yet */
    (void)take_after_commit(conn);
    return mdv_pg_exec(conn, "BEGIN", 0, NULL);
}

int mdv_pg_commit(PGconn *conn)
{
    mdv_pg_commit_hook then = take_after_commit(conn);
    PGresult *res = mdv_pg_query(conn, "COMMIT", 0, NULL);
    if (!res) {
        /* The connection went with the COMMIT: the transaction may have
         * committed, and what it wrote would wait for a reader's poll. A
         * hook run for a transaction that did not commit costs its reader
         * one look at nothing. */
        if (then && PQstatus(conn) != CONNECTION_OK)
            then(conn);
        return -1;
    }
    /* COMMIT of a transaction that had failed succeeds as a command and
     * rolls back: the tag says which. Nothing was written. */
    int committed = strcmp(PQcmdStatus(res), "COMMIT") == 0;
    PQclear(res);
    if (!committed) {
        mdv_warn("COMMIT rolled back: the transaction had failed (sqlstate %s)",
                 last_sqlstate[0] ? last_sqlstate : "unknown");
        return -1;
    }
    if (then)
        then(conn);
    return 0;
}

void mdv_pg_rollback(PGconn *conn)
{
    (void)take_after_commit(conn);
    if (PQstatus(conn) != CONNECTION_OK)
        return;
    if (PQtransactionStatus(conn) == PQTRANS_IDLE)
        return;
    PQclear(PQexec(conn, "ROLLBACK"));
}

int mdv_pg_commit_asynchronously(PGconn *conn)
{
    return mdv_pg_exec(conn, "SET synchronous_commit = off", 0, NULL);
}

const char *mdv_pg_last_sqlstate(void)
{
    return last_sqlstate;
}

int mdv_pg_failure_is_transient(PGconn *conn)
{
    if (PQstatus(conn) != CONNECTION_OK)
        return 1;
    /* Only what the statement's data can cause is permanent: classes 21
     * (cardinality), 22 (data exception: a bad date, a value out of range),
     * 23 (integrity constraint) and 54 (program limit: an index row too
     * large). Anything else is the database's state, not the message's
     * fault: a read-only standby after a failover or
     * default_transaction_read_only (25006), a lock timeout (55P03), I/O
     * errors (58), a lost connection (08), a deadlock (40), a shutdown
     * (57), no resources (53); those are retried, never dead-lettered. */
    static const char *const permanent_classes[] = {"21", "22", "23", "54"};
    for (size_t i = 0; i < MDV_ARRAY_LEN(permanent_classes); i++)
        if (strncmp(last_sqlstate, permanent_classes[i], 2) == 0)
            return 0;
    return 1;
}

#define WAIT_TIMEOUTS_METRIC "mdv_pg_pool_wait_timeouts_total"
/* Under a pile-up every request would log its timeout: one line a
 * window, counting those it stands for. */
#define WAIT_LOG_WINDOW_S 10.0

struct mdv_pg_pool {
    const char *dsn;
    long statement_timeout_ms;
    long wait_ms; /* the longest a get waits for a connection to come back */
    const struct mdv_pg_statement *statements; /* prepared on each connection */
    int size;
    int free_count;
    PGconn **free_conns;
    pthread_mutex_t lock;
    pthread_cond_t available; /* on the monotonic clock: wait_ms is a duration */
    double timeout_logged_at; /* monotonic seconds of the last such line, 0: none */
    unsigned timeouts_unlogged;
};

struct mdv_pg_pool *mdv_pg_pool_new(const char *dsn, int size,
                                    const struct mdv_pg_statement *statements,
                                    long statement_timeout_ms, long wait_ms)
{
    struct mdv_pg_pool *pool = mdv_xcalloc(1, sizeof(*pool));
    pool->dsn = dsn;
    pool->statement_timeout_ms = statement_timeout_ms;
    pool->wait_ms = wait_ms;
    pool->statements = statements;
    pool->size = size;
    pool->free_count = size;
    pool->free_conns = mdv_xcalloc((size_t)size, sizeof(PGconn *));
    pthread_mutex_init(&pool->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->available, &attr);
    pthread_condattr_destroy(&attr);
    mdv_metrics_add(WAIT_TIMEOUTS_METRIC, NULL, 0); /* listed from the start, at 0 */
    return pool;
}

/* Prepares the pool's statements on a connection just (re)made: a server
 * session starts with none. */
static int prepare_statements(const struct mdv_pg_pool *pool, PGconn *conn)
{
    for (const struct mdv_pg_statement *st = pool->statements; st && st->name; st++) {
        PGresult *res = checked(conn, PQprepare(conn, st->name, st->sql, st->nparams, NULL));
        if (!res)
            return -1;
        PQclear(res);
    }
    return 0;
}

/* Whether an idle connection is still up, without a round trip. A server
 * ending the session (a restart, a backend terminated) sends why, then
 * closes: the first read takes the message (parsed, it reaches the notice
 * log), only the next one meets the end of the stream, and only then does
 * libpq mark the connection bad. Nothing pending: each read is one
 * non-blocking recv that finds nothing. */
static int still_up(PGconn *conn)
{
    for (int i = 0; i < 2 && conn && PQstatus(conn) == CONNECTION_OK; i++) {
        if (!PQconsumeInput(conn))
            break;
        (void)PQisBusy(conn);
    }
    return conn && PQstatus(conn) == CONNECTION_OK;
}

/* Under pool->lock: 0 once a slot is free, -1 when none came back within
 * wait_ms. The deadline is fixed first, so that wakeups (spurious, or a
 * slot another waiter took) do not extend the wait. */
static int wait_for_slot(struct mdv_pg_pool *pool)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += pool->wait_ms / 1000;
    deadline.tv_nsec += pool->wait_ms % 1000 * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (pool->free_count == 0)
        if (pthread_cond_timedwait(&pool->available, &pool->lock, &deadline) == ETIMEDOUT)
            return pool->free_count > 0 ? 0 : -1;
    return 0;
}

/* Under pool->lock: counts a get that found no slot in time; returns how
 * many such gets the log line to write now stands for, 0 for no line. */
static unsigned count_wait_timeout(struct mdv_pg_pool *pool)
{
    mdv_metrics_add(WAIT_TIMEOUTS_METRIC, NULL, 1);
    pool->timeouts_unlogged++;
    double now = mdv_monotonic_seconds();
    if (pool->timeout_logged_at > 0 && now - pool->timeout_logged_at < WAIT_LOG_WINDOW_S)
        return 0;
    unsigned n = pool->timeouts_unlogged;
    pool->timeout_logged_at = now;
    pool->timeouts_unlogged = 0;
    return n;
}

PGconn *mdv_pg_pool_get(struct mdv_pg_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    if (wait_for_slot(pool) != 0) {
        unsigned to_log = count_wait_timeout(pool);
        pthread_mutex_unlock(&pool->lock);
        if (to_log)
            mdv_warn("no pooled database connection came back within %ld ms (all %d held):"
                     " %u request(s) refused since the last such line",
                     pool->wait_ms, pool->size, to_log);
        return NULL;
    }
    PGconn *conn = pool->free_conns[--pool->free_count];
    pthread_mutex_unlock(&pool->lock);
    /* Slots start empty: connections open on first use, and again after
     * the server closed them. No round trip when the connection is up: a
     * request's own statement is its only one. */
    if (still_up(conn))
        return conn;
    if (ensure_with(&conn, pool->dsn, pool->statement_timeout_ms) != 0 ||
        prepare_statements(pool, conn) != 0) {
        /* Not kept half prepared: the next one starts afresh. */
        PQfinish(conn);
        mdv_pg_pool_put(pool, NULL);
        return NULL;
    }
    return conn;
}

void mdv_pg_pool_put(struct mdv_pg_pool *pool, PGconn *conn)
{
    if (conn)
        mdv_pg_rollback(conn); /* never hand on an open transaction */
    pthread_mutex_lock(&pool->lock);
    pool->free_conns[pool->free_count++] = conn;
    pthread_cond_signal(&pool->available);
    pthread_mutex_unlock(&pool->lock);
}

void mdv_pg_pool_destroy(struct mdv_pg_pool *pool)
{
    if (!pool)
        return;
    for (int i = 0; i < pool->free_count; i++)
        PQfinish(pool->free_conns[i]);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->available);
    free(pool->free_conns);
    free(pool);
}

static int has_sql_suffix(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 4 && strcmp(e->d_name + n - 4, ".sql") == 0;
}

/* 1 when schema_migrations records version, 0 when not, -1 on error. */
static int migration_applied(PGconn *conn, const char *version)
{
    const char *params[] = {version};
    PGresult *res =
        mdv_pg_query(conn, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params);
    if (!res)
        return -1;
    int done = PQntuples(res) > 0;
    PQclear(res);
    return done;
}

/* Runs sql (several statements: PQexec runs them as one simple query; they
 * are files of the tree or library constants, never input) and records
 * version. */
static int apply_sql(PGconn *conn, const char *version, const char *sql)
{
    const char *params[] = {version};
    PGresult *applied = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(applied);
    PQclear(applied);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        mdv_error("migration %s failed: %s", version, PQerrorMessage(conn));
        return -1;
    }
    if (mdv_pg_exec(conn, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, params) != 0)
        return -1;
    mdv_info("migration %s applied", version);
    return 0;
}

/* Applies one file unless schema_migrations already has it. */
static int apply_migration(PGconn *conn, const char *dir, const char *name)
{
    int done = migration_applied(conn, name);
    if (done != 0)
        return done < 0 ? -1 : 0;
    char *path = mdv_xasprintf("%s/%s", dir, name);
    char *sql = mdv_read_file(path, NULL);
    int rc = -1;
    if (sql)
        rc = apply_sql(conn, name, sql);
    else
        mdv_error("cannot read migration %s", path);
    free(sql);
    free(path);
    return rc;
}

/* The tables the library itself uses in every service database: the inbox
 * (inbox.c) and the outbox (outbox.c), the latter with Debezium's outbox
 * router columns (id, aggregatetype, aggregateid, type, payload). */
#define LIBRARY_SCHEMA_VERSION "000_mdv_inbox_outbox"
static const char library_schema[] =
    "CREATE TABLE inbox ("
    "  ce_source text NOT NULL,"
    "  ce_id text NOT NULL,"
    "  received_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (ce_source, ce_id));"
    "CREATE TABLE outbox ("
    "  seq bigserial PRIMARY KEY," /* insertion order, for the relay */
    "  id uuid NOT NULL UNIQUE,"   /* the event's ce_id */
    "  aggregatetype text NOT NULL,"
    "  aggregateid text NOT NULL," /* the Kafka key */
    "  type text NOT NULL,"        /* the ce_type */
    "  payload bytea NOT NULL,"
    "  topic text NOT NULL,"
    "  headers jsonb NOT NULL,"
    "  created_at timestamptz NOT NULL DEFAULT now());";

/* One aggregate's events must reach Kafka in the order their transactions
 * committed (DESIGN.md §5), and the relay sends in seq order. A seq drawn
 * at insert is not commit order: T1 draws 10, T2 draws 11 for the same
 * key, T2 commits first, and 10 still leaves first. So writers for one key
 * take turns (a transaction-level advisory lock on the key, held to
 * commit), and a row draws its seq only once its writer has the turn: for
 * one key, seq order is then commit order. Keys of different aggregates
 * never wait for each other (unless their hashes collide, which only
 * serialises them). In a trigger, so that any writer of the table keeps
 * the rule. */
#define OUTBOX_ORDER_VERSION "000_mdv_outbox_commit_order"
static const char outbox_order_schema[] =
    "CREATE FUNCTION mdv_outbox_in_commit_order() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  PERFORM pg_advisory_xact_lock(" MDV_OUTBOX_ORDER_LOCK_CLASS ", hashtext(NEW.aggregateid));"
    "  NEW.seq := nextval(pg_get_serial_sequence('outbox', 'seq'));"
    "  RETURN NEW;"
    " END $$;"
    "CREATE TRIGGER outbox_commit_order BEFORE INSERT ON outbox"
    " FOR EACH ROW EXECUTE FUNCTION mdv_outbox_in_commit_order();";

/* The trigger above as each outbox row runs it, cheaper (about half of a
 * row's insert, measured in a loop of 30 000): pg_get_serial_sequence
 * looked the sequence up in the catalog for every row, and the column's
 * default drew a seq of its own that the trigger then replaced. The
 * sequence is named once, here, and the trigger draws the only seq; an
 * insert that bypassed it now fails on the NOT NULL rather than taking a
 * seq out of turn. */
#define OUTBOX_SEQ_ONCE_VERSION "000_mdv_outbox_seq_drawn_once"
static const char outbox_seq_once_schema[] =
    "DO $do$ BEGIN EXECUTE format($f$"
    "CREATE OR REPLACE FUNCTION mdv_outbox_in_commit_order() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  PERFORM pg_advisory_xact_lock(" MDV_OUTBOX_ORDER_LOCK_CLASS ", hashtext(NEW.aggregateid));"
    "  NEW.seq := nextval(%L::regclass);"
    "  RETURN NEW;"
    " END $$$f$, pg_get_serial_sequence('outbox', 'seq')); END $do$;"
    "ALTER TABLE outbox ALTER COLUMN seq DROP DEFAULT;";

/* Nothing reads the outbox by id (the relay goes by seq, the id leaves as
 * the event's ce_id, a fresh v4 UUID that the inbox deduplicates), yet its
 * unique index cost each row a random btree insert: about 90 of its 590
 * bytes of WAL, more in full-page images of scattered pages after a
 * checkpoint. */
#define OUTBOX_NO_ID_INDEX_VERSION "000_mdv_outbox_no_id_index"
static const char outbox_no_id_index_schema[] =
    "ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_id_key;";

/* What journey.c keeps in every service database: the last sequence of
 * each step's reports, and the occurrences applied (a death declared by two
 * relatives is applied once). applied_effects, the exactly-once evidence,
 * is each reacting service's own migration. */
#define JOURNEY_STEPS_VERSION "000_mdv_journey_steps"
static const char journey_steps_schema[] = "CREATE TABLE step_sequences ("
                                           "  journey_id uuid NOT NULL,"
                                           "  code text NOT NULL,"
                                           "  last bigint NOT NULL,"
                                           "  PRIMARY KEY (journey_id, code));"
                                           "CREATE TABLE occurrences ("
                                           "  occurrence text PRIMARY KEY,"
                                           "  journey_id uuid NOT NULL,"
                                           "  applied_at timestamptz NOT NULL DEFAULT now());";

static const struct {
    const char *version;
    const char *sql;
} library_migrations[] = {
    {LIBRARY_SCHEMA_VERSION, library_schema},
    {OUTBOX_ORDER_VERSION, outbox_order_schema},
    {JOURNEY_STEPS_VERSION, journey_steps_schema},
    {OUTBOX_SEQ_ONCE_VERSION, outbox_seq_once_schema},
    {OUTBOX_NO_ID_INDEX_VERSION, outbox_no_id_index_schema},
};

static int apply_library_schema(PGconn *conn)
{
    for (size_t i = 0; i < MDV_ARRAY_LEN(library_migrations); i++) {
        int done = migration_applied(conn, library_migrations[i].version);
        if (done < 0)
            return -1;
        if (!done && apply_sql(conn, library_migrations[i].version, library_migrations[i].sql) != 0)
            return -1;
    }
    return 0;
}

int mdv_pg_migrate(PGconn *conn, const char *dir)
{
    struct dirent **names = NULL;
    int count = scandir(dir, &names, has_sql_suffix, alphasort);
    int rc = -1;

    if (count < 0) {
        mdv_error("cannot list migrations in %s", dir);
        return -1;
    }
    if (mdv_pg_begin(conn) != 0)
        goto out;
    if (mdv_pg_exec(conn, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK_KEY ")", 0, NULL) != 0)
        goto out;
    if (mdv_pg_exec(conn,
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                    0, NULL) != 0)
        goto out;
    if (apply_library_schema(conn) != 0)
        goto out;
    for (int i = 0; i < count; i++)
        if (apply_migration(conn, dir, names[i]->d_name) != 0)
            goto out;
    rc = mdv_pg_commit(conn);
out:
    if (rc != 0)
        mdv_pg_rollback(conn);
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return rc;
}

char *mdv_pg_texts_json(char *const *texts, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(texts[i]));
    char *text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    if (!text)
        abort(); /* allocation failure, as mdv_xmalloc does */
    return text;
}
