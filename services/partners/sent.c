/* The partners service reads its own notices back from each partner's
 * topic (in its own group): only there does a notice have its partition
 * and offset, which the partner's committed offsets are compared with to
 * tell that it received it (receipt.c). */
#include <stdio.h>
#include <string.h>

#include "mdv/pg.h"
#include "partners.h"

const struct partners_partner *partners_partner_of_topic(const struct mdv_msg *msg, int outcomes)
{
    const char *topic = rd_kafka_topic_name(msg->rkm->rkt);
    for (size_t i = 0; i < partners_rules->n_partners; i++) {
        char name[128];
        snprintf(name, sizeof(name), "mdv.partner.%s.%sv1", partners_rules->partners[i].id,
                 outcomes ? "outcomes." : "");
        if (strcmp(topic, name) == 0)
            return &partners_rules->partners[i];
    }
    return NULL;
}

/* The entitlement a notice of this type to this partner was sent for. */
static const struct partners_entitlement *sent_for(const struct partners_partner *p,
                                                   const char *type)
{
    for (size_t i = 0; i < partners_rules->n_entitlements; i++) {
        const struct partners_entitlement *e = &partners_rules->entitlements[i];
        char name[128];
        snprintf(name, sizeof(name), "fr.gouv.mdv.partners.%s.v1", e->projection->ce_event);
        if (e->partner == p && strcmp(name, type) == 0)
            return e;
    }
    return NULL;
}

enum mdv_outcome partners_on_sent(struct mdv_msg *msg)
{
    const struct partners_partner *p = partners_partner_of_topic(msg, 0);
    const struct partners_entitlement *e = p ? sent_for(p, msg->ev.type) : NULL;
    char partition[16], offset[24];
    if (!e || !mdv_uuid_valid(msg->ev.journey_id))
        return mdv_msg_reject(msg, "%s on %s: no entitlement of this service sent it", msg->ev.type,
                              rd_kafka_topic_name(msg->rkm->rkt));
    snprintf(partition, sizeof(partition), "%d", (int)msg->rkm->partition);
    snprintf(offset, sizeof(offset), "%lld", (long long)msg->rkm->offset);
    const char *params[] = {msg->ev.journey_id, e->step, msg->ev.id, partition, offset};
    /* A notice the relay sent twice (a crash before the broker's
     * acknowledgement reached it) keeps its first place: the partner
     * acknowledges the first copy before the second. */
    if (mdv_pg_exec(msg->conn,
                    "UPDATE notices SET sent_ce_id = $3, sent_partition = $4, sent_offset = $5"
                    " WHERE journey_id = $1 AND step_code = $2 AND sent_offset IS NULL",
                    5, params) != 0)
        return mdv_msg_db_failure(msg);
    atomic_store(&partners_notice_sent, 1);
    return MDV_OK;
}
