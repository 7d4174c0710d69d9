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
#include "mdv/gateway/v1/declarations.pb-c.h"
#include "mdv/journey.h"
#include "mdv/reaction.h"
#include "mdv/service.h"

#define HOUSING_STEP_DEATH "housing.files_suspended"
#define HOUSING_STEP_RESIDENCE "housing.residence_reviewed"
#define HOUSING_STEP_NAME "housing.name_updated"
#define HOUSING_STEP_FILES "housing.files_reviewed"

/* Decodes a StepConfirmed that names a journey, a usager and a code; else
 * writes why into err and returns -1. Free *out with
 * mdv__gateway__v1__step_confirmed__free_unpacked. */
int housing_confirmation_decode(const void *value, size_t len,
                                Mdv__Gateway__V1__StepConfirmed **out, char *err,
                                size_t errlen) MDV_MUSTCHECK;

enum mdv_outcome housing_on_death(struct mdv_msg *msg);
enum mdv_outcome housing_on_address_changed(struct mdv_msg *msg);
enum mdv_outcome housing_on_confirmation(struct mdv_msg *msg);
enum mdv_outcome housing_on_name_changed(struct mdv_msg *msg);
enum mdv_outcome housing_on_abroad_started(struct mdv_msg *msg);
enum mdv_outcome housing_on_abroad_ended(struct mdv_msg *msg);

#endif
