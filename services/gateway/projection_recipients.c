/* The journey's recipients in the read model (DESIGN.md §11,
 * transparency), fed by the partners service's RecipientNotified: who was
 * notified, of which fields, on what basis, and when it acknowledged.
 * Each message carries the recipient's whole state; of two times the
 * earlier is kept, and a time is never emptied (PostgreSQL's least()
 * skips NULLs), so messages may come in any order and a
 * redelivered one changes nothing (the inbox makes it once anyway). */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "partners/contract.h"

/* The field names as a JSON list of strings, which the statement turns
 * into the column's text[] (no array literal to quote by hand).
 * The caller frees the text; NULL when a name is not UTF-8. */
static char *fields_json(char *const *fields, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(list, json_string(fields[i])) != 0) {
            json_decref(list);
            return NULL;
        }
    char *text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    if (!text)
        abort(); /* allocation failure, as mdv_xmalloc does */
    return text;
}

/* In one statement, with the journey touched as every write of the read
 * model is (its live followers notified at commit, projection.c); *found
 * says whether the journey is known here. */
static int apply_recipient(struct mdv_msg *msg, const Mdv__Partner__V1__RecipientNotified *r,
                           const char *fields, long *found)
{
    const char *basis = r->basis == MDV__PARTNER__V1__RECIPIENT_BASIS__RECIPIENT_BASIS_CHOSEN
                            ? "chosen"
                            : "mandatory";
    const char *params[] = {r->journey_id,
                            r->step_code,
                            r->partner,
                            r->administration,
                            fields,
                            r->legal_basis,
                            basis,
                            r->notified_at,
                            *r->acknowledged_at ? r->acknowledged_at : NULL};
    return mdv_pg_query_longs(
        msg->conn,
        "WITH journey AS (UPDATE journeys SET"
        "   updated_at = greatest(updated_at + interval '1 microsecond', clock_timestamp())"
        "   WHERE journey_id = $1::uuid"
        "   RETURNING journey_id, pg_notify('mdv_journey_changed', journey_id::text)),"
        " recipient AS (INSERT INTO journey_recipients AS x (journey_id, step_code, partner,"
        "   administration, fields, legal_basis, basis, notified_at, acknowledged_at)"
        "   SELECT journey_id, $2::text, $3::text, $4::text,"
        "   ARRAY(SELECT json_array_elements_text($5::json)), $6::text, $7::text,"
        "   $8::timestamptz, $9::timestamptz FROM journey"
        "   ON CONFLICT (journey_id, step_code) DO UPDATE SET"
        "   partner = EXCLUDED.partner, administration = EXCLUDED.administration,"
        "   fields = EXCLUDED.fields, legal_basis = EXCLUDED.legal_basis, basis = EXCLUDED.basis,"
        "   notified_at = least(x.notified_at, EXCLUDED.notified_at),"
        "   acknowledged_at = least(x.acknowledged_at, EXCLUDED.acknowledged_at))"
        " SELECT count(*) FROM journey",
        9, params, found, 1);
}

enum mdv_outcome projection_on_recipient(struct mdv_msg *msg)
{
    Mdv__Partner__V1__RecipientNotified *r = NULL;
    char err[256];
    if (mdv_partners_recipient_decode(msg->rkm->payload, msg->rkm->len, &r, err, sizeof(err)) != 0)
        return mdv_msg_reject(msg, "%s", err);
    char *fields = fields_json(r->fields, r->n_fields);
    long found = 0;
    enum mdv_outcome outcome = MDV_OK;
    if (!fields)
        outcome = mdv_msg_reject(msg, "RecipientNotified with a field name that is not UTF-8");
    else if (apply_recipient(msg, r, fields, &found) != 0)
        outcome = mdv_msg_db_failure(msg);
    else if (!found)
        outcome = mdv_msg_reject(msg, "journey %s unknown to the gateway", r->journey_id);
    free(fields);
    mdv__partner__v1__recipient_notified__free_unpacked(r, NULL);
    return outcome;
}
