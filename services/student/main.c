/* student — CROUS and établissements: student files and bourses sur
 * critères sociaux. It reacts to the other administrations' events (each
 * in its own file): a death (death.c), a new address (address.c), a new
 * name (name.c), a residence abroad starting or ending (abroad.c); and it
 * notes the steps identity's plans give it (mdv/reaction.h), so that the
 * AddressChanged of a return to France is not acted on twice. */
#include <stdio.h>
#include <stdlib.h>

#include "grant.h"
#include "student.h"

/* The barème of the bourse (every academic year it has) and the centres
 * of the communes distances are measured between; a missing or bad file
 * is a bad installation. */
static int load_rules(struct mdv_service *svc)
{
    char err[512];
    char *dir = mdv_xasprintf("%s/rules", svc->config.data_dir);
    char *path = mdv_xasprintf("%s/communes.json", dir);
    int rc = mdv_grant_rules_load(dir, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    else
        rc = student_bareme_load(path);
    free(path);
    free(dir);
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
    mdv_grant_rules_free();
    return rc;
}
