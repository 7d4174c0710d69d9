/* The bourse d'enseignement supérieur sur critères sociaux as the CROUS
 * assesses it: points de charge, échelon and annual amount from the barème
 * of an academic year (rules/bourse.json, each table with its source;
 * RULES-REFERENCE.md). Pure: no database, no broker, so that an outside
 * model can be compared with it household by household. */
#ifndef MDV_STUDENT_GRANT_H
#define MDV_STUDENT_GRANT_H

#include <stdbool.h>
#include <stddef.h>

#include "mdv/util.h"

struct mdv_grant_household {
    unsigned long parents_income_eur; /* revenu brut global N-2 */
    unsigned children_at_charge;      /* not students */
    /* The student's brothers and sisters at charge who are in higher
     * education, the student not counted (openfisca-france counts the
     * student among them and subtracts one). */
    unsigned children_in_higher_education;
    unsigned distance_km;             /* family home to place of study */
    bool disability, carer, overseas; /* overseas: the +300 € supplement applies */
};

struct mdv_grant_result {
    int echelon;          /* -1: no bourse; 0: 0bis; 1..7 */
    char echelon_name[8]; /* "0bis", "1".."7", "" */
    unsigned points;      /* points de charge, capped as the barème is */
    unsigned annual_amount_eur;
};

/* Loads <rules_dir>/bourse.json, replacing what an earlier call loaded.
 * On a bad file returns -1 with a message naming the file and the line
 * (syntax) or the table and the entry (meaning) in err. */
int mdv_grant_rules_load(const char *rules_dir, char *err, size_t errlen) MDV_MUSTCHECK;
/* Frees what mdv_grant_rules_load loaded. */
void mdv_grant_rules_free(void);
/* The assessment of a household; -1 when the academic year (« 2025-2026 »)
 * is not in the data. */
int mdv_grant_assess(const char *academic_year, const struct mdv_grant_household *h,
                     struct mdv_grant_result *out) MDV_MUSTCHECK;

/* The latest academic year in the data (the one a re-computation without
 * a year of its own uses), NULL before a load. */
const char *mdv_grant_latest_year(void);
/* Points de charge of a distance from the family home; -1 for an unknown
 * year. */
int mdv_grant_distance_points(const char *academic_year, unsigned distance_km);
/* The échelon for resources at a number of points (capped as the barème
 * is): -1 for no bourse, 0 for 0bis, 1..7; -2 for an unknown year. */
int mdv_grant_echelon(const char *academic_year, unsigned long resources_eur, unsigned points);
/* The number of monthly payments of a year's bourse; 0 for an unknown
 * year. */
unsigned mdv_grant_months(const char *academic_year);
/* The outre-mer supplement of a year (euros a year); 0 for an unknown
 * year. */
unsigned mdv_grant_overseas_supplement(const char *academic_year);
/* The name of an échelon (« 0bis », « 1 »…), "" for -1. */
const char *mdv_grant_echelon_name(int echelon);

#endif
