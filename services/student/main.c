/* student — CROUS and établissements: student files and bourses sur
 * critères sociaux. It reacts to the other administrations' events (each
 * in its own file): a death (death.c), a new address (address.c), a new
 * name (name.c), a residence abroad starting or ending (abroad.c); and it
 * notes the steps identity's plans give it (mdv/reaction.h), so that the
 * AddressChanged of a return to France is not acted on twice. */
#include <stdio.h>
#include <stdlib.h>

#include "student.h"

/* The barème the distance points come from; a missing or bad file is a
 * bad installation. */
static int load_rules(struct mdv_service *svc)
{
    char *path = mdv_xasprintf("%s/rules/distance_points.json", svc->config.data_dir);
    int rc = student_bareme_load(path);
    free(path);
    return rc == 0 ? mdv_reaction_added_load(svc) : -1;
}

int main(void)
{
    static const char *const topics[] = {"mdv.bereavement.events.v1", "mdv.identity.events.v1",
                                         "mdv.abroad.events.v1", NULL};
    static const struct mdv_event_route routes[] = {
        {"fr.gouv.mdv.bereavement.death_recorded.v1", student_on_death},
        {"fr.gouv.mdv.identity.journey_planned.v1", mdv_reaction_on_plan},
        {"fr.gouv.mdv.identity.address_changed.v1", student_on_address_changed},
        {"fr.gouv.mdv.identity.person_name_changed.v1", student_on_name_changed},
        {"fr.gouv.mdv.abroad.residence_abroad_started.v1", student_on_abroad_started},
        {"fr.gouv.mdv.abroad.residence_abroad_ended.v1", student_on_abroad_ended},
        {NULL, NULL},
    };
    int rc = mdv_service_run("student", topics, routes, load_rules);
    student_bareme_free();
    mdv_reaction_added_free();
    return rc;
}
