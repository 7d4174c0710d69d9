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
    if (mdv_pg_query_longs(msg->conn,
                           "WITH updated AS (UPDATE mpr_files SET family_name = $3,"
                           "      pivot_key = $2, usage_name = NULLIF($4, ''), updated_at = now()"
                           "      WHERE pivot_key = $1 RETURNING 1)"
                           " SELECT count(*) FROM updated",
                           4, params, &n, 1) != 0)
        return -1;
    if (n == 0)
        return 0; /* not applicable: no record */
    mdv_name_change_detail(m, n > 1 ? "les dossiers MaPrimeRénov'" : "le dossier MaPrimeRénov'",
                           n > 1 ? "des dossiers MaPrimeRénov'" : "du dossier MaPrimeRénov'", out);
    return 0;
}

enum mdv_outcome housing_on_name_changed(struct mdv_msg *msg)
{
    return mdv_name_change_apply(msg, HOUSING_STEP_NAME, update_names);
}
