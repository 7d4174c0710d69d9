/* The body of POST /internal/v1/address-lookups, without a database (so
 * that unit tests reach it): a pivot identity, checked field by field as
 * the gateway checks a declared person, and its matching key, the same
 * key identity keeps beside each person (shared/pivot.c). */
#include <stdio.h>
#include <string.h>

#include "identity.h"
#include "mdv/http.h"
#include "mdv/validate.h"

static const char *const members[] = {"family_name", "given_names", "sex", "birth_date",
                                      "birth_place"};

/* The string at name, or NULL with the field's error. */
static const char *string_member(json_t *body, const char *name, const char *(*valid)(const char *),
                                 json_t *errors)
{
    json_t *v = json_object_get(body, name);
    const char *why = NULL;
    if (!v)
        why = "is required";
    else if (!json_is_string(v))
        why = "must be a string";
    else
        why = valid(json_string_value(v));
    if (why)
        mdv_http_field_error(errors, name, why);
    return why ? NULL : json_string_value(v);
}

/* The first given name, each of them checked as a name. */
static const char *first_given_name(json_t *body, json_t *errors)
{
    json_t *names = json_object_get(body, "given_names");
    size_t i;
    json_t *v;
    if (!json_is_array(names) || json_array_size(names) == 0 || json_array_size(names) > 10) {
        mdv_http_field_error(errors, "given_names", "must be a list of 1 to 10 names");
        return NULL;
    }
    json_array_foreach(names, i, v)
    {
        const char *why =
            json_is_string(v) ? mdv_validate_name(json_string_value(v)) : "must be a string";
        if (why) {
            char field[48];
            snprintf(field, sizeof(field), "given_names[%zu]", i);
            mdv_http_field_error(errors, field, why);
            return NULL;
        }
    }
    return json_string_value(json_array_get(names, 0));
}

static void unknown_members(json_t *body, json_t *errors)
{
    const char *name;
    json_t *value;
    json_object_foreach(body, name, value)
    {
        int known = 0;
        for (size_t i = 0; i < MDV_ARRAY_LEN(members); i++)
            known |= strcmp(name, members[i]) == 0;
        if (!known)
            mdv_http_field_error(errors, name, "is not a member of a pivot identity");
    }
}

int identity_lookup_key(json_t *body, json_t *errors, char key[MDV_PIVOT_KEY_LEN])
{
    size_t before = json_array_size(errors);
    unknown_members(body, errors);
    const char *family = string_member(body, "family_name", mdv_validate_name, errors);
    const char *given = first_given_name(body, errors);
    const char *sex = string_member(body, "sex", mdv_validate_sex, errors);
    const char *birth_date = string_member(body, "birth_date", mdv_validate_date, errors);
    const char *birth_place = string_member(body, "birth_place", mdv_validate_cog, errors);
    if (json_array_size(errors) > before)
        return -1;
    if (mdv_pivot_key(family, given, sex, birth_date, birth_place, key) != 0) {
        mdv_http_field_error(errors, "family_name", "cannot be part of a matching key");
        return -1;
    }
    return 0;
}
