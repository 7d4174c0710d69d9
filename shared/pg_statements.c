/* Prepared statements per connection, so that the hot paths (the inbox
 * claim, the outbox row, the relay's round, every handler's statements)
 * are parsed, analysed and planned once per server session rather than
 * once per run: that was about a third of PostgreSQL's CPU per
 * declaration (perf, README "Performance"). The cache lives in libpq's
 * instance data of the connection, so it follows the connection from
 * thread to thread (the gateway's pool) and needs no lock: a connection is
 * used by one thread at a time. */
#include "mdv/pg_statements.h"

#include <ctype.h>
#include <libpq-events.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A bound on what one session keeps: the suite's services run a few dozen
 * texts each; a text built per call (none should be) would otherwise grow
 * the server's memory without end. Past it, statements run unprepared. */
#define MAX_STATEMENTS 256

struct statement {
    char *sql;
    unsigned long hash;
    int nparams;
    char name[32];
};

struct cache {
    struct statement statements[MAX_STATEMENTS];
    int n;
    unsigned long prepared; /* names stay unique within the session */
};

static void cache_clear(struct cache *cache)
{
    for (int i = 0; i < cache->n; i++)
        free(cache->statements[i].sql);
    cache->n = 0;
}

static int event_proc(PGEventId id, void *info, void *pass_through)
{
    (void)pass_through;
    if (id == PGEVT_REGISTER) {
        PGconn *conn = ((PGEventRegister *)info)->conn;
        return PQsetInstanceData(conn, event_proc, mdv_xcalloc(1, sizeof(struct cache)));
    }
    if (id == PGEVT_CONNRESET) {
        /* A new server session: the statements prepared on the old one are
         * gone with it. */
        struct cache *cache = PQinstanceData(((PGEventConnReset *)info)->conn, event_proc);
        if (cache)
            cache_clear(cache);
    } else if (id == PGEVT_CONNDESTROY) {
        struct cache *cache = PQinstanceData(((PGEventConnDestroy *)info)->conn, event_proc);
        if (cache) {
            cache_clear(cache);
            free(cache);
        }
    }
    return 1;
}

int mdv_pg_statements_attach(PGconn *conn)
{
    return conn && PQregisterEventProc(conn, event_proc, "mdv_pg_statements", NULL) ? 0 : -1;
}

static unsigned long hash_text(const char *s)
{
    unsigned long h = 1469598103934665603UL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211UL;
    return h;
}

/* Only what PREPARE itself accepts: LISTEN, SET and the transaction
 * commands keep the unnamed statement. */
static int preparable(const char *sql)
{
    static const char *const verbs[] = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES"};
    while (isspace((unsigned char)*sql) || *sql == '(')
        sql++;
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        size_t n = strlen(verbs[i]);
        if (strncasecmp(sql, verbs[i], n) == 0 && !isalnum((unsigned char)sql[n]) && sql[n] != '_')
            return 1;
    }
    return 0;
}

static const struct statement *find(const struct cache *cache, const char *sql, unsigned long hash,
                                    int nparams)
{
    for (int i = 0; i < cache->n; i++) {
        const struct statement *st = &cache->statements[i];
        if (st->hash == hash && st->nparams == nparams && strcmp(st->sql, sql) == 0)
            return st;
    }
    return NULL;
}

/* Prepares sql on the session and remembers it. Returns the statement,
 * or NULL with the server's refusal in *res (the caller's to clear). */
static const struct statement *prepare(PGconn *conn, struct cache *cache, const char *sql,
                                       unsigned long hash, int nparams, PGresult **res)
{
    struct statement *st = &cache->statements[cache->n];
    snprintf(st->name, sizeof(st->name), "mdv_stmt_%lu", ++cache->prepared);
    PGresult *prepared = PQprepare(conn, st->name, sql, nparams, NULL);
    if (PQresultStatus(prepared) != PGRES_COMMAND_OK) {
        *res = prepared;
        return NULL;
    }
    PQclear(prepared);
    st->sql = mdv_xstrdup(sql);
    st->hash = hash;
    st->nparams = nparams;
    cache->n++;
    return st;
}

PGresult *mdv_pg_statements_exec(PGconn *conn, const char *sql, int nparams,
                                 const char *const *params, const int *lengths, const int *formats)
{
    struct cache *cache = conn ? PQinstanceData(conn, event_proc) : NULL;
    if (!cache || !preparable(sql))
        return PQexecParams(conn, sql, nparams, NULL, params, lengths, formats, 0);
    unsigned long hash = hash_text(sql);
    const struct statement *st = find(cache, sql, hash, nparams);
    if (!st && cache->n == MAX_STATEMENTS)
        return PQexecParams(conn, sql, nparams, NULL, params, lengths, formats, 0);
    PGresult *refused = NULL;
    if (!st && !(st = prepare(conn, cache, sql, hash, nparams, &refused)))
        return refused;
    return PQexecPrepared(conn, st->name, nparams, params, lengths, formats, 0);
}
