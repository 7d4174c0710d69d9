/* The confirmed claim leaves bereavement as a domain event, read back from
 * the records in the confirmation's transaction: the record is what the
 * état civil holds, so what the CNAV gets is the death as recorded, not as
 * retyped. */
#include "claims.h"

#include <stdlib.h>

#include "mdv/bereavement/v1/death.pb-c.h"
#include "mdv/pg.h"

/* The record's columns, given names as one row each in their order. */
#define CLAIM_SQL                                                                                  \
    "SELECT d.family_name, d.sex, d.birth_date::text, d.birth_place, d.death_date::text,"          \
    " to_char(c.confirmed_at AT TIME ZONE 'Europe/Paris', 'YYYY-MM-DD'), g.name"                   \
    " FROM survivor_claims c JOIN death_records d USING (journey_id),"                             \
    " unnest(d.given_names) WITH ORDINALITY AS g(name, n)"                                         \
    " WHERE c.journey_id = $1 AND c.status = 'confirmed' ORDER BY g.n"

static int emit(struct mdv_msg *msg, const char *journey_id, PGresult *res)
{
    Mdv__Bereavement__V1__SurvivorClaimConfirmed claim =
        MDV__BEREAVEMENT__V1__SURVIVOR_CLAIM_CONFIRMED__INIT;
    Mdv__Journey__V1__PivotIdentity deceased = MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT;
    int n = PQntuples(res);
    char **names = mdv_xmalloc(sizeof(*names) * (size_t)n);

    for (int i = 0; i < n; i++)
        names[i] = PQgetvalue(res, i, 6);
    deceased.family_name = PQgetvalue(res, 0, 0);
    deceased.sex = PQgetvalue(res, 0, 1);
    deceased.birth_date = PQgetvalue(res, 0, 2);
    deceased.birth_place = PQgetvalue(res, 0, 3);
    deceased.n_given_names = (size_t)n;
    deceased.given_names = names;
    claim.journey_id = (char *)journey_id;
    claim.deceased = &deceased;
    claim.death_date = PQgetvalue(res, 0, 4);
    claim.confirmed_on = PQgetvalue(res, 0, 5);
    int rc = mdv_msg_emit(msg, "survivor_claim_confirmed", "survivor_claim", journey_id, journey_id,
                          &claim.base);
    free(names);
    return rc;
}

int claims_publish_confirmed(struct mdv_msg *msg, const char *journey_id)
{
    const char *params[] = {journey_id};
    PGresult *res = mdv_pg_query(msg->conn, CLAIM_SQL, 1, params);
    int rc = -1;
    if (!res)
        goto out;
    if (PQntuples(res) == 0) {
        mdv_log_at(MDV_LOG_ERROR, &msg->log, "confirmed claim without a death record");
        goto out;
    }
    rc = emit(msg, journey_id, res);
out:
    PQclear(res);
    return rc;
}
