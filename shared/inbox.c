/* Inbox: duplicate detection in the same transaction as the effect. */
#include "mdv/inbox.h"

#include <stdlib.h>

#include "mdv/pg.h"

int mdv_inbox_claim(PGconn *conn, const char *ce_source, const char *ce_id)
{
    const char *params[] = {ce_source, ce_id};
    PGresult *res = mdv_pg_query(conn,
                                 "INSERT INTO inbox (ce_source, ce_id) VALUES ($1, $2) "
                                 "ON CONFLICT DO NOTHING",
                                 2, params);
    if (!res)
        return -1;
    int inserted = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return inserted;
}
