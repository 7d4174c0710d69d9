/* CloudEvents headers: building them for the outbox, checking them on
 * consumption. */
#include "mdv/events.h"

#include <stdio.h>
#include <string.h>

#define CONTENT_TYPE "application/protobuf"
#define TYPE_PREFIX "fr.gouv.mdv."

int mdv_event_header(const rd_kafka_message_t *rkm, const char *name, char *out, size_t outlen)
{
    rd_kafka_headers_t *headers = NULL;
    const void *value = NULL;
    size_t size = 0;

    if (rd_kafka_message_headers(rkm, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    if (rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    if (!value || size >= outlen || memchr(value, '\0', size))
        return -1;
    memcpy(out, value, size);
    out[size] = '\0';
    return 0;
}

static int require(const rd_kafka_message_t *rkm, const char *name, char *out, char *err,
                   size_t errlen)
{
    if (mdv_event_header(rkm, name, out, MDV_EVENT_FIELD_LEN) == 0 && *out)
        return 0;
    snprintf(err, errlen, "header %s is missing, empty or too long", name);
    return -1;
}

int mdv_event_parse(const rd_kafka_message_t *rkm, struct mdv_event *ev, char *err, size_t errlen)
{
    char specversion[MDV_EVENT_FIELD_LEN], content_type[MDV_EVENT_FIELD_LEN];

    memset(ev, 0, sizeof(*ev));
    if (require(rkm, "ce_specversion", specversion, err, errlen) ||
        require(rkm, "ce_id", ev->id, err, errlen) ||
        require(rkm, "ce_source", ev->source, err, errlen) ||
        require(rkm, "ce_type", ev->type, err, errlen))
        return -1;
    if (strcmp(specversion, "1.0") != 0) {
        snprintf(err, errlen, "ce_specversion %s is not 1.0", specversion);
        return -1;
    }
    if (strncmp(ev->type, TYPE_PREFIX, strlen(TYPE_PREFIX)) != 0) {
        snprintf(err, errlen, "ce_type %s is not an mdv event type", ev->type);
        return -1;
    }
    if (mdv_event_header(rkm, "content-type", content_type, sizeof(content_type)) == 0 &&
        strcmp(content_type, CONTENT_TYPE) != 0) {
        snprintf(err, errlen, "content-type %s is not %s", content_type, CONTENT_TYPE);
        return -1;
    }
    /* Optional attributes. */
    mdv_event_header(rkm, "ce_time", ev->time, sizeof(ev->time));
    mdv_event_header(rkm, "ce_subject", ev->subject, sizeof(ev->subject));
    mdv_event_header(rkm, "mdv_journey_id", ev->journey_id, sizeof(ev->journey_id));
    mdv_event_header(rkm, "mdv_causation_id", ev->causation_id, sizeof(ev->causation_id));
    return 0;
}

json_t *mdv_event_headers_json(const struct mdv_event_meta *meta, char id[MDV_UUID_LEN])
{
    char now[MDV_TIME_LEN];
    char source[128];

    mdv_uuid_new(id);
    mdv_time_now(now);
    snprintf(source, sizeof(source), "/mdv/%s", meta->service);
    json_t *h = json_object();
    json_object_set_new(h, "ce_specversion", json_string("1.0"));
    json_object_set_new(h, "ce_id", json_string(id));
    json_object_set_new(h, "ce_source", json_string(source));
    json_object_set_new(h, "ce_type", json_string(meta->type));
    json_object_set_new(h, "ce_time", json_string(now));
    json_object_set_new(h, "ce_subject", json_string(meta->subject));
    json_object_set_new(h, "content-type", json_string(CONTENT_TYPE));
    if (meta->journey_id)
        json_object_set_new(h, "mdv_journey_id", json_string(meta->journey_id));
    if (meta->causation_id)
        json_object_set_new(h, "mdv_causation_id", json_string(meta->causation_id));
    return h;
}

rd_kafka_headers_t *mdv_event_headers_from_json(const json_t *headers)
{
    rd_kafka_headers_t *out = rd_kafka_headers_new(json_object_size(headers));
    const char *name;
    const json_t *value;
    json_object_foreach((json_t *)headers, name, value)
    {
        const char *text = json_string_value(value);
        if (text)
            rd_kafka_header_add(out, name, -1, text, -1);
    }
    return out;
}
