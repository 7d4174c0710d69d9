/* The check of a renovation_grant declaration as housing receives it
 * (housing.h), without a database, so that the fuzz targets reach it. The
 * gateway checked the body already; this is the contract's check of the
 * message, with bounds that keep every figure of the estimate in range.
 * The barème's own check (a known item, its unit) is the handler's. */
#include <stdio.h>
#include <string.h>

#include "gateway/contract.h"
#include "housing.h"

#define MAX_ITEMS 10
#define MAX_HOUSEHOLD 100
#define MAX_SURFACE 1000000
#define MAX_EUR 1000000000ULL
#define MAX_INCOME 1000000000000ULL

static const char *check_items(const Mdv__Gateway__V1__RenovationGrantDeclaration *r)
{
    if (r->n_items == 0 || r->n_items > MAX_ITEMS)
        return "items: 1 to 10 work items";
    for (size_t i = 0; i < r->n_items; i++) {
        const Mdv__Gateway__V1__RenovationWorkItem *it = r->items[i];
        if (!*it->code || it->surface_m2 > MAX_SURFACE || it->cost_eur == 0 ||
            it->cost_eur > MAX_EUR)
            return "an item without a code, or its surface or quote out of range";
    }
    return NULL;
}

/* The applicant's matching key, or -1. */
static int applicant_key(const Mdv__Journey__V1__PivotIdentity *p, char key[MDV_PIVOT_KEY_LEN])
{
    if (!p || p->n_given_names == 0)
        return -1;
    return mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                         key);
}

/* The gateway's contract checked the journey, the usager and that the
 * body is a renovation_grant's. */
static const char *check_renovation(const Mdv__Gateway__V1__DeclarationSubmitted *d)
{
    const Mdv__Gateway__V1__RenovationGrantDeclaration *r = d->renovation_grant;
    char key[MDV_PIVOT_KEY_LEN];
    if (applicant_key(r->person, key) != 0)
        return "person missing or its identity cannot be normalised";
    const char *problem = r->dwelling ? mdv_reaction_address_problem(r->dwelling) : "no dwelling";
    if (problem)
        return problem;
    if (r->household_size == 0 || r->household_size > MAX_HOUSEHOLD ||
        r->reference_tax_income_eur > MAX_INCOME || r->construction_year == 0 ||
        r->construction_year > 9999)
        return "household, income or construction year out of range";
    return check_items(r);
}

int housing_declaration_decode(const void *value, size_t len, housing_declaration_t **out,
                               char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    static const char *const kinds[] = {"renovation_grant", NULL};
    if (mdv_gateway_declaration_decode(value, len, kinds, check_renovation, out, err, errlen) != 0)
        return -1;
    if (*out && applicant_key((*out)->renovation_grant->person, key) != 0) {
        /* check_renovation made the key already: never here */
        snprintf(err, errlen, "declaration invalid: person cannot be normalised");
        mdv__gateway__v1__declaration_submitted__free_unpacked(*out, NULL);
        *out = NULL;
        return -1;
    }
    return 0;
}
