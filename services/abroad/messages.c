/* Decoding and checking of the declarations abroad consumes, on the
 * gateway's contract (services/gateway/contract.c; confirmations are that
 * contract's alone, identity's events identity's contract): what a handler
 * does before it touches the database. A message that fails here can never be applied and is a dead
 * letter. Text that reaches the registre (address lines, cities) is checked
 * as storable UTF-8 here: the database would refuse it later, after the
 * work of the message had begun. */
#include "abroad.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/contract.h"
#include "mdv/reaction.h"
#include "mdv/validate.h"

/* The person and the address, as every reader of the journey contracts
 * checks them (mdv/reaction.h): every given name (the registre keeps them
 * all in a text[] column), lines and city storable as JSON and text. */
static const char *check_person(const abroad_person_t *p)
{
    char key[MDV_PIVOT_KEY_LEN];
    return mdv_reaction_person_problem(p, key);
}

static const char *check_departure(const Mdv__Gateway__V1__DepartureAbroadDeclaration *b)
{
    const char *problem = NULL;
    if (!b)
        return "departure_abroad body missing";
    if ((problem = check_person(b->person)) ||
        (problem = mdv_reaction_foreign_address_problem(b->address)))
        return problem;
    return mdv_validate_date(b->departure_date) ? "departure_date is not a date" : NULL;
}

static const char *check_return(const Mdv__Gateway__V1__ReturnToFranceDeclaration *b)
{
    const char *problem = NULL;
    if (!b)
        return "return_to_france body missing";
    if ((problem = check_person(b->person)) || (problem = mdv_reaction_address_problem(b->address)))
        return problem;
    return mdv_validate_date(b->return_date) ? "return_date is not a date" : NULL;
}

/* The gateway's contract checked the journey, the usager and that the
 * body is the kind's. */
static const char *check_declaration(const abroad_declaration_t *d)
{
    return strcmp(d->kind, "departure_abroad") == 0 ? check_departure(d->departure_abroad)
                                                    : check_return(d->return_to_france);
}

int abroad_declaration_decode(const void *value, size_t len, abroad_declaration_t **out, char *err,
                              size_t errlen)
{
    static const char *const kinds[] = {"departure_abroad", "return_to_france", NULL};
    return mdv_gateway_declaration_decode(value, len, kinds, check_declaration, out, err, errlen);
}

int abroad_person_key(const abroad_person_t *p, char key[MDV_PIVOT_KEY_LEN])
{
    return mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                         key);
}
