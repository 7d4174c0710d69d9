/* identity — ANTS and mairies: persons (pivot identity), identity
 * documents. On a death it cancels the deceased's valid CNI and passports
 * and marks the person deceased (step identity.documents_cancelled). */
#include <stdio.h>

#include "mdv/journey.h"
#include "mdv/pg.h"

static int cancel_documents(PGconn *conn, const char *pivot_key, const char *death_date,
                            struct mdv_effect *out)
{
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

int main(void)
{
    return mdv_journey_run_death_consumer("identity", "identity.documents_cancelled",
                                          cancel_documents);
}
