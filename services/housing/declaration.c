/* The check of a renovation_grant declaration as housing receives it
 * (housing.h), without a database, so that the fuzz targets reach it. The
 * gateway checked the body already; this is the contract's check of the
 * message, with bounds that keep every figure of the estimate in range.
 * The barème's own check (a known item, its unit) is the handler's. */
#include <stdio.h>
#include <string.h>

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

static const char *check_renovation(const Mdv__Gateway__V1__DeclarationSubmitted *d,
                                    char key[MDV_PIVOT_KEY_LEN])
{
    const Mdv__Gateway__V1__RenovationGrantDeclaration *r = d->renovation_grant;
    if (!mdv_uuid_valid(d->journey_id) || !*d->usager_id)
        return "journey_id is not a UUID, or no usager";
    if (d->body_case != MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_RENOVATION_GRANT || !r)
        return "kind renovation_grant without its body";
    const Mdv__Journey__V1__PivotIdentity *p = r->person;
    if (!p || p->n_given_names == 0 ||
        mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                      key) != 0)
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
    housing_declaration_t *d = mdv__gateway__v1__declaration_submitted__unpack(NULL, len, value);
    *out = NULL;
    if (!d) {
        snprintf(err, errlen, "value is not a DeclarationSubmitted protobuf");
        return -1;
    }
    if (strcmp(d->kind, "renovation_grant") != 0) {
        mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
        return 0; /* another service's journey */
    }
    const char *problem = check_renovation(d, key);
    if (problem) {
        snprintf(err, errlen, "declaration invalid: %s", problem);
        mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
        return -1;
    }
    *out = d;
    return 0;
}
