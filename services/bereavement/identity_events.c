/* AddressChanged and PersonNameChanged, as the caisses de retraite see
 * them: a surviving spouse's open claim (offered or confirmed, found on
 * survivor_key) gets the new address, or the new name (a changed nom de
 * naissance re-keys the claim, so the survivor is found under the new name
 * only). An AddressChanged under a journey whose plan has no
 * bereavement.claim_address_updated (a return to France, which abroad
 * owns) still reaches an open claim: the step is added to that journey;
 * with no open claim it applies nothing and reports nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "identity/contract.h"
#include "identity_events.h"
#include "mdv/journey.h"
#include "mdv/pg.h"
#include "mdv/reaction.h"

typedef Mdv__Identity__V1__PersonNameChanged name_changed_t;

static int update_claim_address(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_address_change *w = ctx;
    const Mdv__Journey__V1__Address *a = w->m->address;
    char *lines = mdv_pg_texts_json(a->lines, a->n_lines);
    const char *params[] = {w->key, lines, a->postal_code, a->commune_code, a->city};
    long n = 0;
    int rc = mdv_pg_query_longs(
        msg->conn,
        "WITH updated AS (UPDATE survivor_claims"
        "      SET address_lines = ARRAY(SELECT json_array_elements_text($2::json)),"
        "      address_postal_code = $3, address_commune_code = $4, address_city = $5,"
        "      address_updated_at = now()"
        "      WHERE survivor_key = $1 AND status IN ('offered', 'confirmed') RETURNING 1)"
        " SELECT count(*) FROM updated",
        5, params, &n, 1);
    free(lines);
    if (rc != 0)
        return -1;
    if (n > 0) {
        out->status = MDV_STEP_DONE;
        snprintf(out->detail, sizeof(out->detail),
                 "Adresse de la demande de pension de réversion mise à jour");
    } else {
        snprintf(out->detail, sizeof(out->detail),
                 "Aucune demande de pension de réversion en cours");
    }
    return 0;
}

/* An open claim of the person: the unplanned step has something to do. */
static int has_open_claim(struct mdv_msg *msg, void *ctx)
{
    const struct mdv_address_change *w = ctx;
    const char *params[] = {w->key};
    long n = 0;
    if (mdv_pg_query_longs(msg->conn,
                           "SELECT count(*) FROM survivor_claims"
                           " WHERE survivor_key = $1 AND status IN ('offered', 'confirmed')",
                           1, params, &n, 1) != 0)
        return -1;
    return n > 0;
}

enum mdv_outcome bereavement_on_address_changed(struct mdv_msg *msg)
{
    return mdv_address_change_apply(msg, BEREAVEMENT_STEP_CLAIM_ADDRESS, update_claim_address,
                                    has_open_claim, update_claim_address);
}

static int update_claim_name(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_name_change *w = ctx;
    const name_changed_t *m = w->m;
    const char *params[] = {w->previous, w->current, m->current->family_name, m->usage_name};
    long n = 0;
    if (mdv_pg_query_longs(msg->conn,
                           "WITH updated AS (UPDATE survivor_claims SET survivor_key = $2,"
                           "      survivor_family_name = $3, survivor_usage_name = NULLIF($4, '')"
                           "      WHERE survivor_key = $1 RETURNING 1)"
                           " SELECT count(*) FROM updated",
                           4, params, &n, 1) != 0)
        return -1;
    if (n == 0)
        return 0; /* not applicable: no record */
    mdv_name_change_detail(m, "la demande de pension de réversion",
                           "de la demande de pension de réversion", out);
    return 0;
}

enum mdv_outcome bereavement_on_name_changed(struct mdv_msg *msg)
{
    return mdv_name_change_apply(msg, BEREAVEMENT_STEP_NAME, update_claim_name);
}
