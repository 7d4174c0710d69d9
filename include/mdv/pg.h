/* PostgreSQL access: connecting with retries, parameterised queries only,
 * transactions, numbered migrations under an advisory lock. */
#ifndef MDV_PG_H
#define MDV_PG_H

#include <libpq-fe.h>

#include "mdv/util.h"

/* The class (first key) of the outbox's per-aggregate advisory locks: a
 * writer of an aggregate's events takes (class, hashtext(aggregateid)) to
 * commit, so that one aggregate's events leave in commit order (pg.c). A
 * writer that must never wait can try it first with
 * pg_try_advisory_xact_lock(class, hashtext(id)). */
#define MDV_OUTBOX_ORDER_LOCK_CLASS "4242002"

/* Opens one connection, without retrying, as every connection of the
 * library is opened: TCP keepalives (10 s idle, 3 probes 5 s apart) and
 * tcp_user_timeout (25 s) unless dsn sets them, so that a peer gone
 * silently is noticed in seconds; statement_timeout_ms > 0 as the
 * session's statement_timeout (through the startup's options: a dsn that
 * sets options keeps its own); application_name when not NULL. Returns
 * the connection, up or not (PQstatus says; PQconninfo says what it was
 * opened with); the caller PQfinishes it. */
PGconn *mdv_pg_open(const char *dsn, const char *application_name, long statement_timeout_ms);

/* Connects, retrying with backoff for up to timeout_ms. Returns a
 * connection the caller closes with PQfinish, or NULL. */
PGconn *mdv_pg_connect(const char *dsn, long timeout_ms) MDV_MUSTCHECK;

/* Makes sure *conn is usable, resetting it once if the server went away.
 * Returns 0 when the connection is up. */
int mdv_pg_ensure(PGconn **conn, const char *dsn) MDV_MUSTCHECK;

/* Runs a parameterised statement (text parameters; NULL entries are SQL
 * NULL). Returns the result (caller PQclears) when it succeeded, else logs
 * the error and returns NULL. */
PGresult *mdv_pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params);

/* Same, for statements with binary parameters (lengths/formats as libpq). */
PGresult *mdv_pg_query_bin(PGconn *conn, const char *sql, int nparams, const char *const *params,
                           const int *lengths, const int *formats);

/* Runs a statement prepared on this connection (a pool's, see below). */
PGresult *mdv_pg_query_prepared(PGconn *conn, const char *name, int nparams,
                                const char *const *params);

/* A list of texts as a JSON array (the caller frees it), so that any text
 * reaches a text[] column as one parameter, with no array literal to quote:
 * ARRAY(SELECT json_array_elements_text($n::json)). Aborts when memory runs
 * out, as mdv_xmalloc does. */
char *mdv_pg_texts_json(char *const *texts, size_t n);

/* Runs a query whose first row holds n integers (counts, say) and stores
 * them in out. Returns 0, or -1 on error or when there is no row. */
int mdv_pg_query_longs(PGconn *conn, const char *sql, int nparams, const char *const *params,
                       long *out, int n) MDV_MUSTCHECK;

/* Runs a statement for its effect only. Returns 0 or -1. */
int mdv_pg_exec(PGconn *conn, const char *sql, int nparams,
                const char *const *params) MDV_MUSTCHECK;

/* BEGIN; also forgets this thread's last failure. */
int mdv_pg_begin(PGconn *conn) MDV_MUSTCHECK;
/* COMMIT; -1 when it failed or when the server rolled the transaction back
 * (it had failed earlier). */
int mdv_pg_commit(PGconn *conn) MDV_MUSTCHECK;
/* Rolls back if a transaction is open; safe on a broken connection. */
void mdv_pg_rollback(PGconn *conn);

/* Asks for fn(conn) to run once, in this thread, right after the
 * transaction open on conn commits through mdv_pg_commit; forgotten when
 * it rolls back or fails, and at the next mdv_pg_begin. Not a
 * notification of the database: nothing happens for a transaction that
 * the server rolled back, and the caller hears of the commit only once it
 * is durable. When the connection is lost during the COMMIT, whose outcome
 * is then unknown, fn runs too: it may have committed. One per thread: asking again replaces it
 * (the outbox is the only user). */
typedef void (*mdv_pg_commit_hook)(PGconn *conn);
void mdv_pg_after_commit(PGconn *conn, mdv_pg_commit_hook fn);

/* From now on this session's commits return before their WAL reaches the
 * disk (synchronous_commit off): a crash of the server may lose the last
 * of them, never tear one. Only for a session whose writes may be lost
 * and done again (the relay's deletions of rows it sent: sent again, the
 * consumers' inbox skips them). Lost with the session: call it again on
 * a new one. Returns 0 or -1. */
int mdv_pg_commit_asynchronously(PGconn *conn) MDV_MUSTCHECK;

/* 0 when the last failure of this thread was caused by the statement's
 * data (a data exception, a constraint, a limit), which retrying will not
 * fix; 1 for anything else: the server, the network, a conflict, a
 * read-only or overloaded database. */
int mdv_pg_failure_is_transient(PGconn *conn);

/* The SQLSTATE of this thread's last failed statement in the current
 * transaction ("" when none). */
const char *mdv_pg_last_sqlstate(void);

/* A statement a pool prepares on each of its connections, run with
 * mdv_pg_query_prepared(conn, name, ...). */
struct mdv_pg_statement {
    const char *name;
    const char *sql;
    int nparams;
};

/* A small pool of connections for HTTP handler threads. statements (ends
 * with a {NULL} entry; may be NULL) must outlive the pool. Each connection
 * runs with statement_timeout_ms (0: the server's statement_timeout), so
 * that a request waiting on a lock or a stuck statement fails (and its
 * service answers 503) rather than holding its thread and its connection;
 * and a request finding every connection held waits at most wait_ms (0:
 * not at all) for one, rather than as long as their holders. */
struct mdv_pg_pool;
struct mdv_pg_pool *mdv_pg_pool_new(const char *dsn, int size,
                                    const struct mdv_pg_statement *statements,
                                    long statement_timeout_ms, long wait_ms);
/* Returns a usable connection (reconnecting, and preparing the pool's
 * statements, if needed) or NULL when the database is unreachable or no
 * connection was given back within the pool's wait_ms (counted in
 * mdv_pg_pool_wait_timeouts_total); give it back with mdv_pg_pool_put. A
 * connection that looks up costs no round trip: one the server ended
 * unannounced fails its first statement. */
PGconn *mdv_pg_pool_get(struct mdv_pg_pool *pool);
void mdv_pg_pool_put(struct mdv_pg_pool *pool, PGconn *conn);
void mdv_pg_pool_destroy(struct mdv_pg_pool *pool);

/* Applies dir/NNN_*.sql in order, each once, recorded in schema_migrations,
 * all in one transaction under an advisory lock so that replicas starting
 * together do not race. */
int mdv_pg_migrate(PGconn *conn, const char *dir) MDV_MUSTCHECK;

#endif
