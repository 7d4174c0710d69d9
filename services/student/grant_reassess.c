/* A parent's death re-assesses the bourse of every dossier social étudiant
 * that names them (DeathRecorded, in death.c's transaction). An orphan is
 * assessed on their own household's resources (RULES-REFERENCE.md: the
 * openfisca-france model counts them an autonomous student; F12214 allows
 * a re-examination out of the calendar after such a change). The dossier
 * holds the parents' income, not the student's own: the bourse is
 * re-assessed on 0 € of resources, the same points de charge, until the
 * student's own avis d'imposition says otherwise. Once per dossier: a
 * second parent's death finds it re-assessed already. The student's own
 * journey gets student.grant_reassessed, and StudentGrantDecided (reason
 * parent_death) is published. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grant.h"
#include "mdv/pg.h"
#include "student.h"

#define GIVEN_NAMES_MAX 10

/* One dossier to re-assess, as student_grants holds it. */
struct grant_row {
    char journey_id[MDV_UUID_LEN];
    char year[16];
    json_t *person; /* owned */
    struct mdv_grant_household h;
};

/* A pivot identity whose strings point into the JSON object j. */
struct person_view {
    Mdv__Journey__V1__PivotIdentity p;
    char *names[GIVEN_NAMES_MAX];
};

static void view_person(const json_t *j, struct person_view *v)
{
    const json_t *names = json_object_get(j, "given_names");
    v->p = (Mdv__Journey__V1__PivotIdentity)MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT;
    v->p.family_name = (char *)json_string_value(json_object_get(j, "family_name"));
    v->p.sex = (char *)json_string_value(json_object_get(j, "sex"));
    v->p.birth_date = (char *)json_string_value(json_object_get(j, "birth_date"));
    v->p.birth_place = (char *)json_string_value(json_object_get(j, "birth_place"));
    for (size_t i = 0; i < json_array_size(names) && i < GIVEN_NAMES_MAX; i++)
        v->names[v->p.n_given_names++] = (char *)json_string_value(json_array_get(names, i));
    v->p.given_names = v->names;
}

static int flag(const PGresult *res, int row, int col)
{
    return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

static void read_row(const PGresult *res, int i, struct grant_row *g)
{
    mdv_strlcpy(g->journey_id, PQgetvalue(res, i, 0), sizeof(g->journey_id));
    mdv_strlcpy(g->year, PQgetvalue(res, i, 1), sizeof(g->year));
    g->person = json_loads(PQgetvalue(res, i, 2), 0, NULL);
    g->h = (struct mdv_grant_household){
        .parents_income_eur = 0, /* the orphan's own household: see above */
        .children_at_charge = (unsigned)atoi(PQgetvalue(res, i, 3)),
        .children_in_higher_education = (unsigned)atoi(PQgetvalue(res, i, 4)),
        .distance_km = (unsigned)atoi(PQgetvalue(res, i, 5)),
        .disability = flag(res, i, 6),
        .carer = flag(res, i, 7),
        .overseas = flag(res, i, 8),
    };
}

static int update_grant(PGconn *conn, const struct grant_row *g, const struct mdv_grant_result *r,
                        const char *death_journey)
{
    char points[16], amount[16];
    snprintf(points, sizeof(points), "%u", r->points);
    snprintf(amount, sizeof(amount), "%u", r->annual_amount_eur);
    const char *params[] = {g->journey_id, points, r->echelon >= 0 ? r->echelon_name : NULL, amount,
                            death_journey};
    return mdv_pg_exec(conn,
                       "UPDATE student_grants SET resources = 0, points = $2, echelon = $3,"
                       " annual_amount_eur = $4, reassessed_reason = 'parent_death',"
                       " reassessed_by = $5, reassessed_at = now() WHERE journey_id = $1",
                       5, params);
}

/* The step the student's own journey gets: added, recorded, reported. */
static int report_on_grant_journey(struct mdv_msg *msg, const char *journey_id, const char *detail)
{
    static const char *const codes[] = {STUDENT_STEP_REASSESSED};
    char now[MDV_TIME_LEN];
    struct mdv_effect effect = {MDV_STEP_DONE, ""};
    mdv_time_now(now);
    mdv_strlcpy(effect.detail, detail, sizeof(effect.detail));
    if (mdv_plan_add_steps(msg, student_plan(STUDENT_KIND_REASSESSMENT), journey_id, codes, 1,
                           now) != 0 ||
        mdv_journey_record_effect(msg, journey_id, STUDENT_STEP_REASSESSED, &effect) != 0)
        return -1;
    return mdv_journey_report_next(msg, journey_id, STUDENT_STEP_REASSESSED, MDV_STEP_DONE, detail);
}

static int reassess_one(struct mdv_msg *msg, const struct grant_row *g, const char *death_journey,
                        char *last, size_t lastlen)
{
    struct mdv_grant_result r;
    struct person_view v;
    char decision[160], detail[256];
    if (!g->person || mdv_grant_assess(g->year, &g->h, &r) != 0) {
        mdv_log_at(MDV_LOG_ERROR, &msg->log, "grant %s: year %s or person unreadable",
                   g->journey_id, g->year);
        return -1;
    }
    view_person(g->person, &v);
    const struct student_decision dec = {death_journey,  &v.p,         g->year, &r,
                                         "parent_death", g->journey_id};
    student_grant_detail(g->year, &g->h, &r, decision, sizeof(decision));
    snprintf(detail, sizeof(detail),
             "Bourse réexaminée après le décès d'un parent, sur les ressources de votre foyer :"
             " %s",
             decision);
    snprintf(last, lastlen, "%s", decision);
    if (update_grant(msg->conn, g, &r, death_journey) != 0 || student_emit_decided(msg, &dec) != 0)
        return -1;
    return report_on_grant_journey(msg, g->journey_id, detail);
}

long student_grants_reassess(struct mdv_msg *msg, const char *parent_key, const char *death_journey,
                             char *last, size_t lastlen)
{
    const char *params[] = {parent_key};
    PGresult *res = mdv_pg_query(
        msg->conn,
        "SELECT g.journey_id, g.academic_year, g.person::text, g.children_at_charge,"
        " g.children_in_higher_education, g.distance_km, g.disability, g.carer, g.overseas"
        " FROM student_grants g JOIN student_grant_parents p ON p.journey_id = g.journey_id"
        " WHERE p.pivot_key = $1 AND g.reassessed_reason IS NULL"
        " ORDER BY g.journey_id FOR UPDATE OF g",
        1, params);
    if (!res)
        return -1;
    long n = PQntuples(res), rc = n;
    for (int i = 0; i < n && rc >= 0; i++) {
        struct grant_row g;
        read_row(res, i, &g);
        if (reassess_one(msg, &g, death_journey, last, lastlen) != 0)
            rc = -1;
        json_decref(g.person);
    }
    PQclear(res);
    return rc;
}
