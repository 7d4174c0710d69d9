/* The checks of the journey contracts and the plan test every reacting
 * service shares (see include/mdv/reaction.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/contract.h"
#include "mdv/log.h"
#include "mdv/pg.h"
#include "mdv/plan.h"
#include "mdv/reaction.h"
#include "mdv/validate.h"

#define TEXT_MAX_CHARS 100
#define LINES_MAX 3
#define FOREIGN_POSTCODE_MAX_CHARS 20

/* Characters, not bytes: the gateway counts what the usager typed. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

const char *mdv_reaction_person_problem(const Mdv__Journey__V1__PivotIdentity *p,
                                        char key[MDV_PIVOT_KEY_LEN])
{
    if (!p || p->n_given_names == 0)
        return "person or person.given_names missing";
    /* Every given name: the registers store them all. */
    for (size_t i = 0; i < p->n_given_names; i++)
        if (mdv_validate_name(p->given_names[i]))
            return "person.given_names invalid";
    if (mdv_validate_name(p->family_name) || mdv_validate_sex(p->sex) ||
        mdv_validate_date(p->birth_date) || mdv_validate_cog(p->birth_place))
        return "person identity invalid";
    if (mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                      key) != 0)
        return "person identity cannot be normalised";
    return NULL;
}

/* Text stored as JSON and in PostgreSQL: valid UTF-8 with no surrogate
 * and nothing past U+10FFFF, which protobuf-c does not check (jansson
 * does), and no control character, which the gateway never lets through. */
static int storable(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return 0;
    json_t *text = json_string(s);
    json_decref(text);
    return text != NULL;
}

static const char *lines_problem(const Mdv__Journey__V1__Address *a)
{
    if (a->n_lines == 0 || a->n_lines > LINES_MAX)
        return "address.lines must hold 1 to 3 lines";
    for (size_t i = 0; i < a->n_lines; i++)
        if (!*a->lines[i] || utf8_chars(a->lines[i]) > TEXT_MAX_CHARS)
            return "address.lines: a line is empty or too long";
    for (size_t i = 0; i < a->n_lines; i++)
        if (!storable(a->lines[i]))
            return "address.lines: a line is not valid UTF-8 text";
    if (!storable(a->city) || !storable(a->postal_code))
        return "address.city or address.postal_code is not valid UTF-8 text";
    if (utf8_chars(a->city) > TEXT_MAX_CHARS)
        return "address.city too long";
    return NULL;
}

const char *mdv_reaction_address_problem(const Mdv__Journey__V1__Address *a)
{
    if (!a)
        return "address missing";
    const char *problem = lines_problem(a);
    if (problem)
        return problem;
    if (mdv_validate_cog(a->commune_code) || strncmp(a->commune_code, "99", 2) == 0)
        return "address.commune_code is not a commune";
    if (strlen(a->postal_code) != 5 || strspn(a->postal_code, "0123456789") != 5)
        return "address.postal_code is not a French postcode";
    if (*a->country_code && strcmp(a->country_code, "99100") != 0)
        return "address.country_code is not France";
    if (!*a->city)
        return "address.city missing";
    return NULL;
}

const char *mdv_reaction_foreign_address_problem(const Mdv__Journey__V1__Address *a)
{
    if (!a)
        return "address missing";
    const char *problem = lines_problem(a);
    if (problem)
        return problem;
    if (mdv_validate_cog(a->country_code) || strncmp(a->country_code, "99", 2) != 0 ||
        strcmp(a->country_code, "99100") == 0)
        return "address.country_code is not a country abroad";
    if (*a->commune_code)
        return "address.commune_code set abroad";
    if (utf8_chars(a->postal_code) > FOREIGN_POSTCODE_MAX_CHARS)
        return "address.postal_code too long";
    return *a->city ? NULL : "address.city missing";
}

static const char *check_plan(const ProtobufCMessage *base, void *ctx)
{
    const Mdv__Journey__V1__JourneyPlanned *m = (const void *)base;
    (void)ctx;
    if (!mdv_uuid_valid(m->journey_id))
        return "journey_id is not a UUID";
    for (size_t i = 0; i < m->n_steps; i++)
        if (!*m->steps[i]->code || !*m->steps[i]->owner)
            return "a step without code or owner";
    return NULL;
}

int mdv_reaction_plan_decode(const void *value, size_t len, Mdv__Journey__V1__JourneyPlanned **out,
                             char *err, size_t errlen)
{
    ProtobufCMessage *m = NULL;
    int rc = mdv_contract_decode(&mdv__journey__v1__journey_planned__descriptor, value, len,
                                 check_plan, NULL, &m, err, errlen);
    *out = (void *)m;
    return rc;
}

static int note_steps(struct mdv_msg *msg, const Mdv__Journey__V1__JourneyPlanned *plan)
{
    for (size_t i = 0; i < plan->n_steps; i++) {
        if (strcmp(plan->steps[i]->owner, msg->svc->name) != 0)
            continue;
        const char *params[] = {plan->journey_id, plan->steps[i]->code};
        if (mdv_pg_exec(msg->conn,
                        "INSERT INTO planned_steps (journey_id, code) VALUES ($1, $2)"
                        " ON CONFLICT DO NOTHING",
                        2, params) != 0)
            return -1;
    }
    return 0;
}

enum mdv_outcome mdv_reaction_on_plan(struct mdv_msg *msg)
{
    Mdv__Journey__V1__JourneyPlanned *plan = NULL;
    if (mdv_reaction_plan_decode(msg->rkm->payload, msg->rkm->len, &plan, msg->error,
                                 sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    enum mdv_outcome outcome = note_steps(msg, plan) == 0 ? MDV_OK : mdv_msg_db_failure(msg);
    mdv__journey__v1__journey_planned__free_unpacked(plan, NULL);
    return outcome;
}

int mdv_reaction_planned(struct mdv_msg *msg, const char *journey_id, const char *code)
{
    const char *params[] = {journey_id, code};
    long n = 0;
    if (mdv_pg_query_longs(msg->conn,
                           "SELECT count(*) FROM planned_steps WHERE journey_id = $1 AND code = $2",
                           2, params, &n, 1) != 0)
        return -1;
    return n > 0;
}

int mdv_reaction_skip_unplanned(struct mdv_msg *msg, const char *journey_id, const char *code)
{
    const char *params[] = {msg->ev.causation_id};
    long n = 0;
    if (*msg->ev.causation_id &&
        mdv_pg_query_longs(msg->conn, "SELECT count(*) FROM inbox WHERE ce_id = $1", 1, params, &n,
                           1) != 0)
        return -1;
    if (n > 0)
        mdv_log_at(MDV_LOG_INFO, &msg->log,
                   "%s: Déjà pris en compte (journey %s: its cause %s was applied here)", code,
                   journey_id, msg->ev.causation_id);
    else
        mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: not in the plan of journey %s: nothing to do",
                   code, journey_id);
    return 0;
}

#define ADDED_KIND "added"

/* The steps this service may add, read once at start. */
static struct mdv_plans *added_plans;

int mdv_reaction_added_load(struct mdv_service *svc)
{
    char *path = mdv_xasprintf("%s/rules/steps_added.json", svc->config.data_dir);
    int rc = -1;
    mdv_plans_free(added_plans);
    added_plans = mdv_plans_load(path);
    if (added_plans && !mdv_plans_find(added_plans, ADDED_KIND))
        fprintf(stderr, "%s: no plan of kind \"" ADDED_KIND "\"\n", path);
    else if (added_plans)
        rc = 0;
    free(path);
    return rc;
}

void mdv_reaction_added_free(void)
{
    mdv_plans_free(added_plans);
    added_plans = NULL;
}

int mdv_reaction_apply_unplanned(struct mdv_msg *msg, const struct mdv_step_work *work,
                                 mdv_pending_fn pending, mdv_effect_fn apply, void *ctx)
{
    const char *codes[] = {work->step_code};
    int todo = pending(msg, ctx);
    if (todo < 0)
        return -1;
    if (!todo)
        return mdv_reaction_skip_unplanned(msg, work->journey_id, work->step_code);
    const struct mdv_plan *plan = added_plans ? mdv_plans_find(added_plans, ADDED_KIND) : NULL;
    if (!plan) {
        mdv_error("%s: rules/steps_added.json was not loaded", work->step_code);
        return -1;
    }
    mdv_log_at(MDV_LOG_INFO, &msg->log, "%s: not in the plan of journey %s, but due here: added",
               work->step_code, work->journey_id);
    if (mdv_plan_add_steps(msg, plan, work->journey_id, codes, 1, NULL) != 0)
        return -1;
    return mdv_journey_apply_step(msg, work, apply, ctx);
}

int mdv_reaction_apply_step(struct mdv_msg *msg, const struct mdv_step_work *work,
                            mdv_effect_fn apply, mdv_pending_fn pending, mdv_effect_fn unplanned,
                            void *ctx)
{
    int planned = mdv_reaction_planned(msg, work->journey_id, work->step_code);
    if (planned < 0)
        return -1;
    return planned ? mdv_journey_apply_step(msg, work, apply, ctx)
                   : mdv_reaction_apply_unplanned(msg, work, pending, unplanned, ctx);
}

void mdv_reaction_clip(char *out, size_t size, const char *s)
{
    size_t n = strlen(s);
    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--; /* s[n] would continue the character cut before it */
    }
    memcpy(out, s, n);
    out[n] = '\0';
}
