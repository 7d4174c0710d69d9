/* The decode and check of AddressChanged and PersonNameChanged (see
 * contract.h), compiled into each service that reacts to them. */
#include "contract.h"

#include <stdio.h>
#include <string.h>

#include "mdv/contract.h"
#include "mdv/reaction.h"
#include "mdv/validate.h"

/* Writes the person's key. */
static const char *check_address_changed(const ProtobufCMessage *base, void *key)
{
    const Mdv__Identity__V1__AddressChanged *m = (const void *)base;
    const char *problem = NULL;
    if (!mdv_uuid_valid(m->journey_id))
        return "journey_id is not a UUID";
    if ((problem = mdv_reaction_person_problem(m->person, key)) ||
        (problem = mdv_reaction_address_problem(m->address)))
        return problem;
    return mdv_validate_date(m->effective_date) ? "effective_date is not a date" : NULL;
}

int mdv_identity_address_changed_decode(const void *value, size_t len,
                                        Mdv__Identity__V1__AddressChanged **out,
                                        char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    ProtobufCMessage *m = NULL;
    int rc = mdv_contract_decode(&mdv__identity__v1__address_changed__descriptor, value, len,
                                 check_address_changed, key, &m, err, errlen);
    *out = (void *)m;
    return rc;
}

/* previous and current name one person: only the family name may
 * differ, and only for a nom de naissance (a new one may still fold to
 * the same matching key). */
static const char *same_person(const Mdv__Identity__V1__PersonNameChanged *m)
{
    const Mdv__Journey__V1__PivotIdentity *p = m->previous, *c = m->current;
    if (strcmp(p->sex, c->sex) != 0 || strcmp(p->birth_date, c->birth_date) != 0 ||
        strcmp(p->birth_place, c->birth_place) != 0 ||
        strcmp(p->given_names[0], c->given_names[0]) != 0)
        return "previous and current are not the same person";
    if (!m->birth_name_changed && strcmp(p->family_name, c->family_name) != 0)
        return "family name changed but birth_name_changed is false";
    return NULL;
}

/* The keys of the previous and the current identity. */
struct name_keys {
    char *previous, *current;
};

static const char *check_name_changed(const ProtobufCMessage *base, void *ctx)
{
    const Mdv__Identity__V1__PersonNameChanged *m = (const void *)base;
    const struct name_keys *keys = ctx;
    const char *problem = NULL;
    if (!mdv_uuid_valid(m->journey_id))
        return "journey_id is not a UUID";
    if ((problem = mdv_reaction_person_problem(m->previous, keys->previous)) ||
        (problem = mdv_reaction_person_problem(m->current, keys->current)) ||
        (problem = same_person(m)))
        return problem;
    if (*m->usage_name && mdv_validate_name(m->usage_name))
        return "usage_name invalid";
    return mdv_validate_date(m->effective_date) ? "effective_date is not a date" : NULL;
}

int mdv_identity_name_changed_decode(const void *value, size_t len,
                                     Mdv__Identity__V1__PersonNameChanged **out,
                                     char previous[MDV_PIVOT_KEY_LEN],
                                     char current[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    struct name_keys keys = {previous, current};
    ProtobufCMessage *m = NULL;
    int rc = mdv_contract_decode(&mdv__identity__v1__person_name_changed__descriptor, value, len,
                                 check_name_changed, &keys, &m, err, errlen);
    *out = (void *)m;
    return rc;
}

enum mdv_outcome mdv_address_change_apply(struct mdv_msg *msg, const char *step_code,
                                          mdv_effect_fn apply, mdv_pending_fn pending,
                                          mdv_effect_fn unplanned)
{
    struct mdv_address_change change;
    Mdv__Identity__V1__AddressChanged *m = NULL;
    if (mdv_identity_address_changed_decode(msg->rkm->payload, msg->rkm->len, &m, change.key,
                                            msg->error, sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    change.m = m;
    const struct mdv_step_work work = {m->journey_id, step_code, NULL};
    int rc = mdv_reaction_apply_step(msg, &work, apply, pending, unplanned, &change);
    mdv__identity__v1__address_changed__free_unpacked(m, NULL);
    return rc == 0 ? MDV_OK : mdv_msg_db_failure(msg);
}

enum mdv_outcome mdv_name_change_apply(struct mdv_msg *msg, const char *step_code,
                                       mdv_effect_fn apply)
{
    struct mdv_name_change change;
    Mdv__Identity__V1__PersonNameChanged *m = NULL;
    if (mdv_identity_name_changed_decode(msg->rkm->payload, msg->rkm->len, &m, change.previous,
                                         change.current, msg->error, sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    change.m = m;
    const struct mdv_step_work work = {m->journey_id, step_code, NULL};
    int rc = mdv_journey_apply_step(msg, &work, apply, &change);
    mdv__identity__v1__person_name_changed__free_unpacked(m, NULL);
    return rc == 0 ? MDV_OK : mdv_msg_db_failure(msg);
}

void mdv_name_change_detail(const Mdv__Identity__V1__PersonNameChanged *m, const char *in,
                            const char *from, struct mdv_effect *out)
{
    char name[MDV_REACTION_NAME_CLIP];
    mdv_reaction_clip(name, sizeof(name),
                      m->birth_name_changed ? m->current->family_name : m->usage_name);
    out->status = MDV_STEP_DONE;
    if (m->birth_name_changed)
        snprintf(out->detail, sizeof(out->detail), "Nom mis à jour dans %s : %s", in, name);
    else if (*name)
        snprintf(out->detail, sizeof(out->detail), "Nom d'usage enregistré dans %s : %s", in, name);
    else
        snprintf(out->detail, sizeof(out->detail), "Nom d'usage retiré %s", from);
}
