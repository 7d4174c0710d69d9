/* student — CROUS and établissements: student files and bourses sur
 * critères sociaux. It owns student_grant, the dossier social étudiant
 * (dossier.c: the plan first, then the bourse and the housing request),
 * and reacts to the other administrations' events (each
 * in its own file): a death (death.c), a new address (address.c), a new
 * name (name.c), a residence abroad starting or ending (abroad.c); and it
 * notes the steps identity's plans give it (mdv/reaction.h), so that the
 * AddressChanged of a return to France is not acted on twice. */
#include <stdio.h>
#include <stdlib.h>

#include "grant.h"
#include "student.h"

static struct mdv_plans *plans;

const struct mdv_plan *student_plan(const char *kind)
{
    return mdv_plans_find(plans, kind);
}

static enum mdv_outcome on_declaration(struct mdv_msg *msg)
{
    student_declaration_t *d = NULL;
    struct student_dossier w;
    char err[256];
    if (student_dossier_decode(msg->rkm->payload, msg->rkm->len, &d, &w, err, sizeof(err)) != 0)
        return mdv_msg_reject(msg, "%s", err);
    if (!d)
        return MDV_OK; /* another service's journey */
    enum mdv_outcome outcome = student_on_dossier(msg, d, &w);
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
    return outcome;
}

/* The plans of student_grant and of its re-assessment; a missing one is a
 * bad installation. */
static int load_plans(const char *data_dir)
{
    static const char *const kinds[] = {STUDENT_KIND_GRANT, STUDENT_KIND_REASSESSMENT};
    char *path = mdv_xasprintf("%s/rules/plans.json", data_dir);
    int rc = -1;
    plans = mdv_plans_load(path);
    if (!plans)
        goto out;
    for (size_t i = 0; i < MDV_ARRAY_LEN(kinds); i++)
        if (!mdv_plans_find(plans, kinds[i])) {
            fprintf(stderr, "%s: no %s plan\n", path, kinds[i]);
            goto out;
        }
    rc = 0;
out:
    free(path);
    return rc;
}

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
    if (rc == 0)
        rc = load_plans(svc->config.data_dir);
    return rc == 0 ? mdv_reaction_added_load(svc) : -1;
}

int main(void)
{
    static const char *const topics[] = {"mdv.gateway.declarations.v1", "mdv.bereavement.events.v1",
                                         "mdv.identity.events.v1", "mdv.abroad.events.v1", NULL};
    static const struct mdv_event_route routes[] = {
        {"fr.gouv.mdv.gateway.declaration_submitted.v1", on_declaration},
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
    mdv_plans_free(plans);
    return rc;
}
