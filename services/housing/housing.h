/* housing — Anah / France Rénov'. The pieces its handlers share: the check
 * of the confirmations it consumes (no database, for the fuzz targets) and
 * one handler per event, each in its own file. The checks of the other
 * services' events are their producers' contracts
 * (services/<producer>/contract.h). */
#ifndef HOUSING_H
#define HOUSING_H

#include <stddef.h>

#include "abroad/contract.h"
#include "identity/contract.h"
#include "bareme.h"
#include "gateway/contract.h"
#include "mdv/journey.h"
#include "mdv/plan.h"
#include "mdv/reaction.h"
#include "mdv/service.h"

#define HOUSING_STEP_DEATH "housing.files_suspended"
#define HOUSING_STEP_RESIDENCE "housing.residence_reviewed"
#define HOUSING_STEP_NAME "housing.name_updated"
#define HOUSING_STEP_FILES "housing.files_reviewed"
#define HOUSING_STEP_REGISTERED "housing.file_registered"
#define HOUSING_STEP_ESTIMATED "housing.grant_estimated"

typedef Mdv__Gateway__V1__DeclarationSubmitted housing_declaration_t;

/* Decodes a DeclarationSubmitted value (declaration.c). Returns 0 and
 * gives, in *out, a checked renovation_grant (the applicant's matching key
 * in key), or 0 with *out NULL for another kind; on a value that is not a
 * valid declaration writes why into err and returns -1. Free *out with
 * mdv__gateway__v1__declaration_submitted__free_unpacked. */
int housing_declaration_decode(const void *value, size_t len, housing_declaration_t **out,
                               char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen) MDV_MUSTCHECK;

/* Decodes a StepConfirmed by the gateway's contract and checks its choice
 * (none, "withdraw" or "keep"); else writes why into err and returns -1.
 * Free *out with mdv__gateway__v1__step_confirmed__free_unpacked. */
int housing_confirmation_decode(const void *value, size_t len,
                                Mdv__Gateway__V1__StepConfirmed **out, char *err,
                                size_t errlen) MDV_MUSTCHECK;

/* The rules loaded at start (main.c): the plan of renovation_grant and
 * the MaPrimeRénov' barème. */
extern struct mdv_plans *housing_plans;
extern struct housing_bareme *housing_mpr;

/* renovation.c: a renovation_grant, owned by housing. */
enum mdv_outcome housing_on_renovation(struct mdv_msg *msg, const housing_declaration_t *d,
                                       const char *key);

enum mdv_outcome housing_on_death(struct mdv_msg *msg);
enum mdv_outcome housing_on_address_changed(struct mdv_msg *msg);
enum mdv_outcome housing_on_confirmation(struct mdv_msg *msg);
enum mdv_outcome housing_on_name_changed(struct mdv_msg *msg);
enum mdv_outcome housing_on_abroad_started(struct mdv_msg *msg);
enum mdv_outcome housing_on_abroad_ended(struct mdv_msg *msg);

#endif
