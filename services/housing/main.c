/* housing — Anah / France Rénov': MaPrimeRénov' files. On a death it
 * suspends the deceased's open files until the heirs take them over. */
#include <stdio.h>

#include "mdv/journey.h"
#include "mdv/pg.h"

static int suspend_files(PGconn *conn, const char *pivot_key, const char *death_date,
                         struct mdv_effect *out)
{
    const char *params[] = {pivot_key};
    (void)death_date;
    long counts[2];
    if (mdv_pg_query_longs(
            conn,
            "WITH known AS (SELECT 1 FROM mpr_files WHERE pivot_key = $1),"
            "     suspended AS (UPDATE mpr_files SET status = 'suspended',"
            "                   suspended_reason = 'deces', updated_at = now()"
            "                   WHERE pivot_key = $1 AND status = 'open' RETURNING 1)"
            " SELECT (SELECT count(*) FROM known), (SELECT count(*) FROM suspended)",
            1, params, counts, 2) != 0)
        return -1;
    long known = counts[0], suspended = counts[1];
    if (known == 0)
        return 0; /* not applicable: no record */
    out->status = MDV_STEP_DONE;
    if (suspended == 0)
        snprintf(out->detail, sizeof(out->detail), "Aucun dossier MaPrimeRénov' en cours");
    else
        snprintf(out->detail, sizeof(out->detail),
                 "%ld dossier%s MaPrimeRénov' suspendu%s dans l'attente des héritiers", suspended,
                 suspended > 1 ? "s" : "", suspended > 1 ? "s" : "");
    return 0;
}

int main(void)
{
    return mdv_journey_run_death_consumer("housing", "housing.files_suspended", suspend_files);
}
