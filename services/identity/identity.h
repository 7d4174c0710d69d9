/* identity — ANTS and mairies. The pieces of the service shared by its
 * handlers: the checks of the messages it consumes (no database, so that
 * the fuzz targets reach them), the register of persons and addresses, the
 * plans and country names it loads at start, and one handler per event. */
#ifndef IDENTITY_H
#define IDENTITY_H

#include <libpq-fe.h>
#include <stddef.h>

#include "abroad/contract.h"
#include "gateway/contract.h"
#include "mdv/auth.h"
#include "mdv/journey.h"
#include "mdv/pg.h"
#include "mdv/pivot.h"
#include "mdv/plan.h"
#include "mdv/reaction.h"
#include "mdv/service.h"
#include "mdv/util.h"

typedef Mdv__Gateway__V1__DeclarationSubmitted identity_declaration_t;
typedef Mdv__Journey__V1__PivotIdentity identity_person_t;
typedef Mdv__Journey__V1__Address identity_address_t;

#define IDENTITY_STEP_ADDRESS "identity.address_recorded"
#define IDENTITY_STEP_ADDRESS_ABROAD "identity.address_abroad_recorded"
#define IDENTITY_STEP_NAME "identity.name_recorded"
#define IDENTITY_STEP_PREDEMANDE "identity.predemande_recorded"
#define IDENTITY_STEP_APPOINTMENT "identity.appointment"
#define IDENTITY_STEP_PRODUCED "identity.document_produced"
#define IDENTITY_STEP_RESIDENCE "identity.residence_verified"
#define IDENTITY_STEP_VERIFIED "identity.identity_verified"

/* The owner's answer when the register has no such person. */
#define IDENTITY_DETAIL_UNKNOWN "Aucune personne à ce nom dans le registre de l'ANTS"

/* ---- messages.c: decoding and checking, without a database ---- */

/* Decodes a DeclarationSubmitted value. Returns 0 and gives, in *out, a
 * checked declaration of a kind identity owns (address_change, name_change,
 * identity_document), or 0 with *out NULL for any other kind; on a value
 * that is not a valid declaration writes why into err and returns -1. The
 * caller frees *out with mdv__gateway__v1__declaration_submitted__free_unpacked. */
int identity_declaration_decode(const void *value, size_t len, identity_declaration_t **out,
                                char *err, size_t errlen) MDV_MUSTCHECK;

/* A StepConfirmed is decoded by the gateway's contract
 * (mdv_gateway_confirmation_decode, gateway/contract.h). */

/* The person and address checks are the journey contracts' shared ones
 * (mdv/reaction.h); abroad's events are decoded by abroad's contract
 * (abroad/contract.h). */

/* ---- records.c: the register, in identity's database ---- */

/* The person as the register holds them. */
struct identity_person {
    char person_id[MDV_UUID_LEN];
    char family_name[512];
    char usage_name[512]; /* "" when none */
};

/* Finds the person whose matching key is pivot_key. Returns 1 and fills
 * out, 0 when the register has nobody of that key, -1 on error. */
int identity_person_find(PGconn *conn, const char *pivot_key,
                         struct identity_person *out) MDV_MUSTCHECK;

/* Records a as the person's main address from valid_from (ending the
 * current one there), recorded by journey_id. Returns 0 or -1. */
int identity_address_record(PGconn *conn, const char *person_id, const identity_address_t *a,
                            const char *valid_from, const char *journey_id) MDV_MUSTCHECK;

/* The longest name a detail quotes, in bytes: two fit in a detail. */
#define IDENTITY_NAME_CLIP 97

/* Writes an ISO date the French way, « 1er décembre 2026 ». */
void identity_date_french(const char *iso, char *out, size_t outlen);

/* ---- residence.c: a dwelling against the register, without a database ---- */

/* Writes text folded for comparing addresses: upper-case letters and
 * digits, accents folded as the matching key folds them, every run of
 * other characters one space, none at either end. */
void identity_address_fold(const char *text, char *out, size_t size);
/* 1 when the declared dwelling is the recorded address (its lines joined
 * by any separator, its postcode and commune), compared folded, else 0. */
int identity_address_same(const identity_address_t *dwelling, const char *lines,
                          const char *postal_code, const char *commune_code);

/* ---- lookup_check.c, lookup.c: what the register tells other services ---- */

/* The HTTP routes' context: the services' token checker (NULL when no key
 * is configured: every call is 401) and the handlers' connections. */
struct identity_api {
    struct mdv_auth *auth;
    struct mdv_pg_pool *pool;
};

/* Checks a lookup's body (a pivot identity: family_name, given_names,
 * sex, birth_date, birth_place; nothing else), appending {field, message}
 * to errors, and writes its matching key. Returns 0, or -1 when a field
 * is wrong. */
int identity_lookup_key(json_t *body, json_t *errors, char key[MDV_PIVOT_KEY_LEN]) MDV_MUSTCHECK;

/* POST /internal/v1/address-lookups (ctx: struct identity_api). */
void identity_lookup_post(const struct mdv_http_request *req, struct mdv_http_response *res,
                          void *ctx);

/* ---- countries.c: the COG's countries, loaded at start ---- */

/* Loads rules/countries.tsv; says what is wrong on stderr and returns -1. */
int identity_countries_load(const char *path) MDV_MUSTCHECK;
void identity_countries_free(void);
/* The country's French name, or the code itself when the list has none. */
const char *identity_country_name(const char *code);

/* ---- main.c: the plans, loaded at start ---- */

/* The plan of one of identity's kinds (checked at start: never NULL). */
const struct mdv_plan *identity_plan(const char *kind);

/* ---- one file per event ---- */

/* The reports of the steps a plan gives to other services, when identity
 * publishes nothing for them to act on: not_applicable with detail. */
int identity_report_others(struct mdv_msg *msg, const char *kind, const char *journey_id,
                           const char *detail) MDV_MUSTCHECK;

/* Records the address of the person named by person as their main address
 * from date, under step_code, once for the journey (received, then done;
 * unknown is the status when the register has nobody of that name:
 * MDV_STEP_FAILED for the owner, NOT_APPLICABLE for a reacting step); then
 * publishes AddressChanged for the other administrations, with the
 * optional recipients the usager chose (n_recipients of them, none when
 * the address came from another event than a declaration). Sets *found.
 * Returns 0, or -1 on a database failure. */
int identity_address_change(struct mdv_msg *msg, const char *journey_id, const char *step_code,
                            const identity_person_t *person, const identity_address_t *address,
                            const char *date, mdv_step_status unknown, char **recipients,
                            size_t n_recipients, int *found) MDV_MUSTCHECK;

enum mdv_outcome identity_on_address_change(struct mdv_msg *msg, const identity_declaration_t *d);
enum mdv_outcome identity_on_name_change(struct mdv_msg *msg, const identity_declaration_t *d);
enum mdv_outcome identity_on_document(struct mdv_msg *msg, const identity_declaration_t *d);
enum mdv_outcome identity_on_appointment_confirmed(struct mdv_msg *msg,
                                                   const Mdv__Gateway__V1__StepConfirmed *c);
enum mdv_outcome identity_on_abroad_started(struct mdv_msg *msg);
enum mdv_outcome identity_on_abroad_ended(struct mdv_msg *msg);
enum mdv_outcome identity_on_death(struct mdv_msg *msg);
/* renovation.c: housing's RenovationGrantRequested, and the usager's
 * confirmation that they sent a proof of residence. */
enum mdv_outcome identity_on_renovation_requested(struct mdv_msg *msg);
enum mdv_outcome identity_on_residence_confirmed(struct mdv_msg *msg,
                                                 const Mdv__Gateway__V1__StepConfirmed *c);
/* student_grant.c: the identity check of a dossier social étudiant, and
 * the usager's confirmation that they sent a title. */
enum mdv_outcome identity_on_student_grant(struct mdv_msg *msg);
enum mdv_outcome identity_on_id_sent(struct mdv_msg *msg, const Mdv__Gateway__V1__StepConfirmed *c);

#endif
