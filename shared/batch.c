/* Bookkeeping of a batch of consumed messages: first and next offsets per
 * partition, the checks of the batch settings, and how long a poll for a
 * batch may block. */
#include "mdv/batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_BATCH_SIZE 10000
#define MAX_BATCH_WAIT_MS 1000

rd_kafka_topic_partition_list_t *mdv_batch_first_offsets(const struct mdv_batch_position *pos,
                                                         size_t n)
{
    rd_kafka_topic_partition_list_t *first = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(first, pos[i].topic, pos[i].partition);
        if (!p)
            rd_kafka_topic_partition_list_add(first, pos[i].topic, pos[i].partition)->offset =
                pos[i].offset;
        else if (pos[i].offset < p->offset)
            p->offset = pos[i].offset; /* a seek during the batch went back */
    }
    return first;
}

rd_kafka_topic_partition_list_t *mdv_batch_next_offsets(const struct mdv_batch_position *pos,
                                                        size_t n)
{
    rd_kafka_topic_partition_list_t *next = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(next, pos[i].topic, pos[i].partition);
        if (!p)
            p = rd_kafka_topic_partition_list_add(next, pos[i].topic, pos[i].partition);
        if (pos[i].offset + 1 > p->offset)
            p->offset = pos[i].offset + 1;
    }
    return next;
}

static int check_range(const char *value, long min, long max, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno || !end || end == value || *end || n < min || n > max) {
        snprintf(err, errlen, "expected an integer from %ld to %ld", min, max);
        return -1;
    }
    return 0;
}

int mdv_check_batch_size(const char *value, char *err, size_t errlen)
{
    return check_range(value, 1, MAX_BATCH_SIZE, err, errlen);
}

int mdv_check_batch_wait_ms(const char *value, char *err, size_t errlen)
{
    return check_range(value, 0, MAX_BATCH_WAIT_MS, err, errlen);
}

int mdv_batch_poll_timeout_ms(int first, int left_ms, int poll_ms)
{
    if (first)
        return poll_ms;
    return left_ms < poll_ms ? left_ms : poll_ms;
}
