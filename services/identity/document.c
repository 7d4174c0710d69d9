/* identity_document, which identity owns: a CNI or passport pré-demande
 * made from the register (identity.predemande_recorded: civil status and
 * address are taken from the records, the usager retypes nothing), then the
 * rendez-vous at a mairie with a recueil device, which the usager confirms
 * (identity.appointment), then the title in production
 * (identity.document_produced). No producing partner exists yet: that step
 * stays in_progress, due 21 days after the rendez-vous (the ANTS counts its
 * délai from the recueil, not from the pré-demande). A pré-demande for a
 * title declared lost or stolen invalidates the valid title of that type
 * on record, as the ANTS does on a déclaration de perte ou de vol. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "mdv/pg.h"

#define NUMBER_LEN 24
#define NUMBER_ATTEMPTS 5
#define DETAIL_APPOINTMENT "Prenez rendez-vous dans une mairie équipée d'un dispositif de recueil"
#define DETAIL_NO_PREDEMANDE "Pas de pré-demande enregistrée"
/* The producing partner reports the title made; until then the step says
 * where the news will come from, never that the title is ready. */
#define DETAIL_PRODUCTION                                                                          \
    "Titre en fabrication à l'ANTS : ce parcours indiquera quand il sera disponible en mairie"

struct document_work {
    const identity_declaration_t *d;
    int found;
};

/* PD-<year>-<8 hex digits of a random UUID, upper case>. */
static void predemande_number(char out[NUMBER_LEN])
{
    char uuid[MDV_UUID_LEN];
    char now[MDV_TIME_LEN];
    mdv_uuid_new(uuid);
    mdv_time_now(now);
    snprintf(out, NUMBER_LEN, "PD-%.4s-%.8s", now, uuid);
    for (char *c = out; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
}

/* Inserts the pré-demande under a fresh number (another draw when a number
 * is taken). Returns 1 with the address taken from the register, 0 without
 * one, -1 on error. */
static int insert_predemande(PGconn *conn, const char *person_id,
                             const Mdv__Gateway__V1__IdentityDocumentDeclaration *b,
                             const char *journey_id, char number[NUMBER_LEN])
{
    for (int attempt = 0; attempt < NUMBER_ATTEMPTS; attempt++) {
        predemande_number(number);
        const char *params[] = {number, person_id, b->document_type, b->reason, journey_id};
        PGresult *res = mdv_pg_query(
            conn,
            "INSERT INTO predemandes (number, person_id, document_type, reason, address_id,"
            " journey_id) VALUES ($1, $2, $3, $4,"
            " (SELECT address_id FROM addresses WHERE person_id = $2 AND valid_to IS NULL), $5)"
            " ON CONFLICT (number) DO NOTHING RETURNING address_id IS NOT NULL",
            5, params);
        if (!res)
            return -1;
        int inserted = PQntuples(res) == 1;
        int with_address = inserted && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (inserted)
            return with_address;
    }
    mdv_error("no free pré-demande number after %d draws", NUMBER_ATTEMPTS);
    return -1;
}

/* Invalidates the person's valid titles of the pré-demande's type when it
 * declares them lost or stolen. Returns how many, -1 on error. */
static long invalidate_declared(PGconn *conn, const char *person_id,
                                const Mdv__Gateway__V1__IdentityDocumentDeclaration *b,
                                const char *number)
{
    const char *params[] = {person_id, b->document_type, b->reason, number};
    long n = 0;
    if (strcmp(b->reason, "loss") != 0 && strcmp(b->reason, "theft") != 0)
        return 0;
    if (mdv_pg_query_longs(conn,
                           "WITH invalidated AS (UPDATE identity_documents"
                           "      SET status = 'invalidated', invalidated_reason = $3,"
                           "      invalidated_at = now(), invalidated_by = $4"
                           "      WHERE person_id = $1 AND kind = $2 AND status = 'valid'"
                           "      RETURNING 1)"
                           " SELECT count(*) FROM invalidated",
                           4, params, &n, 1) != 0)
        return -1;
    return n;
}

/* What the pré-demande did to the title declared lost or stolen, after
 * « ; »: « votre ancienne carte d'identité est invalidée (déclarée
 * perdue) », or that none was on record. "" for a first request or a
 * renewal. */
static void invalidation_text(const Mdv__Gateway__V1__IdentityDocumentDeclaration *b, long n,
                              char *out, size_t size)
{
    int cni = strcmp(b->document_type, "cni") == 0;
    int theft = strcmp(b->reason, "theft") == 0;
    out[0] = '\0';
    if (!theft && strcmp(b->reason, "loss") != 0)
        return;
    if (n == 0)
        snprintf(out, size, " ; aucun%s %s valide enregistré%s à invalider", cni ? "e" : "",
                 cni ? "carte d'identité" : "passeport", cni ? "e" : "");
    else
        snprintf(out, size, " ; votre ancien%s %s est invalidé%s (déclaré%s %s%s)", cni ? "ne" : "",
                 cni ? "carte d'identité" : "passeport", cni ? "e" : "", cni ? "e" : "",
                 theft ? "volé" : "perdu", cni ? "e" : "");
}

/* The effect on the register, for mdv_journey_apply_step. */
static int record_predemande(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    struct document_work *w = ctx;
    const Mdv__Gateway__V1__IdentityDocumentDeclaration *b = w->d->identity_document;
    char key[MDV_PIVOT_KEY_LEN];
    char number[NUMBER_LEN];
    struct identity_person person;

    if (mdv_reaction_person_problem(b->person, key))
        return -1; /* checked when decoded */
    int found = identity_person_find(msg->conn, key, &person);
    if (found < 0)
        return -1;
    w->found = found;
    out->status = MDV_STEP_FAILED;
    if (!found) {
        snprintf(out->detail, sizeof(out->detail), "%s : pré-demande impossible",
                 IDENTITY_DETAIL_UNKNOWN);
        return 0;
    }
    int with_address = insert_predemande(msg->conn, person.person_id, b, w->d->journey_id, number);
    if (with_address < 0)
        return -1;
    long invalidated = invalidate_declared(msg->conn, person.person_id, b, number);
    if (invalidated < 0)
        return -1;
    char old_title[128];
    invalidation_text(b, invalidated, old_title, sizeof(old_title));
    out->status = MDV_STEP_DONE;
    snprintf(out->detail, sizeof(out->detail),
             with_address ? "Pré-demande n° %s : état civil et adresse repris du registre, rien à"
                            " ressaisir%s"
                          : "Pré-demande n° %s : état civil repris du registre ; aucune adresse"
                            " enregistrée, à indiquer en mairie%s",
             number, old_title);
    return 0;
}

/* One of identity's own steps decided here and now: recorded, reported. */
static int decide(struct mdv_msg *msg, const char *journey_id, const char *code,
                  mdv_step_status status, const char *detail)
{
    struct mdv_effect effect = {status, ""};
    mdv_strlcpy(effect.detail, detail, sizeof(effect.detail));
    if (mdv_journey_record_effect(msg, journey_id, code, &effect) != 0)
        return -1;
    return mdv_journey_report_next(msg, journey_id, code, status, detail);
}

enum mdv_outcome identity_on_document(struct mdv_msg *msg, const identity_declaration_t *d)
{
    struct document_work w = {d, 0};
    const struct mdv_step_work work = {d->journey_id, IDENTITY_STEP_PREDEMANDE, NULL};

    if (mdv_plan_publish(msg, identity_plan(d->kind), d->journey_id, d->submitted_at) != 0 ||
        mdv_journey_apply_step(msg, &work, record_predemande, &w) != 0)
        return mdv_msg_db_failure(msg);
    /* The production step waits for the rendez-vous: pending until then. */
    int rc = w.found ? decide(msg, d->journey_id, IDENTITY_STEP_APPOINTMENT,
                              MDV_STEP_ACTION_REQUIRED, DETAIL_APPOINTMENT)
                     : decide(msg, d->journey_id, IDENTITY_STEP_APPOINTMENT,
                              MDV_STEP_NOT_APPLICABLE, DETAIL_NO_PREDEMANDE) ||
                           decide(msg, d->journey_id, IDENTITY_STEP_PRODUCED,
                                  MDV_STEP_NOT_APPLICABLE, DETAIL_NO_PREDEMANDE);
    if (rc != 0)
        return mdv_msg_db_failure(msg);
    mdv_log_at(MDV_LOG_INFO, &msg->log, "identity_document: %s",
               w.found ? "pré-demande recorded" : "person unknown");
    return MDV_OK;
}

/* Marks the rendez-vous taken. Returns 1 with the pré-demande's number, 0
 * when there is none waiting for it (none made, or confirmed before), -1
 * on error. */
static int take_appointment(PGconn *conn, const char *journey_id, char number[NUMBER_LEN])
{
    const char *params[] = {journey_id};
    PGresult *res = mdv_pg_query(conn,
                                 "UPDATE predemandes SET appointment_confirmed_at = now()"
                                 " WHERE journey_id = $1 AND appointment_confirmed_at IS NULL"
                                 " RETURNING number",
                                 1, params);
    if (!res)
        return -1;
    int taken = PQntuples(res) == 1;
    if (taken)
        mdv_strlcpy(number, PQgetvalue(res, 0, 0), NUMBER_LEN);
    PQclear(res);
    return taken;
}

/* The appointment step's effect changes from action_required to done: its
 * one applied_effects row says so. */
static int appointment_done(struct mdv_msg *msg, const char *journey_id, const char *detail)
{
    const char *params[] = {journey_id, IDENTITY_STEP_APPOINTMENT, detail};
    if (mdv_pg_exec(msg->conn,
                    "UPDATE applied_effects SET status = 'done', detail = $3, applied_at = now()"
                    " WHERE journey_id = $1 AND effect = $2",
                    3, params) != 0)
        return -1;
    return mdv_journey_report_next(msg, journey_id, IDENTITY_STEP_APPOINTMENT, MDV_STEP_DONE,
                                   detail);
}

enum mdv_outcome identity_on_appointment_confirmed(struct mdv_msg *msg,
                                                   const Mdv__Gateway__V1__StepConfirmed *c)
{
    static const char *const produced[] = {IDENTITY_STEP_PRODUCED};
    char number[NUMBER_LEN];
    int taken = take_appointment(msg->conn, c->journey_id, number);
    if (taken < 0)
        return mdv_msg_db_failure(msg);
    if (!taken) {
        mdv_log_at(MDV_LOG_INFO, &msg->log,
                   "no pré-demande waits for a rendez-vous: nothing to do");
        return MDV_OK;
    }
    char *detail =
        mdv_xasprintf("Rendez-vous pris : présentez en mairie la pré-demande n° %s", number);
    /* The délai of production runs from the rendez-vous: the step's due
     * date moves there (steps_added of a planned step updates it). */
    int rc = appointment_done(msg, c->journey_id, detail) ||
             decide(msg, c->journey_id, IDENTITY_STEP_PRODUCED, MDV_STEP_IN_PROGRESS,
                    DETAIL_PRODUCTION) ||
             mdv_plan_add_steps(msg, identity_plan("identity_document"), c->journey_id, produced, 1,
                                c->confirmed_at);
    free(detail);
    if (rc != 0)
        return mdv_msg_db_failure(msg);
    mdv_log_at(MDV_LOG_INFO, &msg->log, "rendez-vous taken, title in production");
    return MDV_OK;
}
