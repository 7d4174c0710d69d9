/* The delivery workers: threads that POST each due delivery to its
 * partner's endpoint, signed per Standard Webhooks, and keep the schedule
 * in the database (DESIGN.md §11).
 *
 * A worker claims one due row by moving its next_attempt_at past the
 * attempt's longest time and writing the attempt's log row, and commits
 * before it sends: a worker (or the whole service) killed during the POST
 * leaves a row that comes due again, sent under the same webhook-id. What
 * the endpoint answered is written in one transaction with its effects:
 * 2xx delivered, and the notice received (the journey step says so); 410
 * disables the endpoint (its deliveries wait; their steps say so);
 * anything else is tried again after the backoff or the Retry-After,
 * whichever is later, until the last attempt dead-letters the delivery
 * (mdv.dlq.v1 through the outbox, with the reason). Rows are claimed with
 * SKIP LOCKED: several workers, and several replicas, never take one row
 * at once.
 *
 * One thread of its own listens, for the workers (mdv_deliveries) and for
 * the outbox relay (mdv_outbox, which then does not listen itself: each
 * listening session of the database pays a transaction for every
 * notifying commit there). It does nothing else, so that a wake never
 * waits for a POST in flight; after each LISTEN it wakes them all, for
 * what was notified while no one listened. Its connection lost, the
 * workers poll every second and the relay every 5 s. */
#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdv/journey.h"
#include "mdv/metrics.h"
#include "mdv/pg.h"
#include "mdv/webhook.h"
#include "partners.h"

#define IDLE_WAIT_MS 1000
/* The listening session, quiet that long, is asked a question: a session
 * that never runs a statement never reports its statistics (the
 * transactions it runs to read each NOTIFY would go uncounted in
 * pg_stat_database), and a connection that died without a word shows. */
#define LISTEN_PING_MS 5000
#define LEASE_MARGIN_MS 5000
#define ERROR_MAX 200

struct partners_webhooks {
    atomic_int stop;
    int n;
    pthread_mutex_t lock;
    pthread_cond_t woken;
    unsigned long wakes; /* under lock: notifications seen by the listener */
    pthread_t *threads;
    pthread_t listener;
    int listening; /* the listener thread runs */
    char *pg_dsn, *instance_id;
    struct mdv_service svc; /* what reports need of a service: its name */
    const struct partners_schedule *schedule;
};

/* One claimed attempt: the columns of the claim's RETURNING. */
enum {
    C_ID,
    C_PARTNER,
    C_JOURNEY,
    C_STEP,
    C_TYPE,
    C_BODY,
    C_ATTEMPT,
    C_MAX,
    C_URL,
    C_SECRET,
    C_PREVIOUS,
    C_DELIVERED,
    C_REPLAY,
};

/* What the endpoint answered. */
struct answer {
    int interrupted;       /* the service stopped during the attempt */
    long status;           /* HTTP status, 0 when none came back */
    char error[ERROR_MAX]; /* why there was no answer, or "" */
    char retry_after[64];  /* the Retry-After header, or "" */
};

static const char CLAIM_SQL[] =
    "WITH due AS (SELECT d.id, d.replay_pending FROM deliveries d"
    "  JOIN endpoints e ON e.partner = d.partner AND e.disabled_at IS NULL"
    "  WHERE d.status = 'pending' AND d.next_attempt_at <= now()"
    "  ORDER BY d.next_attempt_at LIMIT 1 FOR UPDATE OF d SKIP LOCKED)"
    " UPDATE deliveries d SET attempts = d.attempts + 1, replay_pending = false,"
    "  next_attempt_at = now() + make_interval(secs => $1::double precision / 1000)"
    " FROM due, endpoints e WHERE d.id = due.id AND e.partner = d.partner"
    " RETURNING d.id, d.partner, d.journey_id, d.step_code, d.event_type, d.body, d.attempts,"
    "  d.max_attempts, e.url, e.secret,"
    "  CASE WHEN e.previous_until > now() THEN e.previous_secret END,"
    "  d.delivered_at IS NOT NULL, due.replay_pending";

static const struct partners_partner *partner_named(const char *id)
{
    for (size_t i = 0; i < partners_rules->n_partners; i++)
        if (strcmp(partners_rules->partners[i].id, id) == 0)
            return &partners_rules->partners[i];
    return NULL;
}

/* Claims a due delivery and logs its attempt, committed; the row (one)
 * or NULL when none is due or on error. */
static PGresult *claim(struct partners_webhooks *w, PGconn *conn)
{
    char lease[24];
    snprintf(lease, sizeof(lease), "%ld", w->schedule->timeout_ms + LEASE_MARGIN_MS);
    const char *params[] = {lease};
    if (mdv_pg_begin(conn) != 0)
        return NULL;
    PGresult *res = mdv_pg_query(conn, CLAIM_SQL, 1, params);
    if (res && PQntuples(res) == 1) {
        const char *log[] = {PQgetvalue(res, 0, C_ID), PQgetvalue(res, 0, C_ATTEMPT),
                             PQgetvalue(res, 0, C_REPLAY), PQgetvalue(res, 0, C_URL)};
        if (mdv_pg_exec(conn,
                        "INSERT INTO delivery_attempts (delivery_id, n, replay, url)"
                        " VALUES ($1, $2, $3, $4)",
                        4, log) == 0 &&
            mdv_pg_commit(conn) == 0)
            return res;
    }
    PQclear(res);
    mdv_pg_rollback(conn);
    return NULL;
}

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
}

static struct curl_slist *signed_headers(const PGresult *row, struct curl_slist *h)
{
    const char *id = PQgetvalue(row, 0, C_ID), *body = PQgetvalue(row, 0, C_BODY);
    long long ts = (long long)time(NULL);
    char sig[MDV_WEBHOOK_SIGNATURE_LEN], old[MDV_WEBHOOK_SIGNATURE_LEN] = "", line[256];
    size_t len = strlen(body);
    if (mdv_webhook_sign(PQgetvalue(row, 0, C_SECRET), id, ts, body, len, sig) != 0)
        return h;
    /* During a rotation both secrets sign: a partner that has not
     * switched yet still verifies with the one it knows. */
    if (!PQgetisnull(row, 0, C_PREVIOUS) &&
        mdv_webhook_sign(PQgetvalue(row, 0, C_PREVIOUS), id, ts, body, len, old) != 0)
        old[0] = '\0';
    h = curl_slist_append(h, "Content-Type: application/json");
    snprintf(line, sizeof(line), "webhook-id: %s", id);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "webhook-timestamp: %lld", ts);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "webhook-signature: %s%s%s", sig, old[0] ? " " : "", old);
    return curl_slist_append(h, line);
}

/* libcurl's progress callback, a few times a second during an attempt:
 * non-zero aborts it once the service stops, so that a slow partner does
 * not hold a SIGTERM for a whole attempt's timeout. */
static int abort_on_stop(void *stop, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load((atomic_int *)stop) ? 1 : 0;
}

/* POSTs the claimed delivery; fills a. */
static void post(struct partners_webhooks *w, CURL *curl, const PGresult *row, struct answer *a)
{
    struct curl_slist *headers = signed_headers(row, NULL);
    struct curl_header *ra = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    memset(a, 0, sizeof(*a));
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, PQgetvalue(row, 0, C_URL));
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, w->schedule->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mdv-partners-webhooks/1");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, PQgetvalue(row, 0, C_BODY));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &w->stop);
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        a->interrupted = 1;
    } else if (rc != CURLE_OK) {
        snprintf(a->error, sizeof(a->error), "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->status);
        if (curl_easy_header(curl, "Retry-After", 0, CURLH_HEADER, -1, &ra) == CURLHE_OK)
            mdv_strlcpy(a->retry_after, ra->value, sizeof(a->retry_after));
    }
    curl_slist_free_all(headers);
}

/* A stand-in for a consumed message, for the step reports. */
static void fake_msg(struct partners_webhooks *w, PGconn *conn, const PGresult *row,
                     struct mdv_msg *msg)
{
    memset(msg, 0, sizeof(*msg));
    msg->svc = &w->svc;
    msg->conn = conn;
    mdv_uuid_new(msg->ev.id);
    msg->log.journey_id = PQgetvalue(row, 0, C_JOURNEY);
    msg->log.ce_id = PQgetvalue(row, 0, C_ID);
}

static int delivered(struct mdv_msg *msg, const struct partners_partner *p, const PGresult *row)
{
    const char *params[] = {PQgetvalue(row, 0, C_ID), PQgetvalue(row, 0, C_JOURNEY),
                            PQgetvalue(row, 0, C_STEP)};
    if (mdv_pg_exec(msg->conn,
                    "UPDATE deliveries SET status = 'delivered', last_error = NULL,"
                    " delivered_at = coalesce(delivered_at, now()) WHERE id = $1",
                    1, params) != 0)
        return -1;
    PGresult *res = mdv_pg_query(msg->conn,
                                 "UPDATE notices SET received_at = now() WHERE journey_id = $1"
                                 " AND step_code = $2 AND received_at IS NULL RETURNING 1",
                                 2, params + 1);
    if (!res)
        return -1;
    int fresh = PQntuples(res) == 1;
    PQclear(res);
    return fresh ? partners_step_received(msg, p, params[1], params[2]) : 0;
}

/* 410: the endpoint is disabled (unless it changed since the claim), and
 * the steps of its deliveries still to make say they wait. This attempt
 * does not count against the schedule. */
static int gone(struct mdv_msg *msg, const struct partners_partner *p, const PGresult *row)
{
    const char *params[] = {PQgetvalue(row, 0, C_PARTNER), PQgetvalue(row, 0, C_URL),
                            PQgetvalue(row, 0, C_ID)};
    if (mdv_pg_exec(
            msg->conn,
            "UPDATE deliveries SET max_attempts = max_attempts + 1, next_attempt_at = now(),"
            " last_error = 'HTTP 410: endpoint disabled' WHERE id = $1",
            1, params + 2) != 0)
        return -1;
    PGresult *res = mdv_pg_query(msg->conn,
                                 "UPDATE endpoints SET disabled_at = now(), updated_at = now()"
                                 " WHERE partner = $1 AND url = $2 AND disabled_at IS NULL"
                                 " RETURNING 1",
                                 2, params);
    if (!res)
        return -1;
    int disabled = PQntuples(res) == 1;
    PQclear(res);
    return disabled ? partners_steps_waiting(msg, p) : 0;
}

/* The dead letter of a delivery: its body, its notice's envelope and why. */
static int dead_letter(struct mdv_msg *msg, const PGresult *row, const char *why)
{
    char id[MDV_UUID_LEN];
    const char *journey = PQgetvalue(row, 0, C_JOURNEY), *body = PQgetvalue(row, 0, C_BODY);
    struct mdv_event_meta meta = {"partners", PQgetvalue(row, 0, C_TYPE), journey, journey,
                                  PQgetvalue(row, 0, C_ID)};
    json_t *headers = mdv_event_headers_json(&meta, id);
    json_object_set_new(headers, "content-type", json_string("application/json"));
    json_object_set_new(headers, "mdv_dlq_service", json_string("partners"));
    json_object_set_new(headers, "mdv_dlq_error", json_string(why));
    json_object_set_new(headers, "mdv_dlq_partner", json_string(PQgetvalue(row, 0, C_PARTNER)));
    json_object_set_new(headers, "mdv_dlq_webhook_id", json_string(PQgetvalue(row, 0, C_ID)));
    int rc = mdv_outbox_add_raw(msg->conn, MDV_DLQ_TOPIC, "delivery", journey,
                                PQgetvalue(row, 0, C_TYPE), body, strlen(body), headers);
    json_decref(headers);
    return rc;
}

/* Any other answer: again later, or dead after the last attempt. A replay
 * of a delivery that was delivered before stays delivered. */
static int failed(struct partners_webhooks *w, struct mdv_msg *msg,
                  const struct partners_partner *p, const PGresult *row, const char *why,
                  long retry_after_ms)
{
    long attempt = atol(PQgetvalue(row, 0, C_ATTEMPT));
    const char *id = PQgetvalue(row, 0, C_ID);
    if (strcmp(PQgetvalue(row, 0, C_DELIVERED), "t") == 0) {
        const char *params[] = {id};
        return mdv_pg_exec(msg->conn, "UPDATE deliveries SET status = 'delivered' WHERE id = $1", 1,
                           params);
    }
    if (attempt >= atol(PQgetvalue(row, 0, C_MAX))) {
        char *reason =
            mdv_xasprintf("webhook to %s: %ld attempts, the last: %s", p->id, attempt, why);
        const char *params[] = {id, reason};
        int rc = mdv_pg_exec(msg->conn,
                             "UPDATE deliveries SET status = 'dead', dead_at = now(),"
                             " last_error = $2 WHERE id = $1",
                             2, params);
        if (rc == 0)
            rc = dead_letter(msg, row, reason);
        if (rc == 0)
            rc = partners_step_undelivered(msg, p, PQgetvalue(row, 0, C_JOURNEY),
                                           PQgetvalue(row, 0, C_STEP));
        if (rc == 0)
            mdv_log_at(MDV_LOG_WARN, &msg->log, "delivery %s dead-lettered: %s", id, reason);
        free(reason);
        return rc;
    }
    long delay = partners_backoff_ms(w->schedule, attempt, (double)rand() / ((double)RAND_MAX + 1));
    if (retry_after_ms > delay)
        delay = retry_after_ms;
    char ms[24];
    snprintf(ms, sizeof(ms), "%ld", delay);
    const char *params[] = {id, ms, why};
    return mdv_pg_exec(msg->conn,
                       "UPDATE deliveries SET last_error = $3, next_attempt_at = now()"
                       " + make_interval(secs => $2::double precision / 1000) WHERE id = $1",
                       3, params);
}

/* mdv_webhook_attempts_total{partner, result}: 2xx, 410, other (an HTTP
 * status but these) or none (no answer). */
static void count_attempt(const char *partner, long status)
{
    const char *result = status >= 200 && status < 300 ? "2xx"
                         : status == 410               ? "410"
                         : status                      ? "other"
                                                       : "none";
    char *labels = mdv_xasprintf("partner=\"%s\",result=\"%s\"", partner, result);
    mdv_metrics_add("mdv_webhook_attempts_total", mdv_metrics_label(labels), 1);
    free(labels);
}

/* Writes what the endpoint answered and its effects, in one transaction. */
static int record(struct partners_webhooks *w, PGconn *conn, const PGresult *row,
                  const struct answer *a)
{
    const struct partners_partner *p = partner_named(PQgetvalue(row, 0, C_PARTNER));
    struct mdv_msg msg;
    char status[16], why[ERROR_MAX + 32], *retry_at = NULL;
    long retry_ms =
        a->retry_after[0] ? partners_retry_after_ms(w->schedule, a->retry_after, time(NULL)) : -1;
    snprintf(status, sizeof(status), "%ld", a->status);
    if (a->status)
        snprintf(why, sizeof(why), "HTTP %ld", a->status);
    else
        snprintf(why, sizeof(why), "no answer: %s", a->error);
    if (retry_ms >= 0)
        retry_at = mdv_xasprintf("%ld", retry_ms);
    const char *params[] = {PQgetvalue(row, 0, C_ID), PQgetvalue(row, 0, C_ATTEMPT),
                            a->status ? status : NULL, a->status ? NULL : a->error, retry_at};
    fake_msg(w, conn, row, &msg);
    int rc = p && mdv_pg_begin(conn) == 0 ? 0 : -1;
    if (rc == 0)
        rc = mdv_pg_exec(conn,
                         "UPDATE delivery_attempts SET ended_at = now(), http_status = $3,"
                         " error = $4, retry_after = now() + make_interval(secs =>"
                         " $5::double precision / 1000) WHERE delivery_id = $1 AND n = $2",
                         5, params);
    if (rc == 0 && a->status >= 200 && a->status < 300)
        rc = delivered(&msg, p, row);
    else if (rc == 0 && a->status == 410)
        rc = gone(&msg, p, row);
    else if (rc == 0)
        rc = failed(w, &msg, p, row, why, retry_ms);
    if (rc == 0)
        rc = mdv_pg_commit(conn);
    if (rc != 0) {
        mdv_pg_rollback(conn);
    } else {
        count_attempt(PQgetvalue(row, 0, C_PARTNER), a->status);
        mdv_log_at(MDV_LOG_INFO, &msg.log, "delivery %s to %s, attempt %s: %s",
                   PQgetvalue(row, 0, C_ID), PQgetvalue(row, 0, C_PARTNER),
                   PQgetvalue(row, 0, C_ATTEMPT), why);
    }
    free(retry_at);
    return rc;
}

/* An attempt the service's stop cut short is not the partner's failure:
 * it ends "interrupted", gives its attempt back and is due again at once,
 * for another instance or this one once restarted (the same webhook-id:
 * the partner may have received it and tells it apart). */
static int interrupted(PGconn *conn, const PGresult *row)
{
    const char *params[] = {PQgetvalue(row, 0, C_ID), PQgetvalue(row, 0, C_ATTEMPT)};
    int rc = mdv_pg_begin(conn);
    if (rc == 0)
        rc = mdv_pg_exec(conn,
                         "UPDATE delivery_attempts SET ended_at = now(),"
                         " error = 'interrupted: the partners service stopped'"
                         " WHERE delivery_id = $1 AND n = $2",
                         2, params);
    if (rc == 0)
        rc = mdv_pg_exec(conn,
                         "UPDATE deliveries SET max_attempts = max_attempts + 1,"
                         " next_attempt_at = now() WHERE id = $1",
                         1, params);
    if (rc == 0)
        rc = mdv_pg_commit(conn);
    if (rc != 0)
        mdv_pg_rollback(conn);
    else
        mdv_info("delivery %s, attempt %s: interrupted by the stop, due again now",
                 PQgetvalue(row, 0, C_ID), PQgetvalue(row, 0, C_ATTEMPT));
    return rc;
}

static void wake_workers(struct partners_webhooks *w)
{
    pthread_mutex_lock(&w->lock);
    w->wakes++;
    pthread_cond_broadcast(&w->woken);
    pthread_mutex_unlock(&w->lock);
}

/* The workers: until the listener is woken, a stop, or IDLE_WAIT_MS. */
static void wait_for_listener(struct partners_webhooks *w)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += IDLE_WAIT_MS / 1000;
    pthread_mutex_lock(&w->lock);
    unsigned long seen = w->wakes;
    int rc = 0;
    while (rc == 0 && w->wakes == seen && !atomic_load(&w->stop))
        rc = pthread_cond_timedwait(&w->woken, &w->lock, &deadline);
    pthread_mutex_unlock(&w->lock);
}

/* Hands on what the session heard; -1 when the connection broke. */
static int hand_on_notifications(struct partners_webhooks *w, PGconn *conn)
{
    if (!PQconsumeInput(conn))
        return -1;
    PGnotify *n;
    int deliveries = 0;
    while ((n = PQnotifies(conn)) != NULL) {
        if (strcmp(n->relname, "mdv_outbox") == 0)
            mdv_relay_wake();
        else
            deliveries = 1;
        PQfreemem(n);
    }
    if (deliveries)
        wake_workers(w);
    return 0;
}

/* The session's question every LISTEN_PING_MS; -1 when unanswered. */
static int ping_when_due(PGconn *conn, double *pinged_at)
{
    double now = mdv_monotonic_seconds();
    if (now - *pinged_at < LISTEN_PING_MS / 1000.0)
        return 0;
    *pinged_at = now;
    return mdv_pg_exec(conn, "SELECT 1", 0, NULL);
}

/* LISTENs on a session just (re)made, then wakes everyone: what was
 * notified while no one listened is not lost. */
static int start_listening(struct partners_webhooks *w, PGconn *conn)
{
    if (mdv_pg_exec(conn, "LISTEN mdv_deliveries", 0, NULL) != 0 ||
        mdv_pg_exec(conn, "LISTEN mdv_outbox", 0, NULL) != 0)
        return -1;
    wake_workers(w);
    mdv_relay_wake();
    return 0;
}

static void *listen_main(void *arg)
{
    struct partners_webhooks *w = arg;
    PGconn *conn = NULL;
    int listening_pid = 0; /* the backend whose session LISTENs */
    double pinged_at = mdv_monotonic_seconds();
    while (!atomic_load(&w->stop)) {
        if (mdv_pg_ensure(&conn, w->pg_dsn) != 0 ||
            (PQbackendPID(conn) != listening_pid && start_listening(w, conn) != 0)) {
            mdv_sleep_ms(IDLE_WAIT_MS);
            continue;
        }
        listening_pid = PQbackendPID(conn);
        /* Before the poll: mdv_pg_ensure may have read notifications off
         * the socket already, into libpq's queue. */
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        if (ping_when_due(conn, &pinged_at) != 0 || hand_on_notifications(w, conn) != 0 ||
            pfd.fd < 0)
            mdv_sleep_ms(100); /* mdv_pg_ensure makes a new session */
        else
            (void)poll(&pfd, 1, 100);
    }
    if (conn)
        PQfinish(conn);
    return NULL;
}

static void *run(void *arg)
{
    struct partners_webhooks *w = arg;
    PGconn *conn = NULL;
    CURL *curl = curl_easy_init();
    while (curl && !atomic_load(&w->stop)) {
        if (mdv_pg_ensure(&conn, w->pg_dsn) != 0) {
            mdv_sleep_ms(IDLE_WAIT_MS);
            continue;
        }
        PGresult *row = claim(w, conn);
        if (!row) {
            wait_for_listener(w);
            continue;
        }
        struct answer a;
        post(w, curl, row, &a);
        if (a.interrupted ? interrupted(conn, row) != 0 : record(w, conn, row, &a) != 0)
            mdv_warn("delivery %s: its answer could not be recorded; it comes due again",
                     PQgetvalue(row, 0, C_ID));
        PQclear(row);
    }
    curl_easy_cleanup(curl);
    if (conn)
        PQfinish(conn);
    return NULL;
}

struct partners_webhooks *partners_webhooks_start(const struct mdv_base_config *config,
                                                  const struct partners_schedule *schedule, int n)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    struct partners_webhooks *w = mdv_xcalloc(1, sizeof(*w));
    w->schedule = schedule;
    w->pg_dsn = mdv_xstrdup(config->pg_dsn);
    w->instance_id = mdv_xstrdup(config->instance_id);
    w->svc.name = "partners";
    w->svc.config.instance_id = w->instance_id;
    w->threads = mdv_xcalloc((size_t)n, sizeof(*w->threads));
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->woken, NULL);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    w->listening = pthread_create(&w->listener, NULL, listen_main, w) == 0;
    if (!w->listening) {
        partners_webhooks_stop(w);
        return NULL;
    }
    for (; w->n < n; w->n++)
        if (pthread_create(&w->threads[w->n], NULL, run, w) != 0) {
            partners_webhooks_stop(w);
            return NULL;
        }
    return w;
}

void partners_webhooks_stop(struct partners_webhooks *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, 1);
    pthread_mutex_lock(&w->lock);
    pthread_cond_broadcast(&w->woken);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->n; i++)
        pthread_join(w->threads[i], NULL);
    if (w->listening)
        pthread_join(w->listener, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->woken);
    free(w->threads);
    free(w->pg_dsn);
    free(w->instance_id);
    free(w);
}
