/* housing's RenovationGrantRequested → identity.residence_verified (ANTS):
 * the dwelling of a MaPrimeRénov' application is checked against the
 * applicant's current main address in the register (residence.c says how
 * addresses compare). The same: done, no proof asked. Otherwise, or when
 * the register has no such person or no address for them:
 * action_required, a proof of residence to send. The usager confirms the
 * step once they sent it (POST /v1/journeys/{id}/confirmations): the step
 * goes in_progress, « vérification en cours », then done (README,
 * Journeys: no document travels through mdv yet). */
#include <stdio.h>
#include <string.h>

#include "housing/contract.h"
#include "identity.h"
#include "mdv/pg.h"

#define PROOF "Justificatif de domicile à fournir"
#define VERIFIED "Adresse vérifiée : aucun justificatif à fournir"
#define SENT_CHECKING "Justificatif de domicile transmis : vérification en cours"
#define SENT_VERIFIED "Justificatif de domicile transmis : adresse vérifiée"

typedef Mdv__Housing__V1__RenovationGrantRequested requested_t;

struct residence_work {
    const requested_t *m;
    char key[MDV_PIVOT_KEY_LEN];
};

/* 1 when the person's current main address is the dwelling, 0 when it is
 * another one, 2 when they have none; -1 on error. */
static int compare_address(PGconn *conn, const char *person_id, const identity_address_t *dwelling)
{
    const char *params[] = {person_id};
    PGresult *res = mdv_pg_query(conn,
                                 "SELECT array_to_string(lines, E'\\n'), coalesce(postal_code, ''),"
                                 " coalesce(commune_code, '') FROM addresses"
                                 " WHERE person_id = $1 AND valid_to IS NULL",
                                 1, params);
    if (!res)
        return -1;
    int rc = PQntuples(res) == 0
                 ? 2
                 : identity_address_same(dwelling, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
                                         PQgetvalue(res, 0, 2));
    PQclear(res);
    return rc;
}

/* The effect, for mdv_journey_apply_step. */
static int verify_residence(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    struct residence_work *w = ctx;
    struct identity_person person;
    int found = identity_person_find(msg->conn, w->key, &person);
    int same = found == 1 ? compare_address(msg->conn, person.person_id, w->m->dwelling) : 0;
    if (found < 0 || same < 0)
        return -1;
    out->status = same == 1 ? MDV_STEP_DONE : MDV_STEP_ACTION_REQUIRED;
    if (same == 1)
        snprintf(out->detail, sizeof(out->detail), "%s", VERIFIED);
    else if (found == 0)
        snprintf(out->detail, sizeof(out->detail), "%s : %s", PROOF, IDENTITY_DETAIL_UNKNOWN);
    else if (same == 2)
        snprintf(out->detail, sizeof(out->detail), "%s : aucune adresse principale enregistrée",
                 PROOF);
    else
        snprintf(out->detail, sizeof(out->detail),
                 "%s : le logement n'est pas l'adresse principale enregistrée", PROOF);
    return 0;
}

enum mdv_outcome identity_on_renovation_requested(struct mdv_msg *msg)
{
    struct residence_work w;
    requested_t *m = NULL;
    if (mdv_housing_requested_decode(msg->rkm->payload, msg->rkm->len, &m, w.key, msg->error,
                                     sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    w.m = m;
    const struct mdv_step_work work = {m->journey_id, IDENTITY_STEP_RESIDENCE, NULL};
    int rc = mdv_journey_apply_step(msg, &work, verify_residence, &w);
    mdv__housing__v1__renovation_grant_requested__free_unpacked(m, NULL);
    return rc == 0 ? MDV_OK : mdv_msg_db_failure(msg);
}

enum mdv_outcome identity_on_residence_confirmed(struct mdv_msg *msg,
                                                 const Mdv__Gateway__V1__StepConfirmed *c)
{
    const char *params[] = {c->journey_id, IDENTITY_STEP_RESIDENCE, SENT_VERIFIED};
    /* Only a step that waits for the proof moves: its one applied_effects
     * row says so, and becomes done. */
    PGresult *res = mdv_pg_query(
        msg->conn,
        "UPDATE applied_effects SET status = 'done', detail = $3, applied_at = now()"
        " WHERE journey_id = $1 AND effect = $2 AND status = 'action_required' RETURNING 1",
        3, params);
    if (!res)
        return mdv_msg_db_failure(msg);
    int waiting = PQntuples(res) > 0;
    PQclear(res);
    if (!waiting) {
        mdv_log_at(MDV_LOG_INFO, &msg->log, "%s confirmed but not waiting for a proof: nothing",
                   IDENTITY_STEP_RESIDENCE);
        return MDV_OK;
    }
    if (mdv_journey_report_next(msg, c->journey_id, IDENTITY_STEP_RESIDENCE, MDV_STEP_IN_PROGRESS,
                                SENT_CHECKING) != 0 ||
        mdv_journey_report_next(msg, c->journey_id, IDENTITY_STEP_RESIDENCE, MDV_STEP_DONE,
                                SENT_VERIFIED) != 0)
        return mdv_msg_db_failure(msg);
    return MDV_OK;
}
