/* mdv-simulator --listen: plays one webhook partner (the CAF, the CPAM)
 * for the local stack, as a partner's engineer would write it. It serves
 * POST /webhook on its own address (the library's HTTP layer, on
 * libmicrohttpd), registers that URL as its endpoint through the
 * partners' API with its bearer token, and learns a secret it knows: the
 * first registration returns one; otherwise it rotates (the secret it
 * held before, lost with its previous run, keeps signing during the
 * overlap, which harms nothing). Every POST is checked: webhook-id,
 * webhook-timestamp within five minutes of now (an older one is a replay
 * of a captured request), and a webhook-signature under its secret
 * (constant-time compare, shared/webhook.c); anything else is 401.
 *
 * The outcome goes to POST /partners/v1/outcomes with the webhook-id as
 * Idempotency-Key. Without a delay it is reported before the 2xx: a report
 * that fails answers 503, and the partners service sends the delivery
 * again, so nothing is lost if the simulator dies. With --delay-ms the
 * 2xx comes first and a thread reports after the delay, so the journey
 * shows the step received, then done; a report in that queue is lost if
 * the simulator is killed (a real partner would keep its queue on disk).
 *
 * /readyz answers 200 once the endpoint is registered and its secret known,
 * 503 before: a container's health check then says the partner can receive,
 * not only that a port is open. */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdv/http.h"
#include "mdv/log.h"
#include "mdv/util.h"
#include "mdv/webhook.h"
#include "simulator.h"

#define TOLERANCE_S 300
#define REPORT_TIMEOUT_MS 10000
#define QUEUE_MAX 4096

/* One outcome to report: the notice's journey and step, what to say. */
struct report {
    char journey_id[MDV_UUID_LEN];
    char key[128];
    char step[64];
    char detail[256];
    double due; /* monotonic seconds */
};

struct hook {
    const struct sim_webhook *opts;
    char *token;
    char secret[MDV_WEBHOOK_SECRET_LEN];
    pthread_mutex_t lock; /* secret, queue */
    struct report queue[QUEUE_MAX];
    size_t head, len;
    atomic_int stop;
};

static size_t keep_body(char *data, size_t size, size_t n, void *ctx)
{
    json_t **out = ctx;
    json_error_t err;
    if (!*out)
        *out = json_loadb(data, size * n, 0, &err);
    return size * n;
}

/* method path with a JSON body (may be NULL) and the partner's token; the
 * HTTP status (0 when none came back), the answer parsed into *answer
 * when it is JSON and answer is not NULL. */
static long call(struct hook *h, const char *method, const char *path, json_t *body,
                 const char *key, json_t **answer)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    char *url = mdv_xasprintf("%s%s", h->opts->api, path);
    char *auth = mdv_xasprintf("Authorization: Bearer %s", h->token);
    char *idem = key ? mdv_xasprintf("Idempotency-Key: %s", key) : NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_t *got = NULL;
    long status = 0;
    headers = curl_slist_append(headers, auth);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    if (idem)
        headers = curl_slist_append(headers, idem);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text ? text : "");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)REPORT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &got);
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (answer)
        *answer = got;
    else
        json_decref(got);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    free(text);
    free(idem);
    free(auth);
    free(url);
    return status;
}

/* The outcome of one notice; 0 when the partners service took it (or
 * refused it for good: sending it again would change nothing). */
static int report(struct hook *h, const struct report *r)
{
    json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "journey_id", r->journey_id, "step_code",
                             r->step, "status", "done", "detail", r->detail);
    long status = call(h, "POST", "/partners/v1/outcomes", body, r->key, NULL);
    json_decref(body);
    if (status >= 200 && status < 300)
        return 0;
    mdv_warn("outcome of %s for journey %s: HTTP %ld", r->key, r->journey_id, status);
    return status >= 400 && status < 500 ? 0 : -1;
}

static int enqueue(struct hook *h, const struct report *r)
{
    int rc = -1;
    pthread_mutex_lock(&h->lock);
    if (h->len < QUEUE_MAX) {
        struct report *queued = &h->queue[(h->head + h->len++) % QUEUE_MAX];
        *queued = *r;
        queued->due = mdv_monotonic_seconds() + (double)h->opts->delay_ms / 1000;
        rc = 0;
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

/* The delayed reports, in order, each once it is due; one that fails is
 * tried again a second later. */
static void *reporter(void *arg)
{
    struct hook *h = arg;
    while (!atomic_load(&h->stop)) {
        struct report r;
        int due = 0;
        pthread_mutex_lock(&h->lock);
        if (h->len && h->queue[h->head].due <= mdv_monotonic_seconds()) {
            r = h->queue[h->head];
            due = 1;
        }
        pthread_mutex_unlock(&h->lock);
        if (!due || report(h, &r) != 0) {
            mdv_sleep_ms(due ? 1000 : 100);
            continue;
        }
        pthread_mutex_lock(&h->lock);
        h->head = (h->head + 1) % QUEUE_MAX;
        h->len--;
        pthread_mutex_unlock(&h->lock);
    }
    return NULL;
}

static void refuse(struct mdv_http_response *res, const char *detail)
{
    mdv_warn("webhook refused: %s", detail);
    mdv_http_problem(res, 401, "unauthorized", "Signature refusée", detail, NULL);
}

/* Whether the request is signed by the secret, timely, and whole. */
static const char *check(struct hook *h, const struct mdv_http_request *req)
{
    const char *id = mdv_http_header(req, "webhook-id");
    const char *ts = mdv_http_header(req, "webhook-timestamp");
    const char *sig = mdv_http_header(req, "webhook-signature");
    char secret[MDV_WEBHOOK_SECRET_LEN];
    if (!id || !ts || !sig || !req->body)
        return "webhook-id, webhook-timestamp, webhook-signature and a body are required";
    char *end = NULL;
    long long t = strtoll(ts, &end, 10);
    if (*end || llabs((long long)time(NULL) - t) > TOLERANCE_S)
        return "webhook-timestamp is not within five minutes of now";
    pthread_mutex_lock(&h->lock);
    mdv_strlcpy(secret, h->secret, sizeof(secret));
    pthread_mutex_unlock(&h->lock);
    if (!secret[0] || !mdv_webhook_verify(secret, sig, id, t, req->body, req->body_len))
        return "no signature of webhook-signature verifies";
    return NULL;
}

/* The outcome a notice calls for, from its body: its journey, and its
 * step and detail by its type (fr.gouv.mdv.partners.<partner>_<what>_notice.v1
 * is on the step <partner>.<what>_notified). -1 for a notice it does not
 * play, acknowledged without a report. */
static int outcome_of(const struct hook *h, const json_t *body, const char *id, struct report *r)
{
    const char *journey_id =
        json_string_value(json_object_get(json_object_get(body, "data"), "journey_id"));
    const char *type = json_string_value(json_object_get(body, "type"));
    char *prefix = mdv_xasprintf("fr.gouv.mdv.partners.%s_", h->opts->partner);
    char what[32] = "";
    size_t n = strlen(prefix);
    if (type && strncmp(type, prefix, n) == 0)
        sscanf(type + n, "%31[a-z]_notice.v1", what);
    free(prefix);
    const char *detail = h->opts->detail_of(h->opts->partner, what);
    if (!journey_id || !mdv_uuid_valid(journey_id) || !detail) {
        mdv_warn("webhook %s of type %s: acknowledged, nothing reported", id, type ? type : "?");
        return -1;
    }
    memset(r, 0, sizeof(*r));
    mdv_strlcpy(r->journey_id, journey_id, sizeof(r->journey_id));
    mdv_strlcpy(r->key, id, sizeof(r->key));
    snprintf(r->step, sizeof(r->step), "%s.%s_notified", h->opts->partner, what);
    mdv_strlcpy(r->detail, detail, sizeof(r->detail));
    return 0;
}

static void on_webhook(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct hook *h = ctx;
    const char *why = check(h, req);
    if (why) {
        refuse(res, why);
        return;
    }
    const char *id = mdv_http_header(req, "webhook-id");
    json_error_t err;
    json_t *body = json_loads(req->body, 0, &err);
    struct report r;
    int rc = 0, known = outcome_of(h, body, id, &r) == 0;
    if (known)
        rc = h->opts->delay_ms > 0 ? enqueue(h, &r) : report(h, &r);
    /* One line per POST it accepts, with its journey: what the partner
     * counts (a POST sent again carries the same webhook-id). */
    if (rc == 0)
        mdv_info("webhook %s accepted for journey %s", id, known ? r.journey_id : "-");
    if (rc == 0)
        mdv_http_json(res, 200, json_pack("{s:s}", "received", id));
    else
        mdv_http_problem(res, 503, "unavailable", "Réessayez plus tard",
                         "The outcome could not be reported yet.", NULL);
    json_decref(body);
}

/* Ready once a secret was learnt, i.e. the endpoint is registered. */
static int registered(void *ctx, json_t *checks)
{
    struct hook *h = ctx;
    pthread_mutex_lock(&h->lock);
    int ok = h->secret[0] != '\0';
    pthread_mutex_unlock(&h->lock);
    json_object_set_new(checks, "endpoint", json_string(ok ? "registered" : "not registered"));
    return ok;
}

/* Registers the endpoint and learns a secret; retries until the
 * partners' API answers or a stop is asked. */
static int enroll(struct hook *h, volatile sig_atomic_t *stop)
{
    char *url = h->opts->url ? mdv_xstrdup(h->opts->url)
                             : mdv_xasprintf("http://%s/webhook", h->opts->listen);
    json_t *body = json_pack("{s:s}", "url", url);
    int rc = -1;
    while (!*stop) {
        json_t *got = NULL;
        long status = call(h, "PUT", "/partners/v1/webhook", body, NULL, &got);
        if (status == 200) {
            json_decref(got);
            status = call(h, "POST", "/partners/v1/webhook/secret", NULL, NULL, &got);
        }
        const char *secret = json_string_value(json_object_get(got, "secret"));
        if ((status == 200 || status == 201) && secret && mdv_webhook_secret_valid(secret)) {
            pthread_mutex_lock(&h->lock);
            mdv_strlcpy(h->secret, secret, sizeof(h->secret));
            pthread_mutex_unlock(&h->lock);
            json_decref(got);
            mdv_info("endpoint %s registered for %s", url, h->opts->partner);
            rc = 0;
            break;
        }
        json_decref(got);
        mdv_warn("registering %s: HTTP %ld; again in a second", url, status);
        mdv_sleep_ms(1000);
    }
    json_decref(body);
    free(url);
    return rc;
}

int sim_webhook_run(const struct sim_webhook *opts, volatile sig_atomic_t *stop)
{
    static struct hook h;
    const struct mdv_http_route routes[] = {
        {"POST", "/webhook", "POST /webhook", on_webhook},
        {NULL, NULL, NULL, NULL},
    };
    pthread_t thread;
    size_t len = 0;
    int rc = 1;
    h.opts = opts;
    pthread_mutex_init(&h.lock, NULL);
    h.token = mdv_read_file(opts->token_file, &len);
    if (!h.token || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "mdv-simulator: cannot read the token file %s\n", opts->token_file);
        return 2;
    }
    h.token[strcspn(h.token, "\r\n")] = '\0';
    struct mdv_http_server *server = mdv_http_start(opts->listen, routes, &h, registered, &h);
    if (server && pthread_create(&thread, NULL, reporter, &h) == 0) {
        if (enroll(&h, stop) == 0) {
            mdv_info("simulating %s, listening on %s", opts->partner, opts->listen);
            while (!*stop)
                mdv_sleep_ms(200);
        }
        atomic_store(&h.stop, 1);
        pthread_join(thread, NULL);
        rc = 0;
    }
    mdv_http_stop(server);
    free(h.token);
    mdv_info("stopped");
    return rc;
}
