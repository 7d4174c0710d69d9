/* Helpers for the services that own journey steps: reporting a step with
 * its sequence and applying a step's effect once. Which events a service
 * handles, and what it does with them, is the service's (its main.c lists
 * its routes); an event's decode and check is its producer's contract
 * (services/<producer>/contract.h). */
#ifndef MDV_JOURNEY_H
#define MDV_JOURNEY_H

#include "mdv/journey/v1/journey.pb-c.h"
#include "mdv/service.h"

typedef Mdv__Journey__V1__StepStatus mdv_step_status;
#define MDV_STEP_PENDING MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_PENDING
#define MDV_STEP_RECEIVED MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_RECEIVED
#define MDV_STEP_IN_PROGRESS MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_IN_PROGRESS
#define MDV_STEP_DONE MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_DONE
#define MDV_STEP_NOT_APPLICABLE MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_NOT_APPLICABLE
#define MDV_STEP_ACTION_REQUIRED MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_ACTION_REQUIRED
#define MDV_STEP_FAILED MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_FAILED

/* The status as the API and the databases write it ("done"...), or NULL
 * for a value the contract does not define. */
const char *mdv_step_status_name(mdv_step_status status);

/* Emits a StepReported (in the message's transaction). */
int mdv_journey_report(struct mdv_msg *msg, const char *journey_id, const char *code,
                       uint32_t sequence, mdv_step_status status, const char *detail) MDV_MUSTCHECK;

/* Emits a StepReported with the step's next sequence, kept in the
 * owner's database (step_sequences): reports of a step may come over weeks
 * and from several messages; the projection keeps the highest. */
int mdv_journey_report_next(struct mdv_msg *msg, const char *journey_id, const char *code,
                            mdv_step_status status, const char *detail) MDV_MUSTCHECK;

/* What a service did for one step. */
struct mdv_effect {
    mdv_step_status status; /* DONE, NOT_APPLICABLE, ACTION_REQUIRED, FAILED... */
    char detail[256];       /* French, for the usager */
};

/* Records an effect in applied_effects (one row per journey and step: the
 * exactly-once evidence the tests count). */
int mdv_journey_record_effect(struct mdv_msg *msg, const char *journey_id, const char *step_code,
                              const struct mdv_effect *effect) MDV_MUSTCHECK;

/* One step's work on one message. */
struct mdv_step_work {
    const char *journey_id;
    const char *step_code;
    /* What happened, when several journeys can declare the same thing (a
     * death: "death|<pivot key>|<date>"): applied for the first journey
     * only. NULL: once per journey (the inbox already makes it once per
     * message). */
    const char *occurrence;
};

/* Applies the service's change in the message's transaction; fills out
 * (it starts as not_applicable, « Aucun dossier à ce nom »). Returns 0, or
 * -1 on a database failure. */
typedef int (*mdv_effect_fn)(struct mdv_msg *msg, void *ctx, struct mdv_effect *out);

/* The whole of a step that one event decides: apply the effect once,
 * record it (applied_effects), report the step received then final. An
 * occurrence applied before, for another journey, applies nothing and
 * records nothing; this journey's step says « Déjà pris en compte le … »
 * with what was done then. Returns 0, or -1 on a database failure. */
int mdv_journey_apply_step(struct mdv_msg *msg, const struct mdv_step_work *work,
                           mdv_effect_fn apply, void *ctx) MDV_MUSTCHECK;

#define MDV_DETAIL_NO_RECORD "Aucun dossier à ce nom"

#endif
