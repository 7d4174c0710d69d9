/* return_to_france: the usager comes back to live in France. abroad
 * publishes the plan, closes the open inscription au registre
 * (abroad.registration_closed; none open is a valid return: not
 * applicable) and publishes ResidenceAbroadEnded, from which identity
 * records the address and publishes AddressChanged for this same journey:
 * abroad recognises that one as its own (address.c). */
#include "abroad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/abroad/v1/abroad.pb-c.h"
#include "mdv/journey.h"
#include "mdv/pg.h"

#define EVENT_TYPE "fr.gouv.mdv.abroad.residence_abroad_ended.v1"

struct return_work {
    const abroad_declaration_t *d;
    const char *key;
    char registration_id[MDV_UUID_LEN]; /* the inscription closed, "" when none */
    char country[16];
};

static int close_registration(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    struct return_work *w = ctx;
    const char *return_date = w->d->return_to_france->return_date;
    const char *params[] = {w->key, return_date};
    PGresult *res = mdv_pg_query(msg->conn,
                                 "UPDATE registrations SET status = 'closed',"
                                 " closed_reason = 'retour', closed_at = now(), closed_on = $2"
                                 " WHERE pivot_key = $1 AND status = 'open'"
                                 " RETURNING registration_id::text, country_code",
                                 2, params);
    if (!res)
        return -1;
    char on[ABROAD_DATE_LEN];
    abroad_date_french(return_date, on);
    if (PQntuples(res) > 0) {
        mdv_strlcpy(w->registration_id, PQgetvalue(res, 0, 0), sizeof(w->registration_id));
        mdv_strlcpy(w->country, PQgetvalue(res, 0, 1), sizeof(w->country));
        out->status = MDV_STEP_DONE;
        snprintf(out->detail, sizeof(out->detail), "Inscription au registre clôturée au %s (%s)",
                 on, abroad_country_name(abroad_posts, w->country));
    } else {
        /* Nothing to close is no failure: a return without inscription. */
        out->status = MDV_STEP_NOT_APPLICABLE;
        snprintf(out->detail, sizeof(out->detail), "%s", ABROAD_NO_OPEN_REGISTRATION);
    }
    PQclear(res);
    return 0;
}

static int publish_ended(struct mdv_msg *msg, const abroad_declaration_t *d)
{
    const Mdv__Gateway__V1__ReturnToFranceDeclaration *b = d->return_to_france;
    Mdv__Abroad__V1__ResidenceAbroadEnded ev = MDV__ABROAD__V1__RESIDENCE_ABROAD_ENDED__INIT;
    char now[MDV_TIME_LEN];

    mdv_time_now(now);
    ev.journey_id = d->journey_id;
    ev.person = b->person;
    ev.address = b->address;
    ev.end_date = b->return_date;
    ev.recorded_at = now;
    return mdv_msg_emit(msg, "residence_abroad_ended", "journey", d->journey_id, d->journey_id,
                        &ev.base);
}

enum mdv_outcome abroad_on_return(struct mdv_msg *msg, const abroad_declaration_t *d)
{
    const Mdv__Gateway__V1__ReturnToFranceDeclaration *b = d->return_to_france;
    char key[MDV_PIVOT_KEY_LEN];
    if (abroad_person_key(b->person, key) != 0)
        return mdv_msg_reject(msg, "person identity cannot be normalised");
    struct return_work w = {d, key, "", ""};
    const struct mdv_step_work work = {d->journey_id, ABROAD_STEP_CLOSED, NULL};

    int begun = abroad_residence_begin(msg, d, key, b->return_date);
    if (begun <= 0)
        return begun < 0 ? mdv_msg_db_failure(msg) : MDV_OK;
    if (mdv_journey_apply_step(msg, &work, close_registration, &w) != 0 ||
        publish_ended(msg, d) != 0 ||
        abroad_residence_finish(msg, d->journey_id, EVENT_TYPE,
                                *w.registration_id ? w.registration_id : NULL,
                                *w.country ? w.country : NULL) != 0)
        return mdv_msg_db_failure(msg);
    return MDV_OK;
}
