/* Validation of request bodies (declarations, confirmations). Every problem
 * is reported, each naming its field, so a usager (or a partner's
 * engineer) fixes them in one go. This file holds the dispatch on kind, the
 * pieces every kind uses (the pivot identity, dates, text), the
 * bereavement declaration and the confirmation; the other kinds are in
 * validation_identity.c and validation_abroad.c. */
#include "validation.h"

#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "mdv/validate.h"
#include "recipients.h"

#define MAX_GIVEN_NAMES 10
#define MAX_CODE_LEN 100

struct kind {
    const char *name;
    void (*check)(json_t *body, json_t *errors);
};

static const struct kind kinds[] = {
    {"bereavement", bereavement_check},           {"address_change", address_change_check},
    {"name_change", name_change_check},           {"identity_document", identity_document_check},
    {"departure_abroad", departure_abroad_check}, {"return_to_france", return_to_france_check},
    {"renovation_grant", renovation_grant_check}, {"student_grant", student_grant_check},
};

static const char *const relationships[] = {"spouse", "child", "parent", "sibling", "other"};

int in_list(const char *value, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(value, list[i]) == 0)
            return 1;
    return 0;
}

const char *string_field(json_t *obj, const char *key, const char *field, int required,
                         json_t *errors)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            mdv_http_field_error(errors, field, "is required");
        return NULL;
    }
    if (!json_is_string(v)) {
        mdv_http_field_error(errors, field, "must be a string");
        return NULL;
    }
    return json_string_value(v);
}

void check(json_t *errors, const char *field, const char *value,
           const char *(*validator)(const char *))
{
    const char *problem = value ? validator(value) : NULL;
    if (problem)
        mdv_http_field_error(errors, field, problem);
}

void unknown_fields(json_t *obj, const char *prefix, const char *const *known, size_t n,
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

json_t *object_field(json_t *body, const char *key, json_t *errors)
{
    return object_field_named(body, key, key, errors);
}

json_t *object_field_named(json_t *obj, const char *key, const char *field, json_t *errors)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_object(v))
        return v;
    mdv_http_field_error(errors, field, v ? "must be an object" : "is required");
    return NULL;
}

void enum_field(json_t *body, const char *key, const char *const *values, size_t n, json_t *errors)
{
    const char *value = string_field(body, key, key, 1, errors);
    if (!value || in_list(value, values, n))
        return;
    char message[160] = "must be one of ";
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(message);
        snprintf(message + len, sizeof(message) - len, "%s%s", i ? ", " : "", values[i]);
    }
    mdv_http_field_error(errors, key, message);
}

int bool_field(json_t *body, const char *key, int required, int fallback, json_t *errors)
{
    json_t *v = json_object_get(body, key);
    if (!v && !required)
        return fallback;
    if (json_is_boolean(v))
        return json_is_true(v);
    mdv_http_field_error(errors, key, v ? "must be true or false" : "is required");
    return -1;
}

static void given_names(json_t *person, const char *key, json_t *errors)
{
    char field[64];
    json_t *names = json_object_get(person, "given_names");
    size_t i;
    json_t *name;

    snprintf(field, sizeof(field), "%s.given_names", key);
    if (!names) {
        mdv_http_field_error(errors, field, "is required");
        return;
    }
    if (!json_is_array(names) || json_array_size(names) == 0 ||
        json_array_size(names) > MAX_GIVEN_NAMES) {
        mdv_http_field_error(errors, field, "must be a list of 1 to 10 names");
        return;
    }
    json_array_foreach(names, i, name)
    {
        snprintf(field, sizeof(field), "%s.given_names[%zu]", key, i);
        if (!json_is_string(name))
            mdv_http_field_error(errors, field, "must be a string");
        else
            check(errors, field, json_string_value(name), mdv_validate_name);
    }
}

/* The string of person at name, checked by validator, its field "key.name". */
static const char *person_string(json_t *person, const char *key, const char *name,
                                 const char *(*validator)(const char *), json_t *errors)
{
    char field[64];
    snprintf(field, sizeof(field), "%s.%s", key, name);
    const char *value = string_field(person, name, field, 1, errors);
    check(errors, field, value, validator);
    return value && !validator(value) ? value : NULL;
}

const char *person_check(json_t *body, const char *key, json_t *errors)
{
    json_t *p = object_field(body, key, errors);
    return p ? person_object_check(p, key, errors) : NULL;
}

const char *person_object_check(json_t *p, const char *key, json_t *errors)
{
    static const char *const known[] = {"family_name", "given_names", "sex", "birth_date",
                                        "birth_place"};
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "%s.", key);
    unknown_fields(p, prefix, known, MDV_ARRAY_LEN(known), errors);
    person_string(p, key, "family_name", mdv_validate_name, errors);
    given_names(p, key, errors);
    person_string(p, key, "sex", mdv_validate_sex, errors);
    /* A birth place is any code the COG ever had, a commune merged since
     * or a country that no longer exists: only its form is checked. */
    person_string(p, key, "birth_place", mdv_validate_cog, errors);
    return person_string(p, key, "birth_date", mdv_validate_date, errors);
}

const char *date_field(json_t *body, const char *key, json_t *errors)
{
    const char *date = string_field(body, key, key, 1, errors);
    check(errors, key, date, mdv_validate_date);
    return date && !mdv_validate_date(date) ? date : NULL;
}

void date_not_future(const char *field, const char *date, json_t *errors)
{
    char today[11];
    mdv_date_today(today);
    if (date && mdv_date_compare(date, today) > 0)
        mdv_http_field_error(errors, field, MSG_IN_FUTURE);
}

void date_not_before(const char *field, const char *date, const char *birth, json_t *errors)
{
    if (date && birth && mdv_date_compare(date, birth) < 0)
        mdv_http_field_error(errors, field, MSG_BEFORE_BIRTH);
}

/* today moved by years, as YYYY-MM-DD text: 29 February gives a date that
 * does not exist, which still sorts where it should. */
static void years_from_today(int years, char out[24])
{
    char today[11];
    int year = 0, month = 1, day = 1;
    mdv_date_today(today);
    sscanf(today, "%4d-%2d-%2d", &year, &month, &day);
    snprintf(out, 24, "%04d-%02d-%02d", year + years, month, day);
}

void date_within_a_year(const char *field, const char *date, json_t *errors)
{
    char earliest[24], latest[24];
    if (!date)
        return;
    years_from_today(-1, earliest);
    years_from_today(1, latest);
    if (mdv_date_compare(date, earliest) < 0)
        mdv_http_field_error(errors, field, MSG_YEAR_PAST);
    else if (mdv_date_compare(date, latest) > 0)
        mdv_http_field_error(errors, field, MSG_YEAR_AHEAD);
}

const char *text_problem(const char *text, size_t max)
{
    size_t chars = 0;
    int blank = 1;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return "must not contain control characters";
        if (*p != ' ')
            blank = 0;
        chars += (*p & 0xC0) != 0x80;
    }
    if (chars == 0)
        return "must not be empty";
    if (chars > max)
        return max == 100 ? "must be at most 100 characters" : "is too long";
    return blank ? "must not be blank" : NULL;
}

/* The declarant: a pivot identity, and where they live in France when
 * they say (an address as an address change's, named declarant.address). */
static void declarant_check(json_t *body, json_t *errors)
{
    json_t *declarant = object_field(body, "declarant", errors);
    if (!declarant)
        return;
    json_t *identity = json_copy(declarant);
    json_object_del(identity, "address");
    person_object_check(identity, "declarant", errors);
    json_decref(identity);
    if (json_object_get(declarant, "address"))
        address_france_at(declarant, "address", "declarant.address", errors);
}

void bereavement_check(json_t *body, json_t *errors)
{
    static const char *const known[] = {"kind",       "recipients",  "deceased",
                                        "death_date", "death_place", "declarant_relationship",
                                        "declarant"};
    unknown_fields(body, "", known, MDV_ARRAY_LEN(known), errors);
    const char *birth = person_check(body, "deceased", errors);
    if (json_object_get(body, "declarant"))
        declarant_check(body, errors);
    check(errors, "death_place", string_field(body, "death_place", "death_place", 1, errors),
          mdv_validate_cog);
    const char *death = date_field(body, "death_date", errors);
    date_not_future("death_date", death, errors);
    char today[11];
    mdv_date_today(today);
    /* One problem per date: a future death is not also "before birth". */
    if (death && mdv_date_compare(death, today) <= 0)
        date_not_before("death_date", death, birth, errors);
    enum_field(body, "declarant_relationship", relationships, MDV_ARRAY_LEN(relationships), errors);
}

int declaration_kind_known(const char *kind)
{
    for (size_t i = 0; i < MDV_ARRAY_LEN(kinds); i++)
        if (strcmp(kind, kinds[i].name) == 0)
            return 1;
    return 0;
}

void declaration_validate(json_t *body, json_t *errors)
{
    const char *kind = string_field(body, "kind", "kind", 1, errors);
    if (!kind)
        return;
    for (size_t i = 0; i < MDV_ARRAY_LEN(kinds); i++) {
        if (strcmp(kind, kinds[i].name) == 0) {
            kinds[i].check(body, errors);
            recipients_check(body, kind, errors);
            return;
        }
    }
    /* The kinds listed from the table, so that a new kind is one line. */
    char message[512] = "must be one of ";
    for (size_t i = 0; i < MDV_ARRAY_LEN(kinds); i++) {
        size_t len = strlen(message);
        snprintf(message + len, sizeof(message) - len, "%s%s", i ? ", " : "", kinds[i].name);
    }
    mdv_http_field_error(errors, "kind", message);
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

/* The steps that ask the usager to choose, and what they may answer. */
#define CHOICE_STEP "housing.residence_reviewed"

static void check_choice(json_t *step, json_t *choice, json_t *errors)
{
    static const char *const choices[] = {"withdraw", "keep"};
    if (!choice)
        return; /* a plain confirmation: the step's first choice */
    if (!json_is_string(choice) ||
        !in_list(json_string_value(choice), choices, MDV_ARRAY_LEN(choices)))
        mdv_http_field_error(errors, "choice", "must be withdraw or keep");
    else if (!json_is_string(step) || strcmp(json_string_value(step), CHOICE_STEP) != 0)
        mdv_http_field_error(errors, "choice", "only housing.residence_reviewed offers a choice");
}

void confirmation_validate(json_t *body, json_t *errors)
{
    static const char *const known[] = {"step", "choice"};
    json_t *step = json_object_get(body, "step");
    unknown_fields(body, "", known, MDV_ARRAY_LEN(known), errors);
    if (!step)
        mdv_http_field_error(errors, "step", "is required");
    else if (!json_is_string(step) || !code_is_valid(json_string_value(step)))
        mdv_http_field_error(errors, "step",
                             "must be a step code such as bereavement.survivor_pension");
    check_choice(step, json_object_get(body, "choice"), errors);
}
