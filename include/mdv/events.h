/* CloudEvents 1.0 in Kafka binary mode: the envelope travels in headers
 * (ce_id, ce_source, ce_type, ...), the value is the bare protobuf. */
#ifndef MDV_EVENTS_H
#define MDV_EVENTS_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "mdv/util.h"

#define MDV_EVENT_FIELD_LEN 256

/* The envelope of a consumed event, copied out of the message headers. */
struct mdv_event {
    char id[MDV_EVENT_FIELD_LEN];
    char source[MDV_EVENT_FIELD_LEN];
    char type[MDV_EVENT_FIELD_LEN];
    char time[MDV_EVENT_FIELD_LEN];
    char subject[MDV_EVENT_FIELD_LEN];
    char journey_id[MDV_EVENT_FIELD_LEN];
    char causation_id[MDV_EVENT_FIELD_LEN];
};

/* Reads and checks the envelope. On a missing or malformed header writes
 * the reason into err and returns -1 (the message is a dead letter). */
int mdv_event_parse(const rd_kafka_message_t *rkm, struct mdv_event *ev, char *err,
                    size_t errlen) MDV_MUSTCHECK;

/* What a producer says of an event it emits. */
struct mdv_event_meta {
    const char *service;      /* "bereavement": gives ce_source /mdv/bereavement */
    const char *type;         /* full ce_type */
    const char *subject;      /* aggregate id */
    const char *journey_id;   /* may be NULL */
    const char *causation_id; /* ce_id of the event that caused it; may be NULL */
};

/* Returns the headers of a new event as a JSON object (the caller owns it)
 * and writes its new ce_id into id. */
json_t *mdv_event_headers_json(const struct mdv_event_meta *meta, char id[MDV_UUID_LEN]);

/* Returns Kafka headers built from such a JSON object; the caller owns
 * them until they are handed to rd_kafka_producev. */
rd_kafka_headers_t *mdv_event_headers_from_json(const json_t *headers);

/* Copies a header's value as a string; 0 when present. */
int mdv_event_header(const rd_kafka_message_t *rkm, const char *name, char *out, size_t outlen);

#endif
