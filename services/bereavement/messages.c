/* Decoding and checking of the messages bereavement consumes: what a
 * handler does before it touches the database. A message that fails here
 * can never be applied and is a dead letter. */
#include "messages.h"

#include <stdio.h>
#include <string.h>

#include "mdv/validate.h"

static const char *check_declaration(const declaration_t *d)
{
    static const char *const relationships[] = {"spouse", "child", "parent", "sibling", "other"};
    const bereavement_t *b = d->bereavement;
    if (!mdv_uuid_valid(d->journey_id))
        return "journey_id is not a UUID";
    if (d->body_case != MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_BEREAVEMENT || !b ||
        !b->deceased)
        return "bereavement body missing";
    const Mdv__Journey__V1__PivotIdentity *p = b->deceased;
    if (mdv_validate_name(p->family_name) || p->n_given_names == 0 || mdv_validate_sex(p->sex) ||
        mdv_validate_date(p->birth_date) || mdv_validate_cog(p->birth_place))
        return "deceased identity invalid";
    /* Every name, not only the first: the death record keeps them all in
     * an array literal, which a quote or a backslash would break. */
    for (size_t i = 0; i < p->n_given_names; i++)
        if (mdv_validate_name(p->given_names[i]))
            return "deceased identity invalid";
    if (mdv_validate_date(b->death_date) || mdv_validate_cog(b->death_place) ||
        mdv_date_compare(b->death_date, p->birth_date) < 0)
        return "death date or place invalid";
    for (size_t i = 0; i < MDV_ARRAY_LEN(relationships); i++)
        if (strcmp(b->declarant_relationship, relationships[i]) == 0)
            return NULL;
    return "declarant_relationship unknown";
}

int bereavement_declaration_decode(const void *value, size_t len, declaration_t **out, char *err,
                                   size_t errlen)
{
    declaration_t *d = mdv__gateway__v1__declaration_submitted__unpack(NULL, len, value);
    const char *problem = NULL;
    int rc = -1;

    *out = NULL;
    if (!d) {
        snprintf(err, errlen, "value is not a DeclarationSubmitted protobuf");
        goto out;
    }
    rc = 0;
    if (strcmp(d->kind, "bereavement") != 0)
        goto out; /* another service's journey */
    problem = check_declaration(d);
    if (problem) {
        snprintf(err, errlen, "declaration invalid: %s", problem);
        rc = -1;
        goto out;
    }
    *out = d;
    d = NULL;
out:
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
    return rc;
}

int bereavement_confirmation_decode(const void *value, size_t len,
                                    Mdv__Gateway__V1__StepConfirmed **out, char *err, size_t errlen)
{
    Mdv__Gateway__V1__StepConfirmed *c = mdv__gateway__v1__step_confirmed__unpack(NULL, len, value);

    *out = NULL;
    if (!c) {
        snprintf(err, errlen, "value is not a StepConfirmed protobuf");
        return -1;
    }
    if (!mdv_uuid_valid(c->journey_id) || !*c->usager_id) {
        snprintf(err, errlen, "StepConfirmed without journey id or usager");
        mdv__gateway__v1__step_confirmed__free_unpacked(c, NULL);
        return -1;
    }
    *out = c;
    return 0;
}
