/* identity's PersonNameChanged: abroad.name_updated. A nom d'usage is
 * written on the person's inscriptions; a changed nom de naissance
 * re-keys them (and abroad's own journeys of that person), so that the
 * person is found under the new name from now on, and no longer under the
 * old one. Every inscription of the person, open or closed: the registre
 * is the person's history abroad. */
#include "abroad.h"

#include <stdio.h>
#include <stdlib.h>

#include "mdv/journey.h"
#include "mdv/pg.h"

static int rename_records(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_name_change *r = ctx;
    const Mdv__Identity__V1__PersonNameChanged *n = r->m;
    const char *params[] = {r->previous, r->current, n->current->family_name, n->usage_name,
                            n->birth_name_changed ? "t" : "f"};
    long counts[2];
    if (mdv_pg_query_longs(
            msg->conn,
            "WITH renamed AS (UPDATE registrations SET usage_name = nullif($4, ''),"
            "                 family_name = CASE WHEN $5::boolean THEN $3 ELSE family_name END,"
            "                 pivot_key = CASE WHEN $5::boolean THEN $2 ELSE pivot_key END"
            "                 WHERE pivot_key = $1 RETURNING 1),"
            "     journeys AS (UPDATE residence_journeys SET pivot_key = $2"
            "                  WHERE $5::boolean AND pivot_key = $1 RETURNING 1)"
            " SELECT (SELECT count(*) FROM renamed), (SELECT count(*) FROM journeys)",
            5, params, counts, 2) != 0)
        return -1;
    if (counts[0] == 0)
        return 0; /* not applicable: no inscription under that name */
    out->status = MDV_STEP_DONE;
    if (n->birth_name_changed)
        snprintf(out->detail, sizeof(out->detail),
                 "Nom mis à jour dans l'inscription : nom de naissance %s devient %s",
                 n->previous->family_name, n->current->family_name);
    else if (*n->usage_name)
        snprintf(out->detail, sizeof(out->detail),
                 "Nom mis à jour dans l'inscription : nom d'usage %s", n->usage_name);
    else
        snprintf(out->detail, sizeof(out->detail),
                 "Nom mis à jour dans l'inscription : plus de nom d'usage");
    return 0;
}

enum mdv_outcome abroad_on_name_changed(struct mdv_msg *msg)
{
    return mdv_name_change_apply(msg, ABROAD_STEP_NAME, rename_records);
}
