/* The decode and check of ResidenceAbroadStarted and ResidenceAbroadEnded
 * (see contract.h), compiled into each service that reacts to them. */
#include "contract.h"

#include "mdv/contract.h"
#include "mdv/reaction.h"
#include "mdv/validate.h"

/* Writes the person's key. */
static const char *check_started(const ProtobufCMessage *base, void *key)
{
    const Mdv__Abroad__V1__ResidenceAbroadStarted *m = (const void *)base;
    const char *problem = NULL;
    if (!mdv_uuid_valid(m->journey_id))
        return "journey_id is not a UUID";
    if ((problem = mdv_reaction_person_problem(m->person, key)) ||
        (problem = mdv_reaction_foreign_address_problem(m->address)))
        return problem;
    return mdv_validate_date(m->start_date) ? "start_date is not a date" : NULL;
}

int mdv_abroad_started_decode(const void *value, size_t len,
                              Mdv__Abroad__V1__ResidenceAbroadStarted **out,
                              char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    ProtobufCMessage *m = NULL;
    int rc = mdv_contract_decode(&mdv__abroad__v1__residence_abroad_started__descriptor, value, len,
                                 check_started, key, &m, err, errlen);
    *out = (void *)m;
    return rc;
}

/* Writes the person's key. */
static const char *check_ended(const ProtobufCMessage *base, void *key)
{
    const Mdv__Abroad__V1__ResidenceAbroadEnded *m = (const void *)base;
    const char *problem = NULL;
    if (!mdv_uuid_valid(m->journey_id))
        return "journey_id is not a UUID";
    if ((problem = mdv_reaction_person_problem(m->person, key)) ||
        (problem = mdv_reaction_address_problem(m->address)))
        return problem;
    return mdv_validate_date(m->end_date) ? "end_date is not a date" : NULL;
}

int mdv_abroad_ended_decode(const void *value, size_t len,
                            Mdv__Abroad__V1__ResidenceAbroadEnded **out,
                            char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    ProtobufCMessage *m = NULL;
    int rc = mdv_contract_decode(&mdv__abroad__v1__residence_abroad_ended__descriptor, value, len,
                                 check_ended, key, &m, err, errlen);
    *out = (void *)m;
    return rc;
}
