/* What the two journeys abroad owns share: the journey recorded as
 * abroad's own (residence_journeys), once, and its plan published first. */
#include "abroad.h"

#include <stdlib.h>

#include "mdv/pg.h"
#include "mdv/plan.h"

int abroad_residence_begin(struct mdv_msg *msg, const abroad_declaration_t *d,
                           const char *pivot_key, const char *happened_on)
{
    const char *params[] = {d->journey_id, d->kind, pivot_key, happened_on};
    PGresult *res = mdv_pg_query(msg->conn,
                                 "INSERT INTO residence_journeys (journey_id, kind, pivot_key,"
                                 " happened_on) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                                 4, params);
    if (!res)
        return -1;
    int inserted = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    if (!inserted) {
        /* Another message of the same journey (the inbox only knows ce_ids):
         * its plan and effects are there already. */
        mdv_log_at(MDV_LOG_INFO, &msg->log, "%s journey handled before: nothing to do", d->kind);
        return 0;
    }
    const struct mdv_plan *plan = mdv_plans_find(abroad_plans, d->kind);
    if (mdv_plan_publish(msg, plan, d->journey_id, d->submitted_at) != 0)
        return -1;
    return 1;
}

int abroad_residence_finish(struct mdv_msg *msg, const char *journey_id, const char *event_type,
                            const char *registration_id, const char *country_code)
{
    /* The event's outbox row is still there: this transaction wrote it. */
    const char *params[] = {journey_id, event_type, registration_id, country_code};
    return mdv_pg_exec(
        msg->conn,
        "UPDATE residence_journeys SET registration_id = $3, country_code = $4,"
        " event_id = (SELECT id FROM outbox WHERE aggregateid = $1::text AND type = $2"
        "             ORDER BY seq DESC LIMIT 1)"
        " WHERE journey_id = $1::uuid",
        4, params);
}
