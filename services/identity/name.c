/* name_change, which identity owns (identity.name_recorded). A nom d'usage
 * is recorded beside the person and changes no matching key; a nom de
 * naissance changed at the mairie replaces the family name and re-keys the
 * person, who is then found under the new name only. PersonNameChanged
 * (previous = the identity declared, current = the one to hold from now on)
 * lets every administration update its records. An unknown person gets
 * nothing recorded, as for an address. */
#include <stdio.h>
#include <string.h>

#include "identity.h"
#include "mdv/reaction.h"
#include "mdv/identity/v1/identity.pb-c.h"
#include "mdv/pg.h"

#define DETAIL_NOT_RECORDED "Nom non enregistré par l'ANTS : rien à mettre à jour"

struct name_work {
    const identity_declaration_t *d;
    int found;
    char usage_name[512]; /* the nom d'usage after the change */
};

static int birth(const Mdv__Gateway__V1__NameChangeDeclaration *b)
{
    return strcmp(b->name_type, "birth") == 0;
}

static int record_usage_name(PGconn *conn, const struct identity_person *person, const char *name,
                             struct mdv_effect *out)
{
    const char *params[] = {person->person_id, name};
    if (mdv_pg_exec(conn, "UPDATE persons SET usage_name = $2 WHERE person_id = $1", 2, params) !=
        0)
        return -1;
    char shown[IDENTITY_NAME_CLIP];
    mdv_reaction_clip(shown, sizeof(shown), name);
    out->status = MDV_STEP_DONE;
    snprintf(out->detail, sizeof(out->detail), "Nom d'usage enregistré : %s", shown);
    return 0;
}

/* The new family name with the rest of the declared identity: the new
 * matching key. */
static int record_birth_name(PGconn *conn, const struct identity_person *person,
                             const Mdv__Gateway__V1__NameChangeDeclaration *b,
                             struct mdv_effect *out)
{
    const identity_person_t *p = b->person;
    char key[MDV_PIVOT_KEY_LEN];
    if (mdv_pivot_key(b->new_family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                      key) != 0)
        return -1; /* checked when decoded */
    const char *params[] = {person->person_id, b->new_family_name, key};
    if (mdv_pg_exec(conn,
                    "UPDATE persons SET family_name = $2, pivot_key = $3 WHERE person_id = $1", 3,
                    params) != 0)
        return -1;
    char before[IDENTITY_NAME_CLIP], after[IDENTITY_NAME_CLIP];
    mdv_reaction_clip(before, sizeof(before), person->family_name);
    mdv_reaction_clip(after, sizeof(after), b->new_family_name);
    out->status = MDV_STEP_DONE;
    snprintf(out->detail, sizeof(out->detail),
             "Nom de naissance modifié : %s devient %s (loi du 2 mars 2022)", before, after);
    return 0;
}

/* The effect on the register, for mdv_journey_apply_step. */
static int record_name(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    struct name_work *w = ctx;
    const Mdv__Gateway__V1__NameChangeDeclaration *b = w->d->name_change;
    char key[MDV_PIVOT_KEY_LEN];
    struct identity_person person;

    if (mdv_reaction_person_problem(b->person, key))
        return -1; /* checked when decoded */
    int found = identity_person_find(msg->conn, key, &person);
    if (found < 0)
        return -1;
    w->found = found;
    if (!found) {
        out->status = MDV_STEP_FAILED;
        snprintf(out->detail, sizeof(out->detail), "%s", IDENTITY_DETAIL_UNKNOWN);
        return 0;
    }
    if (!birth(b)) {
        mdv_strlcpy(w->usage_name, b->new_family_name, sizeof(w->usage_name));
        return record_usage_name(msg->conn, &person, b->new_family_name, out);
    }
    mdv_strlcpy(w->usage_name, person.usage_name, sizeof(w->usage_name));
    return record_birth_name(msg->conn, &person, b, out);
}

static int publish_name_changed(struct mdv_msg *msg, const identity_declaration_t *d,
                                const struct name_work *w)
{
    const Mdv__Gateway__V1__NameChangeDeclaration *b = d->name_change;
    Mdv__Identity__V1__PersonNameChanged changed = MDV__IDENTITY__V1__PERSON_NAME_CHANGED__INIT;
    identity_person_t current = *b->person;
    char now[MDV_TIME_LEN];

    if (birth(b))
        current.family_name = b->new_family_name;
    mdv_time_now(now);
    changed.journey_id = d->journey_id;
    changed.previous = b->person;
    changed.current = &current;
    changed.usage_name = (char *)w->usage_name;
    changed.birth_name_changed = birth(b);
    changed.effective_date = b->effective_date;
    changed.changed_at = now;
    return mdv_msg_emit(msg, "person_name_changed", "person", d->journey_id, d->journey_id,
                        &changed.base);
}

enum mdv_outcome identity_on_name_change(struct mdv_msg *msg, const identity_declaration_t *d)
{
    struct name_work w = {d, 0, ""};
    const struct mdv_step_work work = {d->journey_id, IDENTITY_STEP_NAME, NULL};

    if (mdv_plan_publish(msg, identity_plan(d->kind), d->journey_id, d->submitted_at) != 0 ||
        mdv_journey_apply_step(msg, &work, record_name, &w) != 0)
        return mdv_msg_db_failure(msg);
    if (w.found ? publish_name_changed(msg, d, &w) != 0
                : identity_report_others(msg, d->kind, d->journey_id, DETAIL_NOT_RECORDED) != 0)
        return mdv_msg_db_failure(msg);
    mdv_log_at(MDV_LOG_INFO, &msg->log, "name_change (%s): %s", d->name_change->name_type,
               w.found ? "recorded, PersonNameChanged published" : "person unknown");
    return MDV_OK;
}
