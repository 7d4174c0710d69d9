/* DeathRecorded → housing.files_suspended (Anah): the deceased's open
 * MaPrimeRénov' files are suspended until the heirs take them over. */
#include <stdio.h>

#include "housing.h"
#include "bereavement/contract.h"
#include "mdv/pg.h"

/* The effect of a death on this administration's records of the
 * deceased (matched on the pivot key). */
static int suspend_files(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_death *death = ctx;
    PGconn *conn = msg->conn;
    const char *pivot_key = death->pivot_key;
    const char *death_date = death->event->death_date;
    const char *params[] = {pivot_key};
    (void)death_date;
    long counts[2];
    if (mdv_pg_query_longs(
            conn,
            "WITH known AS (SELECT 1 FROM mpr_files WHERE pivot_key = $1),"
            "     suspended AS (UPDATE mpr_files SET status = 'suspended',"
            "                   suspended_reason = 'deces', suspended_cause = 'death',"
            "                   updated_at = now()"
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

enum mdv_outcome housing_on_death(struct mdv_msg *msg)
{
    return mdv_death_apply(msg, HOUSING_STEP_DEATH, suspend_files);
}
