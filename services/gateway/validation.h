/* The pieces every kind's body check is made of (validation.c), the
 * addresses (address.c) and each moment de vie's kinds
 * (validation_identity.c, validation_abroad.c). Each reports its problems
 * into errors, naming the field, and never stops at the first. */
#ifndef GATEWAY_VALIDATION_H
#define GATEWAY_VALIDATION_H

#include <jansson.h>
#include <stddef.h>

/* Field messages that are not the format's: the contract lists each in its
 * x-refusals (services/gateway/openapi.yaml), word for word. */
#define MSG_IN_FUTURE "must not be in the future"
#define MSG_BEFORE_BIRTH "must not be before the birth date"
#define MSG_YEAR_PAST "must not be more than a year in the past"
#define MSG_YEAR_AHEAD "must not be more than a year ahead"

int in_list(const char *value, const char *const *list, size_t n);
/* The string at key, or NULL after reporting it missing (when required)
 * or not a string. field names it in errors. */
const char *string_field(json_t *obj, const char *key, const char *field, int required,
                         json_t *errors);
/* Reports validator's problem with value, if any (value NULL: nothing). */
void check(json_t *errors, const char *field, const char *value,
           const char *(*validator)(const char *));
/* Reports every key of obj not in known, as prefix + key. */
void unknown_fields(json_t *obj, const char *prefix, const char *const *known, size_t n,
                    json_t *errors);
/* The object at key, or NULL after reporting it missing or not an object. */
json_t *object_field(json_t *body, const char *key, json_t *errors);
/* The same, field naming it in errors (an object inside another). */
json_t *object_field_named(json_t *obj, const char *key, const char *field, json_t *errors);
/* Reports a value of key that is not one of values (listed in the message). */
void enum_field(json_t *body, const char *key, const char *const *values, size_t n, json_t *errors);
/* The boolean at key: 0 or 1, default when absent and not required, -1
 * after reporting it. */
int bool_field(json_t *body, const char *key, int required, int fallback, json_t *errors);

/* The pivot identity at key ("deceased", "person"). Returns its birth
 * date when that is valid, for the checks of later dates, else NULL. */
const char *person_check(json_t *body, const char *key, json_t *errors);
/* The same for a pivot identity p that is not at a key of its own (an
 * entry of a list), its fields named "key.family_name"... */
const char *person_object_check(json_t *p, const char *key, json_t *errors);
/* A date at key that must be valid; NULL (reported) when it is not. */
const char *date_field(json_t *body, const char *key, json_t *errors);
/* date (valid) is not in the future / not before birth (NULL: unknown). */
void date_not_future(const char *field, const char *date, json_t *errors);
void date_not_before(const char *field, const char *date, const char *birth, json_t *errors);
/* date (valid) is no more than a year before nor after today. */
void date_within_a_year(const char *field, const char *date, json_t *errors);
/* Text the usager typed: 1 to max characters, not only spaces, no control
 * character. Returns the problem or NULL. */
const char *text_problem(const char *text, size_t max);

/* An address in France (commune, its postcode) or abroad (a country of the
 * COG, not France), at key of body. */
void address_france_check(json_t *body, const char *key, json_t *errors);
/* The same at key of obj, its fields named "at.lines"... (an address
 * inside an object of the body: at is its path). */
void address_france_at(json_t *obj, const char *key, const char *at, json_t *errors);
void address_abroad_check(json_t *body, const char *key, json_t *errors);
/* A commune code at obj's name, field naming it: a commune an address can
 * name (INSEE COG). Returns 0 when it is one, after reporting it else. */
int commune_code_check(json_t *obj, const char *name, const char *field, json_t *errors);

void bereavement_check(json_t *body, json_t *errors);
void address_change_check(json_t *body, json_t *errors);
void name_change_check(json_t *body, json_t *errors);
void identity_document_check(json_t *body, json_t *errors);
void departure_abroad_check(json_t *body, json_t *errors);
void return_to_france_check(json_t *body, json_t *errors);
/* validation_renovation.c */
void renovation_grant_check(json_t *body, json_t *errors);
void student_grant_check(json_t *body, json_t *errors);

/* The academic years of the student service's barème (validation_student.c):
 * read from its rules file at start, the one copy of the data. Says what
 * is wrong on stderr and returns -1. */
int student_years_load(const char *path);

#endif
