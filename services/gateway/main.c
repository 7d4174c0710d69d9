/* gateway — declarations intake and the journeys read model.
 *
 * HTTP threads take declarations (outbox to mdv.gateway.declarations.v1)
 * and serve journeys; the main thread consumes every service's events
 * topic into the read model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cog.h"
#include "gateway.h"
#include "journey_cache.h"
#include "pages.h"
#include "renovation_items.h"
#include "mdv/httpc.h"
#include "mdv/log.h"
#include "oidc.h"
#include "recipients.h"
#include "validation.h"

#define MAX_KEY_LEN 255

static const char *jwt_public_key_file, *jwt_issuer, *jwt_audience;
static struct gateway_oidc_settings oidc_settings;
static const char *indicators_max_age;
static const char *cog_communes_file, *cog_countries_file, *renovation_file, *bourse_rules_file,
    *recipients_file;
static const char *web_dir;
static const char *identity_url, *service_key_file, *service_issuer, *service_audience,
    *identity_timeout_ms;
static const char *journey_cache_size;
static const char *pool_size;

static const struct mdv_config_var gateway_vars[] = {
    {"MDV_JWT_PUBLIC_KEY_FILE", NULL, mdv_check_readable_file, &jwt_public_key_file,
     "PEM public key that signs usagers' tokens (ES256 or RS256)"},
    {"MDV_JWT_ISSUER", NULL, NULL, &jwt_issuer, "expected iss of tokens"},
    {"MDV_JWT_AUDIENCE", NULL, NULL, &jwt_audience, "expected aud of tokens"},
    {"MDV_COG_COMMUNES_FILE", "rules/communes.tsv", NULL, &cog_communes_file,
     "the COG communes and their postcodes (made by the build); relative to MDV_DATA_DIR"},
    {"MDV_COG_COUNTRIES_FILE", "rules/countries.tsv", NULL, &cog_countries_file,
     "the COG countries and territories abroad; relative to MDV_DATA_DIR"},
    {"MDV_RENOVATION_RULES_FILE", "rules/maprimerenov.json", NULL, &renovation_file,
     "housing's MaPrimeRénov' barème, for its work items; relative to MDV_DATA_DIR"},
    {"MDV_BOURSE_RULES_FILE", "rules/bourse.json", NULL, &bourse_rules_file,
     "the student service's barème (services/student/rules/bourse.json), for its academic"
     " years; relative to MDV_DATA_DIR"},
    {"MDV_WEB_DIR", "web", NULL, &web_dir,
     "the usager's page: index.html and static/ (made by make web: build/web); relative to"
     " MDV_DATA_DIR"},
    {"MDV_OIDC_ISSUER", "", gateway_check_optional_url, &oidc_settings.issuer,
     "the OpenID provider's issuer URL (FranceConnect's; locally the stack's); empty: no"
     " sign-in, bearer tokens only"},
    {"MDV_OIDC_CLIENT_ID", "", NULL, &oidc_settings.client_id, "the gateway's client id there"},
    {"MDV_OIDC_CLIENT_SECRET_FILE", "", gateway_check_optional_file,
     &oidc_settings.client_secret_file, "a file holding the gateway's client secret"},
    {"MDV_OIDC_REDIRECT_URI", "", gateway_check_optional_url, &oidc_settings.redirect_uri,
     "the gateway's /auth/callback as the browser reaches it (https: the cookie is Secure)"},
    {"MDV_OIDC_POST_LOGOUT_URI", "", gateway_check_optional_url, &oidc_settings.post_logout_uri,
     "where the provider sends the browser after sign-out"},
    {"MDV_OIDC_SCOPES",
     "openid given_name family_name birthdate gender birthplace birthcountry"
     " email mdv_agent",
     NULL, &oidc_settings.scopes, "the scopes asked at sign-in"},
    {"MDV_SESSION_TTL_S", "14400", mdv_check_positive_int, &oidc_settings.session_ttl_s,
     "a session's lifetime from sign-in, in seconds"},
    {"MDV_INDICATORS_MAX_AGE_S", "300", mdv_check_positive_int, &indicators_max_age,
     "seconds the public indicators are kept before they are computed again (README, Public"
     " indicators)"},
    {"MDV_RECIPIENTS_FILE", "rules/recipients.tsv", NULL, &recipients_file,
     "the optional recipients each kind of declaration may name; relative to MDV_DATA_DIR"},
    {"MDV_IDENTITY_URL", "", gateway_check_optional_url, &identity_url,
     "identity's HTTP base URL, asked for the signed-in usager's recorded address (GET /v1/me's"
     " known); empty: known is null"},
    {"MDV_SERVICE_JWT_PRIVATE_KEY_FILE", "", gateway_check_optional_file, &service_key_file,
     "PEM private key (ES256) of the mdv services' own tokens, which the gateway signs to ask"
     " identity; empty: known is null"},
    {"MDV_SERVICE_JWT_ISSUER", "mdv-services", NULL, &service_issuer,
     "iss of the services' tokens"},
    {"MDV_SERVICE_JWT_AUDIENCE", "mdv-internal", NULL, &service_audience,
     "aud of the services' tokens"},
    {"MDV_IDENTITY_TIMEOUT_MS", "1000", mdv_check_positive_int, &identity_timeout_ms,
     "the longest GET /v1/me waits for identity (connection included); past it known is null"},
    {"MDV_JOURNEY_CACHE_SIZE", "4096", journey_cache_check_size, &journey_cache_size,
     "journeys whose GET answer each gateway process keeps for their owner (README, Journeys"
     " cache); 0: none, every GET asks the database"},
    {"MDV_PG_POOL_SIZE", "4", mdv_check_pool_size, &pool_size,
     "database connections the HTTP requests share"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct mdv_http_route routes[] = {
    {"GET", "/", "GET /", web_index},
    {"GET", "/static/{*}", "GET /static/{path}", web_static},
    {"GET", "/auth/login", "GET /auth/login", auth_login},
    {"GET", "/auth/callback", "GET /auth/callback", auth_callback},
    {"POST", "/auth/logout", "POST /auth/logout", auth_logout},
    {"GET", "/v1/me", "GET /v1/me", me_get},
    {"POST", "/v1/mandates", "POST /v1/mandates", mandates_post},
    {"GET", "/v1/mandates", "GET /v1/mandates", mandates_list},
    {"GET", "/v1/mandates/{}", "GET /v1/mandates/{id}", mandates_get},
    {"POST", "/v1/mandates/{}/end", "POST /v1/mandates/{id}/end", mandates_end},
    {"POST", "/v1/declarations", "POST /v1/declarations", declarations_post},
    {"GET", "/v1/journeys", "GET /v1/journeys", journeys_list},
    {"GET", "/v1/journeys/{}", "GET /v1/journeys/{id}", journeys_get},
    {"GET", "/v1/journeys/{}/events", "GET /v1/journeys/{id}/events", live_get},
    {"POST", "/v1/journeys/{}/confirmations", "POST /v1/journeys/{id}/confirmations",
     confirmations_post},
    {"GET", "/v1/indicators", "GET /v1/indicators", indicators_get},
    {"POST", "/v1/journeys/{}/rating", "POST /v1/journeys/{id}/rating", ratings_post},
    {"GET", "/indicateurs", "GET /indicateurs", pages_indicators},
    {"GET", "/parcours", "GET /parcours", pages_journeys},
    {"GET", "/parcours/{}", "GET /parcours/{id}", pages_journey},
    {"POST", "/parcours/{}/avis", "POST /parcours/{id}/avis", pages_rating_post},
    {"POST", "/parcours/{}/fin-du-mandat", "POST /parcours/{id}/fin-du-mandat",
     pages_mandate_end_post},
    {NULL, NULL, NULL, NULL},
};

static const struct mdv_pg_statement statements[] = {
    {"get_journey", gateway_get_journey_sql, 3},
    {"list_page", gateway_list_page_sql, 4},
    {"insert_journey", gateway_insert_journey_sql, 4},
    {"claim_and_insert_journey", gateway_claim_and_insert_journey_sql, 6},
    {"previous_claim", gateway_previous_claim_sql, 3},
    {NULL, NULL, 0},
};

static const char *const topics[] = {
    "mdv.identity.events.v1",
    "mdv.student.events.v1",
    "mdv.bereavement.events.v1",
    "mdv.housing.events.v1",
    "mdv.abroad.events.v1",
    "mdv.partners.events.v1",
    NULL,
};

/* Every service's plans, added steps and step reports feed the read
 * model: any service may own a journey or a step (DESIGN.md §5: a type
 * that must be seen is routed, or its offset would be stored with nothing
 * applied). */
#define PROJECTED(service)                                                                         \
    {"fr.gouv.mdv." service ".journey_planned.v1", projection_on_planned},                         \
        {"fr.gouv.mdv." service ".steps_added.v1", projection_on_steps_added},                     \
    {                                                                                              \
        "fr.gouv.mdv." service ".step_reported.v1", projection_on_step                             \
    }
static const struct mdv_event_route event_routes[] = {
    PROJECTED("identity"),
    PROJECTED("student"),
    PROJECTED("bereavement"),
    PROJECTED("housing"),
    PROJECTED("abroad"),
    PROJECTED("partners"),
    {"fr.gouv.mdv.partners.recipient_notified.v1", projection_on_recipient},
    {NULL, NULL},
};
#undef PROJECTED

int gateway_authenticate(struct gateway *gw, const struct mdv_http_request *req,
                         struct mdv_http_response *res, char *sub, size_t sublen)
{
    struct gateway_caller caller;
    if (gateway_caller_get(gw, req, res, &caller) != 0)
        return -1;
    mdv_strlcpy(sub, caller.sub, sublen);
    return 0;
}

/* RFC 9110 visible characters, at most MAX_KEY_LEN: what the OpenAPI file
 * allows. */
static int key_is_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > MAX_KEY_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return 0;
    return 1;
}

int gateway_idempotency_key(const struct mdv_http_request *req, struct mdv_http_response *res,
                            const char **key)
{
    *key = mdv_http_header(req, "Idempotency-Key");
    if (!*key || key_is_valid(*key))
        return 0;
    json_t *errors = json_array();
    mdv_http_field_error(errors, "Idempotency-Key", "must be 1 to 255 visible ASCII characters");
    mdv_http_problem(res, 422, "validation", "Clé d'idempotence invalide",
                     "The Idempotency-Key header is invalid.", errors);
    return -1;
}

void gateway_not_found(struct mdv_http_response *res)
{
    mdv_http_problem(res, 404, "not-found", "Démarche introuvable",
                     "No journey with this id among yours.", NULL);
}

/* The COG tables, before anything connects: a missing or broken file is a
 * configuration error, named like one. */
static int load_cog(const char *data_dir)
{
    char *communes = cog_communes_file[0] == '/'
                         ? mdv_xstrdup(cog_communes_file)
                         : mdv_xasprintf("%s/%s", data_dir, cog_communes_file);
    char *countries = cog_countries_file[0] == '/'
                          ? mdv_xstrdup(cog_countries_file)
                          : mdv_xasprintf("%s/%s", data_dir, cog_countries_file);
    int rc = cog_load(communes, countries);
    if (rc != 0)
        fprintf(stderr,
                "configuration: MDV_COG_COMMUNES_FILE=\"%s\" or MDV_COG_COUNTRIES_FILE=\"%s\" is"
                " invalid (see the log above; the communes file is made by make)\n",
                communes, countries);
    free(communes);
    free(countries);
    return rc;
}

/* The work items a renovation_grant may list: the barème's. */
static int load_renovation(const char *data_dir)
{
    char *path = renovation_file[0] == '/' ? mdv_xstrdup(renovation_file)
                                           : mdv_xasprintf("%s/%s", data_dir, renovation_file);
    int rc = renovation_items_load(path);
    if (rc != 0)
        fprintf(stderr, "configuration: MDV_RENOVATION_RULES_FILE=\"%s\" is invalid\n", path);
    free(path);
    return rc;
}

/* The academic years a dossier social étudiant may name: the student
 * service's own barème file, read here too. */
static int load_bourse_years(const char *data_dir)
{
    char *path = bourse_rules_file[0] == '/' ? mdv_xstrdup(bourse_rules_file)
                                             : mdv_xasprintf("%s/%s", data_dir, bourse_rules_file);
    int rc = student_years_load(path);
    if (rc != 0)
        fprintf(stderr, "configuration: MDV_BOURSE_RULES_FILE=\"%s\" is invalid\n", path);
    free(path);
    return rc;
}

/* The page's folder must hold its index: a stack started before make web
 * would otherwise serve 404 for its front door. */
static int resolve_web_dir(const char *data_dir, char **out)
{
    char *dir =
        web_dir[0] == '/' ? mdv_xstrdup(web_dir) : mdv_xasprintf("%s/%s", data_dir, web_dir);
    char *index = mdv_xasprintf("%s/index.html", dir);
    char err[256];
    int rc = mdv_check_readable_file(index, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "configuration: MDV_WEB_DIR=\"%s\": index.html: %s (make web builds it)\n",
                dir, err);
        free(dir);
        dir = NULL;
    }
    free(index);
    *out = dir;
    return rc;
}

/* The partners a usager may choose to tell, per kind. */
static int load_recipients(const char *data_dir)
{
    char *path = recipients_file[0] == '/' ? mdv_xstrdup(recipients_file)
                                           : mdv_xasprintf("%s/%s", data_dir, recipients_file);
    int rc = recipients_load(path);
    if (rc != 0)
        fprintf(stderr, "configuration: MDV_RECIPIENTS_FILE=\"%s\" is invalid\n", path);
    free(path);
    return rc;
}

int main(void)
{
    static struct gateway gw;
    char *web_path = NULL;
    int rc = 1;

    if (mdv_service_init(&gw.svc, "gateway", gateway_vars) != 0 ||
        load_cog(gw.svc.config.data_dir) != 0 || load_renovation(gw.svc.config.data_dir) != 0 ||
        load_bourse_years(gw.svc.config.data_dir) != 0 ||
        resolve_web_dir(gw.svc.config.data_dir, &web_path) != 0 ||
        load_recipients(gw.svc.config.data_dir) != 0)
        return 2;
    gw.web_dir = web_path;
    gw.indicators_max_age = atof(indicators_max_age);
    gw.known = (struct gateway_known){identity_url, service_key_file, service_issuer,
                                      service_audience, atol(identity_timeout_ms)};
    web_init(oidc_settings.issuer);
    gw.auth = mdv_auth_new(jwt_public_key_file, jwt_issuer, jwt_audience);
    gw.oidc = gateway_oidc_new(&oidc_settings);
    if (!gw.auth || !gw.oidc || mdv_httpc_init() != 0)
        return 2;
    gw.pool = mdv_pg_pool_new(gw.svc.config.pg_dsn, atoi(pool_size), statements,
                              atol(gw.svc.config.pg_statement_timeout_ms),
                              atol(gw.svc.config.pg_pool_wait_ms));
    gw.cache = journey_cache_new((size_t)atol(journey_cache_size));
    /* The journeys' listening session wakes the relay too (live.c): one
     * listening session in the database rather than two. */
    gw.svc.relay_wakes = MDV_RELAY_WOKEN;
    gw.live = live_new(gw.svc.config.pg_dsn, gw.cache);
    if (gw.live && mdv_service_open_db(&gw.svc) == 0 &&
        mdv_service_start_http(&gw.svc, routes, &gw) == 0 &&
        mdv_service_start_relay(&gw.svc) == 0 &&
        mdv_service_consume(&gw.svc, "mdv-gateway", topics, event_routes) == 0)
        rc = 0;
    mdv_service_close(&gw.svc);
    live_destroy(gw.live);
    journey_cache_destroy(gw.cache);
    mdv_pg_pool_destroy(gw.pool);
    mdv_auth_destroy(gw.auth);
    gateway_oidc_destroy(gw.oidc);
    mdv_httpc_cleanup();
    cog_unload();
    renovation_items_unload();
    free(web_path);
    recipients_unload();
    return rc;
}
