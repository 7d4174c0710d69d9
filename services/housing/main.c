/* housing — Anah / France Rénov': MaPrimeRénov' files. It reacts to the
 * other administrations' events (each in its own file): a death
 * (death.c), a new address and the usager's answer to it (address.c), a
 * new name (name.c), a residence abroad starting or ending (abroad.c); and
 * it notes the steps identity's plans give it (mdv/reaction.h), so that
 * the AddressChanged of a return to France is not acted on twice (the
 * step it may add to such a journey is in rules/steps_added.json). It owns
 * the renovation_grant journeys (renovation.c): their plan and the
 * MaPrimeRénov' barème are in rules/ too. */
#include <stdio.h>
#include <stdlib.h>

#include "housing.h"

struct mdv_plans *housing_plans;
struct housing_bareme *housing_mpr;

/* A DeclarationSubmitted: housing owns renovation_grant. */
static enum mdv_outcome on_declaration(struct mdv_msg *msg)
{
    housing_declaration_t *d = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    if (housing_declaration_decode(msg->rkm->payload, msg->rkm->len, &d, key, msg->error,
                                   sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    if (!d)
        return MDV_OK; /* another service's journey */
    enum mdv_outcome outcome = housing_on_renovation(msg, d, key);
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
    return outcome;
}

/* The steps housing may add, the plan of renovation_grant and the
 * MaPrimeRénov' barème, once the configuration names the data folder; a
 * missing or wrong one is a bad installation. */
static int load_rules(struct mdv_service *svc)
{
    char *plans = mdv_xasprintf("%s/rules/plans.json", svc->config.data_dir);
    char *bareme = mdv_xasprintf("%s/rules/maprimerenov.json", svc->config.data_dir);
    char err[512];
    int rc = -1;
    if (mdv_reaction_added_load(svc) != 0)
        goto out;
    housing_plans = mdv_plans_load(plans);
    if (!housing_plans)
        goto out;
    if (!mdv_plans_find(housing_plans, "renovation_grant")) {
        fprintf(stderr, "%s: no renovation_grant plan\n", plans);
        goto out;
    }
    housing_mpr = housing_bareme_load(bareme, err, sizeof(err));
    if (!housing_mpr) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    rc = 0;
out:
    free(plans);
    free(bareme);
    return rc;
}

int main(void)
{
    static const char *const topics[] = {"mdv.bereavement.events.v1", "mdv.identity.events.v1",
                                         "mdv.abroad.events.v1", "mdv.gateway.declarations.v1",
                                         NULL};
    static const struct mdv_event_route routes[] = {
        {"fr.gouv.mdv.bereavement.death_recorded.v1", housing_on_death},
        {"fr.gouv.mdv.identity.journey_planned.v1", mdv_reaction_on_plan},
        {"fr.gouv.mdv.identity.address_changed.v1", housing_on_address_changed},
        {"fr.gouv.mdv.gateway.declaration_submitted.v1", on_declaration},
        {"fr.gouv.mdv.gateway.step_confirmed.v1", housing_on_confirmation},
        {"fr.gouv.mdv.identity.person_name_changed.v1", housing_on_name_changed},
        {"fr.gouv.mdv.abroad.residence_abroad_started.v1", housing_on_abroad_started},
        {"fr.gouv.mdv.abroad.residence_abroad_ended.v1", housing_on_abroad_ended},
        {NULL, NULL},
    };
    int rc = mdv_service_run("housing", topics, routes, load_rules);
    mdv_reaction_added_free();
    mdv_plans_free(housing_plans);
    housing_bareme_free(housing_mpr);
    return rc;
}
