/* Decoding and checking of the declarations and confirmations abroad
 * consumes (identity's events are checked by identity's contract,
 * services/identity/contract.c): what a handler does before it touches the
 * database. A message that fails here can never be applied and is a dead
 * letter. Text that reaches the registre (address lines, cities) is checked
 * as storable UTF-8 here: the database would refuse it later, after the
 * work of the message had begun. */
#include "abroad.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/reaction.h"
#include "mdv/validate.h"

/* The person and the address, as every reader of the journey contracts
 * checks them (mdv/reaction.h): every given name (the registre keeps them
 * all in a text[] column), lines and city storable as JSON and text. */
static const char *check_person(const abroad_person_t *p)
{
    char key[MDV_PIVOT_KEY_LEN];
    return mdv_reaction_person_problem(p, key);
}

static const char *check_departure(const Mdv__Gateway__V1__DepartureAbroadDeclaration *b)
{
    const char *problem = NULL;
    if (!b)
        return "departure_abroad body missing";
    if ((problem = check_person(b->person)) ||
        (problem = mdv_reaction_foreign_address_problem(b->address)))
        return problem;
    return mdv_validate_date(b->departure_date) ? "departure_date is not a date" : NULL;
}

static const char *check_return(const Mdv__Gateway__V1__ReturnToFranceDeclaration *b)
{
    const char *problem = NULL;
    if (!b)
        return "return_to_france body missing";
    if ((problem = check_person(b->person)) || (problem = mdv_reaction_address_problem(b->address)))
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
