/* Outbox rows and their relay to Kafka.
 *
 * The relay reads rows in insertion order, produces them with the
 * idempotent producer, and deletes only the rows the broker acknowledged.
 * It keeps no cursor: whatever is still in the table is still to send, so a
 * crash at any point resends at worst (consumers skip duplicates through
 * their inbox). It polls anyway, seldom: every writer of the library wakes
 * it, so the poll only catches rows written by hand.
 *
 * How a writer wakes it. A NOTIFY costs the database more than its
 * message: PostgreSQL signals every session LISTENing there at each
 * notifying commit, and each reads the queue in a transaction of its own.
 * So a writer in the process whose relay leads (holds the lock) does not
 * notify: once its transaction committed (mdv_pg_after_commit), it wakes
 * that relay through an eventfd the relay polls beside its socket. Never
 * before the commit: a relay that read then would find nothing and go
 * back to sleep. A writer in a process whose relay stands by notifies, in
 * its transaction, for the replica that leads. The trade-off: a writer
 * whose relay lost the lead between the insert (no NOTIFY) and the commit
 * pays a NOTIFY of its own after the commit, one transaction more; if
 * that fails as well (the connection lost right after the commit), the row
 * waits for the new leader's takeover round or its fallback poll (5 s). A
 * relay that finds it lost the lead notifies once on its new session, for
 * the writers that still trusted it.
 *
 * A service whose process already has a listening session for its own
 * channels (the gateway's, live.c) lets that one LISTEN mdv_outbox too and
 * call mdv_relay_wake: the relay then does not listen (one listening
 * session in the database rather than two). */
#include "mdv/outbox.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mdv/kafka.h"
#include "mdv/log.h"
#include "mdv/metrics.h"
#include "mdv/pg.h"

#define BATCH_SIZE 256
/* An idle relay's fallback poll: each one is a transaction, and seven
 * services polling twice a second made most of an idle stack's commits. */
#define IDLE_WAIT_MS 5000
#define WAIT_SLICE_MS 100 /* how soon a waiting relay sees a stop */
/* After a round that took every row there was, how long the rows it sent
 * may wait to be deleted by the next round's read (one commit for both)
 * rather than by a commit of their own. */
#define SENT_LINGER_MS 1000
#define DELIVERY_TIMEOUT_MS 30000

/* What the writers of this process know of its relay (one a process). */
static atomic_int relay_leads;     /* it holds the service's lock */
static atomic_int relay_wake = -1; /* the eventfd it polls; -1 before it started */

/* What woke the relay shows in mdv_outbox_relay_wakes_total{by}: a test
 * (and an operator) tells a relay woken by its process's writers from one
 * woken by a notification, and both from one that waited for its poll. */
static void wake(const char *by)
{
    int fd = atomic_load(&relay_wake);
    uint64_t one = 1;
    if (fd < 0)
        return;
    mdv_metrics_add("mdv_outbox_relay_wakes_total", by, 1);
    if (write(fd, &one, sizeof(one)) < 0)
        mdv_debug("outbox: relay wake not written: its counter is full, so it is awake");
}

void mdv_relay_wake(void)
{
    wake("by=\"notification\"");
}

/* After the commit of a transaction that wrote rows without a NOTIFY. */
static void wake_after_commit(PGconn *conn)
{
    if (atomic_load(&relay_leads)) {
        wake("by=\"process\"");
        return;
    }
    /* The lead was lost since the insert: the new leader must hear of it. */
    if (mdv_pg_exec(conn, "SELECT pg_notify('mdv_outbox', '')", 0, NULL) != 0)
        mdv_warn("outbox: committed rows not notified: the new relay's poll will find them");
}

#define INSERT_ROW                                                                                 \
    "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers)"           \
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"

/* Inserts the row and wakes the relay: the one of this process after the
 * commit when it leads, else the leader through NOTIFY (in the same round
 * trip, delivered at commit, once a transaction however many rows). */
static int insert_row(PGconn *conn, const char *id, const char *topic, const char *aggregatetype,
                      const char *key, const char *type, const void *payload, size_t len,
                      const json_t *headers)
{
    char *headers_text = json_dumps(headers, JSON_COMPACT);
    const char *params[] = {id, aggregatetype, key, type, payload, topic, headers_text};
    const int lengths[] = {0, 0, 0, 0, (int)len, 0, 0};
    const int formats[] = {0, 0, 0, 0, 1, 0, 0};
    int wake_here = atomic_load(&relay_leads);
    PGresult *res = mdv_pg_query_bin(conn,
                                     wake_here ? INSERT_ROW
                                               : "WITH added AS (" INSERT_ROW " RETURNING 1)"
                                                 " SELECT pg_notify('mdv_outbox', '') FROM added",
                                     7, params, lengths, formats);
    int rc = res ? 0 : -1;
    PQclear(res);
    free(headers_text);
    if (rc == 0 && wake_here) {
        if (PQtransactionStatus(conn) == PQTRANS_IDLE)
            wake_after_commit(conn); /* no transaction: the insert committed */
        else
            mdv_pg_after_commit(conn, wake_after_commit);
    }
    return rc;
}

int mdv_outbox_add(PGconn *conn, const struct mdv_outbox_event *ev)
{
    char id[MDV_UUID_LEN];
    size_t len = protobuf_c_message_get_packed_size(ev->message);
    uint8_t *payload = mdv_xmalloc(len);
    protobuf_c_message_pack(ev->message, payload);
    json_t *headers = mdv_event_headers_json(&ev->meta, id);
    int rc = insert_row(conn, id, ev->topic, ev->aggregatetype, ev->meta.subject, ev->meta.type,
                        payload, len, headers);
    json_decref(headers);
    free(payload);
    return rc;
}

int mdv_outbox_add_raw(PGconn *conn, const char *topic, const char *aggregatetype, const char *key,
                       const char *type, const void *payload, size_t len, const json_t *headers)
{
    char id[MDV_UUID_LEN];
    mdv_uuid_new(id);
    return insert_row(conn, id, topic, aggregatetype, key, type, payload, len, headers);
}

struct mdv_relay {
    const char *service;
    const char *pg_dsn;
    const char *brokers;
    PGconn *conn;
    rd_kafka_t *rk;
    int leader;     /* holds the service's advisory lock on conn */
    int listens;    /* LISTENs on conn; else another session calls mdv_relay_wake */
    int wake_fd;    /* the eventfd of mdv_relay_wake */
    int owes_wakes; /* lost the lead: the new leader must hear of this
                     * process's writers' last rows */
    atomic_int stop;
    atomic_int abandon;   /* stop waiting for the broker: shutdown is due */
    atomic_int producing; /* 1 while rk exists and is not in a fatal state */
    atomic_int idle;      /* 1 while it waits after a round that found no row */
    pthread_t thread;
};

/* The lead was lost with the session, and another replica took it: the
 * writers that trusted this one may have committed rows since without a
 * NOTIFY; one now tells the new leader. */
static void hand_over_wakes(struct mdv_relay *relay)
{
    if (mdv_pg_exec(relay->conn, "SELECT pg_notify('mdv_outbox', '')", 0, NULL) == 0)
        relay->owes_wakes = 0;
}

/* The lock key is derived from the service name so that services sharing
 * a database cluster do not block each other. */
static int take_leadership(struct mdv_relay *relay)
{
    const char *params[] = {relay->service};
    PGresult *res = mdv_pg_query(
        relay->conn, "SELECT pg_try_advisory_lock(hashtext('mdv_relay_' || $1))", 1, params);
    if (!res)
        return -1;
    relay->leader = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!relay->leader && relay->owes_wakes)
        hand_over_wakes(relay);
    if (relay->leader) {
        relay->owes_wakes = 0; /* its takeover round reads them */
        mdv_info("outbox relay active");
        /* Its commits only delete rows the broker acknowledged: one lost in
         * a crash of the server sends them again, which the consumers'
         * inbox absorbs. So they need not wait for the WAL to reach the
         * disk, which they did once a round: a fifth of a durable stack's
         * flushes per declaration. */
        if (mdv_pg_commit_asynchronously(relay->conn) != 0)
            return -1;
        /* Its round, prepared once, was still planned at every call: the
         * outbox's dead rows at the end of the seq index made each custom
         * plan look cheaper than the generic one, 0.1-0.2 ms of planning a
         * round. The generic plan (index scans on seq) suits any batch. */
        if (mdv_pg_exec(relay->conn, "SET plan_cache_mode = force_generic_plan", 0, NULL) != 0)
            return -1;
        if (relay->listens && mdv_pg_exec(relay->conn, "LISTEN mdv_outbox", 0, NULL) != 0)
            return -1;
        /* From now on this process's writers wake it without NOTIFY; the
         * round that follows reads what the others committed before. Not
         * once stopping: the writers notify the next leader from then on. */
        if (!atomic_load(&relay->stop))
            atomic_store(&relay_leads, 1);
    }
    return 0;
}

static int connect_db(struct mdv_relay *relay)
{
    if (relay->conn && PQstatus(relay->conn) == CONNECTION_OK)
        return 0;
    if (relay->leader) { /* a lost session lost its lock too */
        relay->leader = 0;
        atomic_store(&relay_leads, 0);
        relay->owes_wakes = 1;
    }
    return mdv_pg_ensure(&relay->conn, relay->pg_dsn);
}

/* NOTIFY is only a wake-up: what arrived is dropped; returns how many.
 * Called after every round, busy or not, so that under a sustained backlog
 * (full batches, no wait) the notifications do not pile up in libpq. */
static int drain_notifies(PGconn *conn)
{
    int n = 0;
    PQconsumeInput(conn);
    PGnotify *notify;
    while ((notify = PQnotifies(conn)) != NULL) {
        PQfreemem(notify);
        n++;
    }
    return n;
}

/* The wakes that came since the last look, dropped: the notifications of
 * its own session and the eventfd's (wake). Returns how many. */
static int drain_wakes(struct mdv_relay *relay)
{
    uint64_t woken = 0;
    if (read(relay->wake_fd, &woken, sizeof(woken)) != (ssize_t)sizeof(woken))
        woken = 0;
    int notified = drain_notifies(relay->conn);
    if (notified)
        mdv_metrics_add("mdv_outbox_relay_wakes_total", "by=\"notification\"", notified);
    return notified + (woken > 0);
}

/* Until a wake, the server going away, a stop, or timeout_ms; in slices,
 * so that a stop is seen soon. A notification that came with the last
 * round's answer is already in libpq's buffer, out of poll's sight, and a
 * wake written during the round waits in the eventfd: looked for first. */
static void wait_for_wake(struct mdv_relay *relay, long timeout_ms)
{
    PGconn *conn = relay->conn;
    if (drain_wakes(relay) > 0)
        return;
    for (long waited = 0; waited < timeout_ms && !atomic_load(&relay->stop);
         waited += WAIT_SLICE_MS) {
        int fd = PQsocket(conn);
        struct pollfd pfd[] = {{.fd = relay->wake_fd, .events = POLLIN},
                               {.fd = fd, .events = POLLIN}};
        if (poll(pfd, fd < 0 ? 1 : 2, WAIT_SLICE_MS) > 0 &&
            (drain_wakes(relay) > 0 || PQstatus(conn) != CONNECTION_OK))
            return;
    }
}

static void note_producer_state(struct mdv_relay *relay)
{
    char errstr[256];
    atomic_store(&relay->producing,
                 relay->rk && !rd_kafka_fatal_error(relay->rk, errstr, sizeof(errstr)));
}

/* The fatal error of an idempotent producer (seen after broker restarts)
 * cannot be cleared: start a new producer; the outbox still has the rows. */
static void renew_producer_if_fatal(struct mdv_relay *relay)
{
    char errstr[256];
    if (!rd_kafka_fatal_error(relay->rk, errstr, sizeof(errstr)))
        return;
    mdv_error("producer fatal error, creating a new producer: %s", errstr);
    rd_kafka_flush(relay->rk, 1000);
    rd_kafka_destroy(relay->rk);
    relay->rk = mdv_kafka_producer_new(relay->brokers);
    note_producer_state(relay);
}

/* Hands row i (seq, topic, key, payload, headers) to the producer; the
 * delivery report lands in *delivery. */
static void produce_row(struct mdv_relay *relay, PGresult *res, int i,
                        struct mdv_delivery *delivery)
{
    json_t *headers_json = json_loads(PQgetvalue(res, i, 4), 0, NULL);
    rd_kafka_headers_t *headers = mdv_event_headers_from_json(headers_json);
    json_decref(headers_json);
    size_t payload_len = 0;
    unsigned char *payload =
        PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 3), &payload_len);
    const char *key = PQgetvalue(res, i, 2);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        relay->rk, RD_KAFKA_V_TOPIC(PQgetvalue(res, i, 1)), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE(payload, payload_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(delivery), RD_KAFKA_V_END);
    PQfreemem(payload);
    if (err) {
        /* The headers are ours again only when producev failed. */
        rd_kafka_headers_destroy(headers);
        delivery->done = 1;
        delivery->err = err;
    }
}

/* The seqs of the acknowledged rows as a PostgreSQL array literal, which
 * the caller frees; *failures counts the others. */
static char *acknowledged_seqs(PGresult *res, const struct mdv_delivery *deliveries, int n,
                               int *failures)
{
    size_t cap = (size_t)n * 24 + 3, len = 0;
    char *list = mdv_xmalloc(cap);
    *failures = 0;
    len += (size_t)snprintf(list + len, cap - len, "{");
    for (int i = 0; i < n; i++) {
        if (deliveries[i].err) {
            (*failures)++;
            continue;
        }
        len += (size_t)snprintf(list + len, cap - len, "%s%s", len > 1 ? "," : "",
                                PQgetvalue(res, i, 0));
    }
    snprintf(list + len, cap - len, "}");
    return list;
}

/* Produces every row of res, waits for the acknowledgements, and writes
 * the acknowledged seqs into acked. Returns how many were not. */
static int produce_rows(struct mdv_relay *relay, PGresult *res, char **acked)
{
    int n = PQntuples(res), failures = 0;
    struct mdv_delivery *deliveries = mdv_xcalloc((size_t)n, sizeof(*deliveries));

    for (int i = 0; i < n; i++)
        produce_row(relay, res, i, &deliveries[i]);
    mdv_kafka_wait_deliveries(relay->rk, deliveries, (size_t)n, DELIVERY_TIMEOUT_MS,
                              &relay->abandon);
    *acked = acknowledged_seqs(res, deliveries, n, &failures);
    if (failures)
        mdv_warn("outbox: %d of %d events not acknowledged, will resend", failures, n);
    mdv_metrics_add("mdv_messages_produced_total", NULL, n - failures);
    free(deliveries);
    return failures;
}

#define SELECT_BATCH "SELECT seq, topic, aggregateid, payload, headers::text FROM outbox"

/* The next batch, and the rows of the last one the broker acknowledged
 * (acked, a seq array; NULL for none) deleted in the same statement: one
 * round trip and one commit per round. The SELECT sees the table as it was
 * before the DELETE, hence the seqs left out by hand. */
static PGresult *next_batch(struct mdv_relay *relay, const char *acked)
{
    if (!acked)
        return mdv_pg_query(relay->conn, SELECT_BATCH " ORDER BY seq LIMIT " MDV_STR(BATCH_SIZE), 0,
                            NULL);
    const char *params[] = {acked};
    return mdv_pg_query(relay->conn,
                        "WITH sent AS (DELETE FROM outbox WHERE seq = ANY($1::bigint[]))"
                        " " SELECT_BATCH " WHERE seq <> ALL($1::bigint[])"
                        " ORDER BY seq LIMIT " MDV_STR(BATCH_SIZE),
                        1, params);
}

/* One round: deletes what the last round sent (*acked, freed here), then
 * publishes the next batch and leaves the seqs the broker acknowledged in
 * *acked, for the next round to delete. Returns the number of rows seen,
 * -1 on error (rows that could not be deleted are sent again, which the
 * consumers' inbox absorbs). */
static int relay_batch(struct mdv_relay *relay, char **acked)
{
    PGresult *res = next_batch(relay, *acked);
    free(*acked);
    *acked = NULL;
    if (!res)
        return -1;
    mdv_metrics_add("mdv_outbox_relay_rounds_total", NULL, 1);
    int n = PQntuples(res);
    if (n == 0) {
        PQclear(res);
        return 0;
    }
    int failures = produce_rows(relay, res, acked);
    PQclear(res);
    if (failures)
        renew_producer_if_fatal(relay);
    return failures ? -1 : n;
}

/* The rows sent by the last round, deleted on their own: before a wait,
 * and at the end. */
static int delete_sent(struct mdv_relay *relay, char **acked)
{
    if (!*acked)
        return 0;
    const char *params[] = {*acked};
    int rc =
        mdv_pg_exec(relay->conn, "DELETE FROM outbox WHERE seq = ANY($1::bigint[])", 1, params);
    if (rc == 0)
        mdv_metrics_add("mdv_outbox_relay_rounds_total", NULL, 1);
    free(*acked);
    *acked = NULL;
    return rc;
}

/* After a round that saw n rows. A full batch: more are waiting, go on.
 * Fewer: the outbox had no more, and its next rows will notify; the next
 * round, which deletes what this one sent, waits for them (up to
 * SENT_LINGER_MS), so that a burst of events costs one commit rather than
 * two (its read, then its deletion on an empty read). None: the rows sent
 * before are deleted already, wait up to the fallback poll. Nothing unsent
 * waits in either case: the backlog is 0 for the metric. */
static void next_round_wait(struct mdv_relay *relay, int n)
{
    if (n == BATCH_SIZE) {
        (void)drain_wakes(relay);
        return;
    }
    atomic_store(&relay->idle, 1);
    wait_for_wake(relay, n > 0 ? SENT_LINGER_MS : IDLE_WAIT_MS);
}

static void *relay_main(void *arg)
{
    struct mdv_relay *relay = arg;
    long backoff_ms = 100;
    char *acked = NULL; /* sent by the last round, deleted by the next */

    while (!atomic_load(&relay->stop)) {
        atomic_store(&relay->idle, 0);
        if (connect_db(relay) != 0 || (!relay->leader && take_leadership(relay) != 0)) {
            mdv_sleep_ms(backoff_ms);
            backoff_ms = backoff_ms < 2000 ? backoff_ms * 2 : 2000;
            continue;
        }
        if (!relay->rk)
            relay->rk = mdv_kafka_producer_new(relay->brokers);
        note_producer_state(relay);
        if (!relay->leader || !relay->rk) {
            mdv_sleep_ms(1000); /* another replica publishes, or no producer yet */
            continue;
        }
        int n = relay_batch(relay, &acked);
        if (n < 0) {
            mdv_sleep_ms(backoff_ms);
            backoff_ms = backoff_ms < 2000 ? backoff_ms * 2 : 2000;
        } else {
            backoff_ms = 100;
            next_round_wait(relay, n);
        }
    }
    /* Shutting down: one last round so that what was committed just before
     * the signal leaves now rather than at the next start. */
    if (relay->leader && relay->rk && relay->conn && PQstatus(relay->conn) == CONNECTION_OK &&
        !atomic_load(&relay->abandon)) {
        (void)relay_batch(relay, &acked);
        (void)delete_sent(relay, &acked);
    }
    free(acked);
    return NULL;
}

/* The process's wake, made once and kept for its life: writers and
 * listeners may still hold it while a relay stops. -1 on error. */
static int wake_fd(void)
{
    int fd = atomic_load(&relay_wake);
    if (fd >= 0)
        return fd;
    fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        mdv_error("outbox: cannot make the relay's eventfd: %s", strerror(errno));
        return -1;
    }
    atomic_store(&relay_wake, fd);
    return fd;
}

struct mdv_relay *mdv_relay_start(const char *service, const char *pg_dsn, const char *brokers,
                                  enum mdv_relay_wakes wakes)
{
    int fd = wake_fd();
    if (fd < 0)
        return NULL;
    struct mdv_relay *relay = mdv_xcalloc(1, sizeof(*relay));
    relay->service = service;
    relay->pg_dsn = pg_dsn;
    relay->brokers = brokers;
    relay->listens = wakes == MDV_RELAY_LISTENS;
    relay->wake_fd = fd;
    relay->rk = mdv_kafka_producer_new(brokers);
    atomic_init(&relay->producing, relay->rk != NULL);
    if (!relay->rk || pthread_create(&relay->thread, NULL, relay_main, relay) != 0) {
        if (relay->rk)
            rd_kafka_destroy(relay->rk);
        free(relay);
        return NULL;
    }
    return relay;
}

int mdv_relay_producing(struct mdv_relay *relay)
{
    return atomic_load(&relay->producing);
}

int mdv_relay_idle(struct mdv_relay *relay)
{
    return atomic_load(&relay->idle);
}

void mdv_relay_stop(struct mdv_relay *relay, long timeout_ms)
{
    if (!relay)
        return;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    /* From here on the writers notify: the replica that leads next hears
     * of what they commit after this relay's last round. */
    atomic_store(&relay_leads, 0);
    atomic_store(&relay->stop, 1);
    /* Past the bound, stop waiting for the broker: unacknowledged rows stay
     * in the outbox and leave at the next start. */
    if (pthread_timedjoin_np(relay->thread, NULL, &deadline) != 0) {
        mdv_warn("outbox relay still busy after %ld ms: abandoning the batch in flight",
                 timeout_ms);
        atomic_store(&relay->abandon, 1);
        pthread_join(relay->thread, NULL);
    }
    if (relay->rk)
        rd_kafka_destroy(relay->rk);
    PQfinish(relay->conn);
    free(relay);
}
