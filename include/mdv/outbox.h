/* The transactional outbox (DESIGN.md §5): events are inserted in the same
 * transaction as the change that caused them, and a relay publishes them.
 * Columns follow Debezium's outbox event router so it can replace the relay. */
#ifndef MDV_OUTBOX_H
#define MDV_OUTBOX_H

#include <jansson.h>
#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>

#include "mdv/events.h"
#include "mdv/util.h"

struct mdv_outbox_event {
    const char *topic;
    const char *aggregatetype;  /* e.g. "journey", "death" */
    struct mdv_event_meta meta; /* meta.subject is the aggregate id and the Kafka key */
    const ProtobufCMessage *message;
};

/* Inside the caller's transaction: packs the message and inserts the row,
 * then wakes the relay (NOTIFY is delivered at commit). Returns 0 or -1. */
int mdv_outbox_add(PGconn *conn, const struct mdv_outbox_event *ev) MDV_MUSTCHECK;

/* The same for a value that is not a protobuf message of this service
 * (a dead letter: the bytes as they were, with their own headers, a JSON
 * object of text values, which is not taken). Returns 0 or -1. */
int mdv_outbox_add_raw(PGconn *conn, const char *topic, const char *aggregatetype, const char *key,
                       const char *type, const void *payload, size_t len,
                       const json_t *headers) MDV_MUSTCHECK;

struct mdv_relay;

/* Starts the relay thread of a service. It takes the service's advisory
 * lock, so one replica publishes while the others stand by. The strings
 * must outlive the relay. Returns NULL on error. */
struct mdv_relay *mdv_relay_start(const char *service, const char *pg_dsn,
                                  const char *brokers) MDV_MUSTCHECK;

/* 1 while the relay has a producer that is not in a fatal state (it
 * replaces a fatal one after the batch that failed); for readiness. */
int mdv_relay_producing(struct mdv_relay *relay);

/* 1 while the relay is the service's active one and waits after a round
 * that took every row the outbox had (and sent them): nothing committed
 * with a notification is waiting to be sent (it would have woken the
 * relay). */
int mdv_relay_idle(struct mdv_relay *relay);

/* Publishes what is pending (within timeout_ms), stops the thread and
 * frees the relay. Accepts NULL. */
void mdv_relay_stop(struct mdv_relay *relay, long timeout_ms);

#endif
