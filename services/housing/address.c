/* AddressChanged → housing.residence_reviewed (Anah). A MaPrimeRénov'
 * file is for the applicant's main residence: an open file whose dwelling
 * is not the new address is for the dwelling left. The usager is asked
 * (action_required) and answers with StepConfirmed of this step: the
 * files withdrawn (choice "withdraw", the default: « Dossier retiré »), or
 * kept open (choice "keep": « Dossier conservé à votre demande »). The AddressChanged of a
 * return_to_france journey (its plan gives housing.files_reviewed, done on
 * ResidenceAbroadEnded, which resumes the files suspended for the stay
 * abroad) adds this step to the journey when a file still open is for
 * another dwelling than the address back in France; otherwise it applies
 * nothing and reports nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "housing.h"
#include "mdv/pg.h"

#define DETAIL_REVIEW                                                                              \
    "Ce logement n'est plus votre résidence principale : confirmez le retrait du dossier ou "     \
    "gardez-le"

#define LEFT_BEHIND                                                                                \
    "SELECT file_id FROM mpr_files WHERE pivot_key = $1"                                           \
    "      AND status = 'open' AND dwelling_commune_code IS NOT NULL"                              \
    "      AND (dwelling_postal_code, dwelling_commune_code, dwelling_lines)"                      \
    "          IS DISTINCT FROM ($2, $3, ARRAY(SELECT json_array_elements_text($4::json)))"

/* Notes the review of the person's open files for another dwelling:
 * counts[0] the person's files, counts[1] those under review. */
static int note_review(PGconn *conn, const struct mdv_address_change *w, long counts[2])
{
    const Mdv__Journey__V1__Address *a = w->m->address;
    char *lines = mdv_pg_texts_json(a->lines, a->n_lines);
    const char *params[] = {w->key, a->postal_code, a->commune_code, lines, w->m->journey_id};
    int rc = mdv_pg_query_longs(
        conn,
        "WITH left_behind AS (" LEFT_BEHIND "),"
        "  review AS (INSERT INTO residence_reviews (journey_id, file_ids, status)"
        "      SELECT $5, array_agg(file_id), 'pending' FROM left_behind"
        "      HAVING count(*) > 0 ON CONFLICT DO NOTHING RETURNING cardinality(file_ids))"
        " SELECT (SELECT count(*) FROM mpr_files WHERE pivot_key = $1),"
        "        coalesce((SELECT * FROM review), 0)",
        5, params, counts, 2);
    free(lines);
    return rc;
}

/* An open file for another dwelling: the unplanned step has something to
 * do. */
static int has_left_behind(struct mdv_msg *msg, void *ctx)
{
    const struct mdv_address_change *w = ctx;
    const Mdv__Journey__V1__Address *a = w->m->address;
    char *lines = mdv_pg_texts_json(a->lines, a->n_lines);
    const char *params[] = {w->key, a->postal_code, a->commune_code, lines};
    long n = 0;
    int rc =
        mdv_pg_query_longs(msg->conn, "SELECT count(*) FROM (" LEFT_BEHIND ") f", 4, params, &n, 1);
    free(lines);
    return rc != 0 ? -1 : n > 0;
}

/* The effect, for mdv_journey_apply_step. */
static int review_files(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    long counts[2];
    if (note_review(msg->conn, ctx, counts) != 0)
        return -1;
    if (counts[0] == 0)
        return 0; /* not applicable: no record */
    if (counts[1] == 0) {
        snprintf(out->detail, sizeof(out->detail),
                 "Aucun dossier MaPrimeRénov' en cours pour le logement quitté");
        return 0; /* not applicable */
    }
    out->status = MDV_STEP_ACTION_REQUIRED;
    if (counts[1] == 1)
        snprintf(out->detail, sizeof(out->detail), "%s", DETAIL_REVIEW);
    else
        snprintf(out->detail, sizeof(out->detail), "%s (%ld dossiers)", DETAIL_REVIEW, counts[1]);
    return 0;
}

enum mdv_outcome housing_on_address_changed(struct mdv_msg *msg)
{
    return mdv_address_change_apply(msg, HOUSING_STEP_RESIDENCE, review_files, has_left_behind,
                                    review_files);
}

/* The usager confirmed: the files under review are withdrawn. The step's
 * applied_effects row (one per journey and step) takes the outcome.
 * Returns the number withdrawn, 0 when nothing waited, -1 on error. */
static long withdraw(PGconn *conn, const char *journey_id, struct mdv_effect *out)
{
    const char *params[] = {journey_id};
    long n = -1;
    if (mdv_pg_query_longs(
            conn,
            "WITH decided AS (UPDATE residence_reviews SET status = 'withdrawn',"
            "      decided_at = now() WHERE journey_id = $1 AND status = 'pending'"
            "      RETURNING file_ids),"
            "  withdrawn AS (UPDATE mpr_files SET status = 'withdrawn', withdrawn_at = now(),"
            "      updated_at = now() WHERE file_id = ANY ((SELECT file_ids FROM decided)::uuid[])"
            "      AND status = 'open' RETURNING 1)"
            " SELECT CASE WHEN EXISTS (SELECT 1 FROM decided)"
            "             THEN (SELECT count(*) FROM withdrawn) + 1 ELSE 0 END",
            1, params, &n, 1) != 0)
        return -1;
    if (n == 0)
        return 0;
    n -= 1; /* files withdrawn; a file closed meanwhile is not */
    out->status = MDV_STEP_DONE;
    if (n == 1)
        snprintf(out->detail, sizeof(out->detail), "Dossier retiré");
    else
        snprintf(out->detail, sizeof(out->detail), "%ld dossiers retirés", n);
    const char *update[] = {journey_id, HOUSING_STEP_RESIDENCE, "done", out->detail};
    if (mdv_pg_exec(conn,
                    "UPDATE applied_effects SET status = $3, detail = $4"
                    " WHERE journey_id = $1 AND effect = $2",
                    4, update) != 0)
        return -1;
    return 1;
}

/* The usager keeps the files: the review is closed, the files stay open.
 * Returns 1 when a review waited, 0 when nothing did, -1 on error. */
static long keep(PGconn *conn, const char *journey_id, struct mdv_effect *out)
{
    const char *params[] = {journey_id};
    long n = -1;
    if (mdv_pg_query_longs(conn,
                           "WITH decided AS (UPDATE residence_reviews SET status = 'kept',"
                           "      decided_at = now() WHERE journey_id = $1 AND status = 'pending'"
                           "      RETURNING 1)"
                           " SELECT count(*) FROM decided",
                           1, params, &n, 1) != 0)
        return -1;
    if (n == 0)
        return 0;
    out->status = MDV_STEP_DONE;
    snprintf(out->detail, sizeof(out->detail), "Dossier conservé à votre demande");
    const char *update[] = {journey_id, HOUSING_STEP_RESIDENCE, "done", out->detail};
    if (mdv_pg_exec(conn,
                    "UPDATE applied_effects SET status = $3, detail = $4"
                    " WHERE journey_id = $1 AND effect = $2",
                    4, update) != 0)
        return -1;
    return 1;
}

enum mdv_outcome housing_on_confirmation(struct mdv_msg *msg)
{
    Mdv__Gateway__V1__StepConfirmed *c = NULL;
    struct mdv_effect effect = {MDV_STEP_DONE, ""};
    if (housing_confirmation_decode(msg->rkm->payload, msg->rkm->len, &c, msg->error,
                                    sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    enum mdv_outcome outcome = MDV_OK;
    if (strcmp(c->code, HOUSING_STEP_RESIDENCE) == 0) {
        long done = strcmp(c->choice, "keep") == 0 ? keep(msg->conn, c->journey_id, &effect)
                                                   : withdraw(msg->conn, c->journey_id, &effect);
        if (done < 0 ||
            (done > 0 && mdv_journey_report_next(msg, c->journey_id, HOUSING_STEP_RESIDENCE,
                                                 effect.status, effect.detail) != 0))
            outcome = mdv_msg_db_failure(msg);
        else if (done == 0)
            mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: nothing waits for a confirmation",
                       HOUSING_STEP_RESIDENCE);
    }
    /* Other codes: not a step of ours that waits for the usager. */
    mdv__gateway__v1__step_confirmed__free_unpacked(c, NULL);
    return outcome;
}

int housing_confirmation_decode(const void *value, size_t len,
                                Mdv__Gateway__V1__StepConfirmed **out, char *err, size_t errlen)
{
    if (mdv_gateway_confirmation_decode(value, len, out, err, errlen) != 0)
        return -1;
    const char *choice = (*out)->choice;
    if (*choice && strcmp(choice, "withdraw") != 0 && strcmp(choice, "keep") != 0) {
        snprintf(err, errlen, "StepConfirmed invalid: unknown choice");
        mdv__gateway__v1__step_confirmed__free_unpacked(*out, NULL);
        *out = NULL;
        return -1;
    }
    return 0;
}
