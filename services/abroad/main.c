/* abroad — MEAE and consulats: inscriptions au Registre des Français
 * établis hors de France. On a death it closes the open inscription. */
#include <stdio.h>

#include "mdv/journey.h"
#include "mdv/pg.h"

static int close_registration(PGconn *conn, const char *pivot_key, const char *death_date,
                              struct mdv_effect *out)
{
    const char *params[] = {pivot_key};
    (void)death_date;
    long counts[2];
    if (mdv_pg_query_longs(
            conn,
            "WITH known AS (SELECT 1 FROM registrations WHERE pivot_key = $1),"
            "     closed AS (UPDATE registrations SET status = 'closed', closed_reason = 'deces',"
            "                closed_at = now()"
            "                WHERE pivot_key = $1 AND status = 'open' RETURNING country_code)"
            " SELECT (SELECT count(*) FROM known), (SELECT count(*) FROM closed)",
            1, params, counts, 2) != 0)
        return -1;
    long known = counts[0], closed = counts[1];
    if (known == 0)
        return 0; /* not applicable: no record */
    out->status = MDV_STEP_DONE;
    snprintf(out->detail, sizeof(out->detail), "%s",
             closed ? "Inscription au registre des Français de l'étranger clôturée"
                    : "Aucune inscription en cours au registre");
    return 0;
}

int main(void)
{
    return mdv_journey_run_death_consumer("abroad", "abroad.registration_closed",
                                          close_registration);
}
