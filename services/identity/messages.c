/* Decoding and checking of the declarations identity consumes, on the
 * gateway's contract (services/gateway/contract.c; confirmations are that
 * contract's alone, abroad's events abroad's contract): what a handler does
 * before it touches the database. A message that fails here can never be applied and is a dead
 * letter; what passes holds every field the handlers read. */
#include <string.h>

#include "gateway/contract.h"
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

/* NULL when d, a declaration of one of identity's kinds whose journey,
 * usager and body the gateway's contract checked, can be applied. */
static const char *check_declaration(const identity_declaration_t *d)
{
    char key[MDV_PIVOT_KEY_LEN];
    if (strcmp(d->kind, "address_change") == 0)
        return check_address_change(d->address_change, key);
    if (strcmp(d->kind, "name_change") == 0)
        return check_name_change(d->name_change, key);
    return check_document(d->identity_document, key);
}

int identity_declaration_decode(const void *value, size_t len, identity_declaration_t **out,
                                char *err, size_t errlen)
{
    static const char *const kinds[] = {"address_change", "name_change", "identity_document", NULL};
    return mdv_gateway_declaration_decode(value, len, kinds, check_declaration, out, err, errlen);
}
