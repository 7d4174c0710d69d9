/* Helpers for the services that own journey steps: reporting a step, and
 * the common handling of DeathRecorded by the services it affects. */
#ifndef MDV_JOURNEY_H
#define MDV_JOURNEY_H

#include "mdv/bereavement/v1/death.pb-c.h"
#include "mdv/journey/v1/journey.pb-c.h"
#include "mdv/pivot.h"
#include "mdv/service.h"

typedef Mdv__Journey__V1__StepStatus mdv_step_status;
#define MDV_STEP_PENDING MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_PENDING
#define MDV_STEP_RECEIVED MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_RECEIVED
#define MDV_STEP_IN_PROGRESS MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_IN_PROGRESS
#define MDV_STEP_DONE MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_DONE
#define MDV_STEP_NOT_APPLICABLE MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_NOT_APPLICABLE
#define MDV_STEP_ACTION_REQUIRED MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_ACTION_REQUIRED
#define MDV_STEP_FAILED MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_FAILED

/* Emits a StepReported (in the message's transaction). */
int mdv_journey_report(struct mdv_msg *msg, const char *journey_id, const char *code,
                       uint32_t sequence, mdv_step_status status, const char *detail) MDV_MUSTCHECK;

/* What a service did with a death. */
struct mdv_effect {
    mdv_step_status status; /* DONE or NOT_APPLICABLE */
    char detail[256];       /* French, for the usager */
};

/* Applies the service's effect of a death to the deceased's records,
 * matched on pivot_key; fills out. Returns 0, or -1 on a database failure. */
typedef int (*mdv_death_effect_fn)(PGconn *conn, const char *pivot_key, const char *death_date,
                                   struct mdv_effect *out);

/* Decodes a DeathRecorded value and checks it, without a database: on
 * success gives the message (the caller frees it with
 * mdv__bereavement__v1__death_recorded__free_unpacked) and writes the
 * deceased's pivot key; else writes why into err (the message is a dead
 * letter) and returns -1. */
int mdv_journey_death_decode(const void *value, size_t len,
                             Mdv__Bereavement__V1__DeathRecorded **out, char key[MDV_PIVOT_KEY_LEN],
                             char *err, size_t errlen) MDV_MUSTCHECK;

/* The whole handling of DeathRecorded by an affected service: decode and
 * check, apply the effect, record it in applied_effects, report the step
 * received then done (or not applicable). A death is applied once: the
 * same person (pivot key) and death date declared again, by another
 * relative, applies nothing and records no effect (the service's
 * deaths_applied table recognises it); that journey's step says « Déjà
 * pris en compte le … » with what was done then. */
enum mdv_outcome mdv_journey_on_death(struct mdv_msg *msg, const char *step_code,
                                      mdv_death_effect_fn apply);

/* The whole process of a service whose part in a bereavement journey is
 * one effect: start up, consume mdv.bereavement.events.v1 as group
 * mdv-<service> applying DeathRecorded, stop on SIGTERM. Returns the exit
 * status. */
int mdv_journey_run_death_consumer(const char *service, const char *step_code,
                                   mdv_death_effect_fn apply);

#define MDV_DETAIL_NO_RECORD "Aucun dossier à ce nom"

#endif
