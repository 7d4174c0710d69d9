/* PersonNameChanged → housing.name_updated (Anah). The applicant's files
 * (found under the previous identity) take the nom d'usage; a changed nom
 * de naissance also re-keys them, so that the applicant is found under the
 * new name only. */
#include <stdio.h>

#include "housing.h"
#include "mdv/pg.h"

typedef Mdv__Identity__V1__PersonNameChanged name_changed_t;

/* The effect, for mdv_journey_apply_step. */
static int update_names(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_name_change *w = ctx;
    const name_changed_t *m = w->m;
    const char *params[] = {w->previous, w->current, m->current->family_name, m->usage_name};
    long n = 0;
    char name[MDV_REACTION_NAME_CLIP];
    if (mdv_pg_query_longs(msg->conn,
                           "WITH updated AS (UPDATE mpr_files SET family_name = $3,"
                           "      pivot_key = $2, usage_name = NULLIF($4, ''), updated_at = now()"
                           "      WHERE pivot_key = $1 RETURNING 1)"
                           " SELECT count(*) FROM updated",
                           4, params, &n, 1) != 0)
        return -1;
    if (n == 0)
        return 0; /* not applicable: no record */
    out->status = MDV_STEP_DONE;
    const char *shown = m->birth_name_changed ? m->current->family_name : m->usage_name;
    mdv_reaction_clip(name, sizeof(name), shown);
    if (m->birth_name_changed)
        snprintf(out->detail, sizeof(out->detail), "Nom mis à jour dans %s MaPrimeRénov' : %s",
                 n > 1 ? "les dossiers" : "le dossier", name);
    else if (*name)
        snprintf(out->detail, sizeof(out->detail),
                 "Nom d'usage enregistré dans %s MaPrimeRénov' : %s",
                 n > 1 ? "les dossiers" : "le dossier", name);
    else
        snprintf(out->detail, sizeof(out->detail), "Nom d'usage retiré %s MaPrimeRénov'",
                 n > 1 ? "des dossiers" : "du dossier");
    return 0;
}

enum mdv_outcome housing_on_name_changed(struct mdv_msg *msg)
{
    return mdv_name_change_apply(msg, HOUSING_STEP_NAME, update_names);
}
