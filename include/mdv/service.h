/* The shape every service process shares (DESIGN.md §7): configuration,
 * database and migrations, HTTP endpoints, outbox relay, and the consumer
 * loop that applies each event exactly once (inbox + outbox in one
 * transaction, offset stored after COMMIT) and dead-letters what can never
 * be processed. A service's main() calls these in order. */
#ifndef MDV_SERVICE_H
#define MDV_SERVICE_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <protobuf-c/protobuf-c.h>
#include <pthread.h>
#include <signal.h>

#include "mdv/config.h"
#include "mdv/events.h"
#include "mdv/http.h"
#include "mdv/log.h"
#include "mdv/outbox.h"

#define MDV_DLQ_TOPIC "mdv.dlq.v1"

struct mdv_service {
    const char *name; /* "identity" */
    struct mdv_base_config config;
    PGconn *conn; /* the consumer loop's connection */
    rd_kafka_t *consumer;
    rd_kafka_t *producer; /* dead letters and readiness checks; replaced by
                           * the consumer thread, read under producer_lock */
    pthread_mutex_t producer_lock;
    struct mdv_relay *relay;
    /* Set before mdv_service_start_relay when another session of the
     * process LISTENs mdv_outbox for the relay (outbox.h). */
    enum mdv_relay_wakes relay_wakes;
    struct mdv_http_server *http;
};

/* One consumed message while its handler runs. */
struct mdv_msg {
    struct mdv_service *svc;
    const rd_kafka_message_t *rkm;
    struct mdv_event ev;
    PGconn *conn; /* inside the message's transaction */
    struct mdv_log_ctx log;
    char error[256]; /* why it can never be processed */
};

enum mdv_outcome {
    MDV_OK,        /* applied: commit, store the offset */
    MDV_PERMANENT, /* can never be processed: dead-letter it, move on */
    MDV_TRANSIENT, /* try again later: roll back, pause, seek back */
};

typedef enum mdv_outcome (*mdv_event_handler)(struct mdv_msg *msg);

struct mdv_event_route {
    const char *ce_type;
    mdv_event_handler handler;
};

extern volatile sig_atomic_t mdv_stop_requested;

/* Locale, configuration (base table plus extra, may be NULL), logging and
 * signals. Prints what is wrong and returns -1 on a bad configuration. */
int mdv_service_init(struct mdv_service *svc, const char *name,
                     const struct mdv_config_var *extra) MDV_MUSTCHECK;
/* Connects (waiting up to a minute for the database) and migrates. */
int mdv_service_open_db(struct mdv_service *svc) MDV_MUSTCHECK;
/* Serves /healthz, /readyz, /metrics and the service's routes (may be NULL). */
int mdv_service_start_http(struct mdv_service *svc, const struct mdv_http_route *routes,
                           void *ctx) MDV_MUSTCHECK;
int mdv_service_start_relay(struct mdv_service *svc) MDV_MUSTCHECK;
/* Consumes topics (NULL-terminated) as group until a stop is requested,
 * dispatching on ce_type; events of other types are skipped. */
int mdv_service_consume(struct mdv_service *svc, const char *group, const char *const *topics,
                        const struct mdv_event_route *routes) MDV_MUSTCHECK;
/* The service's producer (dead letters), created if missing and replaced
 * when its error is fatal; NULL when it cannot be created. Call it from the
 * consumer thread only: the producer returned stays valid until the next
 * call there. */
rd_kafka_t *mdv_service_producer(struct mdv_service *svc);
/* Leaves the group, flushes, stops everything; accepts a partly started
 * service. */
void mdv_service_close(struct mdv_service *svc);

/* The whole life of a service with no HTTP routes of its own: start up
 * (configuration, then prepare when not NULL, e.g. loading rules files;
 * database; HTTP endpoints; relay), consume topics as group mdv-<name>
 * with routes until SIGTERM, stop. Returns the exit status: 0, 1 when
 * something failed, 2 on a bad configuration or rules file. */
int mdv_service_run(const char *name, const char *const *topics,
                    const struct mdv_event_route *routes, int (*prepare)(struct mdv_service *svc));

/* Adds an event of this service to the outbox, in the message's
 * transaction: ce_type fr.gouv.mdv.<service>.<event>.v1, on topic
 * mdv.<service>.events.v1, caused by the message. */
int mdv_msg_emit(struct mdv_msg *msg, const char *event, const char *aggregatetype, const char *key,
                 const char *journey_id, const ProtobufCMessage *message) MDV_MUSTCHECK;

/* Marks the message as never processable, with the reason. */
enum mdv_outcome mdv_msg_reject(struct mdv_msg *msg, const char *fmt, ...) MDV_PRINTF(2, 3);

/* Maps a database failure to TRANSIENT or PERMANENT. */
enum mdv_outcome mdv_msg_db_failure(struct mdv_msg *msg);

#endif
