/* The decode and check of AddressChanged and PersonNameChanged (see
 * contract.h), compiled into each service that reacts to them. */
#include "contract.h"

#include <stdio.h>
#include <string.h>

#include "mdv/reaction.h"
#include "mdv/validate.h"

int mdv_identity_address_changed_decode(const void *value, size_t len,
                                        Mdv__Identity__V1__AddressChanged **out,
                                        char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    Mdv__Identity__V1__AddressChanged *m =
        mdv__identity__v1__address_changed__unpack(NULL, len, value);
    const char *problem = NULL;

    *out = NULL;
    if (!m) {
        snprintf(err, errlen, "value is not an AddressChanged protobuf");
        return -1;
    }
    if (!mdv_uuid_valid(m->journey_id))
        problem = "journey_id is not a UUID";
    if (!problem)
        problem = mdv_reaction_person_problem(m->person, key);
    if (!problem)
        problem = mdv_reaction_address_problem(m->address);
    if (!problem && mdv_validate_date(m->effective_date))
        problem = "effective_date is not a date";
    if (problem) {
        snprintf(err, errlen, "AddressChanged invalid: %s", problem);
        mdv__identity__v1__address_changed__free_unpacked(m, NULL);
        return -1;
    }
    *out = m;
    return 0;
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

int mdv_identity_name_changed_decode(const void *value, size_t len,
                                     Mdv__Identity__V1__PersonNameChanged **out,
                                     char previous[MDV_PIVOT_KEY_LEN],
                                     char current[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    Mdv__Identity__V1__PersonNameChanged *m =
        mdv__identity__v1__person_name_changed__unpack(NULL, len, value);
    const char *problem = NULL;

    *out = NULL;
    if (!m) {
        snprintf(err, errlen, "value is not a PersonNameChanged protobuf");
        return -1;
    }
    if (!mdv_uuid_valid(m->journey_id))
        problem = "journey_id is not a UUID";
    if (!problem)
        problem = mdv_reaction_person_problem(m->previous, previous);
    if (!problem)
        problem = mdv_reaction_person_problem(m->current, current);
    if (!problem)
        problem = same_person(m);
    if (!problem && *m->usage_name && mdv_validate_name(m->usage_name))
        problem = "usage_name invalid";
    if (!problem && mdv_validate_date(m->effective_date))
        problem = "effective_date is not a date";
    if (problem) {
        snprintf(err, errlen, "PersonNameChanged invalid: %s", problem);
        mdv__identity__v1__person_name_changed__free_unpacked(m, NULL);
        return -1;
    }
    *out = m;
    return 0;
}
