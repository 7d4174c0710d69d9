/* departure_abroad: the usager settles abroad. abroad publishes the plan,
 * opens an inscription au registre for 5 years when it is wanted
 * (abroad.registration_opened), and publishes ResidenceAbroadStarted for
 * identity, student and housing. An inscription already open in the same
 * country is kept (its address updated); one open in another country is
 * closed, since the person no longer lives there (README, "Journeys"). */
#include "abroad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/abroad/v1/abroad.pb-c.h"
#include "mdv/journey.h"
#include "mdv/pg.h"

#define EVENT_TYPE "fr.gouv.mdv.abroad.residence_abroad_started.v1"

struct departure {
    const abroad_declaration_t *d;
    const char *key;
    char *consulate;                    /* owned */
    char registration_id[MDV_UUID_LEN]; /* the inscription, "" when none */
    char previous_country[16];          /* an inscription elsewhere, closed */
};

/* An open inscription in the country settled in: kept, with the new
 * address. Returns 1 when there was one (detail written), 0, or -1. */
static int keep_open(struct mdv_msg *msg, struct departure *dep, struct mdv_effect *out)
{
    const Mdv__Gateway__V1__DepartureAbroadDeclaration *b = dep->d->departure_abroad;
    char *lines = mdv_pg_texts_json(b->address->lines, b->address->n_lines);
    const char *params[] = {dep->key, b->address->country_code, lines, b->address->postal_code,
                            b->address->city};
    PGresult *res = mdv_pg_query(
        msg->conn,
        "UPDATE registrations SET address_lines = ARRAY(SELECT json_array_elements_text($3::json)),"
        " address_postal_code = nullif($4, ''), address_city = $5"
        " WHERE pivot_key = $1 AND status = 'open' AND country_code = $2"
        " RETURNING registration_id::text, coalesce(consulate, ''), expires_on::text",
        5, params);
    free(lines);
    if (!res)
        return -1;
    int kept = PQntuples(res) > 0;
    if (kept) {
        char until[ABROAD_DATE_LEN];
        const char *post = *PQgetvalue(res, 0, 1) ? PQgetvalue(res, 0, 1) : dep->consulate;
        abroad_date_french(PQgetvalue(res, 0, 2), until);
        mdv_strlcpy(dep->registration_id, PQgetvalue(res, 0, 0), sizeof(dep->registration_id));
        out->status = MDV_STEP_DONE;
        snprintf(out->detail, sizeof(out->detail),
                 "Inscription au registre déjà ouverte (%s) : adresse mise à jour, valable "
                 "jusqu'au %s",
                 post, until);
    }
    PQclear(res);
    return kept;
}

/* Closes an inscription open in another country (the person left it). */
static int close_elsewhere(struct mdv_msg *msg, struct departure *dep)
{
    const Mdv__Gateway__V1__DepartureAbroadDeclaration *b = dep->d->departure_abroad;
    const char *params[] = {dep->key, b->address->country_code, b->departure_date};
    PGresult *res = mdv_pg_query(msg->conn,
                                 "UPDATE registrations SET status = 'closed',"
                                 " closed_reason = 'transfert', closed_at = now(), closed_on = $3"
                                 " WHERE pivot_key = $1 AND status = 'open' AND country_code <> $2"
                                 " RETURNING country_code",
                                 3, params);
    if (!res)
        return -1;
    if (PQntuples(res) > 0)
        mdv_strlcpy(dep->previous_country, PQgetvalue(res, 0, 0), sizeof(dep->previous_country));
    PQclear(res);
    return 0;
}

/* A new inscription, from the day it is asked for (or the departure
 * date, when later: an inscription records a residence abroad). */
static int insert_registration(struct mdv_msg *msg, struct departure *dep)
{
    const Mdv__Gateway__V1__DepartureAbroadDeclaration *b = dep->d->departure_abroad;
    const abroad_person_t *p = b->person;
    char *lines = mdv_pg_texts_json(b->address->lines, b->address->n_lines);
    char *given = mdv_pg_texts_json(p->given_names, p->n_given_names);
    mdv_uuid_new(dep->registration_id);
    const char *params[] = {dep->registration_id,
                            p->family_name,
                            given,
                            dep->key,
                            b->address->country_code,
                            b->departure_date,
                            dep->consulate,
                            lines,
                            b->address->postal_code,
                            b->address->city,
                            dep->d->journey_id};
    int rc = mdv_pg_exec(
        msg->conn,
        "INSERT INTO registrations (registration_id, family_name, given_names, pivot_key,"
        " country_code, status, registered_on, consulate, address_lines, address_postal_code,"
        " address_city, journey_id)"
        " VALUES ($1, $2, ARRAY(SELECT json_array_elements_text($3::json)), $4, $5, 'open',"
        " greatest(current_date, $6::date), $7, ARRAY(SELECT json_array_elements_text($8::json)),"
        " nullif($9, ''), $10, $11)",
        11, params);
    free(lines);
    free(given);
    return rc;
}

static int open_registration(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    struct departure *dep = ctx;
    if (!dep->d->departure_abroad->consular_registration) {
        out->status = MDV_STEP_NOT_APPLICABLE;
        snprintf(out->detail, sizeof(out->detail), "Inscription non demandée");
        return 0;
    }
    int kept = keep_open(msg, dep, out);
    if (kept != 0)
        return kept < 0 ? -1 : 0;
    if (close_elsewhere(msg, dep) != 0 || insert_registration(msg, dep) != 0)
        return -1;
    out->status = MDV_STEP_DONE;
    if (*dep->previous_country)
        snprintf(out->detail, sizeof(out->detail),
                 "Inscription au registre ouverte pour 5 ans (%s) ; l'inscription précédente "
                 "(%s) est clôturée",
                 dep->consulate, abroad_country_name(abroad_posts, dep->previous_country));
    else
        snprintf(out->detail, sizeof(out->detail),
                 "Inscription au registre ouverte pour 5 ans (%s)", dep->consulate);
    return 0;
}

static int publish_started(struct mdv_msg *msg, const struct departure *dep)
{
    const Mdv__Gateway__V1__DepartureAbroadDeclaration *b = dep->d->departure_abroad;
    Mdv__Abroad__V1__ResidenceAbroadStarted ev = MDV__ABROAD__V1__RESIDENCE_ABROAD_STARTED__INIT;
    char now[MDV_TIME_LEN];

    mdv_time_now(now);
    ev.journey_id = dep->d->journey_id;
    ev.person = b->person;
    ev.address = b->address;
    ev.start_date = b->departure_date;
    ev.registered = *dep->registration_id != '\0';
    ev.consulate = dep->consulate;
    ev.study_mobility = b->study_mobility;
    ev.recorded_at = now;
    return mdv_msg_emit(msg, "residence_abroad_started", "journey", dep->d->journey_id,
                        dep->d->journey_id, &ev.base);
}

enum mdv_outcome abroad_on_departure(struct mdv_msg *msg, const abroad_declaration_t *d)
{
    const Mdv__Gateway__V1__DepartureAbroadDeclaration *b = d->departure_abroad;
    char key[MDV_PIVOT_KEY_LEN];
    if (abroad_person_key(b->person, key) != 0)
        return mdv_msg_reject(msg, "person identity cannot be normalised");
    struct departure dep = {d, key, NULL, "", ""};
    const struct mdv_step_work work = {d->journey_id, ABROAD_STEP_OPENED, NULL};
    enum mdv_outcome outcome = MDV_OK;

    int begun = abroad_residence_begin(msg, d, key, b->departure_date);
    if (begun <= 0)
        return begun < 0 ? mdv_msg_db_failure(msg) : MDV_OK;
    dep.consulate = abroad_consulate(abroad_posts, b->address->country_code, b->address->city);
    if (mdv_journey_apply_step(msg, &work, open_registration, &dep) != 0 ||
        publish_started(msg, &dep) != 0 ||
        abroad_residence_finish(msg, d->journey_id, EVENT_TYPE,
                                *dep.registration_id ? dep.registration_id : NULL,
                                b->address->country_code) != 0)
        outcome = mdv_msg_db_failure(msg);
    free(dep.consulate);
    return outcome;
}
