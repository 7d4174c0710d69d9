/* The decode and check of DeathRecorded (see contract.h), compiled into
 * each service that reacts to a death. */
#include "contract.h"

#include <stdio.h>
#include <string.h>

#include "mdv/contract.h"
#include "mdv/validate.h"

/* A DeathRecorded that passes these checks can be applied; writes the
 * deceased's key. */
static const char *check_death(const ProtobufCMessage *m, void *key)
{
    const Mdv__Bereavement__V1__DeathRecorded *death = (const void *)m;
    const Mdv__Journey__V1__PivotIdentity *p = death->deceased;
    if (!mdv_uuid_valid(death->journey_id))
        return "journey_id is not a UUID";
    if (!p || p->n_given_names == 0)
        return "deceased or deceased.given_names missing";
    if (mdv_validate_date(p->birth_date) || mdv_validate_date(death->death_date))
        return "birth_date or death_date is not a date";
    if (mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                      key) != 0)
        return "deceased identity cannot be normalised";
    return NULL;
}

int mdv_bereavement_death_decode(const void *value, size_t len,
                                 Mdv__Bereavement__V1__DeathRecorded **out,
                                 char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    ProtobufCMessage *m = NULL;
    int rc = mdv_contract_decode(&mdv__bereavement__v1__death_recorded__descriptor, value, len,
                                 check_death, key, &m, err, errlen);
    *out = (void *)m;
    return rc;
}

/* A SurvivorClaimConfirmed that passes these checks can be sent on;
 * writes the deceased's key. */
static const char *check_claim(const ProtobufCMessage *m, void *key)
{
    const Mdv__Bereavement__V1__SurvivorClaimConfirmed *claim = (const void *)m;
    const Mdv__Journey__V1__PivotIdentity *p = claim->deceased;
    if (!mdv_uuid_valid(claim->journey_id))
        return "journey_id is not a UUID";
    if (!p || p->n_given_names == 0)
        return "deceased or deceased.given_names missing";
    if (mdv_validate_date(p->birth_date) || mdv_validate_date(claim->death_date) ||
        mdv_validate_date(claim->confirmed_on))
        return "birth_date, death_date or confirmed_on is not a date";
    if (mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                      key) != 0)
        return "deceased identity cannot be normalised";
    const Mdv__Journey__V1__PivotIdentity *s = claim->survivor;
    if (s && (s->n_given_names == 0 || mdv_validate_date(s->birth_date)))
        return "survivor.given_names missing or survivor.birth_date is not a date";
    if (claim->address && claim->address->n_lines == 0)
        return "address.lines missing";
    return NULL;
}

int mdv_bereavement_claim_decode(const void *value, size_t len,
                                 Mdv__Bereavement__V1__SurvivorClaimConfirmed **out,
                                 char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    ProtobufCMessage *m = NULL;
    int rc = mdv_contract_decode(&mdv__bereavement__v1__survivor_claim_confirmed__descriptor, value,
                                 len, check_claim, key, &m, err, errlen);
    *out = (void *)m;
    return rc;
}

int mdv_death_decode(struct mdv_msg *msg, struct mdv_death *death)
{
    memset(death, 0, sizeof(*death));
    if (mdv_bereavement_death_decode(msg->rkm->payload, msg->rkm->len, &death->event,
                                     death->pivot_key, msg->error, sizeof(msg->error)) != 0)
        return -1;
    snprintf(death->occurrence, sizeof(death->occurrence), "death|%s|%s", death->pivot_key,
             death->event->death_date);
    return 0;
}

void mdv_death_free(struct mdv_death *death)
{
    mdv__bereavement__v1__death_recorded__free_unpacked(death->event, NULL);
    death->event = NULL;
}

enum mdv_outcome mdv_death_apply(struct mdv_msg *msg, const char *step_code, mdv_effect_fn apply)
{
    struct mdv_death death;
    if (mdv_death_decode(msg, &death) != 0)
        return MDV_PERMANENT;
    const struct mdv_step_work work = {death.event->journey_id, step_code, death.occurrence};
    enum mdv_outcome outcome =
        mdv_journey_apply_step(msg, &work, apply, &death) == 0 ? MDV_OK : mdv_msg_db_failure(msg);
    mdv_death_free(&death);
    return outcome;
}
