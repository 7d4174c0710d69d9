/* DeathRecorded → student.files_updated (CROUS): the deceased's own student
 * file is closed, and the bourse of any student whose parent died is
 * re-assessed (an orphan is assessed on their own resources:
 * RULES-REFERENCE.md): the student files that name the parent, and the
 * dossiers sociaux étudiants (grant_reassess.c). */
#include <stdio.h>

#include "bereavement/contract.h"
#include "mdv/pg.h"
#include "student.h"

static void describe(long closed, long reassessed, long grants, const char *grant,
                     struct mdv_effect *out)
{
    if (closed == 0 && reassessed == 0)
        return; /* not applicable: no record */
    out->status = MDV_STEP_DONE;
    if (!closed && reassessed == 1 && grants == 1) {
        /* One dossier social étudiant: its new assessment, in full. */
        snprintf(out->detail, sizeof(out->detail), "Bourse réexaminée (décès d'un parent) : %s",
                 grant);
        return;
    }
    if (closed && reassessed)
        snprintf(out->detail, sizeof(out->detail),
                 "Dossier étudiant clos ; %ld bourse%s réexaminée%s", reassessed,
                 reassessed > 1 ? "s" : "", reassessed > 1 ? "s" : "");
    else if (closed)
        snprintf(out->detail, sizeof(out->detail), "Dossier étudiant clos");
    else
        snprintf(out->detail, sizeof(out->detail), "%ld bourse%s réexaminée%s (décès d'un parent)",
                 reassessed, reassessed > 1 ? "s" : "", reassessed > 1 ? "s" : "");
}

/* The effect of a death on this administration's records of the
 * deceased (matched on the pivot key). */
static int update_files(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
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
            "WITH closed AS (UPDATE student_files SET status = 'closed', closed_reason = 'deces',"
            "                updated_at = now()"
            "                WHERE pivot_key = $1 AND status = 'open' RETURNING 1),"
            "     reassessed AS (UPDATE student_files SET reassessment = 'deces_parent',"
            "                    updated_at = now()"
            "                    WHERE parent_pivot_key = $1 AND status = 'open' RETURNING 1)"
            " SELECT (SELECT count(*) FROM closed), (SELECT count(*) FROM reassessed)",
            1, params, counts, 2) != 0)
        return -1;
    char grant[160] = "";
    long grants =
        student_grants_reassess(msg, pivot_key, death->event->journey_id, grant, sizeof(grant));
    if (grants < 0)
        return -1;
    describe(counts[0], counts[1] + grants, grants, grant, out);
    return 0;
}

enum mdv_outcome student_on_death(struct mdv_msg *msg)
{
    return mdv_death_apply(msg, STUDENT_STEP_DEATH, update_files);
}
