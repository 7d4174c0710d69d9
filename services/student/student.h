/* student — CROUS and établissements. The pieces its handlers share: the
 * barème the distance points and the échelon come from (loaded at start),
 * and one handler per event, each in its own file. The checks of the
 * messages are their producers' contracts (services/<producer>/contract.h). */
#ifndef STUDENT_H
#define STUDENT_H

#include <libpq-fe.h>

#include "abroad/contract.h"
#include "identity/contract.h"
#include "grant.h"
#include "mdv/gateway/v1/declarations.pb-c.h"
#include "mdv/journey.h"
#include "mdv/plan.h"
#include "mdv/student/v1/student.pb-c.h"
#include "mdv/reaction.h"
#include "mdv/service.h"

#define STUDENT_STEP_DEATH "student.files_updated"
#define STUDENT_STEP_ADDRESS "student.address_updated"
#define STUDENT_STEP_NAME "student.name_updated"
#define STUDENT_STEP_MOBILITY "student.mobility_reviewed"
#define STUDENT_STEP_GRANT "student.grant_assessed"
#define STUDENT_STEP_HOUSING "student.housing_requested"
#define STUDENT_STEP_REASSESSED "student.grant_reassessed"

/* The kind student owns, and the plan (rules/plans.json) of the step a
 * re-assessment adds to its journey. */
#define STUDENT_KIND_GRANT "student_grant"
#define STUDENT_KIND_REASSESSMENT "student_grant_reassessment"

/* ---- bareme.c: rules/communes.json, and grant.c's latest year ---- */

/* Loads and checks the communes file; says what is wrong on stderr and
 * returns -1. */
int student_bareme_load(const char *path) MDV_MUSTCHECK;
void student_bareme_free(void);
/* Great-circle distance in whole km between the centres of two communes;
 * -1 when the file has no centre for one of them. */
int student_distance_km(const char *commune_a, const char *commune_b);
/* Points de charge for a distance from the family home (latest year). */
int student_distance_points(int km);
/* The échelon (« 0bis », « 1 »… « 7 ») for resources at points de charge,
 * or NULL when the resources are above the 0bis ceiling (no bourse). */
const char *student_echelon(long resources, long points);

/* ---- address.c ---- */

/* Moves the family home of the person's open file, when the family home is
 * their own address, to the commune and postcode given, and re-computes
 * the distance points and the échelon. Writes what changed for the usager
 * (« échelon inchangé », « échelon 3 → 4 »). Returns 1 when the person has
 * an open file, 0 when not, -1 on a database error. */
int student_move_home(PGconn *conn, const char *pivot_key, const Mdv__Journey__V1__Address *a,
                      char *change, size_t changelen) MDV_MUSTCHECK;

/* Moves the family home of the open files whose family home is the
 * parent's (home_of 'parent', parent_pivot_key) to a, re-computing each
 * one's distance points and échelon; writes each file's change, in file
 * order. Returns how many, -1 on a database error. */
long student_move_children(PGconn *conn, const char *parent_key, const Mdv__Journey__V1__Address *a,
                           char *change, size_t changelen) MDV_MUSTCHECK;
/* How many such files the parent has (not locked), -1 on error. */
long student_children_count(PGconn *conn, const char *parent_key) MDV_MUSTCHECK;

/* ---- main.c: the plans, loaded at start ---- */

/* A plan of rules/plans.json (checked at start: never NULL). */
const struct mdv_plan *student_plan(const char *kind);

/* ---- dossier.c: student_grant, the dossier social étudiant ---- */

typedef Mdv__Gateway__V1__DeclarationSubmitted student_declaration_t;
typedef Mdv__Gateway__V1__StudentGrantDeclaration student_dossier_t;

/* A checked dossier: the matching keys, the household, the assessment. */
struct student_dossier {
    char key[MDV_PIVOT_KEY_LEN];
    char parent_keys[2][MDV_PIVOT_KEY_LEN];
    struct mdv_grant_household household;
    struct mdv_grant_result result;
};

/* Decodes a DeclarationSubmitted: 0 with a checked student_grant in *out
 * (free with mdv__gateway__v1__declaration_submitted__free_unpacked) and
 * its assessment in w, or 0 with *out NULL for another kind; -1 with the
 * reason in err for a value that can never be applied (a dead letter: an
 * academic year the barème lacks is one). */
int student_dossier_decode(const void *value, size_t len, student_declaration_t **out,
                           struct student_dossier *w, char *err, size_t errlen) MDV_MUSTCHECK;
/* The household of a dossier, with income as its resources. */
struct mdv_grant_household student_household(const student_dossier_t *b, unsigned long income);
/* « Échelon 4 : 4 587 € par an, versés en 10 mensualités », or « Ressources
 * supérieures au plafond : pas de bourse ». */
void student_grant_detail(const char *year, const struct mdv_grant_household *h,
                          const struct mdv_grant_result *r, char *out, size_t outlen);

/* What StudentGrantDecided carries. */
struct student_decision {
    const char *journey_id; /* the journey that caused the decision */
    const Mdv__Journey__V1__PivotIdentity *person;
    const char *academic_year;
    const struct mdv_grant_result *result;
    const char *reason; /* "initial", "parent_death" */
    const char *grant_journey_id;
};
int student_emit_decided(struct mdv_msg *msg, const struct student_decision *dec) MDV_MUSTCHECK;

/* The plan, StudentGrantRequested, and the CROUS's own steps. */
enum mdv_outcome student_on_dossier(struct mdv_msg *msg, const student_declaration_t *d,
                                    const struct student_dossier *w);

/* ---- grant_reassess.c ---- */

/* Re-assesses, once each, the bourses of the dossiers that name the parent
 * of parent_key, after their death declared by death_journey: the number
 * re-assessed (last: the detail of the last one), or -1 on error. */
long student_grants_reassess(struct mdv_msg *msg, const char *parent_key, const char *death_journey,
                             char *last, size_t lastlen);

/* ---- one file per event ---- */

enum mdv_outcome student_on_death(struct mdv_msg *msg);
enum mdv_outcome student_on_address_changed(struct mdv_msg *msg);
enum mdv_outcome student_on_name_changed(struct mdv_msg *msg);
enum mdv_outcome student_on_abroad_started(struct mdv_msg *msg);
enum mdv_outcome student_on_abroad_ended(struct mdv_msg *msg);

#endif
