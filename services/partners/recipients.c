/* The recipients of a usager's journey, told to the gateway (DESIGN.md
 * §11, transparency): a RecipientNotified on mdv.partners.events.v1 for
 * each notice, in the transaction that records it, and again in the one
 * that records the partner's receipt (a 2xx on its webhook, its group's
 * committed offset, or an outcome it reported). Each message carries the
 * recipient's whole state, read from the notices table, so the gateway
 * merges them in any order. A journey whose notice repeats another's (the
 * same death declared twice) lists the partner with the notice that was
 * sent, and follows its receipt. */
#include <stdlib.h>
#include <string.h>

#include "mdv/partner/v1/recipients.pb-c.h"
#include "mdv/pg.h"
#include "partners.h"

#define RFC3339(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

enum { C_JOURNEY, C_CHOSEN, C_NOTIFIED, C_RECEIVED };

static const struct partners_entitlement *entitlement_of_step(const char *step)
{
    for (size_t i = 0; i < partners_rules->n_entitlements; i++)
        if (strcmp(partners_rules->entitlements[i].step, step) == 0)
            return &partners_rules->entitlements[i];
    return NULL;
}

static int emit(struct mdv_msg *msg, const struct partners_entitlement *e, const PGresult *res,
                int row)
{
    Mdv__Partner__V1__RecipientNotified r = MDV__PARTNER__V1__RECIPIENT_NOTIFIED__INIT;
    char *journey_id = PQgetvalue(res, row, C_JOURNEY);
    r.journey_id = journey_id;
    r.partner = e->partner->id;
    r.administration = e->partner->administration;
    r.step_code = e->step;
    r.n_fields = e->n_fields;
    r.fields = e->fields;
    r.legal_basis = e->basis;
    r.basis = strcmp(PQgetvalue(res, row, C_CHOSEN), "t") == 0
                  ? MDV__PARTNER__V1__RECIPIENT_BASIS__RECIPIENT_BASIS_CHOSEN
                  : MDV__PARTNER__V1__RECIPIENT_BASIS__RECIPIENT_BASIS_MANDATORY;
    r.notified_at = PQgetvalue(res, row, C_NOTIFIED);
    r.acknowledged_at = PQgetvalue(res, row, C_RECEIVED); /* "" while NULL */
    return mdv_msg_emit(msg, "recipient_notified", "journey", journey_id, journey_id, &r.base);
}

int partners_recipients_report(struct mdv_msg *msg, const char *journey_id, const char *step)
{
    const struct partners_entitlement *e = entitlement_of_step(step);
    const char *params[] = {journey_id, step};
    if (!e) {
        /* The rules changed since the notice: nothing says what it carried,
         * and retrying would not tell more. */
        mdv_log_at(MDV_LOG_WARN, &msg->log, "%s: no entitlement has this step: no recipient told",
                   step);
        return 0;
    }
    /* The notice, and those of later journeys that repeat it, each with
     * the times of the notice that was sent. */
    PGresult *res = mdv_pg_query(
        msg->conn,
        "SELECT n.journey_id, n.chosen, " RFC3339("t.notified_at") ", " RFC3339(
            "t.received_at") " FROM notices n LEFT JOIN notices o"
                             "  ON o.journey_id = n.repeat_of AND o.step_code = n.step_code"
                             " CROSS JOIN LATERAL (SELECT"
                             "  CASE WHEN o.journey_id IS NULL THEN n.notified_at ELSE "
                             "o.notified_at END AS notified_at,"
                             "  CASE WHEN o.journey_id IS NULL THEN n.received_at ELSE "
                             "o.received_at END AS received_at"
                             " ) t WHERE n.step_code = $2 AND (n.journey_id = $1 OR n.repeat_of = "
                             "$1)",
        2, params);
    int rc = res ? 0 : -1;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++)
        rc = emit(msg, e, res, i);
    PQclear(res);
    return rc;
}
