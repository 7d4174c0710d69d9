/* When a Kafka partner received a notice: its consumer group (the one
 * rules/partners.tsv names) committed an offset past the notice's. A
 * thread asks the broker for each group's committed offsets every second
 * while notices await receipt (rd_kafka_committed on a handle of that
 * group that never joins it: mdv_kafka_offsets_reader_new says why not the
 * Admin API), for the partitions that still hold such notices, and reports
 * those steps received; while none awaits it reads nothing until the
 * consumer reads a notice back (sent.c). What was acknowledged is kept in notices.received_at,
 * in the same transaction as the report: a restart re-reports nothing and
 * loses nothing, and two replicas never report one receipt twice (the
 * update claims each row once). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/kafka.h"
#include "mdv/pg.h"
#include "partners.h"

/* One answer's longest wait, and so a stop's: the next round asks again. */
#define COMMITTED_TIMEOUT_MS 2000
/* With no notice awaiting receipt, a round only once a notice is read
 * back from a partner's topic, or after this long: another replica's
 * consumer may have read it (its own receipts thread reports it anyway). */
#define IDLE_WAIT_MS 10000
/* How long rounds go on after a wake with nothing found (seconds). */
#define WOKEN_S 2.5

struct partners_receipts {
    pthread_t thread;
    atomic_int stop;
    long interval_ms;
    char *pg_dsn, *brokers, *instance_id;
    struct mdv_service svc; /* what reports need of a service: its name */
    PGconn *conn;
    int listening_pid;    /* the backend whose session LISTENs, 0 for none */
    rd_kafka_t **readers; /* per partner of partners_rules, made at first use */
};

/* The partitions of Kafka partners' topics that hold notices awaiting
 * receipt, every partner in one read: partner, partition, the lowest
 * offset awaiting. */
static PGresult *awaiting(struct partners_receipts *r)
{
    return mdv_pg_query(r->conn,
                        "SELECT partner, sent_partition, min(sent_offset) FROM notices"
                        " WHERE received_at IS NULL AND sent_offset IS NOT NULL"
                        " GROUP BY partner, sent_partition",
                        0, NULL);
}

/* Partner p's rows of res as a partition list of its topic (the lowest
 * offset awaiting in each element's offset), or NULL when it has none. */
static rd_kafka_topic_partition_list_t *partitions_of(const PGresult *res,
                                                      const struct partners_partner *p)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    char *topic = mdv_xasprintf("mdv.partner.%s.v1", p->id);
    for (int i = 0; i < PQntuples(res); i++) {
        if (strcmp(PQgetvalue(res, i, 0), p->id) != 0)
            continue;
        if (!list)
            list = rd_kafka_topic_partition_list_new(PQntuples(res));
        rd_kafka_topic_partition_list_add(list, topic, atoi(PQgetvalue(res, i, 1)))->offset =
            atoll(PQgetvalue(res, i, 2));
    }
    free(topic);
    return list;
}

/* Asks the broker for partner i's group's committed offsets of list's
 * partitions, written into list (RD_KAFKA_OFFSET_INVALID where nothing is
 * committed). Returns 0 or -1. */
static int committed(struct partners_receipts *r, size_t i, rd_kafka_topic_partition_list_t *list)
{
    const char *group = partners_rules->partners[i].group;
    if (!r->readers[i] && !(r->readers[i] = mdv_kafka_offsets_reader_new(r->brokers, group)))
        return -1;
    rd_kafka_resp_err_t err = rd_kafka_committed(r->readers[i], list, COMMITTED_TIMEOUT_MS);
    if (err) {
        mdv_warn("committed offsets of group %s: %s", group, rd_kafka_err2str(err));
        return -1;
    }
    for (int k = 0; k < list->cnt; k++)
        if (list->elems[k].err)
            list->elems[k].offset = RD_KAFKA_OFFSET_INVALID;
    return 0;
}

/* The notices of one partition that the committed offset passed, claimed
 * without ever waiting: the outcome consumer's batch holds notices' rows
 * and journeys' outbox turns (the advisory lock the outbox's trigger takes)
 * in its own order, and an UPDATE that waited on one while holding others
 * deadlocked with it (PostgreSQL broke the tie after deadlock_timeout, a
 * second lost each time). A row or a journey another transaction holds is
 * left for the next poll, a second later; the consumer's outcome marks it
 * received meanwhile if it comes first. */
static const char claim_received_sql[] =
    "WITH claimed AS MATERIALIZED ("
    "  SELECT journey_id, step_code FROM notices WHERE partner = $1"
    "  AND received_at IS NULL AND sent_partition = $2 AND sent_offset < $3"
    "  ORDER BY journey_id, step_code FOR UPDATE SKIP LOCKED),"
    " turn AS MATERIALIZED ("
    "  SELECT journey_id, step_code FROM claimed WHERE "
    "pg_try_advisory_xact_lock(" MDV_OUTBOX_ORDER_LOCK_CLASS ", hashtext(journey_id::text)))"
    " UPDATE notices n SET received_at = now() FROM turn t"
    " WHERE n.journey_id = t.journey_id AND n.step_code = t.step_code"
    " RETURNING n.journey_id, n.step_code, n.sent_ce_id";

/* Claims the notices of one partition that the committed offset passed,
 * and reports each step received, in one transaction. */
static int report_partition(struct partners_receipts *r, const struct partners_partner *p,
                            const rd_kafka_topic_partition_t *tp)
{
    char partition[16], offset[24];
    snprintf(partition, sizeof(partition), "%d", (int)tp->partition);
    snprintf(offset, sizeof(offset), "%lld", (long long)tp->offset);
    const char *params[] = {p->id, partition, offset};
    if (mdv_pg_begin(r->conn) != 0)
        return -1;
    PGresult *res = mdv_pg_query(r->conn, claim_received_sql, 3, params);
    int rc = res ? 0 : -1;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        struct mdv_msg msg;
        memset(&msg, 0, sizeof(msg));
        msg.svc = &r->svc;
        msg.conn = r->conn;
        mdv_strlcpy(msg.ev.id, PQgetvalue(res, i, 2), sizeof(msg.ev.id));
        msg.log.journey_id = PQgetvalue(res, i, 0);
        rc = partners_step_received(&msg, p, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        if (rc == 0)
            mdv_log_at(MDV_LOG_INFO, &msg.log, "%s: received by %s (group %s)",
                       PQgetvalue(res, i, 1), p->id, p->group);
    }
    PQclear(res);
    if (rc == 0)
        rc = mdv_pg_commit(r->conn);
    if (rc != 0)
        mdv_pg_rollback(r->conn);
    return rc;
}

/* The committed offsets of partner i's group for list (lowest offsets
 * awaiting), and a report for each partition whose committed offset
 * passed its lowest notice: a partition it did not pass costs no
 * transaction. */
static int poll_partner(struct partners_receipts *r, size_t i,
                        rd_kafka_topic_partition_list_t *list)
{
    const struct partners_partner *p = &partners_rules->partners[i];
    rd_kafka_topic_partition_list_t *lowest = rd_kafka_topic_partition_list_copy(list);
    int rc = 0;
    if (committed(r, i, list) == 0)
        for (int k = 0; rc == 0 && k < list->cnt; k++)
            if (list->elems[k].offset > lowest->elems[k].offset)
                rc = report_partition(r, p, &list->elems[k]);
    rd_kafka_topic_partition_list_destroy(lowest);
    return rc;
}

/* One round: 1 when notices await receipt, 0 when none does, -1 on a
 * database error (the next round reconnects). */
static int poll_round(struct partners_receipts *r)
{
    PGresult *res = awaiting(r);
    if (!res)
        return -1;
    int rc = PQntuples(res) > 0;
    for (size_t i = 0; rc > 0 && i < partners_rules->n_partners; i++) {
        const struct partners_partner *p = &partners_rules->partners[i];
        rd_kafka_topic_partition_list_t *list = p->webhook ? NULL : partitions_of(res, p);
        if (list && poll_partner(r, i, list) != 0)
            rc = -1;
        if (list)
            rd_kafka_topic_partition_list_destroy(list);
    }
    PQclear(res);
    return rc;
}

atomic_int partners_notice_sent;

/* Until the next round: interval_ms while notices await receipt (their
 * receipts are the partners' commits, which nothing here is told of);
 * with none, until the consumer reads a notice back from a partner's
 * topic (partners_notice_sent), or the idle fallback. Not a LISTEN: every
 * NOTIFY of the database (the outbox's, the deliveries') costs each
 * listening session a transaction to read it. */
static void wait_next_round(struct partners_receipts *r, int awaited)
{
    long timeout_ms = awaited == 0 ? IDLE_WAIT_MS : r->interval_ms;
    for (long waited = 0; waited < timeout_ms && !atomic_load(&r->stop); waited += 100) {
        if (awaited == 0 && atomic_load(&partners_notice_sent))
            return;
        mdv_sleep_ms(100);
    }
}

static void *run(void *arg)
{
    struct partners_receipts *r = arg;
    double woken_at = 0;
    while (!atomic_load(&r->stop)) {
        int awaited = -1;
        /* Cleared before the read: a notice sent meanwhile wakes the next. */
        if (atomic_exchange(&partners_notice_sent, 0))
            woken_at = mdv_monotonic_seconds();
        if (mdv_pg_ensure(&r->conn, r->pg_dsn) == 0)
            awaited = poll_round(r);
        /* The consumer tells before its commit: a notice it just read back
         * may not be visible yet, so rounds go on for a while after. */
        if (awaited == 0 && mdv_monotonic_seconds() - woken_at < WOKEN_S)
            awaited = 1;
        wait_next_round(r, awaited);
    }
    return NULL;
}

static void receipts_free(struct partners_receipts *r)
{
    for (size_t i = 0; r->readers && i < partners_rules->n_partners; i++)
        if (r->readers[i])
            mdv_kafka_offsets_reader_destroy(r->readers[i]);
    free(r->readers);
    if (r->conn)
        PQfinish(r->conn);
    free(r->pg_dsn);
    free(r->brokers);
    free(r->instance_id);
    free(r);
}

struct partners_receipts *partners_receipts_start(const struct mdv_base_config *config,
                                                  long interval_ms)
{
    struct partners_receipts *r = mdv_xcalloc(1, sizeof(*r));
    r->interval_ms = interval_ms;
    r->pg_dsn = mdv_xstrdup(config->pg_dsn);
    r->brokers = mdv_xstrdup(config->kafka_brokers);
    r->instance_id = mdv_xstrdup(config->instance_id);
    r->svc.name = "partners";
    r->svc.config.instance_id = r->instance_id;
    r->readers = mdv_xcalloc(partners_rules->n_partners + 1, sizeof(*r->readers));
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        receipts_free(r);
        return NULL;
    }
    return r;
}

void partners_receipts_stop(struct partners_receipts *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, 1);
    pthread_join(r->thread, NULL);
    receipts_free(r);
}
