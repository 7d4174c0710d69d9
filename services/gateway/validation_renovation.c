/* The declaration of « Je rénove mon logement » (owner: housing): a
 * MaPrimeRénov' application. The work items and their units come from the
 * barème (renovation_items.h); the amounts are bounded so that an absurd
 * figure (a negative income, a 10-digit quote) is refused here, field by
 * field, and never reaches the estimate. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "renovation_items.h"
#include "validation.h"

#define MAX_ITEMS 10
#define MAX_HOUSEHOLD 20
#define MAX_INCOME 10000000
#define MAX_COST 1000000
#define MAX_SURFACE 10000
#define FIRST_YEAR 1000

/* The whole number at key of obj (field names it), from min to max: its
 * value, or -1 after reporting it (message says the range); absent and not
 * required: -2. */
static json_int_t whole_field(json_t *obj, const char *key, const char *field, int required,
                              json_int_t min, json_int_t max, const char *message, json_t *errors)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            mdv_http_field_error(errors, field, "is required");
        return -2;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        mdv_http_field_error(errors, field, message);
        return -1;
    }
    return json_integer_value(v);
}

static int this_year(void)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    return tm.tm_year + 1900;
}

static void construction_year_check(json_t *body, json_t *errors)
{
    json_int_t year = whole_field(body, "construction_year", "construction_year", 1, FIRST_YEAR,
                                  9999, "must be a year from 1000 to 9999", errors);
    if (year > this_year())
        mdv_http_field_error(errors, "construction_year", MSG_IN_FUTURE);
}

/* A code the barème knows, once in the list: its unit, else
 * RENOVATION_UNKNOWN (reported). */
static enum renovation_unit item_code(json_t *item, json_t *items, size_t i, const char *prefix,
                                      json_t *errors)
{
    char field[64];
    snprintf(field, sizeof(field), "%scode", prefix);
    const char *code = string_field(item, "code", field, 1, errors);
    if (!code)
        return RENOVATION_UNKNOWN;
    enum renovation_unit unit = renovation_item_unit(code);
    if (unit == RENOVATION_UNKNOWN) {
        mdv_http_field_error(errors, field, "is not a work item of the barème");
        return unit;
    }
    for (size_t j = 0; j < i; j++) {
        const char *before = json_string_value(json_object_get(json_array_get(items, j), "code"));
        if (before && strcmp(before, code) == 0) {
            mdv_http_field_error(errors, field, "is listed twice: one entry per work item");
            return RENOVATION_UNKNOWN;
        }
    }
    return unit;
}

static void item_check(json_t *items, size_t i, json_t *errors)
{
    static const char *const known[] = {"code", "surface_m2", "cost_eur"};
    json_t *item = json_array_get(items, i);
    char prefix[32], field[64];
    snprintf(prefix, sizeof(prefix), "items[%zu].", i);
    if (!json_is_object(item)) {
        snprintf(field, sizeof(field), "items[%zu]", i);
        mdv_http_field_error(errors, field, "must be an object");
        return;
    }
    unknown_fields(item, prefix, known, MDV_ARRAY_LEN(known), errors);
    enum renovation_unit unit = item_code(item, items, i, prefix, errors);
    snprintf(field, sizeof(field), "%ssurface_m2", prefix);
    if (unit == RENOVATION_PER_UNIT && json_object_get(item, "surface_m2"))
        mdv_http_field_error(errors, field, "must not be given for an item priced per unit");
    else if (unit == RENOVATION_PER_M2)
        (void)whole_field(item, "surface_m2", field, 1, 1, MAX_SURFACE,
                          "must be a whole number of m² from 1 to 10000", errors);
    snprintf(field, sizeof(field), "%scost_eur", prefix);
    (void)whole_field(item, "cost_eur", field, 1, 1, MAX_COST,
                      "must be a whole number of euros from 1 to 1000000", errors);
}

static void items_check(json_t *body, json_t *errors)
{
    json_t *items = json_object_get(body, "items");
    if (!json_is_array(items) || json_array_size(items) == 0 ||
        json_array_size(items) > MAX_ITEMS) {
        mdv_http_field_error(errors, "items",
                             items ? "must be a list of 1 to 10 work items" : "is required");
        return;
    }
    for (size_t i = 0; i < json_array_size(items); i++)
        item_check(items, i, errors);
}

void renovation_grant_check(json_t *body, json_t *errors)
{
    static const char *const known[] = {
        "kind",           "recipients",        "person",
        "dwelling",       "construction_year", "main_residence",
        "owner_occupier", "household_size",    "reference_tax_income_eur",
        "items"};
    unknown_fields(body, "", known, MDV_ARRAY_LEN(known), errors);
    const char *birth = person_check(body, "person", errors);
    date_not_future("person.birth_date", birth, errors);
    address_france_check(body, "dwelling", errors);
    construction_year_check(body, errors);
    (void)bool_field(body, "main_residence", 1, 0, errors);
    (void)bool_field(body, "owner_occupier", 1, 0, errors);
    (void)whole_field(body, "household_size", "household_size", 1, 1, MAX_HOUSEHOLD,
                      "must be a whole number of persons from 1 to 20", errors);
    (void)whole_field(body, "reference_tax_income_eur", "reference_tax_income_eur", 1, 0,
                      MAX_INCOME, "must be a whole number of euros from 0 to 10000000", errors);
    items_check(body, errors);
}
