/* bereavement's contract with the services that react to a death: the
 * decode and check of DeathRecorded (and of SurvivorClaimConfirmed, for
 * the caisses de retraite), beside its producer. The services
 * that consume mdv.bereavement.events.v1 compile this file in (the
 * Makefile's CONTRACTS_<service>); the library knows no service. */
#ifndef MDV_BEREAVEMENT_CONTRACT_H
#define MDV_BEREAVEMENT_CONTRACT_H

#include <stddef.h>

#include "mdv/bereavement/v1/death.pb-c.h"
#include "mdv/journey.h"
#include "mdv/pivot.h"
#include "mdv/service.h"

/* Decodes a DeathRecorded value and checks it, without a database: on
 * success gives the message (the caller frees it with
 * mdv__bereavement__v1__death_recorded__free_unpacked) and writes the
 * deceased's pivot key; else writes why into err (the message is a dead
 * letter) and returns -1. Every service that reacts to a death checks the
 * contract the same way. */
int mdv_bereavement_death_decode(const void *value, size_t len,
                                 Mdv__Bereavement__V1__DeathRecorded **out,
                                 char key[MDV_PIVOT_KEY_LEN], char *err,
                                 size_t errlen) MDV_MUSTCHECK;

/* Decodes a SurvivorClaimConfirmed value and checks it as above (the
 * caller frees it with
 * mdv__bereavement__v1__survivor_claim_confirmed__free_unpacked); the
 * deceased's pivot key is written into key. */
int mdv_bereavement_claim_decode(const void *value, size_t len,
                                 Mdv__Bereavement__V1__SurvivorClaimConfirmed **out,
                                 char key[MDV_PIVOT_KEY_LEN], char *err,
                                 size_t errlen) MDV_MUSTCHECK;

/* A checked DeathRecorded, as the services that react to a death use it. */
struct mdv_death {
    Mdv__Bereavement__V1__DeathRecorded *event; /* owned */
    char pivot_key[MDV_PIVOT_KEY_LEN];          /* the deceased, for matching */
    char occurrence[MDV_PIVOT_KEY_LEN + 32];    /* "death|<pivot key>|<date>" */
};

/* Decodes and checks the message's DeathRecorded; on failure writes why
 * into msg->error and returns -1 (the message is a dead letter). Free with
 * mdv_death_free. */
int mdv_death_decode(struct mdv_msg *msg, struct mdv_death *death) MDV_MUSTCHECK;
void mdv_death_free(struct mdv_death *death);

/* The whole handler of the step a death decides: the message's
 * DeathRecorded decoded and checked (a dead letter when invalid), the step
 * applied once per death (mdv_journey_apply_step with its occurrence; ctx
 * is the struct mdv_death), then freed. */
enum mdv_outcome mdv_death_apply(struct mdv_msg *msg, const char *step_code, mdv_effect_fn apply);

#endif
