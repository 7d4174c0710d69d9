/* AddressChanged → student.address_updated (CROUS). When the student's
 * family home is their own address, the open file moves with it: the
 * distance to the place of study and its points de charge are computed
 * again, and with them the échelon (the usager is told whether it
 * changed). When the family home is the parents', the student's own move
 * changes nothing in the assessment. The AddressChanged of a
 * return_to_france journey (identity's, caused by the ResidenceAbroadEnded
 * this service acted on: its plan gives student.mobility_reviewed, not
 * this step) applies nothing and reports nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/pg.h"
#include "student.h"

typedef Mdv__Identity__V1__AddressChanged address_changed_t;

struct file {
    char file_id[MDV_UUID_LEN];
    int home_is_student;          /* the family home is the student's own address */
    char study[16];               /* commune of the place of study, "" when unknown */
    long other_points, resources; /* -1 when unknown */
    char echelon[8];              /* "" when no bourse */
};

static long number_or(const PGresult *res, int col, long absent)
{
    return PQgetisnull(res, 0, col) ? absent : atol(PQgetvalue(res, 0, col));
}

/* The person's open file, locked: 1, or 0 when none, -1 on error. */
static int open_file(PGconn *conn, const char *pivot_key, struct file *f)
{
    const char *params[] = {pivot_key};
    PGresult *res = mdv_pg_query(conn,
                                 "SELECT file_id, home_of IS DISTINCT FROM 'parent',"
                                 " coalesce(study_commune_code, ''), other_points, resources,"
                                 " coalesce(bourse_echelon, '')"
                                 " FROM student_files WHERE pivot_key = $1 AND status = 'open'"
                                 " ORDER BY updated_at DESC, file_id LIMIT 1 FOR UPDATE",
                                 1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        mdv_strlcpy(f->file_id, PQgetvalue(res, 0, 0), sizeof(f->file_id));
        f->home_is_student = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        mdv_strlcpy(f->study, PQgetvalue(res, 0, 2), sizeof(f->study));
        f->other_points = number_or(res, 3, -1);
        f->resources = number_or(res, 4, -1);
        mdv_strlcpy(f->echelon, PQgetvalue(res, 0, 5), sizeof(f->echelon));
    }
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

int student_move_home(PGconn *conn, const char *pivot_key, const Mdv__Journey__V1__Address *a,
                      char *change, size_t changelen)
{
    struct file f;
    const char *echelon = NULL;
    int recomputed = 0;
    int found = open_file(conn, pivot_key, &f);
    if (found <= 0)
        return found;
    snprintf(change, changelen, "échelon inchangé");
    if (!f.home_is_student)
        return 1; /* the parents' home stays the family home */
    if (record_home(conn, &f, a, &echelon, &recomputed) != 0)
        return -1;
    if (recomputed && strcmp(echelon ? echelon : "", f.echelon) != 0)
        snprintf(change, changelen, "échelon %s → %s", f.echelon[0] ? f.echelon : "sans bourse",
                 echelon ? echelon : "sans bourse (ressources supérieures au plafond)");
    return 1;
}

/* The effect, for mdv_journey_apply_step. */
static int update_file(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const address_changed_t *m = ctx;
    char key[MDV_PIVOT_KEY_LEN], change[160];
    if (mdv_pivot_key(m->person->family_name, m->person->given_names[0], m->person->sex,
                      m->person->birth_date, m->person->birth_place, key) != 0)
        return -1; /* checked when decoded */
    int found = student_move_home(msg->conn, key, m->address, change, sizeof(change));
    if (found <= 0)
        return found; /* not applicable: no open file */
    out->status = MDV_STEP_DONE;
    snprintf(out->detail, sizeof(out->detail), "Dossier étudiant mis à jour : %s", change);
    return 0;
}

enum mdv_outcome student_on_address_changed(struct mdv_msg *msg)
{
    address_changed_t *m = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    if (mdv_reaction_address_decode(msg->rkm->payload, msg->rkm->len, &m, key, msg->error,
                                    sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    const struct mdv_step_work work = {m->journey_id, STUDENT_STEP_ADDRESS, NULL};
    int planned = mdv_reaction_planned(msg, m->journey_id, STUDENT_STEP_ADDRESS);
    int rc = planned < 0 ? -1
             : planned   ? mdv_journey_apply_step(msg, &work, update_file, m)
                         : mdv_reaction_skip_unplanned(msg, m->journey_id, STUDENT_STEP_ADDRESS);
    mdv__identity__v1__address_changed__free_unpacked(m, NULL);
    return rc == 0 ? MDV_OK : mdv_msg_db_failure(msg);
}
