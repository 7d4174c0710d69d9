/* The declaration of « Je deviens étudiant » (owner: student): the dossier
 * social étudiant. The academic years a dossier may name are those of the
 * student service's barème: the gateway reads them from that very file
 * (MDV_BOURSE_RULES_FILE), so there is no second list to keep in step. */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "mdv/validate.h"
#include "validation.h"

#define YEARS_MAX 8
#define MAX_INCOME_EUR 10000000 /* beyond, a typing error: no household declares it */
#define MAX_CHILDREN 20
#define MAX_DISTANCE_KM 20000 /* half the Earth's circumference */
#define MAX_PARENTS 2
#define MAX_INSTITUTION 100

static char years[YEARS_MAX][16];
static size_t n_years;

int student_years_load(const char *path)
{
    json_error_t error;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &error), *year;
    size_t i;
    int rc = -1;
    if (!root) {
        fprintf(stderr, "%s:%d: %s\n", path, error.line, error.text);
        return -1;
    }
    json_t *list = json_object_get(root, "academic_years");
    n_years = 0;
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > YEARS_MAX) {
        fprintf(stderr, "%s: academic_years: a list of 1 to %d years expected\n", path, YEARS_MAX);
        goto out;
    }
    json_array_foreach(list, i, year)
    {
        const char *name = json_string_value(json_object_get(year, "academic_year"));
        if (!name || strlen(name) >= sizeof(years[0])) {
            fprintf(stderr, "%s: academic_years[%zu]: no academic_year\n", path, i);
            goto out;
        }
        snprintf(years[n_years++], sizeof(years[0]), "%s", name);
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* The message is the contract's x-refusal
 * word for word: it names no year, so a new year changes no contract. */
static void year_check(json_t *body, json_t *errors)
{
    const char *year = string_field(body, "academic_year", "academic_year", 1, errors);
    if (!year)
        return;
    for (size_t i = 0; i < n_years; i++)
        if (strcmp(year, years[i]) == 0)
            return;
    mdv_http_field_error(errors, "academic_year", "is not an academic year of the barème");
}

/* A whole number from 0 to max at key (required), else reported. */
static void count_field(json_t *body, const char *key, json_int_t max, json_t *errors)
{
    json_t *v = json_object_get(body, key);
    char message[64];
    if (!v) {
        mdv_http_field_error(errors, key, "is required");
        return;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= max)
        return;
    snprintf(message, sizeof(message), "must be a whole number from 0 to %lld", (long long)max);
    mdv_http_field_error(errors, key, message);
}

static void institution_check(json_t *body, json_t *errors)
{
    const char *name = string_field(body, "institution", "institution", 1, errors);
    const char *problem = name ? text_problem(name, MAX_INSTITUTION) : NULL;
    if (problem)
        mdv_http_field_error(errors, "institution", problem);
}

/* The parents whose income is declared: 0 to 2 pivot identities, so that
 * a later death of one of them reaches the dossier. */
static void parents_check(json_t *body, json_t *errors)
{
    json_t *parents = json_object_get(body, "parents"), *parent;
    size_t i;
    char key[32], field[48];
    if (!parents)
        return;
    if (!json_is_array(parents) || json_array_size(parents) > MAX_PARENTS) {
        mdv_http_field_error(errors, "parents", "must be a list of 0 to 2 persons");
        return;
    }
    json_array_foreach(parents, i, parent)
    {
        snprintf(key, sizeof(key), "parents[%zu]", i);
        if (!json_is_object(parent)) {
            mdv_http_field_error(errors, key, "must be an object");
            continue;
        }
        snprintf(field, sizeof(field), "%s.birth_date", key);
        date_not_future(field, person_object_check(parent, key, errors), errors);
    }
}

void student_grant_check(json_t *body, json_t *errors)
{
    static const char *const known[] = {"kind",
                                        "recipients",
                                        "person",
                                        "academic_year",
                                        "institution",
                                        "study_commune_code",
                                        "parents_income_eur",
                                        "children_at_charge",
                                        "children_in_higher_education",
                                        "family_home_distance_km",
                                        "disability",
                                        "carer",
                                        "housing_wanted",
                                        "parents"};
    unknown_fields(body, "", known, MDV_ARRAY_LEN(known), errors);
    date_not_future("person.birth_date", person_check(body, "person", errors), errors);
    year_check(body, errors);
    institution_check(body, errors);
    (void)commune_code_check(body, "study_commune_code", "study_commune_code", errors);
    count_field(body, "parents_income_eur", MAX_INCOME_EUR, errors);
    count_field(body, "children_at_charge", MAX_CHILDREN, errors);
    count_field(body, "children_in_higher_education", MAX_CHILDREN, errors);
    count_field(body, "family_home_distance_km", MAX_DISTANCE_KM, errors);
    (void)bool_field(body, "disability", 0, 0, errors);
    (void)bool_field(body, "carer", 0, 0, errors);
    (void)bool_field(body, "housing_wanted", 1, 0, errors);
    parents_check(body, errors);
}
