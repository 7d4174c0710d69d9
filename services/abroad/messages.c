/* Decoding and checking of the messages abroad consumes: what a handler
 * does before it touches the database. A message that fails here can never
 * be applied and is a dead letter. Text that reaches the registre (address
 * lines, cities) is checked as UTF-8 here: the database would refuse it
 * later, after the work of the message had begun. */
#include "abroad.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "mdv/validate.h"

#define MAX_LINES 3
#define MAX_LINE_CHARS 100

/* Valid UTF-8, no control character, at most max characters; empty
 * only when allowed. */
static int text_ok(const char *s, size_t max, int may_be_empty)
{
    mbstate_t state;
    size_t count = 0, left = s ? strlen(s) : 0;
    wchar_t c;

    if (!s || (left == 0 && !may_be_empty))
        return 0;
    memset(&state, 0, sizeof(state));
    while (left > 0) {
        size_t n = mbrtowc(&c, s, left, &state);
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0 || iswcntrl((wint_t)c) || ++count > max)
            return 0;
        /* glibc decodes the old 5- and 6-byte forms and surrogates, which
         * are no Unicode text: JSON and PostgreSQL refuse them. */
        if ((unsigned long)c > 0x10FFFF ||
            ((unsigned long)c >= 0xD800 && (unsigned long)c <= 0xDFFF))
            return 0;
        s += n;
        left -= n;
    }
    return 1;
}

static const char *check_person(const abroad_person_t *p)
{
    if (!p || p->n_given_names == 0 || mdv_validate_name(p->family_name) ||
        mdv_validate_sex(p->sex) || mdv_validate_date(p->birth_date) ||
        mdv_validate_cog(p->birth_place))
        return "person identity invalid";
    /* Every name: the registre keeps them all in a text[] column. */
    for (size_t i = 0; i < p->n_given_names; i++)
        if (mdv_validate_name(p->given_names[i]))
            return "person identity invalid";
    char key[MDV_PIVOT_KEY_LEN];
    if (abroad_person_key(p, key) != 0)
        return "person identity cannot be normalised";
    return NULL;
}

static const char *check_lines(const abroad_address_t *a)
{
    if (a->n_lines == 0 || a->n_lines > MAX_LINES)
        return "address lines: 1 to 3 wanted";
    for (size_t i = 0; i < a->n_lines; i++)
        if (!text_ok(a->lines[i], MAX_LINE_CHARS, 0))
            return "address line invalid";
    return NULL;
}

static const char *check_address_france(const abroad_address_t *a)
{
    if (!a)
        return "address missing";
    const char *problem = check_lines(a);
    if (problem)
        return problem;
    if (mdv_validate_cog(a->commune_code) || strncmp(a->commune_code, "99", 2) == 0)
        return "address commune_code is not a commune";
    if (strlen(a->postal_code) != 5 || strspn(a->postal_code, "0123456789") != 5)
        return "address postal_code invalid";
    if (*a->country_code && strcmp(a->country_code, "99100") != 0)
        return "address in France has a country_code";
    if (!text_ok(a->city, MAX_LINE_CHARS, 1))
        return "address city invalid";
    return NULL;
}

static const char *check_address_abroad(const abroad_address_t *a)
{
    if (!a)
        return "address missing";
    const char *problem = check_lines(a);
    if (problem)
        return problem;
    if (mdv_validate_cog(a->country_code) || strncmp(a->country_code, "99", 2) != 0 ||
        strcmp(a->country_code, "99100") == 0)
        return "address country_code is not a country abroad";
    if (!text_ok(a->city, MAX_LINE_CHARS, 0) || !text_ok(a->postal_code, 20, 1))
        return "address city or postal_code invalid";
    return NULL;
}

static const char *check_departure(const Mdv__Gateway__V1__DepartureAbroadDeclaration *b)
{
    const char *problem = NULL;
    if (!b)
        return "departure_abroad body missing";
    if ((problem = check_person(b->person)) || (problem = check_address_abroad(b->address)))
        return problem;
    return mdv_validate_date(b->departure_date) ? "departure_date is not a date" : NULL;
}

static const char *check_return(const Mdv__Gateway__V1__ReturnToFranceDeclaration *b)
{
    const char *problem = NULL;
    if (!b)
        return "return_to_france body missing";
    if ((problem = check_person(b->person)) || (problem = check_address_france(b->address)))
        return problem;
    return mdv_validate_date(b->return_date) ? "return_date is not a date" : NULL;
}

static const char *check_declaration(const abroad_declaration_t *d)
{
    if (!mdv_uuid_valid(d->journey_id))
        return "journey_id is not a UUID";
    if (strcmp(d->kind, "departure_abroad") == 0)
        return d->body_case == MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_DEPARTURE_ABROAD
                   ? check_departure(d->departure_abroad)
                   : "departure_abroad body missing";
    return d->body_case == MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_RETURN_TO_FRANCE
               ? check_return(d->return_to_france)
               : "return_to_france body missing";
}

int abroad_declaration_decode(const void *value, size_t len, abroad_declaration_t **out, char *err,
                              size_t errlen)
{
    abroad_declaration_t *d = mdv__gateway__v1__declaration_submitted__unpack(NULL, len, value);
    const char *problem = NULL;
    int rc = -1;

    *out = NULL;
    if (!d) {
        snprintf(err, errlen, "value is not a DeclarationSubmitted protobuf");
        goto out;
    }
    rc = 0;
    if (strcmp(d->kind, "departure_abroad") != 0 && strcmp(d->kind, "return_to_france") != 0)
        goto out; /* another service's journey */
    problem = check_declaration(d);
    if (problem) {
        snprintf(err, errlen, "declaration invalid: %s", problem);
        rc = -1;
        goto out;
    }
    *out = d;
    d = NULL;
out:
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
    return rc;
}

int abroad_confirmation_decode(const void *value, size_t len, Mdv__Gateway__V1__StepConfirmed **out,
                               char *err, size_t errlen)
{
    Mdv__Gateway__V1__StepConfirmed *c = mdv__gateway__v1__step_confirmed__unpack(NULL, len, value);

    *out = NULL;
    if (!c) {
        snprintf(err, errlen, "value is not a StepConfirmed protobuf");
        return -1;
    }
    if (!mdv_uuid_valid(c->journey_id) || !*c->usager_id || !*c->code) {
        snprintf(err, errlen, "StepConfirmed without journey id, usager or step");
        mdv__gateway__v1__step_confirmed__free_unpacked(c, NULL);
        return -1;
    }
    *out = c;
    return 0;
}

int abroad_address_changed_decode(const void *value, size_t len,
                                  Mdv__Identity__V1__AddressChanged **out, char *err, size_t errlen)
{
    Mdv__Identity__V1__AddressChanged *a =
        mdv__identity__v1__address_changed__unpack(NULL, len, value);
    const char *problem = NULL;

    *out = NULL;
    if (!a) {
        snprintf(err, errlen, "value is not an AddressChanged protobuf");
        return -1;
    }
    if (!mdv_uuid_valid(a->journey_id))
        problem = "journey_id is not a UUID";
    else if (!(problem = check_person(a->person)) && !(problem = check_address_france(a->address)))
        problem = mdv_validate_date(a->effective_date) ? "effective_date is not a date" : NULL;
    if (problem) {
        snprintf(err, errlen, "AddressChanged invalid: %s", problem);
        mdv__identity__v1__address_changed__free_unpacked(a, NULL);
        return -1;
    }
    *out = a;
    return 0;
}

/* previous and current name one person: only the family name (a nom de
 * naissance) may differ. */
static const char *check_name_change(const Mdv__Identity__V1__PersonNameChanged *n)
{
    const char *problem = NULL;
    if (!mdv_uuid_valid(n->journey_id))
        return "journey_id is not a UUID";
    if ((problem = check_person(n->previous)) || (problem = check_person(n->current)))
        return problem;
    if (strcmp(n->previous->sex, n->current->sex) != 0 ||
        strcmp(n->previous->birth_date, n->current->birth_date) != 0 ||
        strcmp(n->previous->birth_place, n->current->birth_place) != 0)
        return "previous and current are not the same person";
    if (!n->birth_name_changed && strcmp(n->previous->family_name, n->current->family_name) != 0)
        return "family name changed but birth_name_changed is false";
    if (*n->usage_name && mdv_validate_name(n->usage_name))
        return "usage_name invalid";
    return mdv_validate_date(n->effective_date) ? "effective_date is not a date" : NULL;
}

int abroad_name_changed_decode(const void *value, size_t len,
                               Mdv__Identity__V1__PersonNameChanged **out, char *err, size_t errlen)
{
    Mdv__Identity__V1__PersonNameChanged *n =
        mdv__identity__v1__person_name_changed__unpack(NULL, len, value);
    const char *problem = NULL;

    *out = NULL;
    if (!n) {
        snprintf(err, errlen, "value is not a PersonNameChanged protobuf");
        return -1;
    }
    problem = check_name_change(n);
    if (problem) {
        snprintf(err, errlen, "PersonNameChanged invalid: %s", problem);
        mdv__identity__v1__person_name_changed__free_unpacked(n, NULL);
        return -1;
    }
    *out = n;
    return 0;
}

int abroad_person_key(const abroad_person_t *p, char key[MDV_PIVOT_KEY_LEN])
{
    return mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                         key);
}

char *abroad_lines_json(const abroad_address_t *a)
{
    json_t *lines = json_array();
    for (size_t i = 0; i < a->n_lines; i++)
        json_array_append_new(lines, json_string(a->lines[i]));
    char *text = json_dumps(lines, JSON_COMPACT);
    json_decref(lines);
    if (!text)
        abort(); /* allocation failure, as mdv_xmalloc does */
    return text;
}
