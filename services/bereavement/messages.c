/* Decoding and checking of the messages bereavement consumes, on the
 * gateway's contract (services/gateway/contract.c): what a handler does
 * before it touches the database. A message that fails here can never be
 * applied and is a dead letter. */
#include "messages.h"

#include <string.h>

#include "gateway/contract.h"
#include "mdv/validate.h"

/* Every name, not only the first: the records keep them all in an array
 * literal, which a quote or a backslash would break. */
static int identity_valid(const Mdv__Journey__V1__PivotIdentity *p)
{
    if (mdv_validate_name(p->family_name) || p->n_given_names == 0 || mdv_validate_sex(p->sex) ||
        mdv_validate_date(p->birth_date) || mdv_validate_cog(p->birth_place))
        return 0;
    for (size_t i = 0; i < p->n_given_names; i++)
        if (mdv_validate_name(p->given_names[i]))
            return 0;
    return 1;
}

/* The gateway's contract checked the journey id, the usager and that the
 * body is the bereavement's. */
static const char *check_declaration(const declaration_t *d)
{
    static const char *const relationships[] = {"spouse", "child", "parent", "sibling", "other"};
    const bereavement_t *b = d->bereavement;
    if (!b->deceased)
        return "deceased missing";
    const Mdv__Journey__V1__PivotIdentity *p = b->deceased;
    if (!identity_valid(p))
        return "deceased identity invalid";
    if (b->declarant && !identity_valid(b->declarant))
        return "declarant identity invalid";
    /* The claim keeps 1 to 3 lines (its CHECK), and a postal code to write to. */
    const Mdv__Journey__V1__Address *a = b->declarant_address;
    if (a && (!b->declarant || a->n_lines == 0 || a->n_lines > 3 || !a->postal_code[0]))
        return "declarant_address without a declarant, or its lines or postal code invalid";
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
    static const char *const kinds[] = {"bereavement", NULL};
    return mdv_gateway_declaration_decode(value, len, kinds, check_declaration, out, err, errlen);
}
