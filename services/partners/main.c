/* partners — the administrations outside the five services (DESIGN.md
 * §11). It reads the domain events partners are entitled to and sends
 * each entitled partner its own projection (notify.c) on its own topic;
 * what each may see, and why, is data (rules/, entitlements.c). */
#include <stdio.h>
#include <stdlib.h>

#include "partners.h"

/* A wrong rules file is a bad installation: the service does not start. */
static int load_rules(struct mdv_service *svc)
{
    char err[512];
    char *dir = mdv_xasprintf("%s/rules", svc->config.data_dir);
    partners_rules = partners_rules_load(dir, err, sizeof(err));
    free(dir);
    if (!partners_rules) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

int main(void)
{
    static const char *const topics[] = {"mdv.bereavement.events.v1", NULL};
    static const struct mdv_event_route routes[] = {
        {"fr.gouv.mdv.bereavement.death_recorded.v1", partners_on_death},
        {NULL, NULL},
    };
    int rc = mdv_service_run("partners", topics, routes, load_rules);
    partners_rules_free(partners_rules);
    return rc;
}
