/* PersonNameChanged → student.name_updated (CROUS). The student's files
 * (found under the previous identity) take the nom d'usage; a changed nom
 * de naissance also re-keys them, and the files assessed on that person as
 * a parent, so that the person is found under the new name only. */
#include <stdio.h>
#include <string.h>

#include "mdv/pg.h"
#include "student.h"

typedef Mdv__Identity__V1__PersonNameChanged name_changed_t;

static void describe(const name_changed_t *m, long own, struct mdv_effect *out)
{
    if (own) {
        mdv_name_change_detail(m, "le dossier étudiant", "du dossier étudiant", out);
        return;
    }
    out->status = MDV_STEP_DONE;
    snprintf(out->detail, sizeof(out->detail),
             "Nom du parent mis à jour dans le dossier étudiant de son enfant");
}

/* The effect, for mdv_journey_apply_step. */
static int update_names(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_name_change *w = ctx;
    const char *params[] = {w->previous, w->current, w->m->current->family_name, w->m->usage_name};
    long counts[2];
    if (mdv_pg_query_longs(
            msg->conn,
            "WITH own AS (UPDATE student_files SET family_name = $3, pivot_key = $2,"
            "             usage_name = NULLIF($4, ''), updated_at = now()"
            "             WHERE pivot_key = $1 RETURNING 1),"
            "     parent AS (UPDATE student_files SET parent_pivot_key = $2, updated_at = now()"
            "             WHERE parent_pivot_key = $1 AND $1 <> $2 RETURNING 1)"
            " SELECT (SELECT count(*) FROM own), (SELECT count(*) FROM parent)",
            4, params, counts, 2) != 0)
        return -1;
    if (counts[0] + counts[1] > 0)
        describe(w->m, counts[0], out);
    return 0; /* else not applicable: no record */
}

enum mdv_outcome student_on_name_changed(struct mdv_msg *msg)
{
    return mdv_name_change_apply(msg, STUDENT_STEP_NAME, update_names);
}
