/* bereavement — état civil and caisses de retraite. It owns the
 * bereavement journey: on a declaration it records the death, publishes the
 * plan, DeathRecorded for the other administrations, and its own two steps
 * (death recorded; pension de réversion offered to a surviving spouse). A
 * death declared again by another relative is recognised (records.c). It
 * also keeps a survivor claim's address and name up to date from identity's
 * events (identity_events.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/bereavement/v1/death.pb-c.h"
#include "mdv/gateway/v1/declarations.pb-c.h"
#include "mdv/journey.h"
#include "mdv/plan.h"
#include "mdv/pg.h"
#include "mdv/pivot.h"
#include "claims.h"
#include "identity_events.h"
#include "mdv/reaction.h"
#include "messages.h"
#include "records.h"

#define STEP_DEATH "bereavement.death_recorded"
#define STEP_SURVIVOR "bereavement.survivor_pension"

static struct mdv_plans *plans;

static int publish_plan(struct mdv_msg *msg, const declaration_t *d)
{
    const struct mdv_plan *plan = mdv_plans_find(plans, "bereavement");
    return mdv_plan_publish(msg, plan, d->journey_id, d->submitted_at);
}

static int publish_death(struct mdv_msg *msg, const declaration_t *d)
{
    Mdv__Bereavement__V1__DeathRecorded death = MDV__BEREAVEMENT__V1__DEATH_RECORDED__INIT;
    char now[MDV_TIME_LEN];

    mdv_time_now(now);
    death.journey_id = d->journey_id;
    death.deceased = d->bereavement->deceased;
    death.death_date = d->bereavement->death_date;
    death.death_place = d->bereavement->death_place;
    death.recorded_at = now;
    return mdv_msg_emit(msg, "death_recorded", "death", d->journey_id, d->journey_id, &death.base);
}

/* The pension de réversion is not automatic: a spouse is offered a
 * pre-filled claim to confirm, once per deceased person (a spouse declaring
 * a death declared before is told when it was offered); anyone else has
 * nothing to claim here. */
static int offer_survivor_claim(struct mdv_msg *msg, const declaration_t *d, const char *key)
{
    char offered_on[RECORDS_DATE_LEN];
    if (strcmp(d->bereavement->declarant_relationship, "spouse") != 0)
        return mdv_journey_report_next(msg, d->journey_id, STEP_SURVIVOR, MDV_STEP_NOT_APPLICABLE,
                                       "Pas de conjoint survivant déclarant");
    int offered =
        records_offer_claim(msg->conn, d->journey_id, d->usager_id, key, d->bereavement->declarant,
                            d->bereavement->declarant_address, offered_on);
    if (offered < 0)
        return -1;
    if (offered)
        return mdv_journey_report_next(
            msg, d->journey_id, STEP_SURVIVOR, MDV_STEP_ACTION_REQUIRED,
            "Demande de pension de réversion pré-remplie : à confirmer par le conjoint survivant");
    char *detail = mdv_xasprintf("Demande de pension de réversion déjà proposée le %s, lors d'une"
                                 " précédente déclaration du décès de cette personne : pas de"
                                 " seconde demande",
                                 offered_on);
    int rc =
        mdv_journey_report_next(msg, d->journey_id, STEP_SURVIVOR, MDV_STEP_NOT_APPLICABLE, detail);
    free(detail);
    return rc;
}

/* The death_recorded step: a death declared before (another relative, the
 * same person and death date) is not recorded twice, and says when it was. */
static int report_death_recorded(struct mdv_msg *msg, const declaration_t *d, int is_first,
                                 const struct death_first *first)
{
    if (is_first)
        return mdv_journey_report_next(msg, d->journey_id, STEP_DEATH, MDV_STEP_DONE,
                                       "Décès enregistré à l'état civil");
    char *detail = mdv_xasprintf("Décès déjà enregistré le %s", first->recorded_on);
    int rc = mdv_journey_report_next(msg, d->journey_id, STEP_DEATH, MDV_STEP_DONE, detail);
    free(detail);
    return rc;
}

/* Every declaration gets its whole journey, a repeat too: the plan, and
 * DeathRecorded so that each administration reports its step on it (each
 * recognises a death it applied before by its own records). */
static enum mdv_outcome apply_declaration(struct mdv_msg *msg, const declaration_t *d)
{
    const Mdv__Journey__V1__PivotIdentity *p = d->bereavement->deceased;
    char key[MDV_PIVOT_KEY_LEN];
    struct death_first first;

    if (mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                      key) != 0)
        return mdv_msg_reject(msg, "deceased identity cannot be normalised");
    int is_first = records_add_death(msg->conn, d, key, &first);
    if (is_first < 0 || publish_plan(msg, d) != 0 || publish_death(msg, d) != 0 ||
        report_death_recorded(msg, d, is_first, &first) != 0 ||
        offer_survivor_claim(msg, d, key) != 0)
        return mdv_msg_db_failure(msg);
    if (is_first)
        mdv_log_at(MDV_LOG_INFO, &msg->log, "death recorded, plan published");
    else
        mdv_log_at(MDV_LOG_INFO, &msg->log, "death recorded before (journey %s): plan published",
                   first.journey_id);
    return MDV_OK;
}

static enum mdv_outcome on_declaration(struct mdv_msg *msg)
{
    declaration_t *d = NULL;
    char err[256];
    if (bereavement_declaration_decode(msg->rkm->payload, msg->rkm->len, &d, err, sizeof(err)) != 0)
        return mdv_msg_reject(msg, "%s", err);
    if (!d)
        return MDV_OK; /* another service's journey */
    enum mdv_outcome outcome = apply_declaration(msg, d);
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
    return outcome;
}

/* The surviving spouse confirmed the pre-filled claim: it goes to the
 * caisses de retraite as SurvivorClaimConfirmed, and this step, the claim
 * made, is done; the CNAV's decision is a step of its own
 * (cnav.survivor_pension_decided, added by the partners service when it
 * sends the claim on), so that only the CNAV reports on it. A second
 * confirmation, or one for a journey without a claim, changes nothing. */
static enum mdv_outcome confirm_survivor_claim(struct mdv_msg *msg,
                                               const Mdv__Gateway__V1__StepConfirmed *c)
{
    const char *params[] = {c->journey_id, c->usager_id};
    long confirmed = 0;
    if (mdv_pg_query_longs(msg->conn,
                           "WITH claim AS (UPDATE survivor_claims SET status = 'confirmed',"
                           "               confirmed_at = now()"
                           "               WHERE journey_id = $1 AND usager_id = $2"
                           "               AND status = 'offered' RETURNING 1)"
                           " SELECT count(*) FROM claim",
                           2, params, &confirmed, 1) != 0)
        return mdv_msg_db_failure(msg);
    if (confirmed == 0) {
        mdv_log_at(MDV_LOG_INFO, &msg->log, "no offered claim to confirm: nothing to do");
        return MDV_OK;
    }
    if (claims_publish_confirmed(msg, c->journey_id) != 0 ||
        mdv_journey_report_next(msg, c->journey_id, STEP_SURVIVOR, MDV_STEP_DONE,
                                "Demande confirmée : transmise à l'Assurance retraite, qui"
                                " décidera de la pension de réversion") != 0)
        return mdv_msg_db_failure(msg);
    mdv_log_at(MDV_LOG_INFO, &msg->log, "survivor claim confirmed");
    return MDV_OK;
}

static enum mdv_outcome on_confirmation(struct mdv_msg *msg)
{
    static const struct mdv_gateway_step_handler steps[] = {
        {STEP_SURVIVOR, confirm_survivor_claim},
    };
    return mdv_gateway_on_confirmation(msg, steps, MDV_ARRAY_LEN(steps));
}

/* Loads the plans once the configuration names the data folder; a plan
 * file without the bereavement plan is a bad installation. */
static int load_plans(struct mdv_service *svc)
{
    char *path = mdv_xasprintf("%s/rules/plans.json", svc->config.data_dir);
    plans = mdv_plans_load(path);
    free(path);
    if (plans && !mdv_plans_find(plans, "bereavement")) {
        fprintf(stderr, "%s/rules/plans.json: no bereavement plan\n", svc->config.data_dir);
        mdv_plans_free(plans);
        plans = NULL;
    }
    return plans && mdv_reaction_added_load(svc) == 0 ? 0 : -1;
}

int main(void)
{
    static const char *const topics[] = {"mdv.gateway.declarations.v1", "mdv.identity.events.v1",
                                         NULL};
    static const struct mdv_event_route routes[] = {
        {"fr.gouv.mdv.gateway.declaration_submitted.v1", on_declaration},
        {"fr.gouv.mdv.gateway.step_confirmed.v1", on_confirmation},
        {"fr.gouv.mdv.identity.journey_planned.v1", mdv_reaction_on_plan},
        {"fr.gouv.mdv.identity.address_changed.v1", bereavement_on_address_changed},
        {"fr.gouv.mdv.identity.person_name_changed.v1", bereavement_on_name_changed},
        {NULL, NULL},
    };
    int rc = mdv_service_run("bereavement", topics, routes, load_plans);
    mdv_plans_free(plans);
    mdv_reaction_added_free();
    return rc;
}
