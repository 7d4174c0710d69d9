/* The decode and check of ResidenceAbroadStarted and ResidenceAbroadEnded
 * (see contract.h), compiled into each service that reacts to them. */
#include "contract.h"

#include <stdio.h>

#include "mdv/reaction.h"
#include "mdv/validate.h"

int mdv_abroad_started_decode(const void *value, size_t len,
                              Mdv__Abroad__V1__ResidenceAbroadStarted **out,
                              char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    Mdv__Abroad__V1__ResidenceAbroadStarted *m =
        mdv__abroad__v1__residence_abroad_started__unpack(NULL, len, value);
    const char *problem = NULL;

    *out = NULL;
    if (!m) {
        snprintf(err, errlen, "value is not a ResidenceAbroadStarted protobuf");
        return -1;
    }
    if (!mdv_uuid_valid(m->journey_id))
        problem = "journey_id is not a UUID";
    if (!problem)
        problem = mdv_reaction_person_problem(m->person, key);
    if (!problem)
        problem = mdv_reaction_foreign_address_problem(m->address);
    if (!problem && mdv_validate_date(m->start_date))
        problem = "start_date is not a date";
    if (problem) {
        snprintf(err, errlen, "ResidenceAbroadStarted invalid: %s", problem);
        mdv__abroad__v1__residence_abroad_started__free_unpacked(m, NULL);
        return -1;
    }
    *out = m;
    return 0;
}

int mdv_abroad_ended_decode(const void *value, size_t len,
                            Mdv__Abroad__V1__ResidenceAbroadEnded **out,
                            char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    Mdv__Abroad__V1__ResidenceAbroadEnded *m =
        mdv__abroad__v1__residence_abroad_ended__unpack(NULL, len, value);
    const char *problem = NULL;

    *out = NULL;
    if (!m) {
        snprintf(err, errlen, "value is not a ResidenceAbroadEnded protobuf");
        return -1;
    }
    if (!mdv_uuid_valid(m->journey_id))
        problem = "journey_id is not a UUID";
    if (!problem)
        problem = mdv_reaction_person_problem(m->person, key);
    if (!problem)
        problem = mdv_reaction_address_problem(m->address);
    if (!problem && mdv_validate_date(m->end_date))
        problem = "end_date is not a date";
    if (problem) {
        snprintf(err, errlen, "ResidenceAbroadEnded invalid: %s", problem);
        mdv__abroad__v1__residence_abroad_ended__free_unpacked(m, NULL);
        return -1;
    }
    *out = m;
    return 0;
}
