/* student_grant, which student owns (« Je deviens étudiant »): the dossier
 * social étudiant. The plan first, with StudentGrantRequested for identity
 * (identity.identity_verified: a valid title on record), then the CROUS's
 * own steps at once: the bourse assessed from the barème of the academic
 * year (student.grant_assessed, StudentGrantDecided published) and the
 * housing request (student.housing_requested). The grant is recorded with
 * the parents it names, so that a later death of one of them re-assesses
 * it (grant_reassess.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/contract.h"
#include "grant.h"
#include "mdv/pg.h"
#include "mdv/validate.h"
#include "student.h"

#define MAX_INCOME_EUR 10000000
#define MAX_CHILDREN 20
#define MAX_DISTANCE_KM 20000
#define MAX_PARENTS 2

/* Why the declaration cannot be assessed (a dead letter), or NULL. */
static const char *dossier_problem(const student_dossier_t *b, struct student_dossier *w)
{
    if (!b)
        return "student_grant body missing";
    const char *problem = mdv_reaction_person_problem(b->person, w->key);
    if (problem)
        return problem;
    if (b->n_parents > MAX_PARENTS)
        return "more than 2 parents";
    for (size_t i = 0; i < b->n_parents; i++)
        if (mdv_reaction_person_problem(b->parents[i], w->parent_keys[i]))
            return "a parent's identity is invalid";
    if (!*b->institution || mdv_validate_cog(b->study_commune_code))
        return "institution or study_commune_code invalid";
    if (b->parents_income_eur > MAX_INCOME_EUR || b->children_at_charge > MAX_CHILDREN ||
        b->children_in_higher_education > MAX_CHILDREN ||
        b->family_home_distance_km > MAX_DISTANCE_KM)
        return "an amount or a count out of bounds";
    w->household = student_household(b, b->parents_income_eur);
    if (mdv_grant_assess(b->academic_year, &w->household, &w->result) != 0)
        return "academic_year is not in the barème";
    return NULL;
}

/* The body check the gateway's contract calls. */
static const char *check_dossier(const student_declaration_t *d)
{
    struct student_dossier w;
    return dossier_problem(d->student_grant, &w);
}

int student_dossier_decode(const void *value, size_t len, student_declaration_t **out,
                           struct student_dossier *w, char *err, size_t errlen)
{
    static const char *const kinds[] = {STUDENT_KIND_GRANT, NULL};
    memset(w, 0, sizeof(*w));
    if (mdv_gateway_declaration_decode(value, len, kinds, check_dossier, out, err, errlen) != 0)
        return -1;
    if (*out)
        (void)dossier_problem((*out)->student_grant, w); /* checked: fills w */
    return 0;
}

/* The place of study is in an overseas département or collectivité (COG
 * codes 97x and 98x): the outre-mer supplement applies. */
static bool overseas(const char *commune_code)
{
    return strncmp(commune_code, "97", 2) == 0 || strncmp(commune_code, "98", 2) == 0;
}

struct mdv_grant_household student_household(const student_dossier_t *b, unsigned long income)
{
    struct mdv_grant_household h = {
        .parents_income_eur = income,
        .children_at_charge = b->children_at_charge,
        .children_in_higher_education = b->children_in_higher_education,
        .distance_km = b->family_home_distance_km,
        .disability = b->disability,
        .carer = b->carer,
        .overseas = overseas(b->study_commune_code),
    };
    return h;
}

/* « 4 587 »: thousands apart, as the CROUS writes amounts. */
static void euros(unsigned amount, char out[16])
{
    if (amount >= 1000)
        snprintf(out, 16, "%u %03u", amount / 1000, amount % 1000);
    else
        snprintf(out, 16, "%u", amount);
}

void student_grant_detail(const char *year, const struct mdv_grant_household *h,
                          const struct mdv_grant_result *r, char *out, size_t outlen)
{
    char amount[16], supplement[16];
    if (r->echelon < 0) {
        snprintf(out, outlen, "Ressources supérieures au plafond : pas de bourse");
        return;
    }
    euros(r->annual_amount_eur, amount);
    euros(mdv_grant_overseas_supplement(year), supplement);
    snprintf(out, outlen, "Échelon %s : %s € par an%s%s%s, versés en %u mensualités",
             r->echelon_name, amount, h->overseas ? " dont " : "", h->overseas ? supplement : "",
             h->overseas ? " € de complément outre-mer" : "", mdv_grant_months(year));
}

/* A pivot identity as the records keep it: a JSON object (owned by the
 * caller, free()). */
static char *person_json(const Mdv__Journey__V1__PivotIdentity *p)
{
    json_t *names = json_array();
    for (size_t i = 0; i < p->n_given_names; i++)
        json_array_append_new(names, json_string(p->given_names[i]));
    json_t *o =
        json_pack("{s:s, s:o, s:s, s:s, s:s}", "family_name", p->family_name, "given_names", names,
                  "sex", p->sex, "birth_date", p->birth_date, "birth_place", p->birth_place);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static int insert_grant(PGconn *conn, const student_declaration_t *d,
                        const struct student_dossier *w)
{
    const student_dossier_t *b = d->student_grant;
    char n[8][24];
    char *person = person_json(b->person);
    snprintf(n[0], sizeof(n[0]), "%lu", w->household.parents_income_eur);
    snprintf(n[1], sizeof(n[1]), "%u", b->children_at_charge);
    snprintf(n[2], sizeof(n[2]), "%u", b->children_in_higher_education);
    snprintf(n[3], sizeof(n[3]), "%u", b->family_home_distance_km);
    snprintf(n[4], sizeof(n[4]), "%u", w->result.points);
    snprintf(n[5], sizeof(n[5]), "%u", w->result.annual_amount_eur);
    const char *params[] = {d->journey_id,
                            w->key,
                            person,
                            b->academic_year,
                            b->institution,
                            b->study_commune_code,
                            n[0],
                            n[1],
                            n[2],
                            n[3],
                            b->disability ? "t" : "f",
                            b->carer ? "t" : "f",
                            w->household.overseas ? "t" : "f",
                            b->housing_wanted ? "t" : "f",
                            n[4],
                            w->result.echelon >= 0 ? w->result.echelon_name : NULL,
                            n[5]};
    int rc = mdv_pg_exec(
        conn,
        "INSERT INTO student_grants (journey_id, pivot_key, person, academic_year, institution,"
        " study_commune_code, resources, children_at_charge, children_in_higher_education,"
        " distance_km, disability, carer, overseas, housing_wanted, points, echelon,"
        " annual_amount_eur, initial_echelon, initial_amount_eur)"
        " VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
        " $17, $16, $17)",
        17, params);
    free(person);
    return rc;
}

static int insert_parents(PGconn *conn, const student_declaration_t *d,
                          const struct student_dossier *w)
{
    const student_dossier_t *b = d->student_grant;
    for (size_t i = 0; i < b->n_parents; i++) {
        char *person = person_json(b->parents[i]);
        const char *params[] = {d->journey_id, w->parent_keys[i], person};
        int rc = mdv_pg_exec(conn,
                             "INSERT INTO student_grant_parents (journey_id, pivot_key, person)"
                             " VALUES ($1, $2, $3::jsonb) ON CONFLICT DO NOTHING",
                             3, params);
        free(person);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int student_emit_decided(struct mdv_msg *msg, const struct student_decision *dec)
{
    Mdv__Student__V1__StudentGrantDecided m = MDV__STUDENT__V1__STUDENT_GRANT_DECIDED__INIT;
    char now[MDV_TIME_LEN];
    mdv_time_now(now);
    m.journey_id = (char *)dec->journey_id;
    m.person = (Mdv__Journey__V1__PivotIdentity *)dec->person;
    m.academic_year = (char *)dec->academic_year;
    m.echelon = (char *)dec->result->echelon_name;
    m.annual_amount_eur = dec->result->annual_amount_eur;
    m.points_de_charge = dec->result->points;
    m.reason = (char *)dec->reason;
    m.grant_journey_id = (char *)dec->grant_journey_id;
    m.decided_at = now;
    return mdv_msg_emit(msg, "student_grant_decided", "student_grant", dec->journey_id,
                        dec->journey_id, &m.base);
}

struct assess_work {
    const student_declaration_t *d;
    const struct student_dossier *w;
};

/* The effect of student.grant_assessed, for mdv_journey_apply_step. */
static int assess(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct assess_work *a = ctx;
    const student_dossier_t *b = a->d->student_grant;
    const struct student_decision dec = {a->d->journey_id, b->person, b->academic_year,
                                         &a->w->result,    "initial", a->d->journey_id};
    if (insert_grant(msg->conn, a->d, a->w) != 0 || insert_parents(msg->conn, a->d, a->w) != 0 ||
        student_emit_decided(msg, &dec) != 0)
        return -1;
    out->status = MDV_STEP_DONE;
    student_grant_detail(b->academic_year, &a->w->household, &a->w->result, out->detail,
                         sizeof(out->detail));
    return 0;
}

/* The effect of student.housing_requested. */
static int request_housing(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const student_dossier_t *b = ctx;
    (void)msg;
    out->status = b->housing_wanted ? MDV_STEP_IN_PROGRESS : MDV_STEP_NOT_APPLICABLE;
    snprintf(out->detail, sizeof(out->detail), "%s",
             b->housing_wanted ? "Demande de logement transmise au CROUS"
                               : "Pas de demande de logement");
    return 0;
}

static int emit_requested(struct mdv_msg *msg, const student_declaration_t *d)
{
    Mdv__Student__V1__StudentGrantRequested m = MDV__STUDENT__V1__STUDENT_GRANT_REQUESTED__INIT;
    m.journey_id = d->journey_id;
    m.person = d->student_grant->person;
    m.academic_year = d->student_grant->academic_year;
    m.requested_at = d->submitted_at;
    return mdv_msg_emit(msg, "student_grant_requested", "student_grant", d->journey_id,
                        d->journey_id, &m.base);
}

enum mdv_outcome student_on_dossier(struct mdv_msg *msg, const student_declaration_t *d,
                                    const struct student_dossier *w)
{
    const struct assess_work a = {d, w};
    const struct mdv_step_work assessed = {d->journey_id, STUDENT_STEP_GRANT, NULL};
    const struct mdv_step_work housing = {d->journey_id, STUDENT_STEP_HOUSING, NULL};
    if (mdv_plan_publish(msg, student_plan(STUDENT_KIND_GRANT), d->journey_id, d->submitted_at) !=
            0 ||
        emit_requested(msg, d) != 0 ||
        mdv_journey_apply_step(msg, &assessed, assess, (void *)&a) != 0 ||
        mdv_journey_apply_step(msg, &housing, request_housing, d->student_grant) != 0)
        return mdv_msg_db_failure(msg);
    mdv_log_at(MDV_LOG_INFO, &msg->log, "student_grant: échelon %s, %u points",
               w->result.echelon >= 0 ? w->result.echelon_name : "none", w->result.points);
    return MDV_OK;
}
