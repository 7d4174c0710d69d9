/* What the services that react to another service's events share: the
 * checks of the journey contracts (mdv.journey.v1: a pivot identity, an
 * address, a plan), without a database (the fuzz targets reach them), on
 * which each producer's contract (services/<producer>/contract.c) builds,
 * and the plan test that keeps a service from reporting a step that the
 * journey's plan does not give it.
 *
 * An event can reach a service under a journey whose plan has no step for
 * it: the owner of one journey may publish an event that another
 * service's journey caused, and a service that already acted on that
 * cause must not act twice nor add a step. The owner's journey_planned
 * travels on the same topic and partition as its events (key = journey
 * id), before them: a service that notes the steps planned for it
 * (planned_steps, in its own database) knows, whatever the order between
 * topics, whether an event of that owner is its step. */
#ifndef MDV_REACTION_H
#define MDV_REACTION_H

#include <stddef.h>

#include "mdv/journey.h"
#include "mdv/journey/v1/journey.pb-c.h"
#include "mdv/pivot.h"
#include "mdv/service.h"

/* A JourneyPlanned with a journey id and steps that each name a code and
 * an owner. */
int mdv_reaction_plan_decode(const void *value, size_t len, Mdv__Journey__V1__JourneyPlanned **out,
                             char *err, size_t errlen) MDV_MUSTCHECK;

/* Why a pivot identity cannot be matched (a short English reason), or
 * NULL; on NULL writes its matching key. */
const char *mdv_reaction_person_problem(const Mdv__Journey__V1__PivotIdentity *p,
                                        char key[MDV_PIVOT_KEY_LEN]);
/* Why an address is not one in France (lines, commune, postcode, city), or
 * NULL. */
const char *mdv_reaction_address_problem(const Mdv__Journey__V1__Address *a);
/* Why an address is not one abroad (lines, a country other than France,
 * city), or NULL. */
const char *mdv_reaction_foreign_address_problem(const Mdv__Journey__V1__Address *a);

/* The handler of an owner's journey_planned: notes in planned_steps the
 * steps whose owner is this service (msg->svc->name). */
enum mdv_outcome mdv_reaction_on_plan(struct mdv_msg *msg);

/* 1 when the journey's plan gives this service the step code, 0 when it
 * does not (or its plan was not seen), -1 on a database error. */
int mdv_reaction_planned(struct mdv_msg *msg, const char *journey_id,
                         const char *code) MDV_MUSTCHECK;

/* An event that reached this service under a journey whose plan has no
 * step for it: when it was caused by an event this service applied (its
 * inbox holds the mdv_causation_id) the service acted already, « Déjà pris
 * en compte »; either way nothing is applied and no step reported. Logs
 * which. Returns 0, or -1 on a database error. */
int mdv_reaction_skip_unplanned(struct mdv_msg *msg, const char *journey_id,
                                const char *code) MDV_MUSTCHECK;

/* An event under a journey whose plan has no step for this service can
 * still concern its records: the new address of a return to France
 * reaches a survivor claim, or a MaPrimeRénov' file for another dwelling,
 * that the return's own steps did not touch. Such a step is added to the
 * journey (steps_added) with its administration, label and délai from the
 * service's rules/steps_added.json (the plans format, one plan of kind
 * "added": every step this service may add), loaded at start. */
int mdv_reaction_added_load(struct mdv_service *svc) MDV_MUSTCHECK;
void mdv_reaction_added_free(void);

/* Tells whether the service has something to do for the unplanned step:
 * 1 yes, 0 no, -1 on a database error. */
typedef int (*mdv_pending_fn)(struct mdv_msg *msg, void *ctx);

/* For an event whose journey's plan has no work->step_code: when pending
 * says there is something to do, adds the step to the journey and applies
 * it (mdv_journey_apply_step: once, recorded, reported); otherwise
 * mdv_reaction_skip_unplanned. Returns 0, or -1 on a database error. */
int mdv_reaction_apply_unplanned(struct mdv_msg *msg, const struct mdv_step_work *work,
                                 mdv_pending_fn pending, mdv_effect_fn apply,
                                 void *ctx) MDV_MUSTCHECK;

/* The step an event decides, whether or not the journey's plan gives it
 * to this service: planned, mdv_journey_apply_step with apply; not
 * planned, mdv_reaction_apply_unplanned with pending and unplanned.
 * Returns 0, or -1 on a database error. */
int mdv_reaction_apply_step(struct mdv_msg *msg, const struct mdv_step_work *work,
                            mdv_effect_fn apply, mdv_pending_fn pending, mdv_effect_fn unplanned,
                            void *ctx) MDV_MUSTCHECK;

/* The longest name a detail quotes, in bytes. */
#define MDV_REACTION_NAME_CLIP 120
/* Copies at most size-1 bytes of s, never cutting a UTF-8 character (a
 * detail must stay valid UTF-8 for the journey's database). */
void mdv_reaction_clip(char *out, size_t size, const char *s);

#endif
