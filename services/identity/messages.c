/* Decoding and checking of the declarations and confirmations identity
 * consumes (abroad's events are checked by abroad's contract,
 * services/abroad/contract.c): what a handler does before it touches the
 * database. A message that fails here can never be applied and is a dead
 * letter; what passes holds every field the handlers read. */
#include <stdio.h>
#include <string.h>

#include "identity.h"
#include "mdv/reaction.h"
#include "mdv/validate.h"

static int one_of(const char *value, const char *const *allowed, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(value, allowed[i]) == 0)
            return 1;
    return 0;
}

static const char *check_address_change(const Mdv__Gateway__V1__AddressChangeDeclaration *b,
                                        char *key)
{
    const char *problem = mdv_reaction_person_problem(b->person, key);
    if (!problem)
        problem = mdv_reaction_address_problem(b->address);
    if (!problem && mdv_validate_date(b->effective_date))
        problem = "effective_date is not a date";
    return problem;
}

static const char *check_name_change(const Mdv__Gateway__V1__NameChangeDeclaration *b, char *key)
{
    static const char *const types[] = {"usage", "birth"};
    const char *problem = mdv_reaction_person_problem(b->person, key);
    if (problem)
        return problem;
    if (!one_of(b->name_type, types, MDV_ARRAY_LEN(types)))
        return "name_type unknown";
    /* A nom de naissance becomes the matching key: it must fold. */
    if (mdv_validate_name(b->new_family_name) || mdv_pivot_name_problem(b->new_family_name))
        return "new_family_name invalid";
    if (mdv_validate_date(b->effective_date))
        return "effective_date is not a date";
    return NULL;
}

static const char *check_document(const Mdv__Gateway__V1__IdentityDocumentDeclaration *b, char *key)
{
    static const char *const types[] = {"cni", "passport"};
    static const char *const reasons[] = {"first", "renewal", "loss", "theft"};
    const char *problem = mdv_reaction_person_problem(b->person, key);
    if (problem)
        return problem;
    if (!one_of(b->document_type, types, MDV_ARRAY_LEN(types)))
        return "document_type unknown";
    if (!one_of(b->reason, reasons, MDV_ARRAY_LEN(reasons)))
        return "reason unknown";
    return NULL;
}

/* NULL when d is a valid declaration of one of identity's kinds (the body
 * is the kind's). */
static const char *check_declaration(const identity_declaration_t *d)
{
    char key[MDV_PIVOT_KEY_LEN];
    if (!mdv_uuid_valid(d->journey_id))
        return "journey_id is not a UUID";
    if (!*d->usager_id)
        return "usager_id missing";
    if (strcmp(d->kind, "address_change") == 0)
        return d->body_case == MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_ADDRESS_CHANGE
                   ? check_address_change(d->address_change, key)
                   : "address_change body missing";
    if (strcmp(d->kind, "name_change") == 0)
        return d->body_case == MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_NAME_CHANGE
                   ? check_name_change(d->name_change, key)
                   : "name_change body missing";
    return d->body_case == MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_IDENTITY_DOCUMENT
               ? check_document(d->identity_document, key)
               : "identity_document body missing";
}

static int owned_kind(const char *kind)
{
    static const char *const kinds[] = {"address_change", "name_change", "identity_document"};
    return one_of(kind, kinds, MDV_ARRAY_LEN(kinds));
}

int identity_declaration_decode(const void *value, size_t len, identity_declaration_t **out,
                                char *err, size_t errlen)
{
    identity_declaration_t *d = mdv__gateway__v1__declaration_submitted__unpack(NULL, len, value);
    const char *problem = NULL;
    int rc = -1;

    *out = NULL;
    if (!d) {
        snprintf(err, errlen, "value is not a DeclarationSubmitted protobuf");
        goto out;
    }
    rc = 0;
    if (!owned_kind(d->kind))
        goto out; /* another service's journey */
    problem = check_declaration(d);
    if (problem) {
        snprintf(err, errlen, "%s declaration invalid: %s", d->kind, problem);
        rc = -1;
        goto out;
    }
    *out = d;
    d = NULL;
out:
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
    return rc;
}

int identity_confirmation_decode(const void *value, size_t len,
                                 Mdv__Gateway__V1__StepConfirmed **out, char *err, size_t errlen)
{
    Mdv__Gateway__V1__StepConfirmed *c = mdv__gateway__v1__step_confirmed__unpack(NULL, len, value);

    *out = NULL;
    if (!c) {
        snprintf(err, errlen, "value is not a StepConfirmed protobuf");
        return -1;
    }
    if (!mdv_uuid_valid(c->journey_id) || !*c->usager_id || !*c->code) {
        snprintf(err, errlen, "StepConfirmed without journey id, usager or code");
        mdv__gateway__v1__step_confirmed__free_unpacked(c, NULL);
        return -1;
    }
    *out = c;
    return 0;
}
