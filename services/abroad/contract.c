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

/* The step of residence r (the message already decoded into it). */
static enum mdv_outcome apply_residence(struct mdv_msg *msg, const char *journey_id,
                                        const char *step_code, mdv_effect_fn apply,
                                        struct mdv_residence *r)
{
    const struct mdv_step_work work = {journey_id, step_code, NULL};
    return mdv_journey_apply_step(msg, &work, apply, r) == 0 ? MDV_OK : mdv_msg_db_failure(msg);
}

enum mdv_outcome mdv_residence_started_apply(struct mdv_msg *msg, const char *step_code,
                                             mdv_effect_fn apply)
{
    struct mdv_residence r = {NULL, NULL, ""};
    Mdv__Abroad__V1__ResidenceAbroadStarted *m = NULL;
    if (mdv_abroad_started_decode(msg->rkm->payload, msg->rkm->len, &m, r.key, msg->error,
                                  sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    r.started = m;
    enum mdv_outcome outcome = apply_residence(msg, m->journey_id, step_code, apply, &r);
    mdv__abroad__v1__residence_abroad_started__free_unpacked(m, NULL);
    return outcome;
}

enum mdv_outcome mdv_residence_ended_apply(struct mdv_msg *msg, const char *step_code,
                                           mdv_effect_fn apply)
{
    struct mdv_residence r = {NULL, NULL, ""};
    Mdv__Abroad__V1__ResidenceAbroadEnded *m = NULL;
    if (mdv_abroad_ended_decode(msg->rkm->payload, msg->rkm->len, &m, r.key, msg->error,
                                sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    r.ended = m;
    enum mdv_outcome outcome = apply_residence(msg, m->journey_id, step_code, apply, &r);
    mdv__abroad__v1__residence_abroad_ended__free_unpacked(m, NULL);
    return outcome;
}
