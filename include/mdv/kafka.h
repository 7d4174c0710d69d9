/* Kafka clients configured the way DESIGN.md §10 requires for librdkafka
 * 2.0.2. Any MDV_KAFKA_<PROPERTY> variable is passed to librdkafka as is
 * (MDV_KAFKA_SECURITY_PROTOCOL=SASL_SSL sets security.protocol). */
#ifndef MDV_KAFKA_H
#define MDV_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>

#include "mdv/util.h"

/* What the broker said of one produced message: pass a pointer to one as
 * the message opaque; the delivery callback fills it in. */
struct mdv_delivery {
    int done;
    rd_kafka_resp_err_t err;
};

/* Returns a producer (idempotent, acks=all) the caller destroys, or NULL.
 * Every message it produces must carry a struct mdv_delivery * opaque (or
 * NULL), filled in when rd_kafka_poll serves the delivery report. */
rd_kafka_t *mdv_kafka_producer_new(const char *brokers) MDV_MUSTCHECK;

/* Returns a client for admin requests (topics, metadata), configured from
 * the environment like the others but without idempotence, which would ask
 * the broker for a producer id it never uses. The caller destroys it. */
rd_kafka_t *mdv_kafka_admin_new(const char *brokers) MDV_MUSTCHECK;

/* Returns a handle that reads group's committed offsets with
 * rd_kafka_committed, or NULL; destroy it with
 * mdv_kafka_offsets_reader_destroy. It is a consumer of group that never
 * subscribes: it never joins the group nor commits for it, and needs only
 * Describe on it. Not the Admin API's ListConsumerGroupOffsets: in
 * librdkafka 2.0.2 its answer to an error right after a broker restart
 * (NOT_COORDINATOR...) kills the process, by a NULL dereference on a
 * handle without a group (librdkafka issue 5040) or an enq_once assertion
 * on one with a group; the consumer's own OffsetFetch path handles a
 * coordinator change. */
rd_kafka_t *mdv_kafka_offsets_reader_new(const char *brokers, const char *group) MDV_MUSTCHECK;
void mdv_kafka_offsets_reader_destroy(rd_kafka_t *rk);

/* Returns a consumer of group (static member instance_id) subscribed to
 * topics (NULL-terminated), or NULL. Offsets are stored by hand only after
 * the database committed; librdkafka commits stored offsets. */
rd_kafka_t *mdv_kafka_consumer_new(const char *brokers, const char *group, const char *instance_id,
                                   const char *const *topics) MDV_MUSTCHECK;

/* Waits until the broker acknowledged (or refused) each of n messages,
 * polling rk. Past timeout_ms, or as soon as *cancel (may be NULL) becomes
 * non-zero, what is still queued or in flight is purged (reported as
 * failed), so that no delivery report can arrive after the caller frees the
 * array. Purging affects every message of rk: use it on a producer whose
 * messages are all waited for this way. */
void mdv_kafka_wait_deliveries(rd_kafka_t *rk, struct mdv_delivery *deliveries, size_t n,
                               int timeout_ms, const atomic_int *cancel);

/* Produces one message and waits for the broker's acknowledgement. Used
 * for dead letters, which have no outbox row to fall back on. */
int mdv_kafka_produce_sync(rd_kafka_t *rk, const char *topic, const void *key, size_t key_len,
                           const void *value, size_t value_len, rd_kafka_headers_t *headers,
                           int timeout_ms) MDV_MUSTCHECK;

/* 1 when the broker answers a metadata request within timeout_ms. */
int mdv_kafka_reachable(rd_kafka_t *rk, int timeout_ms);

/* Turns an environment name MDV_KAFKA_SASL_MECHANISMS into
 * "sasl.mechanisms"; returns 0, or -1 when name is not such a variable. */
int mdv_kafka_property_from_env(const char *env_name, char *out, size_t outlen);

#endif
