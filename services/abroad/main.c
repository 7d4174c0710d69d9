/* abroad — MEAE and consulats: inscriptions au Registre des Français
 * établis hors de France. On a death it closes the open inscription. */
#include <stdio.h>

#include "mdv/journey.h"
#include "mdv/pg.h"

#define STEP_DEATH "abroad.registration_closed"

/* The effect of a death on this administration's records of the
 * deceased (matched on the pivot key). */
static int close_registration(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_death *death = ctx;
    PGconn *conn = msg->conn;
    const char *pivot_key = death->pivot_key;
    const char *death_date = death->event->death_date;
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

static enum mdv_outcome on_death(struct mdv_msg *msg)
{
    struct mdv_death death;
    if (mdv_death_decode(msg, &death) != 0)
        return MDV_PERMANENT;
    const struct mdv_step_work work = {death.event->journey_id, STEP_DEATH, death.occurrence};
    enum mdv_outcome outcome = mdv_journey_apply_step(msg, &work, close_registration, &death) == 0
                                   ? MDV_OK
                                   : mdv_msg_db_failure(msg);
    mdv_death_free(&death);
    return outcome;
}

int main(void)
{
    static const char *const topics[] = {"mdv.bereavement.events.v1", NULL};
    static const struct mdv_event_route routes[] = {
        {"fr.gouv.mdv.bereavement.death_recorded.v1", on_death},
        {NULL, NULL},
    };
    return mdv_service_run("abroad", topics, routes, NULL);
}
