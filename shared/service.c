/* Service runtime: start-up steps and the exactly-once consumer loop. */
#include "mdv/service.h"

#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdv/batch.h"
#include "mdv/holdback.h"
#include "mdv/inbox.h"
#include "mdv/kafka.h"
#include "mdv/metrics.h"
#include "mdv/pg.h"

#define POLL_MS 200
#define DLQ_TIMEOUT_MS 10000
#define MAX_BACKOFF_MS 2000 /* the consumer's renewal */
#define BACKLOG_INTERVAL_S 1.0

volatile sig_atomic_t mdv_stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    mdv_stop_requested = 1;
}

int mdv_service_init(struct mdv_service *svc, const char *name, const struct mdv_config_var *extra)
{
    memset(svc, 0, sizeof(*svc));
    svc->name = name;
    pthread_mutex_init(&svc->producer_lock, NULL);
    /* Name folding (pivot.c) and the name check need UTF-8 character classes. */
    setlocale(LC_CTYPE, "C.UTF-8");
    if (mdv_config_load_base(&svc->config, name, extra) != 0)
        return -1;
    mdv_log_init(name, (enum mdv_log_level)mdv_log_parse_level(svc->config.log_level));
    mdv_log_set_instance(svc->config.instance_id);

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    mdv_info("starting, instance %s", svc->config.instance_id);
    return 0;
}

int mdv_service_open_db(struct mdv_service *svc)
{
    svc->conn = mdv_pg_connect(svc->config.pg_dsn, 60000);
    if (!svc->conn) {
        mdv_error("database unreachable, giving up");
        return -1;
    }
    char *dir = mdv_xasprintf("%s/migrations", svc->config.data_dir);
    int rc = mdv_pg_migrate(svc->conn, dir);
    free(dir);
    return rc;
}

/* "ok", or why the service's producer cannot produce; under producer_lock. */
static const char *producer_state(struct mdv_service *svc, char *errstr, size_t errlen)
{
    if (!svc->producer)
        return "missing";
    if (rd_kafka_fatal_error(svc->producer, errstr, errlen))
        return errstr;
    return "ok";
}

/* Ready when the database and the broker answer and both producers (dead
 * letters; the outbox relay's) can produce: a producer in a fatal state
 * would hold messages back until it is replaced. */
static int ready(void *ctx, json_t *checks)
{
    struct mdv_service *svc = ctx;
    char errstr[256];
    int db = PQping(svc->config.pg_dsn) == PQPING_OK;
    pthread_mutex_lock(&svc->producer_lock);
    int broker = svc->producer && mdv_kafka_reachable(svc->producer, 1000);
    const char *producer = producer_state(svc, errstr, sizeof(errstr));
    json_object_set_new(checks, "producer", json_string(producer));
    pthread_mutex_unlock(&svc->producer_lock);
    int relay = !svc->relay || mdv_relay_producing(svc->relay);
    json_object_set_new(checks, "database", json_string(db ? "ok" : "unreachable"));
    json_object_set_new(checks, "broker", json_string(broker ? "ok" : "unreachable"));
    json_object_set_new(checks, "outbox_relay", json_string(relay ? "ok" : "producer failed"));
    return db && broker && strcmp(producer, "ok") == 0 && relay;
}

rd_kafka_t *mdv_service_producer(struct mdv_service *svc)
{
    char errstr[256];
    pthread_mutex_lock(&svc->producer_lock);
    if (svc->producer && rd_kafka_fatal_error(svc->producer, errstr, sizeof(errstr))) {
        /* An idempotent producer's fatal error (seen after broker restarts
         * in librdkafka 2.0.2) cannot be cleared: replace it. Dead letters
         * are produced synchronously, so nothing is waiting in it. */
        mdv_error("producer fatal error, creating a new producer: %s", errstr);
        rd_kafka_destroy(svc->producer);
        svc->producer = NULL;
    }
    if (!svc->producer)
        svc->producer = mdv_kafka_producer_new(svc->config.kafka_brokers);
    rd_kafka_t *rk = svc->producer;
    pthread_mutex_unlock(&svc->producer_lock);
    return rk;
}

int mdv_service_start_http(struct mdv_service *svc, const struct mdv_http_route *routes, void *ctx)
{
    static const struct mdv_http_route none[] = {{NULL, NULL, NULL, NULL}};
    if (!mdv_service_producer(svc))
        return -1;
    svc->http = mdv_http_start(svc->config.http_addr, routes ? routes : none, ctx, ready, svc);
    return svc->http ? 0 : -1;
}

int mdv_service_start_relay(struct mdv_service *svc)
{
    svc->relay =
        mdv_relay_start(svc->name, svc->config.pg_dsn, svc->config.kafka_brokers, svc->relay_wakes);
    return svc->relay ? 0 : -1;
}

int mdv_msg_emit(struct mdv_msg *msg, const char *event, const char *aggregatetype, const char *key,
                 const char *journey_id, const ProtobufCMessage *message)
{
    char *type = mdv_xasprintf("fr.gouv.mdv.%s.%s.v1", msg->svc->name, event);
    char *topic = mdv_xasprintf("mdv.%s.events.v1", msg->svc->name);
    struct mdv_outbox_event ev = {
        .topic = topic,
        .aggregatetype = aggregatetype,
        .meta = {msg->svc->name, type, key, journey_id, msg->ev.id},
        .message = message,
    };
    int rc = mdv_outbox_add(msg->conn, &ev);
    free(type);
    free(topic);
    return rc;
}

enum mdv_outcome mdv_msg_reject(struct mdv_msg *msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg->error, sizeof(msg->error), fmt, ap);
    va_end(ap);
    return MDV_PERMANENT;
}

enum mdv_outcome mdv_msg_db_failure(struct mdv_msg *msg)
{
    if (mdv_pg_failure_is_transient(msg->conn))
        return MDV_TRANSIENT;
    return mdv_msg_reject(msg, "database refused the change: %s", PQerrorMessage(msg->conn));
}

static mdv_event_handler find_handler(const struct mdv_event_route *routes, const char *type)
{
    for (const struct mdv_event_route *r = routes; r->ce_type; r++)
        if (strcmp(r->ce_type, type) == 0)
            return r->handler;
    return NULL;
}

/* Fills msg for rkm and finds its handler (*handler NULL: the type is not
 * for this service). PERMANENT when the envelope is bad. */
static enum mdv_outcome prepare_msg(struct mdv_service *svc, const rd_kafka_message_t *rkm,
                                    const struct mdv_event_route *routes, struct mdv_msg *msg,
                                    mdv_event_handler *handler)
{
    memset(msg, 0, sizeof(*msg));
    msg->svc = svc;
    msg->rkm = rkm;
    msg->log = (struct mdv_log_ctx){NULL, NULL, rd_kafka_topic_name(rkm->rkt), rkm->partition,
                                    rkm->offset};
    *handler = NULL;
    if (mdv_event_parse(rkm, &msg->ev, msg->error, sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    msg->log.ce_id = msg->ev.id;
    msg->log.journey_id = msg->ev.journey_id;
    *handler = find_handler(routes, msg->ev.type);
    if (!*handler)
        mdv_log_at(MDV_LOG_DEBUG, &msg->log, "event type %s not for this service", msg->ev.type);
    return MDV_OK;
}

static enum mdv_outcome begin_transaction(struct mdv_msg *msg)
{
    if (mdv_pg_ensure(&msg->svc->conn, msg->svc->config.pg_dsn) != 0)
        return MDV_TRANSIENT;
    msg->conn = msg->svc->conn;
    return mdv_pg_begin(msg->conn) == 0 ? MDV_OK : mdv_msg_db_failure(msg);
}

/* Commits what went well, rolls back anything else. */
static enum mdv_outcome end_transaction(struct mdv_msg *msg, enum mdv_outcome outcome)
{
    if (outcome == MDV_OK && mdv_pg_commit(msg->conn) != 0)
        outcome = mdv_msg_db_failure(msg);
    if (outcome != MDV_OK)
        mdv_pg_rollback(msg->conn);
    return outcome;
}

/* Inside the open transaction: the inbox claim, then the handler unless
 * the event was applied already. */
static enum mdv_outcome claim_and_apply(struct mdv_msg *msg, mdv_event_handler handler)
{
    int claimed = mdv_inbox_claim(msg->conn, msg->ev.source, msg->ev.id);
    if (claimed < 0)
        return mdv_msg_db_failure(msg);
    if (claimed == 0) {
        /* A redelivery (after a crash, a rebalance, a broker restart): the
         * fault tests read this counter to prove the inbox did its work. */
        mdv_log_at(MDV_LOG_INFO, &msg->log, "duplicate event skipped");
        mdv_metrics_add("mdv_messages_duplicate_total", NULL, 1);
        return MDV_OK;
    }
    return handler(msg);
}

static enum mdv_outcome handle(struct mdv_service *svc, const rd_kafka_message_t *rkm,
                               const struct mdv_event_route *routes, struct mdv_msg *msg)
{
    mdv_event_handler handler;
    if (prepare_msg(svc, rkm, routes, msg, &handler) != MDV_OK)
        return MDV_PERMANENT;
    if (!handler)
        return MDV_OK;
    enum mdv_outcome outcome = begin_transaction(msg);
    if (outcome != MDV_OK)
        return outcome;
    return end_transaction(msg, claim_and_apply(msg, handler));
}

static void add_header_text(rd_kafka_headers_t *headers, const char *name, const char *value)
{
    rd_kafka_header_add(headers, name, -1, value, -1);
}

/* The original key, value and headers, plus where it came from and why. */
static int dead_letter(struct mdv_service *svc, const struct mdv_msg *msg)
{
    const rd_kafka_message_t *rkm = msg->rkm;
    rd_kafka_headers_t *original = NULL;
    rd_kafka_headers_t *headers = rd_kafka_message_headers(rkm, &original) == 0
                                      ? rd_kafka_headers_copy(original)
                                      : rd_kafka_headers_new(5);
    char number[32];

    add_header_text(headers, "mdv_dlq_topic", rd_kafka_topic_name(rkm->rkt));
    snprintf(number, sizeof(number), "%d", rkm->partition);
    add_header_text(headers, "mdv_dlq_partition", number);
    snprintf(number, sizeof(number), "%lld", (long long)rkm->offset);
    add_header_text(headers, "mdv_dlq_offset", number);
    add_header_text(headers, "mdv_dlq_service", svc->name);
    add_header_text(headers, "mdv_dlq_error", msg->error);
    mdv_log_at(MDV_LOG_WARN, &msg->log, "dead-lettering: %s", msg->error);
    rd_kafka_t *producer = mdv_service_producer(svc);
    if (!producer) {
        rd_kafka_headers_destroy(headers);
        return -1;
    }
    /* Only this thread replaces the producer: it stays valid while used. */
    int rc = mdv_kafka_produce_sync(producer, MDV_DLQ_TOPIC, rkm->key, rkm->key_len, rkm->payload,
                                    rkm->len, headers, DLQ_TIMEOUT_MS);
    if (rc == 0)
        mdv_metrics_add("mdv_messages_dead_lettered_total", NULL, 1);
    return rc;
}

/* Offsets are stored (and then auto-committed) only for finished work. */
static void store_offset(rd_kafka_t *rk, const rd_kafka_message_t *rkm)
{
    rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offsets, rd_kafka_topic_name(rkm->rkt), rkm->partition)
        ->offset = rkm->offset + 1;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(rk, offsets);
    if (err)
        mdv_warn("offset store: %s", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(offsets);
}

static void process(struct mdv_service *svc, const rd_kafka_message_t *rkm,
                    const struct mdv_event_route *routes, struct mdv_holdback *holdback)
{
    struct mdv_msg msg;
    double started = mdv_monotonic_seconds();
    enum mdv_outcome outcome = handle(svc, rkm, routes, &msg);

    if (outcome == MDV_PERMANENT && dead_letter(svc, &msg) != 0)
        outcome = MDV_TRANSIENT; /* the broker is away: not lost, retried */
    if (outcome == MDV_TRANSIENT) {
        mdv_metrics_add("mdv_messages_retried_total", NULL, 1);
        mdv_holdback_hold(holdback, svc->consumer, rd_kafka_topic_name(rkm->rkt), rkm->partition,
                          rkm->offset);
        return;
    }
    store_offset(svc->consumer, rkm);
    mdv_holdback_succeeded(holdback);
    char labels[192];
    snprintf(labels, sizeof(labels), "topic=\"%s\"", rd_kafka_topic_name(rkm->rkt));
    mdv_metrics_add("mdv_messages_consumed_total", mdv_metrics_label(labels), 1);
    mdv_metrics_observe_processing(mdv_monotonic_seconds() - started);
}

/* The messages polled for one transaction, owned until batch_clear. */
struct batch {
    rd_kafka_message_t **rkms;
    struct mdv_batch_position *pos;
    size_t n, cap;
    long wait_ms;
};

static void batch_init(struct batch *b, const struct mdv_base_config *config)
{
    b->cap = (size_t)atol(config->batch_size);
    b->wait_ms = atol(config->batch_wait_ms);
    b->n = 0;
    b->rkms = mdv_xcalloc(b->cap, sizeof(*b->rkms));
    b->pos = mdv_xcalloc(b->cap, sizeof(*b->pos));
}

static void batch_clear(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        rd_kafka_message_destroy(b->rkms[i]);
    b->n = 0;
}

static void batch_free(struct batch *b)
{
    batch_clear(b);
    free(b->rkms);
    free(b->pos);
}

/* Takes rkm into the batch, or destroys it (an error, EOF, a held
 * partition). Returns 1 on a fatal consumer error. */
static int batch_take(struct batch *b, rd_kafka_message_t *rkm, const struct mdv_holdback *holdback)
{
    rd_kafka_resp_err_t err = rkm->err;
    if (err && err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        mdv_warn("consumer: %s", rd_kafka_message_errstr(rkm));
    if (err || mdv_holdback_holds(holdback, rd_kafka_topic_name(rkm->rkt), rkm->partition)) {
        rd_kafka_message_destroy(rkm);
        return err == RD_KAFKA_RESP_ERR__FATAL;
    }
    b->pos[b->n] =
        (struct mdv_batch_position){rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset};
    b->rkms[b->n++] = rkm;
    return 0;
}

static int remaining_ms(double deadline)
{
    double left = deadline - mdv_monotonic_seconds();
    return left > 0 ? (int)(left * 1000.0) + 1 : 0;
}

/* Polls a batch in this thread (no consume_batch, DESIGN.md §10): the
 * first message waits up to POLL_MS, the next ones only what is left of
 * the batch's wait (none by default: what librdkafka already fetched), in
 * polls of POLL_MS at most so that a stop does not wait for a long wait.
 * Returns 1 on a fatal consumer error. */
static int batch_poll(struct mdv_service *svc, struct batch *b, const struct mdv_holdback *holdback)
{
    double deadline = 0;
    for (int first = 1; b->n < b->cap && !mdv_stop_requested; first = 0) {
        if (!first && b->n == 0)
            break; /* back to the loop: backlog, resumes */
        int timeout_ms = mdv_batch_poll_timeout_ms(first, remaining_ms(deadline), POLL_MS);
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(svc->consumer, timeout_ms);
        if (!rkm) {
            if (timeout_ms == 0)
                break;
            continue;
        }
        size_t before = b->n;
        if (batch_take(b, rkm, holdback))
            return 1;
        if (before == 0 && b->n == 1)
            deadline = mdv_monotonic_seconds() + (double)b->wait_ms / 1000.0;
    }
    return 0;
}

/* Every message of the batch in one transaction, opened at the first that
 * has a handler; rolled back on any failure, which msg then describes. */
static enum mdv_outcome apply_batch(struct mdv_service *svc, const struct batch *b,
                                    const struct mdv_event_route *routes, struct mdv_msg *msg)
{
    enum mdv_outcome outcome = MDV_OK;
    int open = 0;
    for (size_t i = 0; i < b->n && outcome == MDV_OK; i++) {
        mdv_event_handler handler;
        outcome = prepare_msg(svc, b->rkms[i], routes, msg, &handler);
        msg->conn = open ? svc->conn : NULL; /* for the COMMIT too */
        if (outcome != MDV_OK || !handler)
            continue;
        if (!open) {
            outcome = begin_transaction(msg);
            open = outcome == MDV_OK;
        }
        if (open)
            outcome = claim_and_apply(msg, handler);
    }
    return open ? end_transaction(msg, outcome) : outcome;
}

/* After COMMIT returned OK: each partition's offset (last + 1) stored. */
static void batch_done(struct mdv_service *svc, const struct batch *b, double started,
                       struct mdv_holdback *holdback)
{
    rd_kafka_topic_partition_list_t *next = mdv_batch_next_offsets(b->pos, b->n);
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(svc->consumer, next);
    if (err)
        mdv_warn("offset store: %s", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(next);
    mdv_holdback_succeeded(holdback);
    double elapsed = mdv_monotonic_seconds() - started;
    for (size_t i = 0; i < b->n; i++) {
        char labels[192];
        snprintf(labels, sizeof(labels), "topic=\"%s\"", b->pos[i].topic);
        mdv_metrics_add("mdv_messages_consumed_total", mdv_metrics_label(labels), 1);
        mdv_metrics_observe_processing(elapsed);
    }
    mdv_metrics_add("mdv_consumer_batches_total", NULL, 1);
}

/* One transaction for the batch. The database away: every partition of
 * the batch paused and sought back to its first message, retried after
 * the backoff. A message that can never be processed: the batch rolled
 * back and applied again one message at a time, so that message alone is
 * dead-lettered and the others are applied once. */
static void run_batch(struct mdv_service *svc, const struct batch *b,
                      const struct mdv_event_route *routes, struct mdv_holdback *holdback)
{
    struct mdv_msg msg;
    if (b->n == 1) {
        process(svc, b->rkms[0], routes, holdback);
        return;
    }
    double started = mdv_monotonic_seconds();
    enum mdv_outcome outcome = apply_batch(svc, b, routes, &msg);
    if (outcome == MDV_OK) {
        batch_done(svc, b, started, holdback);
    } else if (outcome == MDV_TRANSIENT) {
        mdv_metrics_add("mdv_messages_retried_total", NULL, (double)b->n);
        rd_kafka_topic_partition_list_t *first = mdv_batch_first_offsets(b->pos, b->n);
        mdv_holdback_hold_partitions(holdback, svc->consumer, first);
        rd_kafka_topic_partition_list_destroy(first);
    } else {
        mdv_log_at(MDV_LOG_WARN, &msg.log, "batch of %zu rolled back (%s): one message at a time",
                   b->n, msg.error);
        mdv_metrics_add("mdv_consumer_batches_isolated_total", NULL, 1);
        for (size_t i = 0; i < b->n; i++)
            if (!mdv_holdback_holds(holdback, b->pos[i].topic, b->pos[i].partition))
                process(svc, b->rkms[i], routes, holdback);
    }
}

/* A consumer's fatal error cannot be cleared: seen after broker restarts
 * with static membership ("static consumer fenced"). Start a new consumer
 * with the same identity; it resumes from the committed offsets, and the
 * inbox skips what was applied but not yet committed. */
static int renew_consumer(struct mdv_service *svc, const char *group, const char *const *topics,
                          struct mdv_holdback *holdback)
{
    char errstr[512] = "";
    rd_kafka_fatal_error(svc->consumer, errstr, sizeof(errstr));
    mdv_error("consumer fatal error, creating a new consumer: %s", errstr);
    rd_kafka_destroy(svc->consumer);
    svc->consumer = NULL;         /* mdv_service_close must not touch the old one */
    mdv_holdback_clear(holdback); /* the new consumer starts from the committed offsets */
    long backoff_ms = 100;
    while (!mdv_stop_requested) {
        svc->consumer = mdv_kafka_consumer_new(svc->config.kafka_brokers, group,
                                               svc->config.instance_id, topics);
        if (svc->consumer)
            return 0;
        mdv_sleep_ms(backoff_ms);
        backoff_ms = backoff_ms * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : backoff_ms * 2;
    }
    return -1;
}

/* mdv_outbox_backlog: every row still in the outbox, counted by the
 * database (the relay's own view stops at its batch and freezes while it
 * waits for the broker, exactly when the backlog grows). Between messages,
 * about once a second; -1 while the database cannot say. An idle relay
 * found the outbox empty and no notification since: 0 without a query,
 * which was, with the relay's polls, what an idle stack committed. */
static void refresh_backlog(struct mdv_service *svc, double *next_at)
{
    double now = mdv_monotonic_seconds();
    if (now < *next_at)
        return;
    *next_at = now + BACKLOG_INTERVAL_S;
    long rows = -1;
    if (svc->relay && mdv_relay_idle(svc->relay))
        rows = 0;
    else if (mdv_pg_ensure(&svc->conn, svc->config.pg_dsn) != 0 ||
             mdv_pg_query_longs(svc->conn, "SELECT count(*) FROM outbox", 0, NULL, &rows, 1) != 0)
        rows = -1;
    mdv_metrics_set("mdv_outbox_backlog", NULL, (double)rows);
}

/* Every counter of the consumer at 0 from the start, one per subscribed
 * topic: a rate over a series that appears only at its first message
 * reads as no data rather than as nothing consumed (a fresh or quiet
 * instance), and alerts on increase() miss that first message. */
static void metrics_start_at_zero(const char *const *topics)
{
    static const char *const counters[] = {
        "mdv_messages_duplicate_total",        "mdv_messages_dead_lettered_total",
        "mdv_messages_retried_total",          "mdv_consumer_batches_total",
        "mdv_consumer_batches_isolated_total",
    };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        mdv_metrics_add(counters[i], NULL, 0);
    for (size_t i = 0; topics[i]; i++) {
        char labels[192];
        snprintf(labels, sizeof(labels), "topic=\"%s\"", topics[i]);
        mdv_metrics_add("mdv_messages_consumed_total", mdv_metrics_label(labels), 0);
    }
}

int mdv_service_consume(struct mdv_service *svc, const char *group, const char *const *topics,
                        const struct mdv_event_route *routes)
{
    struct mdv_holdback *holdback = mdv_holdback_new();
    struct batch batch;
    double backlog_at = 0;

    svc->consumer =
        mdv_kafka_consumer_new(svc->config.kafka_brokers, group, svc->config.instance_id, topics);
    if (!svc->consumer) {
        mdv_holdback_destroy(holdback);
        return -1;
    }
    batch_init(&batch, &svc->config);
    metrics_start_at_zero(topics);
    mdv_info("consuming as group %s (batches of up to %zu messages, %ld ms wait)", group, batch.cap,
             batch.wait_ms);
    while (!mdv_stop_requested) {
        refresh_backlog(svc, &backlog_at);
        mdv_holdback_resume_due(holdback, svc->consumer);
        /* On a fatal error the batch is dropped: the new consumer starts
         * from the committed offsets, which never pass it. */
        int fatal = batch_poll(svc, &batch, holdback);
        if (!fatal && batch.n)
            run_batch(svc, &batch, routes, holdback);
        batch_clear(&batch);
        if (fatal && renew_consumer(svc, group, topics, holdback) != 0)
            break;
    }
    batch_free(&batch);
    mdv_holdback_destroy(holdback);
    return 0;
}

/* The shutdown bound: if closing takes longer (a broker that does not
 * answer the final commit, say), exit anyway. Nothing is lost: offsets are
 * stored only after the database committed, so the next start redelivers
 * what was not committed and the inbox skips what was applied; unsent
 * outbox rows stay in the table. */
struct watchdog {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    int done;
    long timeout_ms;
};

static void *watchdog_main(void *arg)
{
    struct watchdog *w = arg;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += w->timeout_ms / 1000;
    deadline.tv_nsec += (w->timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    while (!w->done && rc == 0)
        rc = pthread_cond_timedwait(&w->done_cond, &w->lock, &deadline);
    int done = w->done;
    pthread_mutex_unlock(&w->lock);
    if (!done) {
        mdv_error("shutdown took longer than %ld ms: exiting now", w->timeout_ms);
        _exit(3);
    }
    return NULL;
}

/* Returns 1 when the watchdog runs (stop it with watchdog_stop). */
static int watchdog_start(struct watchdog *w, long timeout_ms)
{
    w->done = 0;
    w->timeout_ms = timeout_ms;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->done_cond, NULL);
    return pthread_create(&w->thread, NULL, watchdog_main, w) == 0;
}

static void watchdog_stop(struct watchdog *w)
{
    pthread_mutex_lock(&w->lock);
    w->done = 1;
    pthread_cond_signal(&w->done_cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->done_cond);
}

void mdv_service_close(struct mdv_service *svc)
{
    long timeout_ms =
        svc->config.shutdown_timeout_ms ? atol(svc->config.shutdown_timeout_ms) : 10000;
    struct watchdog watchdog;
    mdv_info("stopping");
    int watched = watchdog_start(&watchdog, timeout_ms);
    if (svc->consumer) {
        /* Commits the stored offsets. A static member does not send
         * LeaveGroup: its partitions move after session.timeout.ms unless
         * the same instance returns first (a restart without rebalance). */
        rd_kafka_consumer_close(svc->consumer);
        rd_kafka_destroy(svc->consumer);
    }
    mdv_relay_stop(svc->relay, timeout_ms / 2);
    mdv_http_stop(svc->http);
    if (svc->producer) {
        rd_kafka_flush(svc->producer, (int)(timeout_ms / 4));
        rd_kafka_destroy(svc->producer);
    }
    PQfinish(svc->conn);
    pthread_mutex_destroy(&svc->producer_lock);
    if (watched)
        watchdog_stop(&watchdog);
    mdv_info("stopped");
}

int mdv_service_run(const char *name, const char *const *topics,
                    const struct mdv_event_route *routes, int (*prepare)(struct mdv_service *svc))
{
    struct mdv_service svc;
    char group[64];
    int rc = 1;

    snprintf(group, sizeof(group), "mdv-%s", name);
    if (mdv_service_init(&svc, name, NULL) != 0 || (prepare && prepare(&svc) != 0))
        return 2;
    if (mdv_service_open_db(&svc) == 0 && mdv_service_start_http(&svc, NULL, NULL) == 0 &&
        mdv_service_start_relay(&svc) == 0 && mdv_service_consume(&svc, group, topics, routes) == 0)
        rc = 0;
    mdv_service_close(&svc);
    return rc;
}
