/* AddressChanged → student.address_updated (CROUS). When the student's
 * family home is their own address, the open file moves with it: the
 * distance to the place of study and its points de charge are computed
 * again, and with them the échelon (the usager is told whether it
 * changed). When the family home is a parent's (home_of 'parent', the
 * parent named by parent_pivot_key, whose resources the bourse was
 * assessed on), the student's own move changes nothing in the assessment,
 * and that parent's move moves the child's family home: the same
 * re-computation, told to the parent. The AddressChanged of a
 * return_to_france journey (identity's, caused by the ResidenceAbroadEnded
 * this service acted on: its plan gives student.mobility_reviewed, not
 * this step) moves nothing twice: the returning person's own file moved
 * then; only the files of their children, which the return did not touch,
 * move, and the step is added to that journey. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/pg.h"
#include "student.h"

struct file {
    char file_id[MDV_UUID_LEN];
    int home_is_student;          /* the family home is the student's own address */
    char study[16];               /* commune of the place of study, "" when unknown */
    long other_points, resources; /* -1 when unknown */
    char echelon[8];              /* "" when no bourse */
};

#define FILE_COLUMNS                                                                               \
    "SELECT file_id, home_of IS DISTINCT FROM 'parent', coalesce(study_commune_code, ''),"         \
    " other_points, resources, coalesce(bourse_echelon, '') FROM student_files"
/* The files whose family home is the parent's home: a file of the parent
 * themself is their own (a student who is also a parent). */
#define CHILDREN_WHERE                                                                             \
    " WHERE parent_pivot_key = $1 AND pivot_key <> $1 AND home_of = 'parent' AND status = 'open'"

static void file_read(const PGresult *res, int row, struct file *f)
{
    mdv_strlcpy(f->file_id, PQgetvalue(res, row, 0), sizeof(f->file_id));
    f->home_is_student = strcmp(PQgetvalue(res, row, 1), "t") == 0;
    mdv_strlcpy(f->study, PQgetvalue(res, row, 2), sizeof(f->study));
    f->other_points = PQgetisnull(res, row, 3) ? -1 : atol(PQgetvalue(res, row, 3));
    f->resources = PQgetisnull(res, row, 4) ? -1 : atol(PQgetvalue(res, row, 4));
    mdv_strlcpy(f->echelon, PQgetvalue(res, row, 5), sizeof(f->echelon));
}

/* The person's open file, locked: 1, or 0 when none, -1 on error. */
static int open_file(PGconn *conn, const char *pivot_key, struct file *f)
{
    const char *params[] = {pivot_key};
    PGresult *res =
        mdv_pg_query(conn,
                     FILE_COLUMNS " WHERE pivot_key = $1 AND status = 'open'"
                                  " ORDER BY updated_at DESC, file_id LIMIT 1 FOR UPDATE",
                     1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found)
        file_read(res, 0, f);
    PQclear(res);
    return found;
}

/* The distance, its points and the échelon from the new family home;
 * what cannot be computed (a commune with no known centre, an assessment
 * without resources) keeps the file's values (SQL NULL: coalesce). */
static int record_home(PGconn *conn, const struct file *f, const Mdv__Journey__V1__Address *a,
                       const char **echelon, int *recomputed)
{
    char km[16] = "", points[16] = "";
    int distance = student_distance_km(a->commune_code, f->study[0] ? f->study : NULL);
    *recomputed = distance >= 0 && f->other_points >= 0 && f->resources >= 0;
    if (distance >= 0) {
        snprintf(km, sizeof(km), "%d", distance);
        snprintf(points, sizeof(points), "%d", student_distance_points(distance));
    }
    *echelon = *recomputed ? student_echelon(f->resources,
                                             student_distance_points(distance) + f->other_points)
                           : NULL;
    const char *params[] = {f->file_id,
                            a->postal_code,
                            a->commune_code,
                            km[0] ? km : NULL,
                            points[0] ? points : NULL,
                            *recomputed ? "t" : "f",
                            *echelon};
    return mdv_pg_exec(conn,
                       "UPDATE student_files SET home_postal_code = $2, home_commune_code = $3,"
                       " distance_km = coalesce($4::int, distance_km),"
                       " distance_points = coalesce($5::smallint, distance_points),"
                       " bourse_echelon = CASE WHEN $6::bool THEN $7 ELSE bourse_echelon END,"
                       " updated_at = now() WHERE file_id = $1",
                       7, params);
}

/* Moves f's family home to a and writes what changed for the usager. */
static int move_file(PGconn *conn, const struct file *f, const Mdv__Journey__V1__Address *a,
                     char *change, size_t changelen)
{
    const char *echelon = NULL;
    int recomputed = 0;
    if (record_home(conn, f, a, &echelon, &recomputed) != 0)
        return -1;
    snprintf(change, changelen, "échelon inchangé");
    if (recomputed && strcmp(echelon ? echelon : "", f->echelon) != 0)
        snprintf(change, changelen, "échelon %s → %s", f->echelon[0] ? f->echelon : "sans bourse",
                 echelon ? echelon : "sans bourse (ressources supérieures au plafond)");
    return 0;
}

int student_move_home(PGconn *conn, const char *pivot_key, const Mdv__Journey__V1__Address *a,
                      char *change, size_t changelen)
{
    struct file f;
    int found = open_file(conn, pivot_key, &f);
    if (found <= 0)
        return found;
    snprintf(change, changelen, "échelon inchangé");
    if (!f.home_is_student)
        return 1; /* the parents' home stays the family home */
    return move_file(conn, &f, a, change, changelen) == 0 ? 1 : -1;
}

/* The open files whose family home is this parent's, locked; NULL on
 * error. The caller clears the result. */
static PGresult *children_files(PGconn *conn, const char *parent_key)
{
    const char *params[] = {parent_key};
    return mdv_pg_query(conn, FILE_COLUMNS CHILDREN_WHERE " ORDER BY file_id FOR UPDATE", 1,
                        params);
}

long student_move_children(PGconn *conn, const char *parent_key, const Mdv__Journey__V1__Address *a,
                           char *change, size_t changelen)
{
    PGresult *res = children_files(conn, parent_key);
    if (!res)
        return -1;
    long n = PQntuples(res);
    change[0] = '\0';
    for (int i = 0; i < n; i++) {
        struct file f;
        char one[96];
        file_read(res, i, &f);
        if (move_file(conn, &f, a, one, sizeof(one)) != 0) {
            PQclear(res);
            return -1;
        }
        /* Several children: each file's change, in file order, as many
         * whole ones as fit (never a character cut in two). */
        size_t used = strlen(change);
        if (used + strlen(one) + 3 < changelen)
            snprintf(change + used, changelen - used, "%s%s", i ? ", " : "", one);
    }
    PQclear(res);
    return n;
}

long student_children_count(PGconn *conn, const char *parent_key)
{
    const char *params[] = {parent_key};
    long n = 0;
    if (mdv_pg_query_longs(conn, "SELECT count(*) FROM student_files" CHILDREN_WHERE, 1, params, &n,
                           1) != 0)
        return -1;
    return n;
}

/* What the parent is told of their children's files, after the own
 * file's detail (own[0] when the parent has one): « Dossier étudiant de
 * votre enfant mis à jour : échelon 3 → 4 ». */
static void children_detail(char *out, size_t size, const char *own, long n, const char *change)
{
    const char *sep = own[0] ? " ; d" : "D";
    char whole[640];
    if (n == 1)
        snprintf(whole, sizeof(whole), "%s%sossier étudiant de votre enfant mis à jour : %s", own,
                 sep, change);
    else
        snprintf(whole, sizeof(whole), "%s%sossiers étudiants de vos %ld enfants mis à jour : %s",
                 own, sep, n, change);
    mdv_reaction_clip(out, size, whole); /* a detail stays valid UTF-8 */
}

/* The children's files moved with the parent, after own (the detail of
 * the parent's own file, "" when none). Returns 0 or -1. */
static int update_children(struct mdv_msg *msg, const struct mdv_address_change *w, const char *own,
                           struct mdv_effect *out)
{
    char change[160];
    long n = student_move_children(msg->conn, w->key, w->m->address, change, sizeof(change));
    if (n < 0)
        return -1;
    if (n > 0) {
        out->status = MDV_STEP_DONE;
        children_detail(out->detail, sizeof(out->detail), own, n, change);
    } else if (own[0]) {
        out->status = MDV_STEP_DONE;
        mdv_strlcpy(out->detail, own, sizeof(out->detail));
    }
    return 0; /* neither: not applicable, no open file */
}

/* The effect, for mdv_journey_apply_step: the person's own file, and the
 * files whose family home is theirs as a parent. */
static int update_file(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_address_change *w = ctx;
    char change[160], own[200] = "";
    int found = student_move_home(msg->conn, w->key, w->m->address, change, sizeof(change));
    if (found < 0)
        return -1;
    if (found)
        snprintf(own, sizeof(own), "Dossier étudiant mis à jour : %s", change);
    return update_children(msg, w, own, out);
}

/* The effect when the step was not planned (a return: the own file moved
 * on ResidenceAbroadEnded): the children's files only. */
static int update_children_only(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    return update_children(msg, ctx, "", out);
}

static int has_children(struct mdv_msg *msg, void *ctx)
{
    const struct mdv_address_change *w = ctx;
    long n = student_children_count(msg->conn, w->key);
    return n < 0 ? -1 : n > 0;
}

enum mdv_outcome student_on_address_changed(struct mdv_msg *msg)
{
    return mdv_address_change_apply(msg, STUDENT_STEP_ADDRESS, update_file, has_children,
                                    update_children_only);
}
