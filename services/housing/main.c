/* housing — Anah / France Rénov': MaPrimeRénov' files. It reacts to the
 * other administrations' events (each in its own file): a death
 * (death.c), a new address and the usager's answer to it (address.c), a
 * new name (name.c), a residence abroad starting or ending (abroad.c); and
 * it notes the steps identity's plans give it (mdv/reaction.h), so that
 * the AddressChanged of a return to France is not acted on twice (the
 * step it may add to such a journey is in rules/steps_added.json). */
#include "housing.h"

int main(void)
{
    static const char *const topics[] = {"mdv.bereavement.events.v1", "mdv.identity.events.v1",
                                         "mdv.abroad.events.v1", "mdv.gateway.declarations.v1",
                                         NULL};
    static const struct mdv_event_route routes[] = {
        {"fr.gouv.mdv.bereavement.death_recorded.v1", housing_on_death},
        {"fr.gouv.mdv.identity.journey_planned.v1", mdv_reaction_on_plan},
        {"fr.gouv.mdv.identity.address_changed.v1", housing_on_address_changed},
        {"fr.gouv.mdv.gateway.step_confirmed.v1", housing_on_confirmation},
        {"fr.gouv.mdv.identity.person_name_changed.v1", housing_on_name_changed},
        {"fr.gouv.mdv.abroad.residence_abroad_started.v1", housing_on_abroad_started},
        {"fr.gouv.mdv.abroad.residence_abroad_ended.v1", housing_on_abroad_ended},
        {NULL, NULL},
    };
    int rc = mdv_service_run("housing", topics, routes, mdv_reaction_added_load);
    mdv_reaction_added_free();
    return rc;
}
