/* Partitions held back after a transient failure. Each held element's
 * offset is the message to process again. A partition resumes only once a
 * seek back to that offset succeeded: resuming without it would let the
 * fetcher go on past the message, and the next stored offset would skip
 * it. */
#include "mdv/holdback.h"

#include <stdlib.h>

#include "mdv/log.h"

#define FIRST_BACKOFF_MS 100
#define MAX_BACKOFF_MS 2000
#define SEEK_TIMEOUT_MS 2000

struct mdv_holdback {
    rd_kafka_topic_partition_list_t *held; /* NULL when none */
    double retry_at;
    long backoff_ms;
};

struct mdv_holdback *mdv_holdback_new(void)
{
    struct mdv_holdback *holdback = mdv_xcalloc(1, sizeof(*holdback));
    holdback->backoff_ms = FIRST_BACKOFF_MS;
    return holdback;
}

void mdv_holdback_clear(struct mdv_holdback *holdback)
{
    if (holdback->held)
        rd_kafka_topic_partition_list_destroy(holdback->held);
    holdback->held = NULL;
}

void mdv_holdback_destroy(struct mdv_holdback *holdback)
{
    if (!holdback)
        return;
    mdv_holdback_clear(holdback);
    free(holdback);
}

static void log_partition_errors(const char *what, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].err)
            mdv_warn("%s %s:%d failed: %s", what, parts->elems[i].topic, parts->elems[i].partition,
                     rd_kafka_err2str(parts->elems[i].err));
}

/* Seeks every partition of parts to its offset; each element's err tells
 * how it went (the call's own error is set on each element too). */
static void seek_back(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++)
        parts->elems[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_error_t *error = rd_kafka_seek_partitions(rk, parts, SEEK_TIMEOUT_MS);
    if (error) {
        for (int i = 0; i < parts->cnt; i++)
            if (!parts->elems[i].err)
                parts->elems[i].err = rd_kafka_error_code(error);
        rd_kafka_error_destroy(error);
    }
    log_partition_errors("seek back", parts);
}

static void schedule_retry(struct mdv_holdback *holdback)
{
    holdback->retry_at = mdv_monotonic_seconds() + (double)holdback->backoff_ms / 1000.0;
}

/* Records the partition as held at offset, pauses it so nothing more is
 * fetched, then seeks it back so the message comes again after the resume. */
static void hold_one(struct mdv_holdback *holdback, rd_kafka_t *rk, const char *topic,
                     int32_t partition, int64_t offset)
{
    if (!holdback->held)
        holdback->held = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *held =
        rd_kafka_topic_partition_list_find(holdback->held, topic, partition);
    if (!held)
        held = rd_kafka_topic_partition_list_add(holdback->held, topic, partition);
    held->offset = offset;

    rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(one, topic, partition)->offset = offset;
    rd_kafka_pause_partitions(rk, one);
    log_partition_errors("pause", one);
    seek_back(rk, one);
    rd_kafka_topic_partition_list_destroy(one);
}

/* One failure, one step of the backoff, however many partitions it held. */
static void back_off(struct mdv_holdback *holdback)
{
    schedule_retry(holdback);
    mdv_warn("transient failure: retrying in %ld ms", holdback->backoff_ms);
    holdback->backoff_ms =
        holdback->backoff_ms * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : holdback->backoff_ms * 2;
}

void mdv_holdback_hold(struct mdv_holdback *holdback, rd_kafka_t *rk, const char *topic,
                       int32_t partition, int64_t offset)
{
    hold_one(holdback, rk, topic, partition, offset);
    back_off(holdback);
}

void mdv_holdback_hold_partitions(struct mdv_holdback *holdback, rd_kafka_t *rk,
                                  const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++)
        hold_one(holdback, rk, parts->elems[i].topic, parts->elems[i].partition,
                 parts->elems[i].offset);
    back_off(holdback);
}

/* librdkafka answers __STATE for a partition that is not assigned. */
static int not_ours_anymore(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR__STATE || err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
}

void mdv_holdback_resume_due(struct mdv_holdback *holdback, rd_kafka_t *rk)
{
    if (!holdback->held || mdv_monotonic_seconds() < holdback->retry_at)
        return;
    rd_kafka_topic_partition_list_t *held = holdback->held;
    seek_back(rk, held);
    rd_kafka_topic_partition_list_t *ready = rd_kafka_topic_partition_list_new(held->cnt);
    rd_kafka_topic_partition_list_t *still = rd_kafka_topic_partition_list_new(held->cnt);
    for (int i = 0; i < held->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &held->elems[i];
        if (!p->err)
            rd_kafka_topic_partition_list_add(ready, p->topic, p->partition);
        else if (!not_ours_anymore(p->err))
            rd_kafka_topic_partition_list_add(still, p->topic, p->partition)->offset = p->offset;
    }
    if (ready->cnt) {
        rd_kafka_resume_partitions(rk, ready);
        log_partition_errors("resume", ready);
    }
    rd_kafka_topic_partition_list_destroy(ready);
    rd_kafka_topic_partition_list_destroy(held);
    holdback->held = NULL;
    if (still->cnt) {
        holdback->held = still;
        schedule_retry(holdback);
    } else {
        rd_kafka_topic_partition_list_destroy(still);
    }
}

int mdv_holdback_holds(const struct mdv_holdback *holdback, const char *topic, int32_t partition)
{
    return holdback->held &&
           rd_kafka_topic_partition_list_find(holdback->held, topic, partition) != NULL;
}

void mdv_holdback_succeeded(struct mdv_holdback *holdback)
{
    holdback->backoff_ms = FIRST_BACKOFF_MS;
}
