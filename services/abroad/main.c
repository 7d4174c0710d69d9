/* abroad — MEAE and consulats: inscriptions au Registre des Français
 * établis hors de France. It owns the departure_abroad and
 * return_to_france journeys (departure.c, return.c), and reacts to
 * identity's AddressChanged (address.c) and PersonNameChanged (name.c) and
 * to bereavement's DeathRecorded (death.c). Its rules: the plans of its
 * journeys and the consular posts (rules/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abroad.h"
#include "mdv/plan.h"

struct mdv_plans *abroad_plans;
struct abroad_consulates *abroad_posts;

static enum mdv_outcome on_declaration(struct mdv_msg *msg)
{
    abroad_declaration_t *d = NULL;
    char err[256];
    enum mdv_outcome outcome = MDV_OK;
    if (abroad_declaration_decode(msg->rkm->payload, msg->rkm->len, &d, err, sizeof(err)) != 0)
        return mdv_msg_reject(msg, "%s", err);
    if (!d)
        return MDV_OK; /* another service's journey */
    if (d->body_case == MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_DEPARTURE_ABROAD)
        outcome = abroad_on_departure(msg, d);
    else
        outcome = abroad_on_return(msg, d);
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
    return outcome;
}

static enum mdv_outcome on_confirmation(struct mdv_msg *msg)
{
    static const struct mdv_gateway_step_handler steps[] = {
        {ABROAD_STEP_REVIEWED, abroad_on_review_confirmed},
    };
    return mdv_gateway_on_confirmation(msg, steps, MDV_ARRAY_LEN(steps));
}

/* Loads the rules once the configuration names the data folder; a plans
 * file without both plans is a bad installation. */
static int load_rules(struct mdv_service *svc)
{
    char *plans_path = mdv_xasprintf("%s/rules/plans.json", svc->config.data_dir);
    char *posts_path = mdv_xasprintf("%s/rules/consulates.json", svc->config.data_dir);
    int rc = -1;
    abroad_plans = mdv_plans_load(plans_path);
    abroad_posts = abroad_consulates_load(posts_path);
    if (abroad_plans && (!mdv_plans_find(abroad_plans, "departure_abroad") ||
                         !mdv_plans_find(abroad_plans, "return_to_france")))
        fprintf(stderr, "%s: departure_abroad and return_to_france must both be planned\n",
                plans_path);
    else if (abroad_plans && abroad_posts)
        rc = 0;
    free(plans_path);
    free(posts_path);
    return rc;
}

int main(void)
{
    static const char *const topics[] = {"mdv.gateway.declarations.v1", "mdv.bereavement.events.v1",
                                         "mdv.identity.events.v1", NULL};
    static const struct mdv_event_route routes[] = {
        {"fr.gouv.mdv.gateway.declaration_submitted.v1", on_declaration},
        {"fr.gouv.mdv.gateway.step_confirmed.v1", on_confirmation},
        {"fr.gouv.mdv.bereavement.death_recorded.v1", abroad_on_death},
        {"fr.gouv.mdv.identity.address_changed.v1", abroad_on_address_changed},
        {"fr.gouv.mdv.identity.person_name_changed.v1", abroad_on_name_changed},
        {NULL, NULL},
    };
    int rc = mdv_service_run("abroad", topics, routes, load_rules);
    mdv_plans_free(abroad_plans);
    abroad_consulates_free(abroad_posts);
    return rc;
}
