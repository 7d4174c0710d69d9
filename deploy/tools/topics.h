/* mdv-topics' two halves: topics (topics.c) and the access control lists
 * of the broker (topics_acls.c). Private to the tool. */
#ifndef MDV_TOPICS_H
#define MDV_TOPICS_H

#include <librdkafka/rdkafka.h>

/* Creates every ACL the file at path lists, in one CreateAcls request
 * (creating an ACL that exists is a success, so this is idempotent).
 * Prints one line per binding made; 0, or -1 with the file's line or the
 * broker's refusal on stderr. */
int mdv_topics_apply_acls(rd_kafka_t *rk, const char *path, long timeout_ms);

#endif
