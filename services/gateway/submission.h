/* The DeclarationSubmitted of an accepted body, for each kind: what the
 * gateway publishes on mdv.gateway.declarations.v1 for the kind's owner. */
#ifndef GATEWAY_SUBMISSION_H
#define GATEWAY_SUBMISSION_H

#include <jansson.h>

#include "mdv/gateway/v1/declarations.pb-c.h"

#define SUBMISSION_MAX_GIVEN_NAMES 10
#define SUBMISSION_MAX_LINES 3
#define SUBMISSION_MAX_WORK_ITEMS 10
#define SUBMISSION_MAX_PARENTS 2
#define SUBMISSION_MAX_RECIPIENTS 16

/* Everything one message is made of, without allocation: the caller keeps
 * it (and the body its strings point into) until the message is packed. */
struct submission {
    Mdv__Gateway__V1__DeclarationSubmitted message;
    Mdv__Gateway__V1__BereavementDeclaration bereavement;
    Mdv__Gateway__V1__AddressChangeDeclaration address_change;
    Mdv__Gateway__V1__NameChangeDeclaration name_change;
    Mdv__Gateway__V1__IdentityDocumentDeclaration identity_document;
    Mdv__Gateway__V1__DepartureAbroadDeclaration departure_abroad;
    Mdv__Gateway__V1__ReturnToFranceDeclaration return_to_france;
    Mdv__Gateway__V1__RenovationGrantDeclaration renovation_grant;
    Mdv__Gateway__V1__RenovationWorkItem work_items[SUBMISSION_MAX_WORK_ITEMS];
    Mdv__Gateway__V1__RenovationWorkItem *work_item_list[SUBMISSION_MAX_WORK_ITEMS];
    Mdv__Gateway__V1__StudentGrantDeclaration student_grant;
    Mdv__Journey__V1__PivotIdentity person;
    Mdv__Journey__V1__Address address;
    char *given_names[SUBMISSION_MAX_GIVEN_NAMES];
    char *lines[SUBMISSION_MAX_LINES];
    /* The surviving spouse who declares a death (bereavement). */
    Mdv__Journey__V1__PivotIdentity declarant;
    char *declarant_given_names[SUBMISSION_MAX_GIVEN_NAMES];
    /* A student's parents (student_grant). */
    Mdv__Journey__V1__PivotIdentity parents[SUBMISSION_MAX_PARENTS];
    Mdv__Journey__V1__PivotIdentity *parent_list[SUBMISSION_MAX_PARENTS];
    char *parent_given_names[SUBMISSION_MAX_PARENTS][SUBMISSION_MAX_GIVEN_NAMES];
    char *recipients[SUBMISSION_MAX_RECIPIENTS]; /* the optional recipients chosen */
};

/* Fills s from a body declaration_validate accepted. The strings point
 * into body, the arguments and the COG tables (a city the usager left out
 * is the commune's name). */
void submission_build(struct submission *s, json_t *body, const char *journey_id,
                      const char *usager, const char *submitted_at);

#endif
