/* Addresses of a declaration, checked against the INSEE COG (cog.h): in
 * France, a commune an address can name and one of its postcodes; abroad,
 * a country or territory of the COG that still exists and is not France.
 * The messages are the contract's x-refusals, word for word. */
#include <stdio.h>
#include <string.h>

#include "cog.h"
#include "gateway.h"
#include "mdv/validate.h"
#include "validation.h"

#define MAX_LINES 3
#define MAX_TEXT 100
#define MAX_FOREIGN_POSTCODE 20
#define FRANCE "99100"

static void field_name(char *out, size_t len, const char *key, const char *name)
{
    snprintf(out, len, "%s.%s", key, name);
}

static void lines_check(json_t *address, const char *key, json_t *errors)
{
    char field[64];
    json_t *lines = json_object_get(address, "lines"), *line;
    size_t i;

    field_name(field, sizeof(field), key, "lines");
    if (!json_is_array(lines) || json_array_size(lines) == 0 ||
        json_array_size(lines) > MAX_LINES) {
        mdv_http_field_error(errors, field,
                             lines ? "must be a list of 1 to 3 lines" : "is required");
        return;
    }
    json_array_foreach(lines, i, line)
    {
        snprintf(field, sizeof(field), "%s.lines[%zu]", key, i);
        const char *problem = json_is_string(line) ? text_problem(json_string_value(line), MAX_TEXT)
                                                   : "must be a string";
        if (problem)
            mdv_http_field_error(errors, field, problem);
    }
}

/* The text at name (city), checked; NULL when absent or invalid. */
static const char *text_field(json_t *address, const char *key, const char *name, int required,
                              json_t *errors)
{
    char field[64];
    field_name(field, sizeof(field), key, name);
    const char *text = string_field(address, name, field, required, errors);
    const char *problem = text ? text_problem(text, MAX_TEXT) : NULL;
    if (problem)
        mdv_http_field_error(errors, field, problem);
    return problem ? NULL : text;
}

static int is_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* The commune at commune_code, or NULL after reporting why it cannot be
 * an address's. */
static const struct cog_commune *commune_at(json_t *obj, const char *name, const char *field,
                                            json_t *errors)
{
    const char *code = string_field(obj, name, field, 1, errors);
    if (!code)
        return NULL;
    const char *problem = mdv_validate_cog(code);
    if (problem) {
        mdv_http_field_error(errors, field, problem);
        return NULL;
    }
    const struct cog_commune *commune = cog_commune_find(code);
    if (!commune) {
        mdv_http_field_error(errors, field, "is not a commune of the INSEE COG");
        return NULL;
    }
    if (!cog_commune_addressable(commune)) {
        mdv_http_field_error(errors, field,
                             "is a former commune, merged into another: use the code of the"
                             " commune it belongs to");
        return NULL;
    }
    return commune;
}

static const struct cog_commune *commune_check(json_t *address, const char *key, json_t *errors)
{
    char field[64];
    field_name(field, sizeof(field), key, "commune_code");
    return commune_at(address, "commune_code", field, errors);
}

int commune_code_check(json_t *obj, const char *name, const char *field, json_t *errors)
{
    return commune_at(obj, name, field, errors) ? 0 : -1;
}

void address_france_check(json_t *body, const char *key, json_t *errors)
{
    address_france_at(body, key, key, errors);
}

void address_france_at(json_t *obj, const char *key, const char *at, json_t *errors)
{
    static const char *const known[] = {"lines", "postal_code", "commune_code", "city"};
    char prefix[64], field[96];
    json_t *address = object_field_named(obj, key, at, errors);
    if (!address)
        return;
    snprintf(prefix, sizeof(prefix), "%s.", at);
    unknown_fields(address, prefix, known, MDV_ARRAY_LEN(known), errors);
    lines_check(address, at, errors);
    text_field(address, at, "city", 0, errors);
    const struct cog_commune *commune = commune_check(address, at, errors);
    field_name(field, sizeof(field), at, "postal_code");
    const char *postcode = string_field(address, "postal_code", field, 1, errors);
    if (!postcode)
        return;
    if (!is_digits(postcode, 5))
        mdv_http_field_error(errors, field, "must be 5 digits");
    else if (commune && !cog_commune_has_postcode(commune, postcode))
        mdv_http_field_error(errors, field, "is not a postcode of the commune (INSEE COG)");
}

static void country_check(json_t *address, const char *key, json_t *errors)
{
    char field[64];
    field_name(field, sizeof(field), key, "country_code");
    const char *code = string_field(address, "country_code", field, 1, errors);
    if (!code)
        return;
    const struct cog_country *country = NULL;
    if (!is_digits(code, 5) || strncmp(code, "99", 2) != 0)
        mdv_http_field_error(errors, field, "must be an INSEE COG country code, 99 then 3 digits");
    else if (strcmp(code, FRANCE) == 0)
        mdv_http_field_error(errors, field, "must be a country abroad, not France");
    else if (!(country = cog_country_find(code)))
        mdv_http_field_error(errors, field, "is not a country or territory of the INSEE COG");
    else if (country->ended[0])
        mdv_http_field_error(errors, field, "is a country that no longer exists");
}

/* As used in the country: letters and digits, with spaces or hyphens
 * between them ("H2X 1Y4", "1000-001", "SW1A 1AA"). */
static const char *foreign_postcode_problem(const char *postcode)
{
    size_t n = strlen(postcode);
    if (n == 0 || n > MAX_FOREIGN_POSTCODE)
        return "must be 1 to 20 letters, digits, spaces or hyphens";
    for (size_t i = 0; i < n; i++) {
        char c = postcode[i];
        int alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        int inner = (c == ' ' || c == '-') && i > 0 && i + 1 < n;
        if (!alnum && !inner)
            return "must be 1 to 20 letters, digits, spaces or hyphens";
    }
    return NULL;
}

void address_abroad_check(json_t *body, const char *key, json_t *errors)
{
    static const char *const known[] = {"lines", "postal_code", "city", "country_code"};
    char prefix[32], field[64];
    json_t *address = object_field(body, key, errors);
    if (!address)
        return;
    snprintf(prefix, sizeof(prefix), "%s.", key);
    unknown_fields(address, prefix, known, MDV_ARRAY_LEN(known), errors);
    lines_check(address, key, errors);
    text_field(address, key, "city", 1, errors);
    country_check(address, key, errors);
    field_name(field, sizeof(field), key, "postal_code");
    check(errors, field, string_field(address, "postal_code", field, 0, errors),
          foreign_postcode_problem);
}
