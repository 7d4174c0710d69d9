/* A notice to a webhook partner is a row of deliveries, written in the
 * transaction that records the notice (notify.c): so once per journey and
 * step, whatever redelivery brings the domain event back, exactly as a
 * Kafka partner's notice goes through the outbox once. The body is made
 * here, once: the projection (built field by field, as for Kafka) as JSON
 * under Standard Webhooks' payload shape. JSON rather than the protobuf
 * bytes: a webhook partner is an HTTP service that should need no .proto
 * to read its notices, and the standardwebhooks libraries' verify()
 * parses the body as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/pg.h"
#include "partners.h"

/* Each field of the projection by its name; -1 on a type not rendered. */
static int fields_json(const ProtobufCMessage *m, json_t *out)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_STRING)
            return -1;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            char *const *v = *(char *const *const *)(base + f->offset);
            json_t *list = json_array();
            for (size_t k = 0; k < n; k++)
                json_array_append_new(list, json_string(v[k]));
            json_object_set_new(out, f->name, list);
        } else {
            const char *v = *(const char *const *)(base + f->offset);
            json_object_set_new(out, f->name, json_string(v ? v : ""));
        }
    }
    return 0;
}

char *partners_delivery_body(const ProtobufCMessage *projection, const char *type,
                             const char *created)
{
    json_t *data = json_object();
    char *text = NULL;
    if (fields_json(projection, data) == 0) {
        json_t *body =
            json_pack("{s:s, s:s, s:O}", "type", type, "timestamp", created, "data", data);
        text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
    }
    json_decref(data);
    return text;
}

int partners_delivery_add(struct mdv_msg *msg, const struct partners_entitlement *e,
                          const void *event, const char *journey_id)
{
    union partners_message projection;
    char id[MDV_UUID_LEN], now[MDV_TIME_LEN], attempts[24];
    e->projection->build(event, &projection);
    char *type = mdv_xasprintf("fr.gouv.mdv.partners.%s.v1", e->projection->ce_event);
    mdv_time_now(now);
    mdv_uuid_new(id);
    snprintf(attempts, sizeof(attempts), "%ld", partners_schedule.attempts);
    char *body = partners_delivery_body(&projection.base, type, now);
    int rc = -1;
    if (!body) {
        mdv_log_at(MDV_LOG_ERROR, &msg->log, "%s: a field of %s cannot be sent as JSON", e->step,
                   e->projection->descriptor->name);
        goto out;
    }
    const char *params[] = {id, e->partner->id, journey_id, e->step, type, body, attempts};
    rc = mdv_pg_exec(msg->conn,
                     "INSERT INTO deliveries (id, partner, journey_id, step_code, event_type, body,"
                     " max_attempts) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                     " ON CONFLICT (journey_id, step_code) DO NOTHING",
                     7, params);
    if (rc == 0)
        rc = mdv_pg_exec(msg->conn, "SELECT pg_notify('mdv_deliveries', '')", 0, NULL);
out:
    free(body);
    free(type);
    return rc;
}
