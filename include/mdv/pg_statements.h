/* Each connection's cache of prepared statements, behind mdv_pg_query:
 * a statement text run again on the same server session is bound to the
 * statement prepared the first time rather than parsed, analysed and
 * planned anew. Used by shared/pg.c only. */
#ifndef MDV_PG_STATEMENTS_H
#define MDV_PG_STATEMENTS_H

#include <libpq-fe.h>

#include "mdv/util.h"

/* Gives conn (just connected) a cache of its own, emptied when libpq
 * resets the connection (a new server session has no statement) and freed
 * with it by PQfinish. Returns 0, or -1 when libpq refused (conn then runs
 * every statement unprepared, as before). */
int mdv_pg_statements_attach(PGconn *conn) MDV_MUSTCHECK;

/* Runs sql as PQexecParams would (same parameters), through the
 * connection's prepared statement for that text, preparing it first when
 * it is new. Statements that are not plain DML or queries, connections
 * without a cache, and texts past the cache's bound run unprepared. The
 * result is libpq's (the caller checks and clears it): a statement the
 * server refuses fails at its preparation with the error it would have
 * had. */
PGresult *mdv_pg_statements_exec(PGconn *conn, const char *sql, int nparams,
                                 const char *const *params, const int *lengths, const int *formats);

#endif
