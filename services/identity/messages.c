/* Decoding and checking of the messages identity consumes: what a handler
 * does before it touches the database. A message that fails here can never
 * be applied and is a dead letter; what passes holds every field the
 * handlers read. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "identity.h"
#include "mdv/reaction.h"
#include "mdv/validate.h"

#define LINE_MAX_CHARS 100
#define LINES_MAX 3

static int one_of(const char *value, const char *const *allowed, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(value, allowed[i]) == 0)
            return 1;
    return 0;
}

/* Characters, not bytes: the gateway counts what the usager typed. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

const char *identity_person_problem(const identity_person_t *p, char key[MDV_PIVOT_KEY_LEN])
{
    if (!p || p->n_given_names == 0)
        return "person or person.given_names missing";
    /* Every given name: the register stores them all. */
    for (size_t i = 0; i < p->n_given_names; i++)
        if (mdv_validate_name(p->given_names[i]))
            return "person.given_names invalid";
    if (mdv_validate_name(p->family_name) || mdv_validate_sex(p->sex) ||
        mdv_validate_date(p->birth_date) || mdv_validate_cog(p->birth_place))
        return "person identity invalid";
    if (mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                      key) != 0)
        return "person identity cannot be normalised";
    return NULL;
}

/* Text the register stores as JSON and in PostgreSQL: valid UTF-8 with
 * no surrogate and nothing past U+10FFFF, which protobuf-c does not check
 * (jansson does). */
static int storable(const char *s)
{
    json_t *text = json_string(s);
    json_decref(text);
    return text != NULL;
}

static const char *lines_problem(const identity_address_t *a)
{
    if (a->n_lines == 0 || a->n_lines > LINES_MAX)
        return "address.lines must hold 1 to 3 lines";
    for (size_t i = 0; i < a->n_lines; i++)
        if (!*a->lines[i] || utf8_chars(a->lines[i]) > LINE_MAX_CHARS)
            return "address.lines: a line is empty or too long";
    for (size_t i = 0; i < a->n_lines; i++)
        if (!storable(a->lines[i]))
            return "address.lines: a line is not valid UTF-8";
    if (!storable(a->city) || !storable(a->postal_code))
        return "address.city or address.postal_code is not valid UTF-8";
    return NULL;
}

const char *identity_address_france_problem(const identity_address_t *a)
{
    return mdv_reaction_address_problem(a); /* every reader of an address in France checks it so */
}

const char *identity_address_abroad_problem(const identity_address_t *a)
{
    if (!a)
        return "address missing";
    const char *problem = lines_problem(a);
    if (problem)
        return problem;
    if (mdv_validate_cog(a->country_code) || strncmp(a->country_code, "99", 2) != 0 ||
        strcmp(a->country_code, "99100") == 0)
        return "address.country_code is not a country abroad";
    if (*a->commune_code)
        return "address.commune_code set abroad";
    if (!*a->city)
        return "address.city missing";
    return NULL;
}

static const char *check_address_change(const Mdv__Gateway__V1__AddressChangeDeclaration *b,
                                        char *key)
{
    const char *problem = identity_person_problem(b->person, key);
    if (!problem)
        problem = identity_address_france_problem(b->address);
    if (!problem && mdv_validate_date(b->effective_date))
        problem = "effective_date is not a date";
    return problem;
}

static const char *check_name_change(const Mdv__Gateway__V1__NameChangeDeclaration *b, char *key)
{
    static const char *const types[] = {"usage", "birth"};
    const char *problem = identity_person_problem(b->person, key);
    if (problem)
        return problem;
    if (!one_of(b->name_type, types, MDV_ARRAY_LEN(types)))
        return "name_type unknown";
    /* A nom de naissance becomes the matching key: it must fold. */
    if (mdv_validate_name(b->new_family_name) || mdv_pivot_name_problem(b->new_family_name))
        return "new_family_name invalid";
    if (mdv_validate_date(b->effective_date))
        return "effective_date is not a date";
    return NULL;
}

static const char *check_document(const Mdv__Gateway__V1__IdentityDocumentDeclaration *b, char *key)
{
    static const char *const types[] = {"cni", "passport"};
    static const char *const reasons[] = {"first", "renewal", "loss", "theft"};
    const char *problem = identity_person_problem(b->person, key);
    if (problem)
        return problem;
    if (!one_of(b->document_type, types, MDV_ARRAY_LEN(types)))
        return "document_type unknown";
    if (!one_of(b->reason, reasons, MDV_ARRAY_LEN(reasons)))
        return "reason unknown";
    return NULL;
}

/* NULL when d is a valid declaration of one of identity's kinds (the body
 * is the kind's). */
static const char *check_declaration(const identity_declaration_t *d)
{
    char key[MDV_PIVOT_KEY_LEN];
    if (!mdv_uuid_valid(d->journey_id))
        return "journey_id is not a UUID";
    if (!*d->usager_id)
        return "usager_id missing";
    if (strcmp(d->kind, "address_change") == 0)
        return d->body_case == MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_ADDRESS_CHANGE
                   ? check_address_change(d->address_change, key)
                   : "address_change body missing";
    if (strcmp(d->kind, "name_change") == 0)
        return d->body_case == MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_NAME_CHANGE
                   ? check_name_change(d->name_change, key)
                   : "name_change body missing";
    return d->body_case == MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_IDENTITY_DOCUMENT
               ? check_document(d->identity_document, key)
               : "identity_document body missing";
}

static int owned_kind(const char *kind)
{
    static const char *const kinds[] = {"address_change", "name_change", "identity_document"};
    return one_of(kind, kinds, MDV_ARRAY_LEN(kinds));
}

int identity_declaration_decode(const void *value, size_t len, identity_declaration_t **out,
                                char *err, size_t errlen)
{
    identity_declaration_t *d = mdv__gateway__v1__declaration_submitted__unpack(NULL, len, value);
    const char *problem = NULL;
    int rc = -1;

    *out = NULL;
    if (!d) {
        snprintf(err, errlen, "value is not a DeclarationSubmitted protobuf");
        goto out;
    }
    rc = 0;
    if (!owned_kind(d->kind))
        goto out; /* another service's journey */
    problem = check_declaration(d);
    if (problem) {
        snprintf(err, errlen, "%s declaration invalid: %s", d->kind, problem);
        rc = -1;
        goto out;
    }
    *out = d;
    d = NULL;
out:
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
    return rc;
}

int identity_confirmation_decode(const void *value, size_t len,
                                 Mdv__Gateway__V1__StepConfirmed **out, char *err, size_t errlen)
{
    Mdv__Gateway__V1__StepConfirmed *c = mdv__gateway__v1__step_confirmed__unpack(NULL, len, value);

    *out = NULL;
    if (!c) {
        snprintf(err, errlen, "value is not a StepConfirmed protobuf");
        return -1;
    }
    if (!mdv_uuid_valid(c->journey_id) || !*c->usager_id || !*c->code) {
        snprintf(err, errlen, "StepConfirmed without journey id, usager or code");
        mdv__gateway__v1__step_confirmed__free_unpacked(c, NULL);
        return -1;
    }
    *out = c;
    return 0;
}

int identity_abroad_started_decode(const void *value, size_t len,
                                   Mdv__Abroad__V1__ResidenceAbroadStarted **out, char *err,
                                   size_t errlen)
{
    Mdv__Abroad__V1__ResidenceAbroadStarted *s =
        mdv__abroad__v1__residence_abroad_started__unpack(NULL, len, value);
    char key[MDV_PIVOT_KEY_LEN];
    const char *problem = NULL;

    *out = NULL;
    if (!s) {
        snprintf(err, errlen, "value is not a ResidenceAbroadStarted protobuf");
        return -1;
    }
    if (!mdv_uuid_valid(s->journey_id))
        problem = "journey_id is not a UUID";
    if (!problem)
        problem = identity_person_problem(s->person, key);
    if (!problem)
        problem = identity_address_abroad_problem(s->address);
    if (!problem && mdv_validate_date(s->start_date))
        problem = "start_date is not a date";
    if (problem) {
        snprintf(err, errlen, "ResidenceAbroadStarted invalid: %s", problem);
        mdv__abroad__v1__residence_abroad_started__free_unpacked(s, NULL);
        return -1;
    }
    *out = s;
    return 0;
}

int identity_abroad_ended_decode(const void *value, size_t len,
                                 Mdv__Abroad__V1__ResidenceAbroadEnded **out, char *err,
                                 size_t errlen)
{
    Mdv__Abroad__V1__ResidenceAbroadEnded *e =
        mdv__abroad__v1__residence_abroad_ended__unpack(NULL, len, value);
    char key[MDV_PIVOT_KEY_LEN];
    const char *problem = NULL;

    *out = NULL;
    if (!e) {
        snprintf(err, errlen, "value is not a ResidenceAbroadEnded protobuf");
        return -1;
    }
    if (!mdv_uuid_valid(e->journey_id))
        problem = "journey_id is not a UUID";
    if (!problem)
        problem = identity_person_problem(e->person, key);
    if (!problem)
        problem = identity_address_france_problem(e->address);
    if (!problem && mdv_validate_date(e->end_date))
        problem = "end_date is not a date";
    if (problem) {
        snprintf(err, errlen, "ResidenceAbroadEnded invalid: %s", problem);
        mdv__abroad__v1__residence_abroad_ended__free_unpacked(e, NULL);
        return -1;
    }
    *out = e;
    return 0;
}
