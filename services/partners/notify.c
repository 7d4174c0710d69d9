/* A domain event reaches the partners entitled to it: for each
 * entitlement of its type, the partner's projection goes through the
 * outbox to mdv.partner.<partner>.v1 (CloudEvents headers, key = the
 * journey id, so that a partner sees one journey's messages in order and
 * reports on it by that id), or to a webhook partner's deliveries
 * (deliveries.c), and the notice is recorded (notices: one per
 * journey and step, whatever redelivery brings the event back). What two
 * journeys declare alike (one death, two relatives) is sent once. Either
 * way the partner's step joins the journey (steps.c).
 * An optional entitlement is sent only to a partner the usager chose in
 * the declaration (its consent, carried by the domain event's recipients
 * from DeclarationSubmitted): a partner not chosen gets nothing and has no
 * step on the journey. notices.chosen says which were chosen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bereavement/contract.h"
#include "identity/contract.h"
#include "mdv/pg.h"
#include "partners.h"

/* What record_notice found. */
enum notice {
    NOTICE_NEW,      /* first for this occurrence: send it */
    NOTICE_REPEAT,   /* another journey's occurrence was sent: do not */
    NOTICE_RECORDED, /* this journey's step was recorded before */
};

/* Records the notice of the entitlement for the journey, once per journey
 * and step; the advisory lock makes two journeys of one occurrence
 * (declared at once) wait for each other. Returns 0 or -1. */
static int record_notice(struct mdv_msg *msg, const struct partners_entitlement *e,
                         const char *journey_id, const char *occurrence, enum notice *out,
                         char first_on[16])
{
    const char *lock[] = {e->step, occurrence};
    const char *params[] = {journey_id, e->step,    e->partner->id,
                            msg->ev.id, occurrence, e->mandatory ? "false" : "true"};
    if (mdv_pg_exec(msg->conn, "SELECT pg_advisory_xact_lock(hashtext($1 || '|' || $2))", 2,
                    lock) != 0)
        return -1;
    PGresult *res = mdv_pg_query(
        msg->conn,
        "INSERT INTO notices (journey_id, step_code, partner, source_ce_id, occurrence, chosen,"
        " repeat_of) VALUES ($1, $2, $3, $4, $5, $6, (SELECT journey_id FROM notices"
        "   WHERE step_code = $2 AND occurrence = $5 AND repeat_of IS NULL AND journey_id <> $1))"
        " ON CONFLICT (journey_id, step_code) DO NOTHING RETURNING repeat_of IS NOT NULL,"
        " (SELECT to_char(f.notified_at AT TIME ZONE 'Europe/Paris', 'DD/MM/YYYY')"
        "  FROM notices f WHERE f.journey_id = repeat_of AND f.step_code = $2)",
        6, params);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        *out = NOTICE_RECORDED;
    else {
        *out = strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? NOTICE_REPEAT : NOTICE_NEW;
        mdv_strlcpy(first_on, PQgetvalue(res, 0, 1), 16);
    }
    PQclear(res);
    return 0;
}

static int publish(struct mdv_msg *msg, const struct partners_entitlement *e, const void *event,
                   const char *journey_id)
{
    union partners_message projection;
    e->projection->build(event, &projection);
    char *type = mdv_xasprintf("fr.gouv.mdv.partners.%s.v1", e->projection->ce_event);
    char *topic = mdv_xasprintf("mdv.partner.%s.v1", e->partner->id);
    struct mdv_outbox_event ev = {
        .topic = topic,
        .aggregatetype = "journey",
        .meta = {"partners", type, journey_id, journey_id, msg->ev.id},
        .message = &projection.base,
    };
    int rc = mdv_outbox_add(msg->conn, &ev);
    free(type);
    free(topic);
    return rc;
}

/* A Kafka partner's notice goes to its topic, a webhook partner's to its
 * deliveries: both in the message's transaction. */
static int send_notice(struct mdv_msg *msg, const struct partners_entitlement *e, const void *event,
                       const char *journey_id)
{
    if (e->partner->webhook)
        return partners_delivery_add(msg, e, event, journey_id);
    return publish(msg, e, event, journey_id);
}

/* Whether the usager chose the entitlement's partner. */
static int chosen(const struct partners_entitlement *e, char *const *recipients, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(recipients[i], e->partner->id) == 0)
            return 1;
    return 0;
}

/* Every entitlement to the message's type, mandatory or chosen among the
 * n recipients: sent once per occurrence. */
static int notify_all(struct mdv_msg *msg, const void *event, const char *journey_id,
                      const char *occurrence, char *const *recipients, size_t n)
{
    static const char *const said[] = {"notified", "already sent for another journey: not sent",
                                       "notified before: not sent again"};
    for (size_t i = 0; i < partners_rules->n_entitlements; i++) {
        const struct partners_entitlement *e = &partners_rules->entitlements[i];
        enum notice notice;
        char first_on[16] = "";
        if (strcmp(e->event, msg->ev.type) != 0 || (!e->mandatory && !chosen(e, recipients, n)))
            continue;
        if (record_notice(msg, e, journey_id, occurrence, &notice, first_on) != 0)
            return -1;
        if (notice == NOTICE_NEW && (send_notice(msg, e, event, journey_id) != 0 ||
                                     partners_step_add(msg, e, journey_id) != 0 ||
                                     partners_step_sent(msg, e, journey_id) != 0))
            return -1;
        if (notice == NOTICE_REPEAT && (partners_step_add(msg, e, journey_id) != 0 ||
                                        partners_step_repeat(msg, e, journey_id, first_on) != 0))
            return -1;
        mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: %s to %s", e->step, said[notice], e->partner->id);
    }
    return 0;
}

enum mdv_outcome partners_on_death(struct mdv_msg *msg)
{
    struct mdv_death death;
    if (mdv_death_decode(msg, &death) != 0)
        return MDV_PERMANENT;
    enum mdv_outcome outcome =
        notify_all(msg, death.event, death.event->journey_id, death.occurrence, NULL, 0) == 0
            ? MDV_OK
            : mdv_msg_db_failure(msg);
    mdv_death_free(&death);
    return outcome;
}

/* AddressChanged: only optional entitlements so far, each sent to a
 * partner the usager chose; once per journey (an address is no occurrence
 * two journeys share). */
enum mdv_outcome partners_on_address(struct mdv_msg *msg)
{
    Mdv__Identity__V1__AddressChanged *m = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    if (mdv_identity_address_changed_decode(msg->rkm->payload, msg->rkm->len, &m, key, msg->error,
                                            sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    char *occurrence = mdv_xasprintf("address|%s", m->journey_id);
    enum mdv_outcome outcome =
        notify_all(msg, m, m->journey_id, occurrence, m->recipients, m->n_recipients) == 0
            ? MDV_OK
            : mdv_msg_db_failure(msg);
    free(occurrence);
    mdv__identity__v1__address_changed__free_unpacked(m, NULL);
    return outcome;
}

int partners_notify(struct mdv_msg *msg, const void *event, const char *journey_id,
                    const char *occurrence, char *const *recipients, size_t n)
{
    return notify_all(msg, event, journey_id, occurrence, recipients, n);
}
