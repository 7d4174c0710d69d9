/* Step reports, and DeathRecorded as every affected service handles it. */
#include "mdv/journey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/bereavement/v1/death.pb-c.h"
#include "mdv/pg.h"
#include "mdv/pivot.h"
#include "mdv/validate.h"

int mdv_journey_report(struct mdv_msg *msg, const char *journey_id, const char *code,
                       uint32_t sequence, mdv_step_status status, const char *detail)
{
    char now[MDV_TIME_LEN];
    Mdv__Journey__V1__StepReported report = MDV__JOURNEY__V1__STEP_REPORTED__INIT;

    mdv_time_now(now);
    report.journey_id = (char *)journey_id;
    report.code = (char *)code;
    report.sequence = sequence;
    report.status = status;
    report.detail = (char *)detail;
    report.reported_at = now;
    return mdv_msg_emit(msg, "step_reported", "journey", journey_id, journey_id, &report.base);
}

/* A DeathRecorded that passes these checks can be applied. */
static const char *check_death(const Mdv__Bereavement__V1__DeathRecorded *death)
{
    const Mdv__Journey__V1__PivotIdentity *p = death->deceased;
    if (!mdv_uuid_valid(death->journey_id))
        return "journey_id is not a UUID";
    if (!p || p->n_given_names == 0)
        return "deceased or deceased.given_names missing";
    if (mdv_validate_date(p->birth_date) || mdv_validate_date(death->death_date))
        return "birth_date or death_date is not a date";
    return NULL;
}

static int record_effect(const struct mdv_msg *msg, const char *journey_id, const char *step_code,
                         const struct mdv_effect *effect)
{
    const char *params[] = {journey_id, step_code,
                            effect->status == MDV_STEP_DONE ? "done" : "not_applicable",
                            effect->detail, msg->svc->config.instance_id};
    return mdv_pg_exec(msg->conn,
                       "INSERT INTO applied_effects (journey_id, effect, status, detail,"
                       " instance_id) VALUES ($1, $2, $3, $4, $5)",
                       5, params);
}

int mdv_journey_death_decode(const void *value, size_t len,
                             Mdv__Bereavement__V1__DeathRecorded **out, char key[MDV_PIVOT_KEY_LEN],
                             char *err, size_t errlen)
{
    Mdv__Bereavement__V1__DeathRecorded *death =
        mdv__bereavement__v1__death_recorded__unpack(NULL, len, value);
    const char *problem = NULL;
    int rc = -1;

    *out = NULL;
    if (!death) {
        snprintf(err, errlen, "value is not a DeathRecorded protobuf");
        goto out;
    }
    problem = check_death(death);
    if (problem) {
        snprintf(err, errlen, "DeathRecorded invalid: %s", problem);
        goto out;
    }
    const Mdv__Journey__V1__PivotIdentity *p = death->deceased;
    if (mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                      key) != 0) {
        snprintf(err, errlen, "deceased identity cannot be normalised");
        goto out;
    }
    *out = death;
    death = NULL;
    rc = 0;
out:
    mdv__bereavement__v1__death_recorded__free_unpacked(death, NULL);
    return rc;
}

/* Claims the death for this journey: 1 when this service had not applied
 * it yet, 0 when it had (another declaration of the same death: the
 * insert waits for a concurrent one to commit), -1 on error. */
static int claim_death(PGconn *conn, const char *pivot_key,
                       const Mdv__Bereavement__V1__DeathRecorded *death)
{
    const char *params[] = {pivot_key, death->death_date, death->journey_id};
    PGresult *res = mdv_pg_query(conn,
                                 "INSERT INTO deaths_applied (pivot_key, death_date, journey_id)"
                                 " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                 3, params);
    if (!res)
        return -1;
    int claimed = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return claimed;
}

/* A death applied before, for another journey: this one's step tells what
 * was done then, and when. Writes the journey that applied it into first. */
static int describe_repeat(PGconn *conn, const char *pivot_key, const char *death_date,
                           const char *step_code, char first[MDV_UUID_LEN], struct mdv_effect *out)
{
    const char *params[] = {pivot_key, death_date, step_code};
    PGresult *res = mdv_pg_query(conn,
                                 "SELECT d.journey_id, e.status,"
                                 " to_char(d.applied_at AT TIME ZONE 'Europe/Paris', 'DD/MM/YYYY'),"
                                 " e.detail"
                                 " FROM deaths_applied d LEFT JOIN applied_effects e"
                                 "   ON e.journey_id = d.journey_id AND e.effect = $3"
                                 " WHERE d.pivot_key = $1 AND d.death_date = $2",
                                 3, params);
    if (!res || PQntuples(res) != 1) {
        PQclear(res);
        return -1;
    }
    mdv_strlcpy(first, PQgetvalue(res, 0, 0), MDV_UUID_LEN);
    out->status = strcmp(PQgetvalue(res, 0, 1), "not_applicable") == 0 ? MDV_STEP_NOT_APPLICABLE
                                                                       : MDV_STEP_DONE;
    if (PQgetisnull(res, 0, 3))
        snprintf(out->detail, sizeof(out->detail), "Déjà pris en compte le %s",
                 PQgetvalue(res, 0, 2));
    else
        snprintf(out->detail, sizeof(out->detail), "Déjà pris en compte le %s : %s",
                 PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3));
    PQclear(res);
    return 0;
}

/* Applies the death once per death, not once per declaration: the first
 * journey applies it and records it in applied_effects; a repeat applies
 * nothing. Sets *report to 0 when this journey had it applied already. */
static int apply_once(struct mdv_msg *msg, const char *pivot_key,
                      const Mdv__Bereavement__V1__DeathRecorded *death, const char *step_code,
                      mdv_death_effect_fn apply, struct mdv_effect *effect, int *report)
{
    char first[MDV_UUID_LEN];
    int claimed = claim_death(msg->conn, pivot_key, death);
    *report = 1;
    if (claimed < 0)
        return -1;
    if (claimed) {
        if (apply(msg->conn, pivot_key, death->death_date, effect) != 0 ||
            record_effect(msg, death->journey_id, step_code, effect) != 0)
            return -1;
        return 0;
    }
    if (describe_repeat(msg->conn, pivot_key, death->death_date, step_code, first, effect) != 0)
        return -1;
    *report = strcmp(first, death->journey_id) != 0;
    mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: death applied before (journey %s): nothing applied",
               step_code, first);
    return 0;
}

/* The step: received, then what was done, in one transaction. */
static int report_effect(struct mdv_msg *msg, const char *journey_id, const char *step_code,
                         const struct mdv_effect *effect)
{
    int rc =
        mdv_journey_report(msg, journey_id, step_code, 1, MDV_STEP_RECEIVED, "Déclaration reçue");
    if (rc == 0)
        rc = mdv_journey_report(msg, journey_id, step_code, 2, effect->status, effect->detail);
    return rc;
}

enum mdv_outcome mdv_journey_on_death(struct mdv_msg *msg, const char *step_code,
                                      mdv_death_effect_fn apply)
{
    enum mdv_outcome outcome = MDV_OK;
    char key[MDV_PIVOT_KEY_LEN], err[256];
    struct mdv_effect effect = {MDV_STEP_NOT_APPLICABLE, MDV_DETAIL_NO_RECORD};
    Mdv__Bereavement__V1__DeathRecorded *death = NULL;
    int report = 1;

    if (mdv_journey_death_decode(msg->rkm->payload, msg->rkm->len, &death, key, err, sizeof(err)) !=
        0)
        return mdv_msg_reject(msg, "%s", err);
    if (apply_once(msg, key, death, step_code, apply, &effect, &report) != 0 ||
        (report && report_effect(msg, death->journey_id, step_code, &effect) != 0)) {
        outcome = mdv_msg_db_failure(msg);
        goto out;
    }
    mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: %s", step_code, effect.detail);
out:
    mdv__bereavement__v1__death_recorded__free_unpacked(death, NULL);
    return outcome;
}

/* The step and effect of this process (one service per process). */
static const char *death_step_code;
static mdv_death_effect_fn death_effect;

static enum mdv_outcome on_death(struct mdv_msg *msg)
{
    return mdv_journey_on_death(msg, death_step_code, death_effect);
}

int mdv_journey_run_death_consumer(const char *service, const char *step_code,
                                   mdv_death_effect_fn apply)
{
    static const char *const topics[] = {"mdv.bereavement.events.v1", NULL};
    static const struct mdv_event_route routes[] = {
        {"fr.gouv.mdv.bereavement.death_recorded.v1", on_death},
        {NULL, NULL},
    };
    struct mdv_service svc;
    char group[64];
    int rc = 1;

    death_step_code = step_code;
    death_effect = apply;
    snprintf(group, sizeof(group), "mdv-%s", service);
    if (mdv_service_init(&svc, service, NULL) != 0)
        return 2;
    if (mdv_service_open_db(&svc) == 0 && mdv_service_start_http(&svc, NULL, NULL) == 0 &&
        mdv_service_start_relay(&svc) == 0 && mdv_service_consume(&svc, group, topics, routes) == 0)
        rc = 0;
    mdv_service_close(&svc);
    return rc;
}
