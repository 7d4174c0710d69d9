/* identity — ANTS and mairies: persons (pivot identity), addresses, noms
 * d'usage, identity documents and pré-demandes. It owns three journeys
 * (address_change, name_change, identity_document: the plan first, then
 * its own steps and the event for the others), and reacts to a death
 * (documents cancelled) and to a residence abroad starting or ending (the
 * address recorded). Each event's handling has its own file. Its HTTP port
 * also answers other mdv services on what the register knows (lookup.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"

static struct mdv_plans *plans;
static const char *service_jwt_public_key_file, *service_jwt_issuer, *service_jwt_audience;
static const char *pool_size;

/* The services' tokens are neither the usagers' nor the partners': an
 * issuer and an audience of their own, so that no other kind of token
 * opens the internal routes. No key: the internal routes answer 401. */
static const struct mdv_config_var identity_vars[] = {
    {"MDV_SERVICE_JWT_PUBLIC_KEY_FILE", "", NULL, &service_jwt_public_key_file,
     "PEM public key that signs the mdv services' own tokens (ES256 or RS256); empty: no"
     " internal routes"},
    {"MDV_SERVICE_JWT_ISSUER", "mdv-services", NULL, &service_jwt_issuer,
     "expected iss of the services' tokens"},
    {"MDV_SERVICE_JWT_AUDIENCE", "mdv-internal", NULL, &service_jwt_audience,
     "expected aud of the services' tokens: the internal routes' own"},
    {"MDV_PG_POOL_SIZE", "2", mdv_check_pool_size, &pool_size,
     "database connections the HTTP requests share"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct mdv_http_route http_routes[] = {
    {"POST", "/internal/v1/address-lookups", "POST /internal/v1/address-lookups",
     identity_lookup_post},
    {NULL, NULL, NULL, NULL},
};

const struct mdv_plan *identity_plan(const char *kind)
{
    return mdv_plans_find(plans, kind);
}

int identity_report_others(struct mdv_msg *msg, const char *kind, const char *journey_id,
                           const char *detail)
{
    const struct mdv_plan *plan = identity_plan(kind);
    for (size_t i = 0; i < plan->count; i++)
        if (strcmp(plan->steps[i].owner, "identity") != 0 &&
            mdv_journey_report_next(msg, journey_id, plan->steps[i].code, MDV_STEP_NOT_APPLICABLE,
                                    detail) != 0)
            return -1;
    return 0;
}

static enum mdv_outcome on_declaration(struct mdv_msg *msg)
{
    identity_declaration_t *d = NULL;
    char err[256];
    enum mdv_outcome outcome;
    if (identity_declaration_decode(msg->rkm->payload, msg->rkm->len, &d, err, sizeof(err)) != 0)
        return mdv_msg_reject(msg, "%s", err);
    if (!d)
        return MDV_OK; /* another service's journey */
    if (strcmp(d->kind, "address_change") == 0)
        outcome = identity_on_address_change(msg, d);
    else if (strcmp(d->kind, "name_change") == 0)
        outcome = identity_on_name_change(msg, d);
    else
        outcome = identity_on_document(msg, d);
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
    return outcome;
}

static enum mdv_outcome on_confirmation(struct mdv_msg *msg)
{
    static const struct mdv_gateway_step_handler steps[] = {
        {IDENTITY_STEP_APPOINTMENT, identity_on_appointment_confirmed},
        {IDENTITY_STEP_RESIDENCE, identity_on_residence_confirmed},
        {IDENTITY_STEP_VERIFIED, identity_on_id_sent},
    };
    return mdv_gateway_on_confirmation(msg, steps, MDV_ARRAY_LEN(steps));
}

/* The plans of the three kinds and the country names, once the
 * configuration names the data folder; a missing one is a bad
 * installation. */
static int load_rules(struct mdv_service *svc)
{
    static const char *const kinds[] = {"address_change", "name_change", "identity_document"};
    char *path = mdv_xasprintf("%s/rules/plans.json", svc->config.data_dir);
    int rc = -1;
    plans = mdv_plans_load(path);
    if (!plans)
        goto out;
    for (size_t i = 0; i < MDV_ARRAY_LEN(kinds); i++)
        if (!mdv_plans_find(plans, kinds[i])) {
            fprintf(stderr, "%s: no %s plan\n", path, kinds[i]);
            goto out;
        }
    free(path);
    path = mdv_xasprintf("%s/rules/countries.tsv", svc->config.data_dir);
    rc = identity_countries_load(path);
out:
    free(path);
    return rc;
}

/* The services' token checker, when a key is configured. */
static int open_api(struct identity_api *api)
{
    if (!*service_jwt_public_key_file)
        return 0;
    api->auth = mdv_auth_new(service_jwt_public_key_file, service_jwt_issuer, service_jwt_audience);
    return api->auth ? 0 : -1;
}

/* mdv_service_run's steps, with the internal routes. Exit status: 0, 1
 * when something failed, 2 on a bad configuration or rules file. */
int main(void)
{
    static const char *const topics[] = {"mdv.gateway.declarations.v1", "mdv.bereavement.events.v1",
                                         "mdv.abroad.events.v1",        "mdv.housing.events.v1",
                                         "mdv.student.events.v1",       NULL};
    static const struct mdv_event_route routes[] = {
        {"fr.gouv.mdv.gateway.declaration_submitted.v1", on_declaration},
        {"fr.gouv.mdv.gateway.step_confirmed.v1", on_confirmation},
        {"fr.gouv.mdv.bereavement.death_recorded.v1", identity_on_death},
        {"fr.gouv.mdv.abroad.residence_abroad_started.v1", identity_on_abroad_started},
        {"fr.gouv.mdv.abroad.residence_abroad_ended.v1", identity_on_abroad_ended},
        {"fr.gouv.mdv.housing.renovation_grant_requested.v1", identity_on_renovation_requested},
        {"fr.gouv.mdv.student.student_grant_requested.v1", identity_on_student_grant},
        {NULL, NULL},
    };
    static struct mdv_service svc;
    static struct identity_api api;
    int rc = 2;

    if (mdv_service_init(&svc, "identity", identity_vars) != 0 || load_rules(&svc) != 0 ||
        open_api(&api) != 0)
        goto out;
    rc = 1;
    api.pool =
        mdv_pg_pool_new(svc.config.pg_dsn, atoi(pool_size), NULL,
                        atol(svc.config.pg_statement_timeout_ms), atol(svc.config.pg_pool_wait_ms));
    if (mdv_service_open_db(&svc) == 0 && mdv_service_start_http(&svc, http_routes, &api) == 0 &&
        mdv_service_start_relay(&svc) == 0 &&
        mdv_service_consume(&svc, "mdv-identity", topics, routes) == 0)
        rc = 0;
    mdv_service_close(&svc);
out:
    mdv_pg_pool_destroy(api.pool);
    mdv_auth_destroy(api.auth);
    mdv_plans_free(plans);
    identity_countries_free();
    return rc;
}
