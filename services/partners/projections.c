/* The partner-specific messages (proto/mdv/partner/v1), each built field
 * by field from its domain event: nothing is passed through whole, so a
 * field added to DeathRecorded one day reaches no partner until its
 * projection and its entitlement say so. The test of the rules walks
 * these descriptors against rules/entitlements.tsv. */
#include <string.h>

#include "mdv/bereavement/v1/death.pb-c.h"
#include "mdv/identity/v1/identity.pb-c.h"
#include "partners.h"

#define DEATH_RECORDED "fr.gouv.mdv.bereavement.death_recorded.v1"
#define ADDRESS_CHANGED "fr.gouv.mdv.identity.address_changed.v1"
#define CLAIM_CONFIRMED "fr.gouv.mdv.bereavement.survivor_claim_confirmed.v1"

static void build_cnav_death(const void *event, union partners_message *out)
{
    const Mdv__Bereavement__V1__DeathRecorded *death = event;
    Mdv__Partner__V1__CnavDeathNotice *m = &out->cnav_death;
    mdv__partner__v1__cnav_death_notice__init(m);
    m->journey_id = death->journey_id;
    m->family_name = death->deceased->family_name;
    m->n_given_names = death->deceased->n_given_names;
    m->given_names = death->deceased->given_names;
    m->sex = death->deceased->sex;
    m->birth_date = death->deceased->birth_date;
    m->birth_place = death->deceased->birth_place;
    m->death_date = death->death_date;
}

static void build_dgfip_death(const void *event, union partners_message *out)
{
    const Mdv__Bereavement__V1__DeathRecorded *death = event;
    Mdv__Partner__V1__DgfipDeathNotice *m = &out->dgfip_death;
    mdv__partner__v1__dgfip_death_notice__init(m);
    m->journey_id = death->journey_id;
    m->family_name = death->deceased->family_name;
    m->n_given_names = death->deceased->n_given_names;
    m->given_names = death->deceased->given_names;
    m->birth_date = death->deceased->birth_date;
    m->birth_place = death->deceased->birth_place;
    m->death_date = death->death_date;
}

static void build_cnav_address(const void *event, union partners_message *out)
{
    const Mdv__Identity__V1__AddressChanged *a = event;
    Mdv__Partner__V1__CnavAddressNotice *m = &out->cnav_address;
    mdv__partner__v1__cnav_address_notice__init(m);
    m->journey_id = a->journey_id;
    m->family_name = a->person->family_name;
    m->n_given_names = a->person->n_given_names;
    m->given_names = a->person->given_names;
    m->sex = a->person->sex;
    m->birth_date = a->person->birth_date;
    m->birth_place = a->person->birth_place;
    m->n_address_lines = a->address->n_lines;
    m->address_lines = a->address->lines;
    m->postal_code = a->address->postal_code;
    m->city = a->address->city;
    m->effective_date = a->effective_date;
}

static void build_dgfip_address(const void *event, union partners_message *out)
{
    const Mdv__Identity__V1__AddressChanged *a = event;
    Mdv__Partner__V1__DgfipAddressNotice *m = &out->dgfip_address;
    mdv__partner__v1__dgfip_address_notice__init(m);
    m->journey_id = a->journey_id;
    m->family_name = a->person->family_name;
    m->n_given_names = a->person->n_given_names;
    m->given_names = a->person->given_names;
    m->birth_date = a->person->birth_date;
    m->birth_place = a->person->birth_place;
    m->n_address_lines = a->address->n_lines;
    m->address_lines = a->address->lines;
    m->postal_code = a->address->postal_code;
    m->city = a->address->city;
    m->effective_date = a->effective_date;
}

static void build_caf_death(const void *event, union partners_message *out)
{
    const Mdv__Bereavement__V1__DeathRecorded *death = event;
    Mdv__Partner__V1__CafDeathNotice *m = &out->caf_death;
    mdv__partner__v1__caf_death_notice__init(m);
    m->journey_id = death->journey_id;
    m->family_name = death->deceased->family_name;
    m->n_given_names = death->deceased->n_given_names;
    m->given_names = death->deceased->given_names;
    m->birth_date = death->deceased->birth_date;
    m->birth_place = death->deceased->birth_place;
    m->death_date = death->death_date;
}

static void build_cpam_death(const void *event, union partners_message *out)
{
    const Mdv__Bereavement__V1__DeathRecorded *death = event;
    Mdv__Partner__V1__CpamDeathNotice *m = &out->cpam_death;
    mdv__partner__v1__cpam_death_notice__init(m);
    m->journey_id = death->journey_id;
    m->family_name = death->deceased->family_name;
    m->n_given_names = death->deceased->n_given_names;
    m->given_names = death->deceased->given_names;
    m->sex = death->deceased->sex;
    m->birth_date = death->deceased->birth_date;
    m->birth_place = death->deceased->birth_place;
    m->death_date = death->death_date;
}

/* Who claims the réversion, and where to write to them: the claimant's
 * identity and postal address, not the commune's code (a letter needs the
 * postal code and the city). */
static void cnav_claimant(const Mdv__Bereavement__V1__SurvivorClaimConfirmed *claim,
                          Mdv__Partner__V1__CnavSurvivorClaim *m)
{
    const Mdv__Journey__V1__PivotIdentity *s = claim->survivor;
    const Mdv__Journey__V1__Address *a = claim->address;
    if (s) {
        m->claimant_family_name = s->family_name;
        m->n_claimant_given_names = s->n_given_names;
        m->claimant_given_names = s->given_names;
        m->claimant_sex = s->sex;
        m->claimant_birth_date = s->birth_date;
        m->claimant_birth_place = s->birth_place;
        m->claimant_usage_name = claim->survivor_usage_name;
    }
    if (a) {
        m->n_address_lines = a->n_lines;
        m->address_lines = a->lines;
        m->postal_code = a->postal_code;
        m->city = a->city;
    }
}

/* The confirmed réversion claim: the deceased, the death, the claim's
 * date, the claimant; not the place of death. */
static void build_cnav_claim(const void *event, union partners_message *out)
{
    const Mdv__Bereavement__V1__SurvivorClaimConfirmed *claim = event;
    Mdv__Partner__V1__CnavSurvivorClaim *m = &out->cnav_claim;
    mdv__partner__v1__cnav_survivor_claim__init(m);
    m->journey_id = claim->journey_id;
    m->family_name = claim->deceased->family_name;
    m->n_given_names = claim->deceased->n_given_names;
    m->given_names = claim->deceased->given_names;
    m->sex = claim->deceased->sex;
    m->birth_date = claim->deceased->birth_date;
    m->birth_place = claim->deceased->birth_place;
    m->death_date = claim->death_date;
    m->claimed_on = claim->confirmed_on;
    cnav_claimant(claim, m);
}

static void build_caf_address(const void *event, union partners_message *out)
{
    const Mdv__Identity__V1__AddressChanged *a = event;
    Mdv__Partner__V1__CafAddressNotice *m = &out->caf_address;
    mdv__partner__v1__caf_address_notice__init(m);
    m->journey_id = a->journey_id;
    m->family_name = a->person->family_name;
    m->n_given_names = a->person->n_given_names;
    m->given_names = a->person->given_names;
    m->birth_date = a->person->birth_date;
    m->birth_place = a->person->birth_place;
    m->n_address_lines = a->address->n_lines;
    m->address_lines = a->address->lines;
    m->postal_code = a->address->postal_code;
    m->city = a->address->city;
    m->effective_date = a->effective_date;
}

static const struct partners_projection cnav_death = {
    &mdv__partner__v1__cnav_death_notice__descriptor,
    DEATH_RECORDED,
    "cnav_death_notice",
    build_cnav_death,
};

static const struct partners_projection dgfip_death = {
    &mdv__partner__v1__dgfip_death_notice__descriptor,
    DEATH_RECORDED,
    "dgfip_death_notice",
    build_dgfip_death,
};

static const struct partners_projection cnav_address = {
    &mdv__partner__v1__cnav_address_notice__descriptor,
    ADDRESS_CHANGED,
    "cnav_address_notice",
    build_cnav_address,
};

static const struct partners_projection dgfip_address = {
    &mdv__partner__v1__dgfip_address_notice__descriptor,
    ADDRESS_CHANGED,
    "dgfip_address_notice",
    build_dgfip_address,
};

static const struct partners_projection caf_death = {
    &mdv__partner__v1__caf_death_notice__descriptor,
    DEATH_RECORDED,
    "caf_death_notice",
    build_caf_death,
};

static const struct partners_projection cpam_death = {
    &mdv__partner__v1__cpam_death_notice__descriptor,
    DEATH_RECORDED,
    "cpam_death_notice",
    build_cpam_death,
};

static const struct partners_projection cnav_claim = {
    &mdv__partner__v1__cnav_survivor_claim__descriptor,
    CLAIM_CONFIRMED,
    "cnav_survivor_claim",
    build_cnav_claim,
};

static const struct partners_projection caf_address = {
    &mdv__partner__v1__caf_address_notice__descriptor,
    ADDRESS_CHANGED,
    "caf_address_notice",
    build_caf_address,
};

const struct partners_projection *const partners_projections[] = {
    &cnav_death, &dgfip_death, &cnav_address, &dgfip_address, &caf_death, &cpam_death,
    &cnav_claim, &caf_address, NULL};

const struct partners_projection *partners_projection_find(const char *name)
{
    for (size_t i = 0; partners_projections[i]; i++)
        if (strcmp(partners_projections[i]->descriptor->name, name) == 0)
            return partners_projections[i];
    return NULL;
}
