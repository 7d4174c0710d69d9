/* ResidenceAbroadStarted / Ended → student.mobility_reviewed (CROUS). A
 * bourse sur critères sociaux is paid to a student living in France: it is
 * kept during a mobility within their French cursus (study_mobility), and
 * suspended otherwise until they come back. On the return the bourse is
 * paid again, and the family home follows the student's new address when
 * it is theirs (the AddressChanged identity then publishes for that
 * journey finds it done: address.c). */
#include <stdio.h>
#include <string.h>

#include "mdv/pg.h"
#include "student.h"

typedef Mdv__Abroad__V1__ResidenceAbroadStarted started_t;
typedef Mdv__Abroad__V1__ResidenceAbroadEnded ended_t;

/* Moves the bourse of the person's open files from one status to another:
 * counts[0] the open files, counts[1] those it changed. */
static int update_bourse(PGconn *conn, const char *key, const char *from, const char *to,
                         long counts[2])
{
    const char *params[] = {key, from, to};
    return mdv_pg_query_longs(
        conn,
        "WITH open AS (SELECT file_id FROM student_files WHERE pivot_key = $1 AND status = 'open'),"
        "     changed AS (UPDATE student_files SET bourse_status = $3, updated_at = now()"
        "                 WHERE file_id IN (SELECT file_id FROM open) AND bourse_status = $2"
        "                 AND $2 <> $3 RETURNING 1)"
        " SELECT (SELECT count(*) FROM open), (SELECT count(*) FROM changed)",
        3, params, counts, 2);
}

static int review_departure(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_residence *w = ctx;
    const started_t *s = w->started;
    long counts[2];
    /* A mobility keeps the bourse: nothing changes (active to active). */
    const char *to = s->study_mobility ? "active" : "suspended";
    if (update_bourse(msg->conn, w->key, "active", to, counts) != 0)
        return -1;
    if (counts[0] == 0)
        return 0; /* not applicable: no open file */
    out->status = MDV_STEP_DONE;
    snprintf(out->detail, sizeof(out->detail), "%s",
             s->study_mobility ? "Bourse maintenue pendant la mobilité"
             : counts[1]       ? "Bourse suspendue : résidence hors de France"
                               : "Bourse déjà suspendue : résidence hors de France");
    return 0;
}

static int review_return(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_residence *w = ctx;
    const ended_t *e = w->ended;
    long counts[2];
    char change[160];
    if (update_bourse(msg->conn, w->key, "suspended", "active", counts) != 0)
        return -1;
    if (counts[0] == 0)
        return 0; /* not applicable: no open file */
    if (student_move_home(msg->conn, w->key, e->address, change, sizeof(change)) < 0)
        return -1;
    out->status = MDV_STEP_DONE;
    const char *bourse = counts[1] ? "Bourse rétablie" : "Bourse maintenue : rien à rétablir";
    if (strcmp(change, "échelon inchangé") == 0)
        snprintf(out->detail, sizeof(out->detail), "%s", bourse);
    else
        snprintf(out->detail, sizeof(out->detail), "%s ; %s", bourse, change);
    return 0;
}

enum mdv_outcome student_on_abroad_started(struct mdv_msg *msg)
{
    return mdv_residence_started_apply(msg, STUDENT_STEP_MOBILITY, review_departure);
}

enum mdv_outcome student_on_abroad_ended(struct mdv_msg *msg)
{
    return mdv_residence_ended_apply(msg, STUDENT_STEP_MOBILITY, review_return);
}
