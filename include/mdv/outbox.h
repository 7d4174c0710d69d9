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
 * and wakes the relay once the transaction commits through mdv_pg_commit
 * (this process's relay directly when it leads, else the leader through
 * NOTIFY: see outbox.c). Returns 0 or -1. */
int mdv_outbox_add(PGconn *conn, const struct mdv_outbox_event *ev) MDV_MUSTCHECK;

/* The same for a value that is not a protobuf message of this service
 * (a dead letter: the bytes as they were, with their own headers, a JSON
 * object of text values, which is not taken). Returns 0 or -1. */
int mdv_outbox_add_raw(PGconn *conn, const char *topic, const char *aggregatetype, const char *key,
                       const char *type, const void *payload, size_t len,
                       const json_t *headers) MDV_MUSTCHECK;

struct mdv_relay;

enum mdv_relay_wakes {
    MDV_RELAY_LISTENS, /* it LISTENs mdv_outbox on its own session */
    MDV_RELAY_WOKEN,   /* another session of the process LISTENs mdv_outbox
                        * and calls mdv_relay_wake for each notification, and
                        * once each time it starts listening */
};

/* Starts the relay thread of a service (one a process). It takes the
 * service's advisory lock, so one replica publishes while the others
 * stand by. The strings must outlive the relay. Returns NULL on error. */
struct mdv_relay *mdv_relay_start(const char *service, const char *pg_dsn, const char *brokers,
                                  enum mdv_relay_wakes wakes) MDV_MUSTCHECK;

/* Wakes this process's relay (a no-op before one started; counted in
 * mdv_outbox_relay_wakes_total{by="notification"}); any thread, any time.
 * For a listening session that is not the relay's: a NOTIFY mdv_outbox
 * heard, or the session's LISTEN done again. */
void mdv_relay_wake(void);

/* 1 while the relay has a producer that is not in a fatal state (it
 * replaces a fatal one after the batch that failed); for readiness. */
int mdv_relay_producing(struct mdv_relay *relay);

/* 1 while the relay is the service's active one and waits after a round
 * that took every row the outbox had (and sent them): nothing committed
 * by the library's writers is waiting to be sent (its wake would have
 * ended the wait). */
int mdv_relay_idle(struct mdv_relay *relay);

/* Publishes what is pending (within timeout_ms), stops the thread and
 * frees the relay. Accepts NULL. */
void mdv_relay_stop(struct mdv_relay *relay, long timeout_ms);

#endif
