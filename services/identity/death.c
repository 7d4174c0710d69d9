/* DeathRecorded (bereavement): the deceased's valid CNI and passports are
 * cancelled and the person marked deceased (identity.documents_cancelled),
 * once per death however many relatives declare it. */
#include <stdio.h>

#include "identity.h"
#include "bereavement/contract.h"
#include "mdv/pg.h"

#define STEP_DEATH "identity.documents_cancelled"

/* The effect of a death on this administration's records of the
 * deceased (matched on the pivot key). */
static int cancel_documents(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_death *death = ctx;
    PGconn *conn = msg->conn;
    const char *pivot_key = death->pivot_key;
    const char *death_date = death->event->death_date;
    const char *params[] = {pivot_key, death_date};
    long counts[2];
    if (mdv_pg_query_longs(
            conn,
            "WITH person AS (UPDATE persons SET deceased_on = $2"
            "                WHERE pivot_key = $1 RETURNING person_id),"
            "     cancelled AS (UPDATE identity_documents SET status = 'cancelled',"
            "                   cancelled_at = now()"
            "                   WHERE person_id IN (SELECT person_id FROM person)"
            "                   AND status = 'valid' RETURNING 1)"
            " SELECT (SELECT count(*) FROM person), (SELECT count(*) FROM cancelled)",
            2, params, counts, 2) != 0)
        return -1;
    long persons = counts[0], documents = counts[1];
    if (persons == 0)
        return 0; /* not applicable: no record */
    out->status = MDV_STEP_DONE;
    if (documents == 0)
        snprintf(out->detail, sizeof(out->detail), "Aucun titre en cours de validité");
    else
        snprintf(out->detail, sizeof(out->detail), "%ld titre%s annulé%s", documents,
                 documents > 1 ? "s" : "", documents > 1 ? "s" : "");
    return 0;
}

enum mdv_outcome identity_on_death(struct mdv_msg *msg)
{
    return mdv_death_apply(msg, STEP_DEATH, cancel_documents);
}
