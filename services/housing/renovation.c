/* renovation_grant (« Je rénove mon logement »), owned by housing: the
 * plan published first, with RenovationGrantRequested for identity (which
 * checks the dwelling against its register: identity.residence_verified);
 * then the Anah's two steps from the declaration itself. The file is
 * registered (housing.file_registered, a file number, stored in mpr_files
 * where the reactions to a move, a departure or a death find it) or
 * refused with the reasons; the aid is estimated from the barème
 * (housing.grant_estimated) and RenovationGrantEstimated published. The
 * estimate does not wait for identity's step: a proof of residence asked
 * of the usager holds the payment, not the estimate (README, Journeys). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estimate.h"
#include "housing.h"
#include "mdv/housing/v1/housing.pb-c.h"
#include "mdv/pg.h"

typedef Mdv__Gateway__V1__RenovationGrantDeclaration renovation_t;

struct renovation {
    const housing_declaration_t *d;
    const renovation_t *r;
    const char *key;
    struct estimate e;
    char file_id[MDV_UUID_LEN];
    char file_number[32];
};

/* The journey noted as housing's own, once: 1 when new, 0 when a message
 * of that journey came before, -1 on error. */
static int begin(struct mdv_msg *msg, struct renovation *rv)
{
    const char *refused = *rv->e.reasons ? rv->e.reasons : NULL;
    const char *params[] = {rv->d->journey_id, rv->d->usager_id, rv->key,
                            refused ? "refused" : "registered", refused};
    PGresult *res =
        mdv_pg_query(msg->conn,
                     "INSERT INTO renovation_requests (journey_id, usager_id, pivot_key, outcome,"
                     " reasons) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                     5, params);
    if (!res)
        return -1;
    int inserted = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return inserted;
}

static int publish_requested(struct mdv_msg *msg, const struct renovation *rv)
{
    Mdv__Housing__V1__RenovationGrantRequested ev =
        MDV__HOUSING__V1__RENOVATION_GRANT_REQUESTED__INIT;
    char now[MDV_TIME_LEN];
    mdv_time_now(now);
    ev.journey_id = rv->d->journey_id;
    ev.person = rv->r->person;
    ev.dwelling = rv->r->dwelling;
    ev.requested_at = now;
    return mdv_msg_emit(msg, "renovation_grant_requested", "journey", rv->d->journey_id,
                        rv->d->journey_id, &ev.base);
}

static char *items_json(const struct estimate *e)
{
    json_t *list = json_array();
    for (size_t i = 0; i < e->n_items; i++) {
        const struct housing_item_estimate *it = &e->items[i];
        json_array_append_new(
            list, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "code", it->code, "surface_m2",
                            (json_int_t)it->surface, "cost_eur", (json_int_t)it->cost,
                            "eligible_eur", (json_int_t)it->eligible, "cap_eur",
                            (json_int_t)it->cap, "amount_eur", (json_int_t)it->amount));
    }
    char *out = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    return out;
}

static int insert_file(struct mdv_msg *msg, struct renovation *rv)
{
    const renovation_t *r = rv->r;
    char year[8], size[16], income[24], total[24];
    char *given = mdv_pg_texts_json(r->person->given_names, r->person->n_given_names);
    char *lines = mdv_pg_texts_json(r->dwelling->lines, r->dwelling->n_lines);
    char *items = items_json(&rv->e);
    snprintf(year, sizeof(year), "%u", r->construction_year);
    snprintf(size, sizeof(size), "%u", r->household_size);
    snprintf(income, sizeof(income), "%llu", (unsigned long long)r->reference_tax_income_eur);
    snprintf(total, sizeof(total), "%llu", (unsigned long long)rv->e.total);
    const char *params[] = {rv->file_id,
                            r->person->family_name,
                            given,
                            rv->key,
                            housing_category_name(rv->e.category),
                            lines,
                            r->dwelling->postal_code,
                            r->dwelling->commune_code,
                            rv->d->journey_id,
                            rv->file_number,
                            year,
                            size,
                            income,
                            rv->e.idf ? "true" : "false",
                            items,
                            total};
    int rc = mdv_pg_exec(
        msg->conn,
        "WITH file AS (INSERT INTO mpr_files (file_id, family_name, given_names, pivot_key,"
        "   category, status, dwelling_lines, dwelling_postal_code, dwelling_commune_code,"
        "   journey_id, file_number, construction_year, household_size,"
        "   reference_tax_income_eur, ile_de_france, items, total_eur, registered_at)"
        " VALUES ($1, $2, ARRAY(SELECT json_array_elements_text($3::json)), $4, $5, 'open',"
        "   ARRAY(SELECT json_array_elements_text($6::json)), $7, $8, $9, $10, $11, $12, $13,"
        "   $14, $15::jsonb, $16, now()) RETURNING file_id)"
        " UPDATE renovation_requests SET file_id = (SELECT file_id FROM file)"
        " WHERE journey_id = $9",
        16, params);
    free(given);
    free(lines);
    free(items);
    return rc;
}

/* housing.file_registered, for mdv_journey_apply_step. */
static int register_file(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    struct renovation *rv = ctx;
    if (*rv->e.reasons) {
        out->status = MDV_STEP_FAILED;
        mdv_reaction_clip(out->detail, sizeof(out->detail), "Dossier non recevable : ");
        size_t len = strlen(out->detail);
        mdv_reaction_clip(out->detail + len, sizeof(out->detail) - len, rv->e.reasons);
        return 0;
    }
    mdv_uuid_new(rv->file_id);
    snprintf(rv->file_number, sizeof(rv->file_number), "MPR-%d-%.8s", rv->e.filing_year,
             rv->file_id);
    for (char *c = rv->file_number; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    if (insert_file(msg, rv) != 0)
        return -1;
    out->status = MDV_STEP_DONE;
    snprintf(out->detail, sizeof(out->detail), "Dossier n° %s enregistré", rv->file_number);
    return 0;
}

static int publish_estimated(struct mdv_msg *msg, const struct renovation *rv)
{
    Mdv__Housing__V1__RenovationGrantEstimated ev =
        MDV__HOUSING__V1__RENOVATION_GRANT_ESTIMATED__INIT;
    Mdv__Housing__V1__WorkItemEstimate items[ESTIMATE_MAX_ITEMS], *list[ESTIMATE_MAX_ITEMS];
    char now[MDV_TIME_LEN];
    for (size_t i = 0; i < rv->e.n_items; i++) {
        const struct housing_item_estimate *it = &rv->e.items[i];
        items[i] = (Mdv__Housing__V1__WorkItemEstimate)MDV__HOUSING__V1__WORK_ITEM_ESTIMATE__INIT;
        items[i].code = (char *)it->code;
        items[i].cost_eur = it->cost;
        items[i].eligible_eur = it->eligible;
        items[i].cap_eur = it->cap;
        items[i].amount_eur = it->amount;
        list[i] = &items[i];
    }
    mdv_time_now(now);
    ev.journey_id = rv->d->journey_id;
    ev.person = rv->r->person;
    ev.file_number = (char *)rv->file_number;
    ev.category = (char *)housing_category_name(rv->e.category);
    ev.ile_de_france = rv->e.idf;
    ev.n_items = rv->e.n_items;
    ev.items = list;
    ev.total_eur = rv->e.total;
    ev.estimated_at = now;
    return mdv_msg_emit(msg, "renovation_grant_estimated", "journey", rv->d->journey_id,
                        rv->d->journey_id, &ev.base);
}

/* housing.grant_estimated: its detail lists every item, longer than an
 * effect's record holds, so the step is reported here (received, then
 * final with the whole detail) and recorded with the detail clipped. */
static int estimate_step(struct mdv_msg *msg, const struct renovation *rv)
{
    const char *journey = rv->d->journey_id;
    struct mdv_effect effect = {MDV_STEP_NOT_APPLICABLE, ""};
    char *detail = *rv->e.reasons ? mdv_xstrdup("Pas d'estimation : le dossier n'est pas recevable")
                                  : estimate_detail(&rv->e);
    if (!*rv->e.reasons)
        effect.status = MDV_STEP_DONE;
    mdv_reaction_clip(effect.detail, sizeof(effect.detail), detail);
    int rc =
        mdv_journey_report_next(msg, journey, HOUSING_STEP_ESTIMATED, MDV_STEP_RECEIVED, "") != 0 ||
                mdv_journey_record_effect(msg, journey, HOUSING_STEP_ESTIMATED, &effect) != 0 ||
                mdv_journey_report_next(msg, journey, HOUSING_STEP_ESTIMATED, effect.status,
                                        detail) != 0 ||
                (!*rv->e.reasons && publish_estimated(msg, rv) != 0)
            ? -1
            : 0;
    if (rc == 0)
        mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: %s", HOUSING_STEP_ESTIMATED, detail);
    free(detail);
    return rc;
}

enum mdv_outcome housing_on_renovation(struct mdv_msg *msg, const housing_declaration_t *d,
                                       const char *key)
{
    struct renovation rv = {.d = d, .r = d->renovation_grant, .key = key};
    const struct mdv_step_work work = {d->journey_id, HOUSING_STEP_REGISTERED, NULL};
    char err[192];
    if (estimate_assess(housing_mpr, rv.r, d->submitted_at, &rv.e, err, sizeof(err)) != 0)
        return mdv_msg_reject(msg, "%s", err);
    int begun = begin(msg, &rv);
    if (begun <= 0) {
        if (begun == 0)
            mdv_log_at(MDV_LOG_INFO, &msg->log, "renovation_grant handled before: nothing to do");
        return begun < 0 ? mdv_msg_db_failure(msg) : MDV_OK;
    }
    const struct mdv_plan *plan = mdv_plans_find(housing_plans, "renovation_grant");
    if (mdv_plan_publish(msg, plan, d->journey_id, d->submitted_at) != 0 ||
        publish_requested(msg, &rv) != 0 ||
        mdv_journey_apply_step(msg, &work, register_file, &rv) != 0 || estimate_step(msg, &rv) != 0)
        return mdv_msg_db_failure(msg);
    return MDV_OK;
}
