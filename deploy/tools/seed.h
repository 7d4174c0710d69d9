/* mdv-seed's two halves: drawing persons and their civil identity
 * (seed.c), and the records each service holds of them (seed_records.c).
 * Private to the tool. */
#ifndef MDV_SEED_H
#define MDV_SEED_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "mdv/pivot.h"
#include "mdv/util.h"

#define MAX_GIVEN 3
#define DATE_LEN 11
#define NAME_LEN 64

/* The services a person's `records` names, in their printed order. */
enum service { IDENTITY, STUDENT, HOUSING, ABROAD, NSERVICES };
/* The databases written: those services, and bereavement, whose survivor
 * claims are printed apart (survivor_claim) so that `records` keeps its
 * meaning. */
#define BEREAVEMENT NSERVICES
#define NDATABASES (NSERVICES + 1)

/* --- PRNG and dates (seed.c) ---------------------------------------------- */

struct rng {
    uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
/* Uniform in [0, n). */
unsigned rng_below(struct rng *r, size_t n);
#define PICK(r, table) ((table)[rng_below((r), MDV_ARRAY_LEN(table))])

/* Days since 1970-01-01. */
long day_number(int year, int month, int day);
void format_day(long days, char out[DATE_LEN]);
/* A day in [first, last], written as YYYY-MM-DD. */
long draw_day(struct rng *r, long first, long last, char out[DATE_LEN]);
void draw_family_name(struct rng *r, char *out, size_t size);
/* One given name of that sex. */
const char *draw_given_name(struct rng *r, int female);

/* --- Records (seed_records.c) --------------------------------------------- */

/* An address as a declaration carries it (mdv.journey.v1.Address). In France
 * commune_code is an INSEE COG code whose postcodes include postal_code. */
struct address {
    char line1[80];
    const char *line2; /* NULL: a one-line address */
    const char *postal_code;
    const char *commune_code; /* NULL abroad */
    const char *city;
    const char *country_code;
    double lat, lon; /* the commune's, in France: for distances */
};

/* What the services hold of one person besides the pivot identity. */
struct life {
    /* identity */
    struct address home; /* the current main address, in France */
    char home_from[DATE_LEN];
    int has_previous;
    struct address previous;
    char previous_from[DATE_LEN];
    char usage_name[NAME_LEN]; /* "" when none */
    /* abroad */
    const char *consulate;
    struct address abroad;
    int registration_closed;
    char expires_on[DATE_LEN], closed_on[DATE_LEN];
    /* student */
    int home_of_parent;
    struct address family_home;
    const char *study_commune_code;
    int distance_km, distance_points, other_points, resources;
    /* student: a child's open file whose family home is this person's
     * address (home_of 'parent', parent_pivot_key = the person) */
    int has_child_file;
    const char *child_given, *child_sex, *child_birth_place, *child_echelon;
    char child_birth_date[DATE_LEN];
    char child_key[MDV_PIVOT_KEY_LEN];
    const char *child_study_commune_code;
    int child_distance_km, child_distance_points, child_other_points, child_resources;
    /* bereavement: a surviving spouse's claim */
    int has_claim, claim_confirmed;
    char deceased_family_name[NAME_LEN];
    const char *deceased_given, *deceased_sex, *deceased_birth_place, *death_place;
    char deceased_birth_date[DATE_LEN], death_date[DATE_LEN];
    char offered_on[DATE_LEN], confirmed_on[DATE_LEN];
    char deceased_key[MDV_PIVOT_KEY_LEN];
};

struct person {
    char family_name[NAME_LEN];
    const char *given_names[MAX_GIVEN];
    int given_count;
    const char *sex; /* "M" or "F" */
    char birth_date[DATE_LEN];
    const char *birth_place;
    unsigned records; /* bit (1 << enum service) set when that service knows them */
    /* Known everywhere, with something for every administration to do on
     * an address_change: a student file at their own address, a
     * MaPrimeRénov' file, an open inscription abroad, a survivor claim. */
    int everywhere;
    char pivot_key[MDV_PIVOT_KEY_LEN];
    /* Details of the records, drawn with the rest so that they follow from
     * the seed too. */
    char cni_number[16];
    char passport_number[16];
    int cni_valid_days, passport_valid_days;
    const char *bourse_echelon;
    const char *mpr_category;
    const char *country_code;
    char registered_on[DATE_LEN];
    struct life life;
};

/* Draws p->life from its own stream r (the civil identity and `records`
 * are drawn before, from the main stream). born is p's birth day number. */
int life_draw(struct rng *r, struct person *p, long born) MDV_MUSTCHECK;
/* Writes every record of p in the open transactions of conns. */
int records_insert(PGconn *conns[NDATABASES], const struct person *p) MDV_MUSTCHECK;
/* Adds to obj what each service holds of p (address, usage_name,
 * registration, student_file, mpr_file, survivor_claim, and
 * child_student_file: the file of a child whose family home is p's), and
 * for a person known to identity the fiscal_household a renovation_grant
 * declares. */
void records_json(json_t *obj, const struct person *p);

#endif
