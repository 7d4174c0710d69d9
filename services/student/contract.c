/* The decode and check of StudentGrantRequested and StudentGrantDecided
 * (see contract.h), compiled into each service that reacts to them. */
#include "contract.h"

#include <stdio.h>
#include <string.h>

#include "mdv/reaction.h"
#include "mdv/validate.h"

/* « 2025-2026 »: two consecutive years. */
static int academic_year_ok(const char *year)
{
    unsigned a, b;
    int end = 0;
    return year && strlen(year) == 9 && sscanf(year, "%4u-%4u%n", &a, &b, &end) == 2 && end == 9 &&
           b == a + 1;
}

int mdv_student_grant_requested_decode(const void *value, size_t len,
                                       Mdv__Student__V1__StudentGrantRequested **out,
                                       char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    Mdv__Student__V1__StudentGrantRequested *m =
        mdv__student__v1__student_grant_requested__unpack(NULL, len, value);
    const char *problem = NULL;

    *out = NULL;
    if (!m) {
        snprintf(err, errlen, "value is not a StudentGrantRequested protobuf");
        return -1;
    }
    if (!mdv_uuid_valid(m->journey_id))
        problem = "journey_id is not a UUID";
    if (!problem)
        problem = mdv_reaction_person_problem(m->person, key);
    if (!problem && !academic_year_ok(m->academic_year))
        problem = "academic_year is not AAAA-AAAA";
    if (problem) {
        snprintf(err, errlen, "StudentGrantRequested invalid: %s", problem);
        mdv__student__v1__student_grant_requested__free_unpacked(m, NULL);
        return -1;
    }
    *out = m;
    return 0;
}

static const char *decision_problem(const Mdv__Student__V1__StudentGrantDecided *m)
{
    static const char *const echelons[] = {"0bis", "1", "2", "3", "4", "5", "6", "7"};
    int known = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(echelons); i++)
        known |= strcmp(m->echelon, echelons[i]) == 0;
    if (!mdv_uuid_valid(m->journey_id) || !mdv_uuid_valid(m->grant_journey_id))
        return "journey_id or grant_journey_id is not a UUID";
    if (!academic_year_ok(m->academic_year))
        return "academic_year is not AAAA-AAAA";
    if (*m->echelon ? !known || m->annual_amount_eur == 0 : m->annual_amount_eur != 0)
        return "echelon and annual_amount_eur disagree";
    if (strcmp(m->reason, "initial") != 0 && strcmp(m->reason, "parent_death") != 0)
        return "reason is neither initial nor parent_death";
    return NULL;
}

int mdv_student_grant_decided_decode(const void *value, size_t len,
                                     Mdv__Student__V1__StudentGrantDecided **out,
                                     char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    Mdv__Student__V1__StudentGrantDecided *m =
        mdv__student__v1__student_grant_decided__unpack(NULL, len, value);
    const char *problem = NULL;

    *out = NULL;
    if (!m) {
        snprintf(err, errlen, "value is not a StudentGrantDecided protobuf");
        return -1;
    }
    problem = mdv_reaction_person_problem(m->person, key);
    if (!problem)
        problem = decision_problem(m);
    if (problem) {
        snprintf(err, errlen, "StudentGrantDecided invalid: %s", problem);
        mdv__student__v1__student_grant_decided__free_unpacked(m, NULL);
        return -1;
    }
    *out = m;
    return 0;
}
