/* Validation of request bodies (declarations, confirmations). Every problem
 * is reported, each naming its field, so a usager (or a partner's
 * engineer) fixes them in one go. */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "mdv/validate.h"

#define MAX_GIVEN_NAMES 10
#define MAX_CODE_LEN 100

static const char *const kinds[] = {"identity", "student", "bereavement", "housing", "abroad"};
static const char *const relationships[] = {"spouse", "child", "parent", "sibling", "other"};

static int in_list(const char *value, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(value, list[i]) == 0)
            return 1;
    return 0;
}

/* Returns the string at key, or NULL after reporting it missing or not a
 * string. */
static const char *string_field(json_t *obj, const char *key, const char *field, json_t *errors)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        mdv_http_field_error(errors, field, "is required");
        return NULL;
    }
    if (!json_is_string(v)) {
        mdv_http_field_error(errors, field, "must be a string");
        return NULL;
    }
    return json_string_value(v);
}

static void check(json_t *errors, const char *field, const char *value,
                  const char *(*validator)(const char *))
{
    const char *problem = value ? validator(value) : NULL;
    if (problem)
        mdv_http_field_error(errors, field, problem);
}

static void unknown_fields(json_t *obj, const char *prefix, const char *const *known, size_t n,
                           json_t *errors)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        (void)value;
        if (in_list(key, known, n))
            continue;
        /* A long name is cut at 100 bytes, never inside a character:
         * jansson refuses invalid UTF-8, and the error would be lost. */
        int cut = (int)strnlen(key, 100);
        while (cut > 0 && ((unsigned char)key[cut] & 0xC0) == 0x80)
            cut--;
        char field[160];
        snprintf(field, sizeof(field), "%s%.*s", prefix, cut, key);
        mdv_http_field_error(errors, field, "is not a known field");
    }
}

static void given_names(json_t *deceased, json_t *errors)
{
    json_t *names = json_object_get(deceased, "given_names");
    size_t i;
    json_t *name;
    if (!names) {
        mdv_http_field_error(errors, "deceased.given_names", "is required");
        return;
    }
    if (!json_is_array(names) || json_array_size(names) == 0 ||
        json_array_size(names) > MAX_GIVEN_NAMES) {
        mdv_http_field_error(errors, "deceased.given_names", "must be a list of 1 to 10 names");
        return;
    }
    json_array_foreach(names, i, name)
    {
        char field[64];
        snprintf(field, sizeof(field), "deceased.given_names[%zu]", i);
        if (!json_is_string(name))
            mdv_http_field_error(errors, field, "must be a string");
        else
            check(errors, field, json_string_value(name), mdv_validate_name);
    }
}

/* Returns the birth date when it is valid, for the death date checks. */
static const char *deceased(json_t *body, json_t *errors)
{
    static const char *const known[] = {"family_name", "given_names", "sex", "birth_date",
                                        "birth_place"};
    json_t *d = json_object_get(body, "deceased");
    if (!json_is_object(d)) {
        mdv_http_field_error(errors, "deceased", d ? "must be an object" : "is required");
        return NULL;
    }
    unknown_fields(d, "deceased.", known, MDV_ARRAY_LEN(known), errors);
    check(errors, "deceased.family_name",
          string_field(d, "family_name", "deceased.family_name", errors), mdv_validate_name);
    given_names(d, errors);
    check(errors, "deceased.sex", string_field(d, "sex", "deceased.sex", errors), mdv_validate_sex);
    check(errors, "deceased.birth_place",
          string_field(d, "birth_place", "deceased.birth_place", errors), mdv_validate_cog);
    const char *birth = string_field(d, "birth_date", "deceased.birth_date", errors);
    check(errors, "deceased.birth_date", birth, mdv_validate_date);
    return birth && !mdv_validate_date(birth) ? birth : NULL;
}

static void death(json_t *body, const char *birth, json_t *errors)
{
    char today[11];
    const char *date = string_field(body, "death_date", "death_date", errors);
    check(errors, "death_place", string_field(body, "death_place", "death_place", errors),
          mdv_validate_cog);
    if (!date)
        return;
    if (mdv_validate_date(date)) {
        check(errors, "death_date", date, mdv_validate_date);
        return;
    }
    mdv_date_today(today);
    if (mdv_date_compare(date, today) > 0)
        mdv_http_field_error(errors, "death_date", "must not be in the future");
    else if (birth && mdv_date_compare(date, birth) < 0)
        mdv_http_field_error(errors, "death_date", "must not be before the birth date");
}

void declaration_validate(json_t *body, json_t *errors)
{
    static const char *const known[] = {"kind", "deceased", "death_date", "death_place",
                                        "declarant_relationship"};
    const char *kind = string_field(body, "kind", "kind", errors);
    if (!kind)
        return;
    if (!in_list(kind, kinds, MDV_ARRAY_LEN(kinds))) {
        mdv_http_field_error(errors, "kind",
                             "must be one of identity, student, bereavement, housing, abroad");
        return;
    }
    if (strcmp(kind, "bereavement") != 0) {
        mdv_http_field_error(errors, "kind", "only bereavement declarations are accepted so far");
        return;
    }
    unknown_fields(body, "", known, MDV_ARRAY_LEN(known), errors);
    death(body, deceased(body, errors), errors);
    const char *rel =
        string_field(body, "declarant_relationship", "declarant_relationship", errors);
    if (rel && !in_list(rel, relationships, MDV_ARRAY_LEN(relationships)))
        mdv_http_field_error(errors, "declarant_relationship",
                             "must be one of spouse, child, parent, sibling, other");
}

/* A step code is "<owner>.<what>": lower-case letters, digits, '_' and one
 * dot. */
static int code_is_valid(const char *code)
{
    size_t n = strlen(code), dots = 0;
    if (n < 3 || n > MAX_CODE_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = code[i];
        dots += c == '.';
        if (!(c == '.' || c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return dots == 1 && code[0] != '.' && code[n - 1] != '.';
}

void confirmation_validate(json_t *body, json_t *errors)
{
    static const char *const known[] = {"step"};
    json_t *step = json_object_get(body, "step");
    unknown_fields(body, "", known, MDV_ARRAY_LEN(known), errors);
    if (!step)
        mdv_http_field_error(errors, "step", "is required");
    else if (!json_is_string(step) || !code_is_valid(json_string_value(step)))
        mdv_http_field_error(errors, "step",
                             "must be a step code such as bereavement.survivor_pension");
}
