/* The partner's step on the usager's journey (DESIGN.md §11): added as
 * soon as the partner is notified (steps_added on mdv.partners.events.v1,
 * owner = the partner, its administration, the entitlement's label and
 * délai), reported pending while it travels, received once the partner
 * acknowledged, then what the partner reports. The sequence of each step's
 * reports is kept in this database (mdv_journey_report_next). */
#include <stdio.h>
#include <stdlib.h>

#include "mdv/journey.h"
#include "partners.h"

int partners_step_add(struct mdv_msg *msg, const struct partners_entitlement *e,
                      const char *journey_id)
{
    Mdv__Journey__V1__StepsAdded added = MDV__JOURNEY__V1__STEPS_ADDED__INIT;
    Mdv__Journey__V1__PlannedStep step = MDV__JOURNEY__V1__PLANNED_STEP__INIT;
    Mdv__Journey__V1__PlannedStep *steps[] = {&step};
    char now[MDV_TIME_LEN], due[MDV_TIME_LEN];

    mdv_time_now(now);
    mdv_time_plus_days(time(NULL), e->due_days, due);
    step.code = e->step;
    step.owner = e->partner->id;
    step.administration = e->partner->administration;
    step.label = e->label;
    step.due_at = due;
    added.journey_id = (char *)journey_id;
    added.n_steps = 1;
    added.steps = steps;
    added.added_at = now;
    return mdv_msg_emit(msg, "steps_added", "journey", journey_id, journey_id, &added.base);
}

int partners_step_sent(struct mdv_msg *msg, const struct partners_entitlement *e,
                       const char *journey_id)
{
    char *detail = mdv_xasprintf("Transmis à : %s", e->partner->administration);
    int rc = mdv_journey_report_next(msg, journey_id, e->step, MDV_STEP_PENDING, detail);
    free(detail);
    return rc;
}

int partners_step_repeat(struct mdv_msg *msg, const struct partners_entitlement *e,
                         const char *journey_id, const char *first_on)
{
    char *detail =
        mdv_xasprintf("Déjà transmis le %s, lors d'une précédente déclaration", first_on);
    int rc = mdv_journey_report_next(msg, journey_id, e->step, MDV_STEP_DONE, detail);
    free(detail);
    return rc;
}

int partners_step_received(struct mdv_msg *msg, const struct partners_partner *p,
                           const char *journey_id, const char *step)
{
    char *detail = mdv_xasprintf("Reçu par : %s", p->administration);
    int rc = mdv_journey_report_next(msg, journey_id, step, MDV_STEP_RECEIVED, detail);
    free(detail);
    return rc;
}
