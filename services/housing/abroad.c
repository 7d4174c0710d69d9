/* ResidenceAbroadStarted / Ended → housing.files_reviewed (Anah). A
 * MaPrimeRénov' file is for a main residence: living abroad, the applicant
 * has none in France, and their open files are suspended (suspended_cause
 * 'abroad'). Back in France, the files suspended for that reason resume
 * when their dwelling is the new address; one for another dwelling stays
 * suspended (the dwelling is still not the main residence). Files
 * suspended for a death are left alone. */
#include <stdio.h>

#include "housing.h"
#include "mdv/pg.h"

typedef Mdv__Abroad__V1__ResidenceAbroadEnded ended_t;

static const char *plural(long n)
{
    return n > 1 ? "s" : "";
}

static int suspend(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_residence *w = ctx;
    const char *params[] = {w->key};
    long counts[2];
    if (mdv_pg_query_longs(
            msg->conn,
            "WITH known AS (SELECT 1 FROM mpr_files WHERE pivot_key = $1),"
            "     suspended AS (UPDATE mpr_files SET status = 'suspended',"
            "          suspended_reason = 'residence_etranger', suspended_cause = 'abroad',"
            "          updated_at = now() WHERE pivot_key = $1 AND status = 'open' RETURNING 1)"
            " SELECT (SELECT count(*) FROM known), (SELECT count(*) FROM suspended)",
            1, params, counts, 2) != 0)
        return -1;
    if (counts[0] == 0)
        return 0; /* not applicable: no record */
    if (counts[1] == 0) {
        snprintf(out->detail, sizeof(out->detail), "Aucun dossier MaPrimeRénov' en cours");
        return 0; /* not applicable */
    }
    out->status = MDV_STEP_DONE;
    snprintf(out->detail, sizeof(out->detail),
             "%ld dossier%s suspendu%s : le logement n'est plus la résidence principale", counts[1],
             plural(counts[1]), plural(counts[1]));
    return 0;
}

static int resume(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_residence *w = ctx;
    const ended_t *e = w->ended;
    const char *params[] = {w->key, e->address->postal_code, e->address->commune_code};
    long counts[3];
    if (mdv_pg_query_longs(
            msg->conn,
            "WITH abroad AS (SELECT file_id, (dwelling_postal_code, dwelling_commune_code)"
            "          IS NOT DISTINCT FROM ($2, $3) AS home FROM mpr_files"
            "          WHERE pivot_key = $1 AND status = 'suspended' AND suspended_cause = "
            "'abroad'),"
            "     resumed AS (UPDATE mpr_files SET status = 'open', suspended_reason = NULL,"
            "          suspended_cause = NULL, updated_at = now()"
            "          WHERE file_id IN (SELECT file_id FROM abroad WHERE home) RETURNING 1)"
            " SELECT (SELECT count(*) FROM mpr_files WHERE pivot_key = $1),"
            "        (SELECT count(*) FROM resumed), (SELECT count(*) FROM abroad WHERE NOT home)",
            3, params, counts, 3) != 0)
        return -1;
    if (counts[0] == 0)
        return 0; /* not applicable: no record */
    if (counts[1] == 0 && counts[2] == 0) {
        snprintf(out->detail, sizeof(out->detail), "Aucun dossier MaPrimeRénov' suspendu");
        return 0; /* not applicable */
    }
    out->status = MDV_STEP_DONE;
    if (counts[2] == 0)
        snprintf(out->detail, sizeof(out->detail),
                 "%ld dossier%s repris : le logement est à nouveau la résidence principale",
                 counts[1], plural(counts[1]));
    else
        snprintf(out->detail, sizeof(out->detail),
                 "%ld dossier%s repris, %ld toujours suspendu%s : le logement n'est pas la "
                 "nouvelle adresse",
                 counts[1], plural(counts[1]), counts[2], plural(counts[2]));
    return 0;
}

enum mdv_outcome housing_on_abroad_started(struct mdv_msg *msg)
{
    return mdv_residence_started_apply(msg, HOUSING_STEP_FILES, suspend);
}

enum mdv_outcome housing_on_abroad_ended(struct mdv_msg *msg)
{
    return mdv_residence_ended_apply(msg, HOUSING_STEP_FILES, resume);
}
