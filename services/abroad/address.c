/* identity's AddressChanged: a person now lives at an address in France.
 * Someone still on the registre des Français de l'étranger is offered to
 * close the inscription (abroad.registration_reviewed, action_required);
 * the usager's confirmation (StepConfirmed) closes it. The AddressChanged
 * of a journey abroad owns (a return_to_france: identity recorded the
 * address from abroad's own ResidenceAbroadEnded) is abroad's own doing:
 * the return closed the inscription already, nothing is done twice and no
 * step is added to that journey. */
#include "abroad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/journey.h"
#include "mdv/pg.h"

struct review {
    const Mdv__Identity__V1__AddressChanged *event;
    const char *key;
};

/* 1 when the event comes back from abroad's own journey: its journey is
 * one of residence_journeys, or its cause is an event abroad published
 * (mdv_causation_id); 0 when not; -1 on error. */
static int caused_by_abroad(struct mdv_msg *msg, const char *journey_id)
{
    const char *causation = msg->ev.causation_id;
    const char *params[] = {journey_id, mdv_uuid_valid(causation) ? causation : NULL};
    long own = 0;
    if (mdv_pg_query_longs(msg->conn,
                           "SELECT count(*) FROM residence_journeys"
                           " WHERE journey_id = $1 OR event_id = $2::uuid",
                           2, params, &own, 1) != 0)
        return -1;
    return own > 0;
}

static int offer_closing(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct review *r = ctx;
    const char *params[] = {r->key, r->event->journey_id, r->event->effective_date};
    PGresult *res = mdv_pg_query(
        msg->conn,
        "WITH current_reg AS (SELECT registration_id, country_code FROM registrations"
        "              WHERE pivot_key = $1 AND status = 'open'"
        "              ORDER BY registered_on DESC LIMIT 1),"
        "     offered AS (INSERT INTO registration_reviews (journey_id, registration_id,"
        "                 effective_date, status)"
        "                 SELECT $2::uuid, registration_id, $3::date, 'offered' FROM current_reg"
        "                 ON CONFLICT DO NOTHING RETURNING 1)"
        " SELECT (SELECT count(*) FROM registrations WHERE pivot_key = $1),"
        "        (SELECT country_code FROM current_reg), (SELECT count(*) FROM offered)",
        3, params);
    if (!res)
        return -1;
    long known = atol(PQgetvalue(res, 0, 0));
    if (!PQgetisnull(res, 0, 1)) {
        out->status = MDV_STEP_ACTION_REQUIRED;
        snprintf(out->detail, sizeof(out->detail),
                 "Vous êtes inscrit au registre des Français de l'étranger (%s) : confirmez la "
                 "clôture de l'inscription",
                 abroad_country_name(abroad_posts, PQgetvalue(res, 0, 1)));
    } else if (known > 0) {
        out->status = MDV_STEP_NOT_APPLICABLE;
        snprintf(out->detail, sizeof(out->detail), "%s", ABROAD_NO_OPEN_REGISTRATION);
    }
    PQclear(res);
    return 0;
}

enum mdv_outcome abroad_on_address_changed(struct mdv_msg *msg)
{
    Mdv__Identity__V1__AddressChanged *a = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    enum mdv_outcome outcome = MDV_OK;
    if (mdv_identity_address_changed_decode(msg->rkm->payload, msg->rkm->len, &a, key, msg->error,
                                            sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    int own = caused_by_abroad(msg, a->journey_id);
    if (own != 0) {
        if (own < 0)
            outcome = mdv_msg_db_failure(msg);
        else
            mdv_log_at(MDV_LOG_INFO, &msg->log,
                       "AddressChanged of abroad's own journey: " ABROAD_ALREADY_TAKEN);
        goto out;
    }
    const struct review r = {a, key};
    const struct mdv_step_work work = {a->journey_id, ABROAD_STEP_REVIEWED, NULL};
    if (mdv_journey_apply_step(msg, &work, offer_closing, (void *)&r) != 0)
        outcome = mdv_msg_db_failure(msg);
out:
    mdv__identity__v1__address_changed__free_unpacked(a, NULL);
    return outcome;
}

/* Closes the inscription the review offered; writes the step's detail.
 * Returns 0, or -1 on error. */
static int close_reviewed(struct mdv_msg *msg, const char *registration_id,
                          const char *effective_date, struct mdv_effect *out)
{
    const char *params[] = {registration_id, effective_date};
    PGresult *res = mdv_pg_query(
        msg->conn,
        "WITH closed AS (UPDATE registrations SET status = 'closed',"
        "                closed_reason = 'adresse en France', closed_at = now(), closed_on = $2"
        "                WHERE registration_id = $1 AND status = 'open' RETURNING 1)"
        " SELECT (SELECT count(*) FROM closed),"
        "        (SELECT coalesce(closed_on::text, '') FROM registrations"
        "         WHERE registration_id = $1)",
        2, params);
    if (!res)
        return -1;
    char on[ABROAD_DATE_LEN];
    out->status = MDV_STEP_DONE;
    if (atol(PQgetvalue(res, 0, 0)) > 0) {
        abroad_date_french(effective_date, on);
        snprintf(out->detail, sizeof(out->detail), "Inscription clôturée au %s", on);
    } else if (*PQgetvalue(res, 0, 1)) {
        /* Closed meanwhile: a return, a death. */
        abroad_date_french(PQgetvalue(res, 0, 1), on);
        snprintf(out->detail, sizeof(out->detail), "Inscription déjà clôturée au %s", on);
    } else {
        snprintf(out->detail, sizeof(out->detail), "Inscription déjà clôturée");
    }
    PQclear(res);
    return 0;
}

/* The step's one applied_effects row tells its final state. */
static int update_effect(struct mdv_msg *msg, const char *journey_id, const struct mdv_effect *e)
{
    const char *params[] = {journey_id, ABROAD_STEP_REVIEWED, e->detail};
    return mdv_pg_exec(msg->conn,
                       "UPDATE applied_effects SET status = 'done', detail = $3"
                       " WHERE journey_id = $1 AND effect = $2",
                       3, params);
}

enum mdv_outcome abroad_on_review_confirmed(struct mdv_msg *msg,
                                            const Mdv__Gateway__V1__StepConfirmed *c)
{
    const char *params[] = {c->journey_id};
    PGresult *res =
        mdv_pg_query(msg->conn,
                     "UPDATE registration_reviews SET status = 'confirmed',"
                     " confirmed_at = now() WHERE journey_id = $1 AND status = 'offered'"
                     " RETURNING registration_id::text, effective_date::text",
                     1, params);
    struct mdv_effect effect = {MDV_STEP_DONE, ""};
    enum mdv_outcome outcome = MDV_OK;
    if (!res)
        return mdv_msg_db_failure(msg);
    if (PQntuples(res) == 0) {
        mdv_log_at(MDV_LOG_INFO, &msg->log, "no inscription offered for closing: nothing to do");
        goto out;
    }
    if (close_reviewed(msg, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), &effect) != 0 ||
        update_effect(msg, c->journey_id, &effect) != 0 ||
        mdv_journey_report_next(msg, c->journey_id, ABROAD_STEP_REVIEWED, effect.status,
                                effect.detail) != 0) {
        outcome = mdv_msg_db_failure(msg);
        goto out;
    }
    mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: %s", ABROAD_STEP_REVIEWED, effect.detail);
out:
    PQclear(res);
    return outcome;
}
