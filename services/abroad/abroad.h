/* abroad — MEAE and consulats: inscriptions au Registre des Français
 * établis hors de France. What the service's files share: the checks of
 * the messages it consumes (no database, so the fuzz targets reach them),
 * its rules (plans, consular posts), French dates, and one handler per
 * event, each in its own file. */
#ifndef ABROAD_H
#define ABROAD_H

#include <stddef.h>

#include "gateway/contract.h"
#include "identity/contract.h"
#include "mdv/journey/v1/journey.pb-c.h"
#include "mdv/pivot.h"
#include "mdv/service.h"
#include "mdv/util.h"

typedef Mdv__Gateway__V1__DeclarationSubmitted abroad_declaration_t;
typedef Mdv__Journey__V1__PivotIdentity abroad_person_t;
typedef Mdv__Journey__V1__Address abroad_address_t;

#define ABROAD_STEP_OPENED "abroad.registration_opened"
#define ABROAD_STEP_CLOSED "abroad.registration_closed"
#define ABROAD_STEP_REVIEWED "abroad.registration_reviewed"
#define ABROAD_STEP_NAME "abroad.name_updated"
#define ABROAD_NO_OPEN_REGISTRATION "Aucune inscription en cours au registre"
#define ABROAD_ALREADY_TAKEN "Déjà pris en compte"

/* messages.c: decoding and checking. Each returns 0 and gives a checked
 * message in *out, or writes why into err and returns -1 (a dead letter).
 * The caller frees *out with the message's free_unpacked. */

/* A DeclarationSubmitted of a kind abroad owns (departure_abroad,
 * return_to_france); 0 with *out NULL for another kind. */
int abroad_declaration_decode(const void *value, size_t len, abroad_declaration_t **out, char *err,
                              size_t errlen) MDV_MUSTCHECK;
/* A StepConfirmed is decoded by the gateway's contract
 * (mdv_gateway_confirmation_decode, gateway/contract.h). */
/* identity's events are decoded by identity's contract
 * (identity/contract.h). */
/* The matching key of a person the checks above let through. */
int abroad_person_key(const abroad_person_t *p, char key[MDV_PIVOT_KEY_LEN]) MDV_MUSTCHECK;

/* consulates.c: the consular post of a residence abroad, from
 * rules/consulates.json. */
struct abroad_consulates;
/* Loads and checks the file; says what is wrong on stderr and returns
 * NULL. Free with abroad_consulates_free. */
struct abroad_consulates *abroad_consulates_load(const char *path) MDV_MUSTCHECK;
void abroad_consulates_free(struct abroad_consulates *c);
/* The post in charge of a residence in city (may be NULL) of country (a
 * COG code 99xxx): the city's consulat général, else the country's post,
 * else « Ambassade de France <en pays> »; a territory is in the charge of
 * its state's post. The caller frees the result. */
char *abroad_consulate(const struct abroad_consulates *c, const char *country, const char *city);
/* The country's French name, or the code itself when the file lacks it. */
const char *abroad_country_name(const struct abroad_consulates *c, const char *country);

/* dates.c: « 1er décembre 2026 » from 2026-12-01 (the text itself when it
 * is not a date). */
#define ABROAD_DATE_LEN 32
void abroad_date_french(const char *iso, char out[ABROAD_DATE_LEN]);

/* The service's rules, loaded at start (main.c). */
extern struct mdv_plans *abroad_plans;
extern struct abroad_consulates *abroad_posts;

/* Handlers, one file each. A handler runs in the message's transaction. */
enum mdv_outcome abroad_on_departure(struct mdv_msg *msg, const abroad_declaration_t *d);
enum mdv_outcome abroad_on_return(struct mdv_msg *msg, const abroad_declaration_t *d);
enum mdv_outcome abroad_on_address_changed(struct mdv_msg *msg);
enum mdv_outcome abroad_on_review_confirmed(struct mdv_msg *msg,
                                            const Mdv__Gateway__V1__StepConfirmed *c);
enum mdv_outcome abroad_on_name_changed(struct mdv_msg *msg);
enum mdv_outcome abroad_on_death(struct mdv_msg *msg);

/* residence.c: what departure and return share. Records the journey
 * abroad owns (residence_journeys) and publishes the plan; returns 1 when
 * done, 0 when that journey was handled before (nothing to do), -1 on a
 * database failure. */
int abroad_residence_begin(struct mdv_msg *msg, const abroad_declaration_t *d,
                           const char *pivot_key, const char *happened_on) MDV_MUSTCHECK;
/* Completes the journey's row once its event is emitted: the inscription
 * it opened or closed and its country (NULL when none), and the event's
 * ce_id (event_type is its ce_type). */
int abroad_residence_finish(struct mdv_msg *msg, const char *journey_id, const char *event_type,
                            const char *registration_id, const char *country_code) MDV_MUSTCHECK;

#endif
