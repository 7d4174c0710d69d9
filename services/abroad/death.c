/* bereavement's DeathRecorded: the deceased's open inscription au
 * registre is closed (abroad.registration_closed of the bereavement
 * journey), once per death however many relatives declare it. */
#include "abroad.h"

#include <stdio.h>

#include "mdv/journey.h"
#include "bereavement/contract.h"
#include "mdv/pg.h"

/* The effect of a death on this administration's records of the
 * deceased (matched on the pivot key). */
static int close_registration(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_death *death = ctx;
    const char *params[] = {death->pivot_key, death->event->death_date};
    long counts[2];
    if (mdv_pg_query_longs(
            msg->conn,
            "WITH known AS (SELECT 1 FROM registrations WHERE pivot_key = $1),"
            "     closed AS (UPDATE registrations SET status = 'closed', closed_reason = 'deces',"
            "                closed_at = now(), closed_on = $2"
            "                WHERE pivot_key = $1 AND status = 'open' RETURNING country_code)"
            " SELECT (SELECT count(*) FROM known), (SELECT count(*) FROM closed)",
            2, params, counts, 2) != 0)
        return -1;
    long known = counts[0], closed = counts[1];
    if (known == 0)
        return 0; /* not applicable: no record */
    out->status = MDV_STEP_DONE;
    snprintf(out->detail, sizeof(out->detail), "%s",
             closed ? "Inscription au registre des Français de l'étranger clôturée"
                    : ABROAD_NO_OPEN_REGISTRATION);
    return 0;
}

enum mdv_outcome abroad_on_death(struct mdv_msg *msg)
{
    return mdv_death_apply(msg, ABROAD_STEP_CLOSED, close_registration);
}
