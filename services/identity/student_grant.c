/* StudentGrantRequested → identity.identity_verified (ANTS), a step of the
 * student's dossier social étudiant: a valid CNI or passport in the
 * register means the CROUS asks for no document (« aucune pièce à
 * fournir »); none (or nobody of that name) asks the usager for one
 * (action_required). The usager confirms when they have sent it: the step
 * goes in_progress (« Pièce transmise : vérification en cours ») and then
 * done, the title being checked at once by the agent who receives it (no
 * partner reports it here). */
#include <stdio.h>
#include <string.h>

#include "identity.h"
#include "student/contract.h"
#include "mdv/pg.h"

#define DETAIL_VERIFIED "Identité vérifiée : aucune pièce à fournir"
#define DETAIL_NEEDED "Pièce d'identité à fournir"
#define DETAIL_SENT "Pièce transmise : vérification en cours"
#define DETAIL_CHECKED "Pièce transmise : identité vérifiée"

typedef Mdv__Student__V1__StudentGrantRequested requested_t;

/* 1 when the person of pivot_key, alive, holds a title valid today; 0
 * when not (or unknown), -1 on error. kind gets « CNI » or « passeport ». */
static int valid_title(PGconn *conn, const char *pivot_key, char kind[16])
{
    const char *params[] = {pivot_key};
    PGresult *res = mdv_pg_query(conn,
                                 "SELECT d.kind FROM identity_documents d"
                                 " JOIN persons p ON p.person_id = d.person_id"
                                 " WHERE p.pivot_key = $1 AND p.deceased_on IS NULL"
                                 " AND d.status = 'valid' AND d.expires_on >= current_date"
                                 " ORDER BY d.expires_on DESC, d.document_id LIMIT 1",
                                 1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found)
        snprintf(kind, 16, "%s", strcmp(PQgetvalue(res, 0, 0), "cni") == 0 ? "CNI" : "passeport");
    PQclear(res);
    return found;
}

static int verify(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const char *key = ctx;
    char kind[16];
    int found = valid_title(msg->conn, key, kind);
    if (found < 0)
        return -1;
    out->status = found ? MDV_STEP_DONE : MDV_STEP_ACTION_REQUIRED;
    if (found)
        snprintf(out->detail, sizeof(out->detail), "%s (%s valide)", DETAIL_VERIFIED, kind);
    else
        snprintf(out->detail, sizeof(out->detail), "%s", DETAIL_NEEDED);
    return 0;
}

enum mdv_outcome identity_on_student_grant(struct mdv_msg *msg)
{
    requested_t *m = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    if (mdv_student_grant_requested_decode(msg->rkm->payload, msg->rkm->len, &m, key, msg->error,
                                           sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    const struct mdv_step_work work = {m->journey_id, IDENTITY_STEP_VERIFIED, NULL};
    int rc = mdv_journey_apply_step(msg, &work, verify, key);
    mdv__student__v1__student_grant_requested__free_unpacked(m, NULL);
    return rc == 0 ? MDV_OK : mdv_msg_db_failure(msg);
}

/* The step waited for the usager: 1 when it did (now done), 0 when not
 * (never asked, or confirmed before), -1 on error. */
static int take_confirmation(PGconn *conn, const char *journey_id)
{
    const char *params[] = {journey_id, IDENTITY_STEP_VERIFIED, DETAIL_CHECKED};
    PGresult *res = mdv_pg_query(conn,
                                 "UPDATE applied_effects SET status = 'done', detail = $3,"
                                 " applied_at = now()"
                                 " WHERE journey_id = $1 AND effect = $2"
                                 " AND status = 'action_required' RETURNING 1",
                                 3, params);
    if (!res)
        return -1;
    int taken = PQntuples(res) > 0;
    PQclear(res);
    return taken;
}

enum mdv_outcome identity_on_id_sent(struct mdv_msg *msg, const Mdv__Gateway__V1__StepConfirmed *c)
{
    int taken = take_confirmation(msg->conn, c->journey_id);
    if (taken < 0)
        return mdv_msg_db_failure(msg);
    if (!taken) {
        mdv_log_at(MDV_LOG_INFO, &msg->log, "no identity check waits for a title: nothing to do");
        return MDV_OK;
    }
    if (mdv_journey_report_next(msg, c->journey_id, IDENTITY_STEP_VERIFIED, MDV_STEP_IN_PROGRESS,
                                DETAIL_SENT) != 0 ||
        mdv_journey_report_next(msg, c->journey_id, IDENTITY_STEP_VERIFIED, MDV_STEP_DONE,
                                DETAIL_CHECKED) != 0)
        return mdv_msg_db_failure(msg);
    mdv_log_at(MDV_LOG_INFO, &msg->log, "title sent for the dossier social étudiant: verified");
    return MDV_OK;
}
