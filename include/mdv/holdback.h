/* Partitions held back after a transient failure (DESIGN.md §10: database
 * down: pause the partition, seek back to the failed message, keep
 * polling, retry with backoff; never store an offset past it). */
#ifndef MDV_HOLDBACK_H
#define MDV_HOLDBACK_H

#include <librdkafka/rdkafka.h>

#include "mdv/util.h"

struct mdv_holdback;

/* The first retry comes after 100 ms, then twice as late each time the
 * message fails again, up to 2 s. */
struct mdv_holdback *mdv_holdback_new(void);
void mdv_holdback_destroy(struct mdv_holdback *holdback);

/* Pauses topic/partition on the consumer rk and seeks it back to offset
 * (the message to process again). Until it resumes, the caller skips the
 * partition's messages (mdv_holdback_holds), whatever the pause and the
 * seek answered. */
void mdv_holdback_hold(struct mdv_holdback *holdback, rd_kafka_t *rk, const char *topic,
                       int32_t partition, int64_t offset);

/* The same for every partition of parts at its offset (a batch that must
 * run again from each partition's first message), as one failure. */
void mdv_holdback_hold_partitions(struct mdv_holdback *holdback, rd_kafka_t *rk,
                                  const rd_kafka_topic_partition_list_t *parts);

/* Once the backoff is over: seeks each held partition back to its message
 * again and resumes those whose seek succeeded; the others stay held for
 * another backoff, except partitions no longer assigned to rk, which are
 * dropped (their new owner starts from the committed offset, which never
 * passes an unprocessed message). */
void mdv_holdback_resume_due(struct mdv_holdback *holdback, rd_kafka_t *rk);

/* 1 when messages of topic/partition must be skipped for now. */
int mdv_holdback_holds(const struct mdv_holdback *holdback, const char *topic, int32_t partition);

/* A message was processed: the next failure starts from the first backoff. */
void mdv_holdback_succeeded(struct mdv_holdback *holdback);

/* Forgets every held partition (a new consumer replaced rk). */
void mdv_holdback_clear(struct mdv_holdback *holdback);

#endif
