/* Death records and survivor claims: one record per death and one claim
 * per deceased person, whoever declares it and however often (records.h). */
#include "records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/pg.h"
#include "mdv/pivot.h"

/* Dates shown to the usager, in France's time. */
#define FRENCH_DATE(column) "to_char(" column " AT TIME ZONE 'Europe/Paris', 'DD/MM/YYYY')"

/* given_names as a PostgreSQL array literal, quoted (names hold no quote
 * or backslash once validated, but quoting keeps spaces and commas safe). */
static char *names_array(const Mdv__Journey__V1__PivotIdentity *p)
{
    size_t cap = 3;
    for (size_t i = 0; i < p->n_given_names; i++)
        cap += strlen(p->given_names[i]) + 3;
    char *out = mdv_xmalloc(cap);
    size_t len = (size_t)snprintf(out, cap, "{");
    for (size_t i = 0; i < p->n_given_names; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"", i ? "," : "", p->given_names[i]);
    snprintf(out + len, cap - len, "}");
    return out;
}

/* Inserts the record, a repeat of repeat_of unless it is NULL. The first
 * record of a death conflicts with an earlier one on the partial unique
 * index: *inserted says whether the row went in. */
static int insert_record(PGconn *conn, const Mdv__Gateway__V1__DeclarationSubmitted *d,
                         const char *pivot_key, const char *repeat_of, int *inserted)
{
    const Mdv__Gateway__V1__BereavementDeclaration *b = d->bereavement;
    const Mdv__Journey__V1__PivotIdentity *p = b->deceased;
    char *given = names_array(p);
    const char *params[] = {
        d->journey_id, d->usager_id,   p->family_name, given,          p->sex,
        p->birth_date, p->birth_place, b->death_date,  b->death_place, b->declarant_relationship,
        pivot_key,     repeat_of};
    PGresult *res =
        mdv_pg_query(conn,
                     "INSERT INTO death_records (journey_id, usager_id, family_name,"
                     " given_names, sex, birth_date, birth_place, death_date, death_place,"
                     " declarant_relationship, pivot_key, repeat_of)"
                     " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"
                     " ON CONFLICT (pivot_key, death_date) WHERE repeat_of IS NULL DO NOTHING",
                     12, params);
    free(given);
    if (!res)
        return -1;
    *inserted = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return 0;
}

static int find_first(PGconn *conn, const char *pivot_key, const char *death_date,
                      struct death_first *first)
{
    const char *params[] = {pivot_key, death_date};
    PGresult *res = mdv_pg_query(
        conn,
        "SELECT journey_id, " FRENCH_DATE("recorded_at") " FROM death_records"
                                                         " WHERE pivot_key = $1 AND death_date = $2"
                                                         " AND repeat_of IS NULL",
        2, params);
    if (!res || PQntuples(res) != 1) {
        PQclear(res);
        return -1;
    }
    mdv_strlcpy(first->journey_id, PQgetvalue(res, 0, 0), sizeof(first->journey_id));
    mdv_strlcpy(first->recorded_on, PQgetvalue(res, 0, 1), sizeof(first->recorded_on));
    PQclear(res);
    return 0;
}

int records_add_death(PGconn *conn, const Mdv__Gateway__V1__DeclarationSubmitted *d,
                      const char *pivot_key, struct death_first *first)
{
    const char *death_date = d->bereavement->death_date;
    int inserted = 0;
    if (insert_record(conn, d, pivot_key, NULL, &inserted) != 0)
        return -1;
    if (inserted) {
        mdv_strlcpy(first->journey_id, d->journey_id, sizeof(first->journey_id));
        first->recorded_on[0] = '\0';
        return 1;
    }
    if (find_first(conn, pivot_key, death_date, first) != 0 ||
        insert_record(conn, d, pivot_key, first->journey_id, &inserted) != 0 || !inserted)
        return -1;
    return 0;
}

/* The claim as inserted: who offered it, for whom, and what the declaring
 * spouse said of themself. */
struct claim_offer {
    const char *journey_id, *usager_id, *deceased_key;
    const Mdv__Journey__V1__PivotIdentity *survivor;
    const Mdv__Journey__V1__Address *address;
};

/* Inserts the claim, naming its survivor when one is given and can be
 * keyed (the gateway accepts only names that can), at the address they
 * gave (address_updated_at stays NULL: no AddressChanged set it); returns
 * 1 when it went in, 0 when the deceased had a claim, -1 on error. */
static int insert_claim(PGconn *conn, const struct claim_offer *o)
{
    const Mdv__Journey__V1__PivotIdentity *s = o->survivor;
    const Mdv__Journey__V1__Address *a = o->address;
    char key[MDV_PIVOT_KEY_LEN];
    if (s && mdv_pivot_key(s->family_name, s->given_names[0], s->sex, s->birth_date, s->birth_place,
                           key) != 0)
        s = NULL;
    char *given = s ? names_array(s) : NULL;
    char *lines = a ? mdv_pg_texts_json(a->lines, a->n_lines) : NULL;
    const char *params[] = {o->journey_id,
                            o->usager_id,
                            o->deceased_key,
                            s ? key : NULL,
                            s ? s->family_name : NULL,
                            given,
                            s ? s->sex : NULL,
                            s ? s->birth_date : NULL,
                            s ? s->birth_place : NULL,
                            lines,
                            a ? a->postal_code : NULL,
                            a ? a->commune_code : NULL,
                            a ? a->city : NULL};
    PGresult *res = mdv_pg_query(
        conn,
        "INSERT INTO survivor_claims (journey_id, usager_id, status,"
        " deceased_key, survivor_key, survivor_family_name,"
        " survivor_given_names, survivor_sex, survivor_birth_date,"
        " survivor_birth_place, address_lines, address_postal_code,"
        " address_commune_code, address_city)"
        " VALUES ($1, $2, 'offered', $3, $4, $5, $6, $7, $8, $9,"
        " CASE WHEN $10::json IS NOT NULL THEN ARRAY(SELECT json_array_elements_text($10::json))"
        " END, $11, $12, $13)"
        " ON CONFLICT (deceased_key) DO NOTHING",
        13, params);
    free(given);
    free(lines);
    if (!res)
        return -1;
    int offered = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return offered;
}

int records_offer_claim(PGconn *conn, const char *journey_id, const char *usager_id,
                        const char *pivot_key, const Mdv__Journey__V1__PivotIdentity *survivor,
                        const Mdv__Journey__V1__Address *address, char offered_on[RECORDS_DATE_LEN])
{
    const char *params[] = {pivot_key};
    const struct claim_offer offer = {journey_id, usager_id, pivot_key, survivor, address};
    int offered = insert_claim(conn, &offer);
    if (offered != 0)
        return offered;
    PGresult *res = mdv_pg_query(conn,
                                 "SELECT " FRENCH_DATE("offered_at") " FROM survivor_claims"
                                                                     " WHERE deceased_key = $1",
                                 1, params);
    if (!res || PQntuples(res) != 1) {
        PQclear(res);
        return -1;
    }
    mdv_strlcpy(offered_on, PQgetvalue(res, 0, 0), RECORDS_DATE_LEN);
    PQclear(res);
    return 0;
}
