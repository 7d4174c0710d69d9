/* abroad's contract with the services that react to its events: the
 * decode and check of ResidenceAbroadStarted and ResidenceAbroadEnded,
 * beside their producer. The services that consume mdv.abroad.events.v1
 * compile this file in (the Makefile's CONTRACTS_<service>); the library
 * knows no service. */
#ifndef MDV_ABROAD_CONTRACT_H
#define MDV_ABROAD_CONTRACT_H

#include <stddef.h>

#include "mdv/abroad/v1/abroad.pb-c.h"
#include "mdv/journey.h"
#include "mdv/pivot.h"
#include "mdv/util.h"

/* Each decoder: on success gives the checked message in *out (free it with
 * the message's __free_unpacked) and writes the person's matching key; on
 * a value that is not a valid message writes why into err and returns -1
 * (a dead letter). */

/* A person, an address abroad, a start date. */
int mdv_abroad_started_decode(const void *value, size_t len,
                              Mdv__Abroad__V1__ResidenceAbroadStarted **out,
                              char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen) MDV_MUSTCHECK;
/* A person, the address in France they come back to, an end date. */
int mdv_abroad_ended_decode(const void *value, size_t len,
                            Mdv__Abroad__V1__ResidenceAbroadEnded **out,
                            char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen) MDV_MUSTCHECK;

/* A checked ResidenceAbroadStarted or Ended, as a reacting service's
 * effect reads it: one of started and ended is set. */
struct mdv_residence {
    const Mdv__Abroad__V1__ResidenceAbroadStarted *started;
    const Mdv__Abroad__V1__ResidenceAbroadEnded *ended;
    char key[MDV_PIVOT_KEY_LEN]; /* the person, for matching */
};

/* The whole handler of the step a ResidenceAbroadStarted (or Ended)
 * decides: decoded and checked (a dead letter when invalid), the step
 * applied once for the journey (mdv_journey_apply_step; ctx is the struct
 * mdv_residence). */
enum mdv_outcome mdv_residence_started_apply(struct mdv_msg *msg, const char *step_code,
                                             mdv_effect_fn apply);
enum mdv_outcome mdv_residence_ended_apply(struct mdv_msg *msg, const char *step_code,
                                           mdv_effect_fn apply);

#endif
