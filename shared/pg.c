/* PostgreSQL adapter. Every statement is parameterised; SQL text never
 * contains input. */
#include "mdv/pg.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/log.h"

/* SQLSTATE of this thread's last failed statement, for the retry decision. */
static __thread char last_sqlstate[6];

/* An arbitrary constant: the advisory lock key that serialises migrations. */
#define MIGRATION_LOCK_KEY "4242001"

PGconn *mdv_pg_connect(const char *dsn, long timeout_ms)
{
    double deadline = mdv_monotonic_seconds() + (double)timeout_ms / 1000.0;
    long backoff_ms = 100;

    for (;;) {
        PGconn *conn = PQconnectdb(dsn);
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

int mdv_pg_ensure(PGconn **conn, const char *dsn)
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
    *conn = PQconnectdb(dsn);
    if (PQstatus(*conn) == CONNECTION_OK)
        return 0;
    mdv_warn("database unreachable: %s", PQerrorMessage(*conn));
    return -1;
}

PGresult *mdv_pg_query_bin(PGconn *conn, const char *sql, int nparams, const char *const *params,
                           const int *lengths, const int *formats)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, lengths, formats, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    mdv_strlcpy(last_sqlstate, state ? state : "", sizeof(last_sqlstate));
    mdv_warn("statement failed: %s (sqlstate %s)", PQerrorMessage(conn), state ? state : "none");
    PQclear(res);
    return NULL;
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

int mdv_pg_begin(PGconn *conn)
{
    return mdv_pg_exec(conn, "BEGIN", 0, NULL);
}

int mdv_pg_commit(PGconn *conn)
{
    return mdv_pg_exec(conn, "COMMIT", 0, NULL);
}

void mdv_pg_rollback(PGconn *conn)
{
    if (PQstatus(conn) != CONNECTION_OK)
        return;
    if (PQtransactionStatus(conn) == PQTRANS_IDLE)
        return;
    PQclear(PQexec(conn, "ROLLBACK"));
}

int mdv_pg_failure_is_transient(PGconn *conn)
{
    if (PQstatus(conn) != CONNECTION_OK)
        return 1;
    /* Classes 08 (connection), 40 (serialization, deadlock), 53 (resources),
     * 57 (operator intervention, e.g. shutdown). */
    static const char *const transient_classes[] = {"08", "40", "53", "57"};
    for (size_t i = 0; i < MDV_ARRAY_LEN(transient_classes); i++)
        if (strncmp(last_sqlstate, transient_classes[i], 2) == 0)
            return 1;
    return 0;
}

struct mdv_pg_pool {
    const char *dsn;
    int size;
    int free_count;
    PGconn **free_conns;
    pthread_mutex_t lock;
    pthread_cond_t available;
};

struct mdv_pg_pool *mdv_pg_pool_new(const char *dsn, int size)
{
    struct mdv_pg_pool *pool = mdv_xcalloc(1, sizeof(*pool));
    pool->dsn = dsn;
    pool->size = size;
    pool->free_count = size;
    pool->free_conns = mdv_xcalloc((size_t)size, sizeof(PGconn *));
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->available, NULL);
    return pool;
}

PGconn *mdv_pg_pool_get(struct mdv_pg_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    while (pool->free_count == 0)
        pthread_cond_wait(&pool->available, &pool->lock);
    PGconn *conn = pool->free_conns[--pool->free_count];
    pthread_mutex_unlock(&pool->lock);
    /* Slots start empty: connections open on first use. A pooled
     * connection may have been idle across a database restart; an empty
     * query (one local round trip) finds out before a handler relies on it. */
    if (conn && PQstatus(conn) == CONNECTION_OK) {
        PGresult *probe = PQexec(conn, "");
        PQclear(probe);
    }
    if (mdv_pg_ensure(&conn, pool->dsn) != 0) {
        mdv_pg_pool_put(pool, conn);
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

static int apply_library_schema(PGconn *conn)
{
    int done = migration_applied(conn, LIBRARY_SCHEMA_VERSION);
    if (done != 0)
        return done < 0 ? -1 : 0;
    return apply_sql(conn, LIBRARY_SCHEMA_VERSION, library_schema);
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
