/* partners — the administrations outside the five services (CNAV,
 * DGFiP…), DESIGN.md §11. What the service's files share: the rules
 * (rules/partners.tsv: who the partners are and how they are reached;
 * rules/entitlements.tsv: what each may see, and why), the projections
 * (one protobuf message per entitlement, built field by field from the
 * domain event) and the handlers of the events that are notified. */
#ifndef PARTNERS_H
#define PARTNERS_H

#include <protobuf-c/protobuf-c.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "mdv/auth.h"
#include "mdv/journey/v1/journey.pb-c.h"
#include "mdv/partner/v1/partner.pb-c.h"
#include "mdv/pg.h"
#include "mdv/service.h"

/* ---- projections.c: the partner-specific messages ---- */

/* Room for any projection; strings and arrays point into the domain
 * event it was built from. */
union partners_message {
    ProtobufCMessage base;
    Mdv__Partner__V1__CnavDeathNotice cnav_death;
    Mdv__Partner__V1__DgfipDeathNotice dgfip_death;
    Mdv__Partner__V1__CnavAddressNotice cnav_address;
    Mdv__Partner__V1__DgfipAddressNotice dgfip_address;
    Mdv__Partner__V1__CafDeathNotice caf_death;
    Mdv__Partner__V1__CpamDeathNotice cpam_death;
    Mdv__Partner__V1__CnavSurvivorClaim cnav_claim;
    Mdv__Partner__V1__CafAddressNotice caf_address;
};

/* One projection: the message a partner gets for one kind of domain
 * event. */
struct partners_projection {
    const ProtobufCMessageDescriptor *descriptor; /* its full name names it in the rules */
    const char *event;                            /* the domain event's ce_type it is built from */
    const char *ce_event; /* its own ce_type: fr.gouv.mdv.partners.<ce_event>.v1 */
    /* Fills out from the decoded domain event, field by field. */
    void (*build)(const void *event, union partners_message *out);
};

/* The projection of that full protobuf name, or NULL. */
const struct partners_projection *partners_projection_find(const char *name);
/* Every projection, NULL-terminated (for the tests). */
extern const struct partners_projection *const partners_projections[];

/* ---- entitlements.c: rules/partners.tsv and rules/entitlements.tsv ---- */

struct partners_partner {
    char *id;             /* "cnav": its certificate's CN, its topics' infix */
    char *administration; /* shown to the usager */
    char *channel;        /* "kafka" or "webhook" */
    char *group;          /* the consumer group whose commits acknowledge; "-" for a webhook */
    int webhook;          /* delivered by signed POSTs (webhook.c), not on its topic */
};

struct partners_entitlement {
    const struct partners_partner *partner;
    char *event; /* domain ce_type */
    const struct partners_projection *projection;
    char **fields; /* the projection's field names, as listed */
    size_t n_fields;
    int mandatory; /* 0: optional, sent only with the usager's consent */
    char *step;    /* "<partner>.<what>": the journey step it becomes */
    char *label;   /* French */
    int due_days;  /* the délai annoncé from notification */
    char *basis;   /* the legal basis, as written */
};

struct partners_rules {
    struct partners_partner *partners;
    size_t n_partners;
    struct partners_entitlement *entitlements;
    size_t n_entitlements;
};

/* Loads and checks both files of dir (each field of a projection listed,
 * nothing listed that the projection cannot carry, no NIR); on a wrong
 * file writes "path:line: why" into err and returns NULL. Free with
 * partners_rules_free. */
struct partners_rules *partners_rules_load(const char *dir, char *err, size_t errlen);
void partners_rules_free(struct partners_rules *rules);

/* The rules loaded at start (main.c). */
extern struct partners_rules *partners_rules;

/* ---- notify.c ---- */

/* DeathRecorded: each partner entitled to it gets its projection. */
enum mdv_outcome partners_on_death(struct mdv_msg *msg);
/* AddressChanged: each partner entitled to it and chosen by the usager. */
enum mdv_outcome partners_on_address(struct mdv_msg *msg);

/* Every entitlement to the type of msg's event (event, decoded), the
 * mandatory ones and the optional ones whose partner is among the n
 * recipients the usager chose: sent once per occurrence, each partner's
 * step added to journey_id. 0 or -1 (the database). */
int partners_notify(struct mdv_msg *msg, const void *event, const char *journey_id,
                    const char *occurrence, char *const *recipients, size_t n) MDV_MUSTCHECK;

/* ---- claims.c ---- */

/* SurvivorClaimConfirmed: the claim goes to the partners entitled to it
 * (the CNAV, which decides on its own step). */
enum mdv_outcome partners_on_claim(struct mdv_msg *msg);

/* ---- steps.c: the partner's step on the journey, in msg's transaction ---- */

/* steps_added: the entitlement's step, owned by its partner. */
int partners_step_add(struct mdv_msg *msg, const struct partners_entitlement *e,
                      const char *journey_id) MDV_MUSTCHECK;
/* pending « Transmis à : <administration> ». */
int partners_step_sent(struct mdv_msg *msg, const struct partners_entitlement *e,
                       const char *journey_id) MDV_MUSTCHECK;
/* done: another journey's notice of the same occurrence was sent, on
 * first_on (DD/MM/YYYY). */
int partners_step_repeat(struct mdv_msg *msg, const struct partners_entitlement *e,
                         const char *journey_id, const char *first_on) MDV_MUSTCHECK;
/* received « Reçu par : <administration> ». */
int partners_step_received(struct mdv_msg *msg, const struct partners_partner *p,
                           const char *journey_id, const char *step) MDV_MUSTCHECK;

/* pending: every step of p whose delivery waits, its endpoint disabled. */
int partners_steps_waiting(struct mdv_msg *msg, const struct partners_partner *p) MDV_MUSTCHECK;
/* pending: the delivery of that step was dead-lettered (a replay may
 * still make it). */
int partners_step_undelivered(struct mdv_msg *msg, const struct partners_partner *p,
                              const char *journey_id, const char *step) MDV_MUSTCHECK;

/* ---- recipients.c: who received what, for the usager's journey ---- */

/* A RecipientNotified (mdv.partners.events.v1) for the notice of step on
 * the journey, and for each later journey's notice that repeats it, with
 * its times as the notices table holds them: call it in the transaction
 * that records the notice or its receipt. */
int partners_recipients_report(struct mdv_msg *msg, const char *journey_id,
                               const char *step) MDV_MUSTCHECK;

/* ---- sent.c: the notices read back from the partners' topics ---- */

/* Set by partners_on_sent: a notice may await its receipt, which wakes
 * the receipts thread (receipt.c) while it waits with none awaiting. */
extern atomic_int partners_notice_sent;

/* Where a notice landed (partition, offset), for the receipt. */
enum mdv_outcome partners_on_sent(struct mdv_msg *msg);

/* The partner whose topic (mdv.partner.<id>.v1, or its outcomes topic
 * when outcomes is set) the message came from, or NULL. */
const struct partners_partner *partners_partner_of_topic(const struct mdv_msg *msg, int outcomes);

/* ---- outcome.c: what a partner reports, on Kafka or over HTTP ---- */

/* The service's own consumer group (its ACLs: deploy/local/kafka/acls.tsv). */
#define PARTNERS_GROUP "mdv-partners"
#define PARTNERS_OUTCOME_TYPE "fr.gouv.mdv.partner.outcome_reported.v1"
#define PARTNERS_KEY_MAX 128
#define PARTNERS_DETAIL_MAX 255
#define PARTNERS_STEP_MAX 100

/* One report of a partner on one of its steps; the strings belong to the
 * caller. */
struct partners_outcome {
    const char *journey_id;
    const char *step_code;
    const char *status; /* a mdv_step_status name a partner may report */
    const char *detail; /* French, for the usager */
    const char *idempotency_key;
};

/* Why the outcome cannot be applied, with the field it is about in *field,
 * or NULL (and the status in *status). The same checks for both ways in. */
const char *partners_outcome_problem(const struct partners_outcome *o, const char **field,
                                     Mdv__Journey__V1__StepStatus *status);

enum partners_applied {
    PARTNERS_APPLIED,   /* the step reported */
    PARTNERS_REPLAYED,  /* the partner used this key before: nothing done */
    PARTNERS_NOT_OWNED, /* no such step notified to this partner */
    PARTNERS_FAILED,    /* the database: see PQerrorMessage(msg->conn) */
};

/* Applies p's outcome in msg's transaction (msg->conn), once per key. */
enum partners_applied partners_outcome_apply(struct mdv_msg *msg, const struct partners_partner *p,
                                             const struct partners_outcome *o,
                                             Mdv__Journey__V1__StepStatus status) MDV_MUSTCHECK;

/* A PartnerOutcome on a partner's outcomes topic: applied as above;
 * anything invalid or not the partner's is a dead letter that says why. */
enum mdv_outcome partners_on_outcome(struct mdv_msg *msg);

/* ---- api.c: the partners' HTTP API (/partners/v1/...) ---- */

struct partners_api {
    struct mdv_service *svc;  /* its name and configuration, for reports */
    struct mdv_auth *auth;    /* the partners' tokens: iss, aud of their own */
    struct mdv_pg_pool *pool; /* for the HTTP threads */
};

/* The partner the request's bearer token names (sub = a partner id of
 * rules/partners.tsv, aud = the partners API's). Otherwise answers 401
 * (no valid token) or 403 (a valid token of no partner) and returns NULL. */
const struct partners_partner *partners_api_authenticate(struct partners_api *api,
                                                         const struct mdv_http_request *req,
                                                         struct mdv_http_response *res);
/* A fake consumed message for reports made outside the consumer (an HTTP
 * request): the service, conn inside its transaction, a fresh causation
 * id. */
void partners_api_msg(struct partners_api *api, PGconn *conn, const char *journey_id,
                      struct mdv_msg *msg);

/* ---- outcomes_http.c ---- */

/* POST /partners/v1/outcomes; ctx is the struct partners_api. */
void partners_outcomes_post(const struct mdv_http_request *req, struct mdv_http_response *res,
                            void *ctx);

/* ---- deliveries.c: a notice to a webhook partner ---- */

/* The body every attempt of a delivery POSTs (Standard Webhooks'
 * payload shape): {"type": <the notice's ce_type>, "timestamp": created,
 * "data": {every field of the projection, by its name}}. The caller
 * frees the text; NULL when the projection holds a field type this does
 * not render (only strings and lists of strings are). */
char *partners_delivery_body(const ProtobufCMessage *projection, const char *type,
                             const char *created);

/* The notice of e, in msg's transaction: a delivery row to its partner's
 * endpoint, due now (the worker wakes on NOTIFY). */
int partners_delivery_add(struct mdv_msg *msg, const struct partners_entitlement *e,
                          const void *event, const char *journey_id) MDV_MUSTCHECK;

/* ---- schedule.c: when the next attempt is due ---- */

struct partners_schedule {
    long attempts;   /* attempts in all, the first included */
    long base_ms;    /* the delay after the first failure, doubled after each */
    long max_ms;     /* the longest delay, Retry-After included */
    long timeout_ms; /* one attempt's longest time */
    long overlap_s;  /* how long a rotated secret keeps signing */
};

/* The schedule of the configuration (main.c). */
extern struct partners_schedule partners_schedule;

/* The delay after failed attempt n (1 for the first): "equal jitter"
 * on d = base * 2^(n-1), from min(d/2, max) to min(d, max), u in [0, 1)
 * choosing where. Each delay is at least the longest the one before
 * could be, so the delays grow, and none passes max. */
long partners_backoff_ms(const struct partners_schedule *s, long n, double u);

/* A Retry-After value (delay-seconds or an HTTP-date, RFC 9110 §10.2.3)
 * as milliseconds from now (0 when past), capped at s->max_ms; -1 when it
 * is neither. */
long partners_retry_after_ms(const struct partners_schedule *s, const char *value, time_t now);

/* ---- webhooks.c: the delivery workers ---- */

struct partners_webhooks;

/* Starts n threads that POST the due deliveries, each with its own
 * database connection and curl handle. Copies what it needs of config;
 * schedule must outlive them. NULL on error. */
struct partners_webhooks *partners_webhooks_start(const struct mdv_base_config *config,
                                                  const struct partners_schedule *schedule, int n);
/* Stops (an attempt in hand finishes) and joins them; accepts NULL. */
void partners_webhooks_stop(struct partners_webhooks *w);

/* ---- webhook_api.c: a webhook partner's routes; ctx is the struct partners_api ---- */

void partners_webhook_put(const struct mdv_http_request *req, struct mdv_http_response *res,
                          void *ctx);
void partners_webhook_get(const struct mdv_http_request *req, struct mdv_http_response *res,
                          void *ctx);
void partners_webhook_rotate(const struct mdv_http_request *req, struct mdv_http_response *res,
                             void *ctx);
void partners_deliveries_list(const struct mdv_http_request *req, struct mdv_http_response *res,
                              void *ctx);
void partners_delivery_get(const struct mdv_http_request *req, struct mdv_http_response *res,
                           void *ctx);
void partners_delivery_replay(const struct mdv_http_request *req, struct mdv_http_response *res,
                              void *ctx);

/* ---- receipt.c ---- */

struct partners_receipts;

/* Starts the thread that polls each partner group's committed offsets
 * (rd_kafka_committed) every interval_ms while notices await receipt, and
 * reports received the steps whose notice they passed; with none
 * awaiting, it waits for a notice to be sent. Copies what it needs of
 * config. NULL on error. */
struct partners_receipts *partners_receipts_start(const struct mdv_base_config *config,
                                                  long interval_ms);
/* Stops and joins the thread; accepts NULL. */
void partners_receipts_stop(struct partners_receipts *r);

#endif
