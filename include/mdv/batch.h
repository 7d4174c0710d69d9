/* A batch of consumed messages applied in one transaction (DESIGN.md §5):
 * where each partition of the batch starts (to seek back to when the batch
 * must run again) and the offsets to store once it committed. Pure
 * bookkeeping on librdkafka's partition lists, no broker involved. */
#ifndef MDV_BATCH_H
#define MDV_BATCH_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "mdv/util.h"

/* Where one message of a batch came from. */
struct mdv_batch_position {
    const char *topic;
    int32_t partition;
    int64_t offset;
};

/* Per topic-partition of the n positions, in the order they first appear:
 * the offset of its first message. The caller destroys the list. */
rd_kafka_topic_partition_list_t *mdv_batch_first_offsets(const struct mdv_batch_position *pos,
                                                         size_t n);

/* Per topic-partition, the offset to store once the batch committed: its
 * highest offset + 1. The caller destroys the list. */
rd_kafka_topic_partition_list_t *mdv_batch_next_offsets(const struct mdv_batch_position *pos,
                                                        size_t n);

/* The consumer's batch settings, read from the environment as text by the
 * configuration table: MDV_CONSUMER_BATCH_SIZE (messages, 1 applies each
 * message in its own transaction) and MDV_CONSUMER_BATCH_WAIT_MS (how long
 * to wait for more messages once the first arrived; 0 takes only those
 * already fetched). */
int mdv_check_batch_size(const char *value, char *err, size_t errlen);
int mdv_check_batch_wait_ms(const char *value, char *err, size_t errlen);

/* How long the consumer's next poll for a batch may block: poll_ms for
 * the batch's first message, then what is left of its wait (left_ms) but
 * never more than poll_ms, so that a stop requested during a long wait is
 * seen as soon as while the consumer waits for a first message. */
int mdv_batch_poll_timeout_ms(int first, int left_ms, int poll_ms);

#endif
