/* The register of the ANTS and the mairies, in identity's database: a
 * person found by their matching key, their main addresses with dates, and
 * the French way of writing a date in a step's detail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "mdv/pg.h"

int identity_person_find(PGconn *conn, const char *pivot_key, struct identity_person *out)
{
    const char *params[] = {pivot_key};
    /* Several persons may share a key (a register is not perfect): the
     * oldest record is the person, the same one every time. */
    PGresult *res = mdv_pg_query(conn,
                                 "SELECT person_id::text, family_name, coalesce(usage_name, '')"
                                 " FROM persons WHERE pivot_key = $1"
                                 " ORDER BY person_id LIMIT 1 FOR UPDATE",
                                 1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        mdv_strlcpy(out->person_id, PQgetvalue(res, 0, 0), sizeof(out->person_id));
        mdv_strlcpy(out->family_name, PQgetvalue(res, 0, 1), sizeof(out->family_name));
        mdv_strlcpy(out->usage_name, PQgetvalue(res, 0, 2), sizeof(out->usage_name));
    }
    PQclear(res);
    return found;
}

int identity_address_record(PGconn *conn, const char *person_id, const identity_address_t *a,
                            const char *valid_from, const char *journey_id)
{
    int abroad = *a->country_code && strcmp(a->country_code, "99100") != 0;
    char *lines = mdv_pg_texts_json(a->lines, a->n_lines);
    const char *end[] = {person_id, valid_from};
    const char *params[] = {person_id,      lines,
                            a->postal_code, abroad ? NULL : a->commune_code,
                            a->city,        abroad ? a->country_code : "99100",
                            valid_from,     journey_id};
    int rc = -1;

    if (!lines)
        goto out;
    /* The current address ends where the new one starts (or at once, when
     * the new one was declared from an earlier date): two statements, so
     * that the one-current-address index sees the end first. */
    if (mdv_pg_exec(conn,
                    "UPDATE addresses SET valid_to = greatest(valid_from, $2::date)"
                    " WHERE person_id = $1 AND valid_to IS NULL",
                    2, end) != 0)
        goto out;
    rc = mdv_pg_exec(conn,
                     "INSERT INTO addresses (person_id, lines, postal_code, commune_code, city,"
                     " country_code, valid_from, journey_id)"
                     " VALUES ($1, ARRAY(SELECT json_array_elements_text($2::json)),"
                     " nullif($3, ''), $4, $5, $6, $7, $8)",
                     8, params);
out:
    free(lines);
    return rc;
}

void identity_date_french(const char *iso, char *out, size_t outlen)
{
    static const char *const months[] = {"janvier",   "février", "mars",     "avril",
                                         "mai",       "juin",    "juillet",  "août",
                                         "septembre", "octobre", "novembre", "décembre"};
    int year = 0, month = 0, day = 0;
    if (sscanf(iso, "%4d-%2d-%2d", &year, &month, &day) != 3 || month < 1 || month > 12 ||
        day < 1 || day > 31) {
        snprintf(out, outlen, "%s", iso);
        return;
    }
    if (day == 1)
        snprintf(out, outlen, "1er %s %d", months[month - 1], year);
    else
        snprintf(out, outlen, "%d %s %d", day, months[month - 1], year);
}
