/* housing's contract with the services that consume its events
 * (mdv.housing.events.v1): the decode and check of RenovationGrantRequested
 * (identity checks the dwelling against its register) and
 * RenovationGrantEstimated, beside their producer. A consumer compiles
 * this file in (the Makefile's CONTRACTS_<service>); the library knows no
 * service. */
#ifndef MDV_HOUSING_CONTRACT_H
#define MDV_HOUSING_CONTRACT_H

#include <stddef.h>

#include "mdv/housing/v1/housing.pb-c.h"
#include "mdv/pivot.h"
#include "mdv/util.h"

/* Decodes a RenovationGrantRequested value and checks it, without a
 * database: a journey, an applicant who has a matching key (written into
 * key) and a dwelling in France. On success gives the message (free it with
 * mdv__housing__v1__renovation_grant_requested__free_unpacked); else
 * writes why into err (a dead letter) and returns -1. */
int mdv_housing_requested_decode(const void *value, size_t len,
                                 Mdv__Housing__V1__RenovationGrantRequested **out,
                                 char key[MDV_PIVOT_KEY_LEN], char *err,
                                 size_t errlen) MDV_MUSTCHECK;

/* Decodes a RenovationGrantEstimated and checks it: a journey, an
 * applicant with a matching key, a file number, a category of the barème,
 * items whose aid never exceeds what is eligible nor what is eligible the
 * quote, and a total that is their sum. Free *out with
 * mdv__housing__v1__renovation_grant_estimated__free_unpacked. */
int mdv_housing_estimated_decode(const void *value, size_t len,
                                 Mdv__Housing__V1__RenovationGrantEstimated **out,
                                 char key[MDV_PIVOT_KEY_LEN], char *err,
                                 size_t errlen) MDV_MUSTCHECK;

#endif
