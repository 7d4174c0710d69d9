/* partners — the administrations outside the five services (DESIGN.md
 * §11). It reads the domain events partners are entitled to and sends
 * each entitled partner its own projection on its own topic, adding the
 * partner's step to the journey (notify.c, steps.c); it reads its notices
 * back for their offsets (sent.c), watches each partner group's committed
 * offsets for the receipt (receipt.c), and turns what partners report on
 * their outcomes topics or POST /partners/v1/outcomes into step reports
 * (outcome.c, outcomes_http.c, the partners' API authenticated by api.c).
 * A webhook partner's notices are deliveries POSTed by workers
 * (deliveries.c, webhooks.c), and its endpoint, secret, delivery log and
 * replays are its own routes of the API (webhook_api.c).
 * What each partner may see, and why, is data (rules/, entitlements.c). */
#include <stdio.h>
#include <stdlib.h>

#include "partners.h"

/* How often the partners' committed offsets are read: a receipt shows on
 * the journey within about this long after the partner committed. */
#define RECEIPT_INTERVAL_MS 1000
#define MAX_TOPICS 64
#define MAX_ROUTES 32

static const char *jwt_public_key_file, *jwt_issuer, *jwt_audience;
static const char *webhook_attempts, *webhook_base_ms, *webhook_max_ms, *webhook_timeout_ms,
    *webhook_overlap_s, *webhook_workers;
static const char *pool_size;

/* The partners' tokens are not the usagers': an issuer and an audience
 * of their own, so that neither kind of token opens the other's API.
 * The webhooks' schedule (README, "Partners"): by default 12 attempts
 * over some 17 to 30 hours (0.5-1 min, 1-2 min... up to 6 h, with
 * jitter), each of at most 10 s; a rotated secret keeps signing for 24 h. */
static const struct mdv_config_var partners_vars[] = {
    {"MDV_PARTNER_JWT_PUBLIC_KEY_FILE", NULL, mdv_check_readable_file, &jwt_public_key_file,
     "PEM public key that signs the partners' tokens (ES256 or RS256)"},
    {"MDV_PARTNER_JWT_ISSUER", NULL, NULL, &jwt_issuer, "expected iss of the partners' tokens"},
    {"MDV_PARTNER_JWT_AUDIENCE", "mdv-partners", NULL, &jwt_audience,
     "expected aud of the partners' tokens: the partners API's own"},
    {"MDV_WEBHOOK_ATTEMPTS", "12", mdv_check_positive_int, &webhook_attempts,
     "attempts of a delivery, the first included, before it is dead-lettered"},
    {"MDV_WEBHOOK_BACKOFF_MS", "30000", mdv_check_positive_int, &webhook_base_ms,
     "delay after the first failure; doubled after each, with jitter"},
    {"MDV_WEBHOOK_BACKOFF_MAX_MS", "21600000", mdv_check_positive_int, &webhook_max_ms,
     "the longest delay between two attempts, Retry-After included"},
    {"MDV_WEBHOOK_TIMEOUT_MS", "10000", mdv_check_positive_int, &webhook_timeout_ms,
     "one attempt's longest time, connection included"},
    {"MDV_WEBHOOK_SECRET_OVERLAP_S", "86400", mdv_check_positive_int, &webhook_overlap_s,
     "how long the previous secret still signs after a rotation"},
    {"MDV_WEBHOOK_WORKERS", "4", mdv_check_positive_int, &webhook_workers,
     "deliveries sent at once by one instance"},
    {"MDV_PG_POOL_SIZE", "4", mdv_check_pool_size, &pool_size,
     "database connections the HTTP requests share"},
    {NULL, NULL, NULL, NULL, NULL},
};

static void read_schedule(void)
{
    partners_schedule = (struct partners_schedule){
        atol(webhook_attempts),   atol(webhook_base_ms),   atol(webhook_max_ms),
        atol(webhook_timeout_ms), atol(webhook_overlap_s),
    };
}

static const struct mdv_http_route http_routes[] = {
    {"POST", "/partners/v1/outcomes", "POST /partners/v1/outcomes", partners_outcomes_post},
    {"PUT", "/partners/v1/webhook", "PUT /partners/v1/webhook", partners_webhook_put},
    {"GET", "/partners/v1/webhook", "GET /partners/v1/webhook", partners_webhook_get},
    {"POST", "/partners/v1/webhook/secret", "POST /partners/v1/webhook/secret",
     partners_webhook_rotate},
    {"GET", "/partners/v1/deliveries", "GET /partners/v1/deliveries", partners_deliveries_list},
    {"GET", "/partners/v1/deliveries/{}", "GET /partners/v1/deliveries/{id}",
     partners_delivery_get},
    {"POST", "/partners/v1/deliveries/{}/replay", "POST /partners/v1/deliveries/{id}/replay",
     partners_delivery_replay},
    {NULL, NULL, NULL, NULL},
};

/* Filled by prepare() from the rules: every partner's topic and outcomes
 * topic, and a route per projection. */
static const char *topics[MAX_TOPICS] = {"mdv.bereavement.events.v1", "mdv.identity.events.v1"};
static struct mdv_event_route routes[MAX_ROUTES] = {
    {"fr.gouv.mdv.bereavement.death_recorded.v1", partners_on_death},
    {"fr.gouv.mdv.identity.address_changed.v1", partners_on_address},
    {PARTNERS_OUTCOME_TYPE, partners_on_outcome},
    {"fr.gouv.mdv.bereavement.survivor_claim_confirmed.v1", partners_on_claim},
};
static char *owned[MAX_TOPICS + MAX_ROUTES];
static size_t n_owned;

static const char *keep(char *s)
{
    owned[n_owned++] = s;
    return s;
}

static int add_topics_and_routes(void)
{
    size_t t = 2, r = 4;
    if (t + 2 * partners_rules->n_partners >= MAX_TOPICS ||
        r + partners_rules->n_entitlements >= MAX_ROUTES) {
        fprintf(stderr, "rules: too many partners or entitlements for one service\n");
        return -1;
    }
    for (size_t i = 0; i < partners_rules->n_partners; i++) {
        if (partners_rules->partners[i].webhook)
            continue; /* no topic: its notices are POSTed */
        topics[t++] = keep(mdv_xasprintf("mdv.partner.%s.v1", partners_rules->partners[i].id));
        topics[t++] =
            keep(mdv_xasprintf("mdv.partner.%s.outcomes.v1", partners_rules->partners[i].id));
    }
    for (size_t i = 0; i < partners_rules->n_entitlements; i++) {
        if (partners_rules->entitlements[i].partner->webhook)
            continue;
        const char *type = keep(mdv_xasprintf(
            "fr.gouv.mdv.partners.%s.v1", partners_rules->entitlements[i].projection->ce_event));
        routes[r++] = (struct mdv_event_route){type, partners_on_sent};
    }
    return 0;
}

/* A wrong rules file is a bad installation: the service does not start. */
static int load_rules(const struct mdv_service *svc)
{
    char err[512];
    char *dir = mdv_xasprintf("%s/rules", svc->config.data_dir);
    partners_rules = partners_rules_load(dir, err, sizeof(err));
    free(dir);
    if (!partners_rules) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return add_topics_and_routes();
}

/* mdv_service_run's steps, with the receipt thread started once the
 * database is migrated. Exit status: 0, 1 when something failed, 2 on a
 * bad configuration or rules file. */
int main(void)
{
    static struct mdv_service svc;
    static struct partners_api api = {.svc = &svc};
    struct partners_receipts *receipts = NULL;
    struct partners_webhooks *webhooks = NULL;
    int rc = 1;

    if (mdv_service_init(&svc, "partners", partners_vars) != 0 || load_rules(&svc) != 0 ||
        !(api.auth = mdv_auth_new(jwt_public_key_file, jwt_issuer, jwt_audience))) {
        partners_rules_free(partners_rules);
        return 2;
    }
    read_schedule();
    api.pool =
        mdv_pg_pool_new(svc.config.pg_dsn, atoi(pool_size), NULL,
                        atol(svc.config.pg_statement_timeout_ms), atol(svc.config.pg_pool_wait_ms));
    /* The webhooks' listening thread wakes the relay too (webhooks.c):
     * one listening session in the database rather than two. */
    svc.relay_wakes = MDV_RELAY_WOKEN;
    if (mdv_service_open_db(&svc) == 0 && mdv_service_start_http(&svc, http_routes, &api) == 0 &&
        mdv_service_start_relay(&svc) == 0) {
        receipts = partners_receipts_start(&svc.config, RECEIPT_INTERVAL_MS);
        webhooks = partners_webhooks_start(&svc.config, &partners_schedule, atoi(webhook_workers));
        if (receipts && webhooks && mdv_service_consume(&svc, PARTNERS_GROUP, topics, routes) == 0)
            rc = 0;
    }
    /* Before mdv_service_close's shutdown bound, which they must not eat:
     * the webhook workers stop within about 100 ms (an attempt in flight
     * is cut short), the receipts within one committed-offsets answer's
     * bound (receipt.c, 2 s). */
    double stopping = mdv_monotonic_seconds();
    partners_webhooks_stop(webhooks);
    partners_receipts_stop(receipts);
    mdv_info("webhook workers and receipts stopped in %.3f s", mdv_monotonic_seconds() - stopping);
    mdv_service_close(&svc);
    mdv_pg_pool_destroy(api.pool);
    mdv_auth_destroy(api.auth);
    partners_rules_free(partners_rules);
    for (size_t i = 0; i < n_owned; i++)
        free(owned[i]);
    return rc;
}
