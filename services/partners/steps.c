/* The partner's step on the usager's journey (DESIGN.md §11): added as
 * soon as the partner is notified (steps_added on mdv.partners.events.v1,
 * owner = the partner, its administration, the entitlement's label and
 * délai), reported pending while it travels, received once the partner
 * acknowledged, then what the partner reports. Sending and receipt are
 * told to the gateway's list of recipients too (recipients.c). The sequence of each step's
 * reports is kept in this database (mdv_journey_report_next). */
#include <stdio.h>
#include <stdlib.h>

#include "mdv/journey.h"
#include "mdv/pg.h"
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
    return rc == 0 ? partners_recipients_report(msg, journey_id, e->step) : rc;
}

int partners_step_repeat(struct mdv_msg *msg, const struct partners_entitlement *e,
                         const char *journey_id, const char *first_on)
{
    char *detail =
        mdv_xasprintf("Déjà transmis le %s, lors d'une précédente déclaration", first_on);
    int rc = mdv_journey_report_next(msg, journey_id, e->step, MDV_STEP_DONE, detail);
    free(detail);
    return rc == 0 ? partners_recipients_report(msg, journey_id, e->step) : rc;
}

int partners_step_received(struct mdv_msg *msg, const struct partners_partner *p,
                           const char *journey_id, const char *step)
{
    char *detail = mdv_xasprintf("Reçu par : %s", p->administration);
    int rc = mdv_journey_report_next(msg, journey_id, step, MDV_STEP_RECEIVED, detail);
    free(detail);
    return rc == 0 ? partners_recipients_report(msg, journey_id, step) : rc;
}

/* Reports every step of p whose delivery waits for its endpoint. */
int partners_steps_waiting(struct mdv_msg *msg, const struct partners_partner *p)
{
    const char *params[] = {p->id};
    PGresult *res = mdv_pg_query(msg->conn,
                                 "SELECT journey_id, step_code FROM deliveries WHERE partner = $1"
                                 " AND status = 'pending' AND delivered_at IS NULL",
                                 1, params);
    if (!res)
        return -1;
    char *detail = mdv_xasprintf("En attente : %s a suspendu la réception des transmissions",
                                 p->administration);
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++)
        rc = mdv_journey_report_next(msg, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                                     MDV_STEP_PENDING, detail);
    free(detail);
    PQclear(res);
    return rc;
}

int partners_step_undelivered(struct mdv_msg *msg, const struct partners_partner *p,
                              const char *journey_id, const char *step)
{
    char *detail =
        mdv_xasprintf("La transmission à %s n'a pas abouti ; elle sera reprise", p->administration);
    int rc = mdv_journey_report_next(msg, journey_id, step, MDV_STEP_PENDING, detail);
    free(detail);
    return rc;
}
