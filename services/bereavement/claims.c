/* The confirmed claim leaves bereavement as a domain event, read back from
 * the records in the confirmation's transaction: the record is what the
 * état civil holds, so what the CNAV gets is the death as recorded, not as
 * retyped; and the claimant and their address are what the claim holds
 * now, after whatever AddressChanged and PersonNameChanged reached it. */
#include "claims.h"

#include <stdlib.h>

#include "mdv/bereavement/v1/death.pb-c.h"
#include "mdv/pg.h"

/* The record's columns, given names as one row each in their order. */
#define DECEASED_SQL                                                                               \
    "SELECT d.family_name, d.sex, d.birth_date::text, d.birth_place, d.death_date::text,"          \
    " to_char(c.confirmed_at AT TIME ZONE 'Europe/Paris', 'YYYY-MM-DD'), g.name"                   \
    " FROM survivor_claims c JOIN death_records d USING (journey_id),"                             \
    " unnest(d.given_names) WITH ORDINALITY AS g(name, n)"                                         \
    " WHERE c.journey_id = $1 AND c.status = 'confirmed' ORDER BY g.n"

/* The claimant as the same columns, given names as rows: no row when the
 * declaring spouse gave no identity. */
#define SURVIVOR_SQL                                                                               \
    "SELECT survivor_family_name, survivor_sex, survivor_birth_date::text, survivor_birth_place,"  \
    " coalesce(survivor_usage_name, ''), g.name"                                                   \
    " FROM survivor_claims, unnest(survivor_given_names) WITH ORDINALITY AS g(name, n)"            \
    " WHERE journey_id = $1 AND survivor_birth_date IS NOT NULL ORDER BY g.n"

/* The claim's address, its lines as rows: no row when none reached it. */
#define ADDRESS_SQL                                                                                \
    "SELECT address_postal_code, coalesce(address_commune_code, ''), coalesce(address_city, ''),"  \
    " l.line FROM survivor_claims, unnest(address_lines) WITH ORDINALITY AS l(line, n)"            \
    " WHERE journey_id = $1 ORDER BY l.n"

/* What the event is built from, one result per query above. */
struct claim_rows {
    PGresult *deceased, *survivor, *address;
};

/* The values of column col, one per row; the caller frees the array, the
 * strings stay res's. */
static char **column(PGresult *res, int col)
{
    int n = PQntuples(res);
    char **values = mdv_xmalloc(sizeof(*values) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++)
        values[i] = PQgetvalue(res, i, col);
    return values;
}

/* p from the first row of res (family name, sex, birth date and place in
 * its first columns), the given names from column names_col. */
static void identity(Mdv__Journey__V1__PivotIdentity *p, PGresult *res, int names_col)
{
    p->family_name = PQgetvalue(res, 0, 0);
    p->sex = PQgetvalue(res, 0, 1);
    p->birth_date = PQgetvalue(res, 0, 2);
    p->birth_place = PQgetvalue(res, 0, 3);
    p->n_given_names = (size_t)PQntuples(res);
    p->given_names = column(res, names_col);
}

static void address(Mdv__Journey__V1__Address *a, PGresult *res)
{
    a->postal_code = PQgetvalue(res, 0, 0);
    a->commune_code = PQgetvalue(res, 0, 1);
    a->city = PQgetvalue(res, 0, 2);
    a->n_lines = (size_t)PQntuples(res);
    a->lines = column(res, 3);
}

static int emit(struct mdv_msg *msg, const char *journey_id, const struct claim_rows *rows)
{
    Mdv__Bereavement__V1__SurvivorClaimConfirmed claim =
        MDV__BEREAVEMENT__V1__SURVIVOR_CLAIM_CONFIRMED__INIT;
    Mdv__Journey__V1__PivotIdentity deceased = MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT;
    Mdv__Journey__V1__PivotIdentity survivor = MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT;
    Mdv__Journey__V1__Address where = MDV__JOURNEY__V1__ADDRESS__INIT;

    identity(&deceased, rows->deceased, 6);
    claim.journey_id = (char *)journey_id;
    claim.deceased = &deceased;
    claim.death_date = PQgetvalue(rows->deceased, 0, 4);
    claim.confirmed_on = PQgetvalue(rows->deceased, 0, 5);
    if (PQntuples(rows->survivor) > 0) {
        identity(&survivor, rows->survivor, 5);
        claim.survivor = &survivor;
        claim.survivor_usage_name = PQgetvalue(rows->survivor, 0, 4);
    }
    if (PQntuples(rows->address) > 0) {
        address(&where, rows->address);
        claim.address = &where;
    }
    int rc = mdv_msg_emit(msg, "survivor_claim_confirmed", "survivor_claim", journey_id, journey_id,
                          &claim.base);
    free(deceased.given_names);
    free(survivor.given_names);
    free(where.lines);
    return rc;
}

int claims_publish_confirmed(struct mdv_msg *msg, const char *journey_id)
{
    const char *params[] = {journey_id};
    struct claim_rows rows = {NULL, NULL, NULL};
    int rc = -1;
    rows.deceased = mdv_pg_query(msg->conn, DECEASED_SQL, 1, params);
    if (!rows.deceased)
        goto out;
    if (PQntuples(rows.deceased) == 0) {
        mdv_log_at(MDV_LOG_ERROR, &msg->log, "confirmed claim without a death record");
        goto out;
    }
    rows.survivor = mdv_pg_query(msg->conn, SURVIVOR_SQL, 1, params);
    rows.address = rows.survivor ? mdv_pg_query(msg->conn, ADDRESS_SQL, 1, params) : NULL;
    if (rows.address)
        rc = emit(msg, journey_id, &rows);
out:
    PQclear(rows.deceased);
    PQclear(rows.survivor);
    PQclear(rows.address);
    return rc;
}
