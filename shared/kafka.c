/* librdkafka adapter: configuration from the environment and the settings
 * that keep "nothing lost, nothing twice" (DESIGN.md §10). */
#include "mdv/kafka.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/log.h"
#include "mdv/metrics.h"

extern char **environ;

#define ENV_PREFIX "MDV_KAFKA_"

int mdv_kafka_property_from_env(const char *env_name, char *out, size_t outlen)
{
    size_t prefix = strlen(ENV_PREFIX);
    if (strncmp(env_name, ENV_PREFIX, prefix) != 0 || strcmp(env_name, "MDV_KAFKA_BROKERS") == 0)
        return -1;
    size_t i = 0;
    for (const char *p = env_name + prefix; *p && i + 1 < outlen; p++, i++)
        out[i] = *p == '_' ? '.' : (char)tolower((unsigned char)*p);
    out[i] = '\0';
    if (env_name[prefix + i] != '\0')
        return -1; /* out too small: refuse rather than truncate */
    return i > 0 ? 0 : -1;
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        mdv_error("kafka configuration %s=%s refused: %s", name, value, errstr);
        return -1;
    }
    return 0;
}

/* Applies MDV_KAFKA_* from the environment, after our defaults, so an
 * operator can override anything. */
static int apply_environment(rd_kafka_conf_t *conf)
{
    for (char **env = environ; *env; env++) {
        char name[256], property[256];
        const char *eq = strchr(*env, '=');
        if (!eq || (size_t)(eq - *env) >= sizeof(name))
            continue;
        memcpy(name, *env, (size_t)(eq - *env));
        name[eq - *env] = '\0';
        if (mdv_kafka_property_from_env(name, property, sizeof(property)) != 0)
            continue;
        if (conf_set(conf, property, eq + 1) != 0)
            return -1;
    }
    return 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    mdv_log_at(level <= 3   ? MDV_LOG_ERROR
               : level <= 5 ? MDV_LOG_WARN
                            : MDV_LOG_DEBUG,
               NULL, "librdkafka %s: %s", fac, buf);
}

static rd_kafka_conf_t *conf_new(const char *brokers, const char *const *settings)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, log_cb);
    if (conf_set(conf, "bootstrap.servers", brokers) != 0)
        goto fail;
    for (const char *const *s = settings; *s; s += 2)
        if (conf_set(conf, s[0], s[1]) != 0)
            goto fail;
    if (apply_environment(conf) != 0)
        goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* rd_kafka_new of conf, which it then owns; NULL (logged as what, conf
 * destroyed) if it fails. NULL conf (conf_new failed) gives NULL. */
static rd_kafka_t *client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, const char *what)
{
    char errstr[512];
    if (!conf)
        return NULL;
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk) {
        mdv_error("%s: %s", what, errstr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

static void delivery_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    struct mdv_delivery *delivery = m->_private;
    if (delivery) {
        delivery->err = m->err;
        delivery->done = 1;
    }
}

rd_kafka_t *mdv_kafka_producer_new(const char *brokers)
{
    /* clang-format off */
    static const char *const settings[] = {
        "enable.idempotence", "true",
        "acks", "all",
        "socket.nagle.disable", "true",
        "linger.ms", "5",
        "message.timeout.ms", "30000",
        NULL,
    };
    /* clang-format on */
    rd_kafka_conf_t *conf = conf_new(brokers, settings);
    if (conf)
        rd_kafka_conf_set_dr_msg_cb(conf, delivery_cb);
    return client_new(RD_KAFKA_PRODUCER, conf, "kafka producer");
}

rd_kafka_t *mdv_kafka_admin_new(const char *brokers)
{
    static const char *const settings[] = {NULL};
    return client_new(RD_KAFKA_PRODUCER, conf_new(brokers, settings), "kafka admin client");
}

rd_kafka_t *mdv_kafka_offsets_reader_new(const char *brokers, const char *group)
{
    /* clang-format off */
    const char *const settings[] = {
        "group.id", group,
        "enable.auto.commit", "false",
        NULL,
    };
    /* clang-format on */
    char what[256];
    snprintf(what, sizeof(what), "kafka offsets reader of %s", group);
    return client_new(RD_KAFKA_CONSUMER, conf_new(brokers, settings), what);
}

void mdv_kafka_offsets_reader_destroy(rd_kafka_t *rk)
{
    /* It never joined its group: nothing to leave or commit, and a close
     * would wait for a coordinator that may be away. */
    rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

/* Per-partition lag from librdkafka's statistics (a JSON document every
 * statistics.interval.ms, served by the polling thread) into
 * mdv_consumer_lag{topic,partition}. */
static void record_partition_lags(const char *topic, json_t *partitions)
{
    const char *id;
    json_t *partition;
    json_object_foreach(partitions, id, partition)
    {
        json_t *lag = json_object_get(partition, "consumer_lag");
        if (strcmp(id, "-1") == 0 || !json_is_integer(lag) || json_integer_value(lag) < 0)
            continue; /* the internal UA partition, or not known yet */
        char labels[256];
        snprintf(labels, sizeof(labels), "topic=\"%s\",partition=\"%s\"", topic, id);
        mdv_metrics_set("mdv_consumer_lag", mdv_metrics_label(labels),
                        (double)json_integer_value(lag));
    }
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    (void)rk;
    (void)opaque;
    json_t *stats = json_loadb(json, json_len, 0, NULL);
    const char *topic;
    json_t *t;
    json_object_foreach(json_object_get(stats, "topics"), topic, t)
        record_partition_lags(topic, json_object_get(t, "partitions"));
    json_decref(stats);
    return 0; /* librdkafka frees json */
}

/* Writes "topic[p,p,...] ..." for a log line. */
static void describe_partitions(const rd_kafka_topic_partition_list_t *parts, char *out,
                                size_t outlen)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < parts->cnt && len + 1 < outlen; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        int same_topic = i > 0 && strcmp(parts->elems[i - 1].topic, p->topic) == 0;
        int n = same_topic ? snprintf(out + len, outlen - len, ",%d", p->partition)
                           : snprintf(out + len, outlen - len, "%s%s:%d", i ? " " : "", p->topic,
                                      p->partition);
        len += n > 0 ? (size_t)n : 0;
    }
}

/* A revoked partition's lag is another member's to report now. */
static void forget_lags(const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        char labels[256];
        snprintf(labels, sizeof(labels), "topic=\"%s\",partition=\"%d\"", parts->elems[i].topic,
                 parts->elems[i].partition);
        mdv_metrics_set("mdv_consumer_lag", mdv_metrics_label(labels), 0);
    }
}

/* Logs what this member gets and gives up, so takeovers are visible; the
 * assignment itself is librdkafka's default (eager: assign / unassign). */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    char described[1024];
    (void)opaque;
    describe_partitions(parts, described, sizeof(described));
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        mdv_info("partitions assigned: %s", described);
        rd_kafka_assign(rk, parts);
    } else {
        mdv_info("partitions revoked: %s", described);
        forget_lags(parts);
        rd_kafka_assign(rk, NULL);
    }
}

/* fetch.wait.max.ms: how long the broker holds a fetch that found nothing.
 * A message still answers it at once (fetch.min.bytes 1), so only an idle
 * consumer's rate of empty fetches changes: at librdkafka's 500 ms, every
 * consumer's empty fetches were most of an idle broker's CPU (README,
 * Performance). A partition assigned or resumed meanwhile waits for that
 * fetch to return, so a takeover can start up to this much later. */
rd_kafka_t *mdv_kafka_consumer_new(const char *brokers, const char *group, const char *instance_id,
                                   const char *const *topics)
{
    /* clang-format off */
    const char *const settings[] = {
        "group.id", group,
        "group.instance.id", instance_id,
        "enable.auto.commit", "true",
        "enable.auto.offset.store", "false",
        "auto.offset.reset", "earliest",
        "partition.assignment.strategy", "range,roundrobin",
        "auto.commit.interval.ms", "1000",
        "session.timeout.ms", "10000",
        "socket.nagle.disable", "true",
        "statistics.interval.ms", "5000",
        "fetch.wait.max.ms", "2000",
        NULL,
    };
    /* clang-format on */
    rd_kafka_conf_t *conf = conf_new(brokers, settings);
    if (conf) {
        rd_kafka_conf_set_stats_cb(conf, stats_cb);
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    }
    rd_kafka_t *rk = client_new(RD_KAFKA_CONSUMER, conf, "kafka consumer");
    if (!rk)
        return NULL;
    rd_kafka_poll_set_consumer(rk);

    size_t n = 0;
    while (topics[n])
        n++;
    rd_kafka_topic_partition_list_t *subscription = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(subscription, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, subscription);
    rd_kafka_topic_partition_list_destroy(subscription);
    if (err) {
        mdv_error("kafka subscribe: %s", rd_kafka_err2str(err));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

int mdv_kafka_produce_sync(rd_kafka_t *rk, const char *topic, const void *key, size_t key_len,
                           const void *value, size_t value_len, rd_kafka_headers_t *headers,
                           int timeout_ms)
{
    struct mdv_delivery delivery = {0, RD_KAFKA_RESP_ERR_NO_ERROR};
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len),
        RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(&delivery), RD_KAFKA_V_END);
    if (err) {
        /* Headers are ours again only when producev failed. */
        rd_kafka_headers_destroy(headers);
        mdv_error("produce to %s: %s", topic, rd_kafka_err2str(err));
        return -1;
    }
    /* The report must not outlive this frame. */
    mdv_kafka_wait_deliveries(rk, &delivery, 1, timeout_ms, NULL);
    if (delivery.err) {
        mdv_error("delivery to %s failed: %s", topic, rd_kafka_err2str(delivery.err));
        return -1;
    }
    return 0;
}

static int all_done(const struct mdv_delivery *deliveries, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!deliveries[i].done)
            return 0;
    return 1;
}

void mdv_kafka_wait_deliveries(rd_kafka_t *rk, struct mdv_delivery *deliveries, size_t n,
                               int timeout_ms, const atomic_int *cancel)
{
    double deadline = mdv_monotonic_seconds() + timeout_ms / 1000.0;
    while (!all_done(deliveries, n) && mdv_monotonic_seconds() < deadline &&
           !(cancel && atomic_load(cancel)))
        rd_kafka_poll(rk, 20);
    if (all_done(deliveries, n))
        return;
    /* Purged messages get a delivery report with __PURGE_QUEUE or
     * __PURGE_INFLIGHT: wait for those too. */
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    while (!all_done(deliveries, n))
        rd_kafka_poll(rk, 20);
}

int mdv_kafka_reachable(rd_kafka_t *rk, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    if (err)
        return 0;
    int ok = md->broker_cnt > 0;
    rd_kafka_metadata_destroy(md);
    return ok;
}
