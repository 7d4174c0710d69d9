/* Step reports, and DeathRecorded as every affected service handles it. */
#include "mdv/journey.h"

#include <stdio.h>
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

enum mdv_outcome mdv_journey_on_death(struct mdv_msg *msg, const char *step_code,
                                      mdv_death_effect_fn apply)
{
    enum mdv_outcome outcome = MDV_OK;
    char key[MDV_PIVOT_KEY_LEN], err[256];
    struct mdv_effect effect = {MDV_STEP_NOT_APPLICABLE, MDV_DETAIL_NO_RECORD};
    Mdv__Bereavement__V1__DeathRecorded *death = NULL;

    if (mdv_journey_death_decode(msg->rkm->payload, msg->rkm->len, &death, key, err, sizeof(err)) !=
        0)
        return mdv_msg_reject(msg, "%s", err);
    if (apply(msg->conn, key, death->death_date, &effect) != 0 ||
        record_effect(msg, death->journey_id, step_code, &effect) != 0 ||
        mdv_journey_report(msg, death->journey_id, step_code, 1, MDV_STEP_RECEIVED,
                           "Déclaration reçue") != 0 ||
        mdv_journey_report(msg, death->journey_id, step_code, 2, effect.status, effect.detail) !=
            0) {
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
