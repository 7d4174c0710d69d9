/* address_change, which identity owns: the new main address in France is
 * recorded from its date (identity.address_recorded) and AddressChanged
 * tells the administrations that hold the person's address. A person the
 * register does not know gets no address: the step fails with the reason,
 * and since no event will reach the other administrations, identity tells
 * the usager at once that they have nothing to update. */
#include <stdio.h>

#include "identity.h"
#include "mdv/identity/v1/identity.pb-c.h"

#define DETAIL_NOT_RECORDED "Adresse non enregistrée par l'ANTS : rien à mettre à jour"

static int publish_address_changed(struct mdv_msg *msg, const char *journey_id,
                                   const identity_person_t *person,
                                   const identity_address_t *address, const char *effective_date,
                                   char **recipients, size_t n_recipients)
{
    Mdv__Identity__V1__AddressChanged changed = MDV__IDENTITY__V1__ADDRESS_CHANGED__INIT;
    char now[MDV_TIME_LEN];

    mdv_time_now(now);
    changed.journey_id = (char *)journey_id;
    changed.person = (identity_person_t *)person;
    changed.address = (identity_address_t *)address;
    changed.effective_date = (char *)effective_date;
    changed.changed_at = now;
    changed.recipients = recipients;
    changed.n_recipients = n_recipients;
    return mdv_msg_emit(msg, "address_changed", "address", journey_id, journey_id, &changed.base);
}

struct address_work {
    const char *journey_id;
    const identity_person_t *person;
    const identity_address_t *address;
    const char *date;
    mdv_step_status unknown; /* the step's status when nobody matches */
    int found;
};

/* The effect on the register, for mdv_journey_apply_step. */
static int record_address(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    struct address_work *w = ctx;
    char key[MDV_PIVOT_KEY_LEN];
    char date[64];
    struct identity_person person;

    if (mdv_reaction_person_problem(w->person, key))
        return -1; /* checked when decoded */
    int found = identity_person_find(msg->conn, key, &person);
    if (found < 0)
        return -1;
    w->found = found;
    if (!found) {
        if (w->unknown == MDV_STEP_FAILED) {
            out->status = MDV_STEP_FAILED;
            snprintf(out->detail, sizeof(out->detail), "%s", IDENTITY_DETAIL_UNKNOWN);
        }
        return 0;
    }
    if (identity_address_record(msg->conn, person.person_id, w->address, w->date, w->journey_id) !=
        0)
        return -1;
    identity_date_french(w->date, date, sizeof(date));
    out->status = MDV_STEP_DONE;
    snprintf(out->detail, sizeof(out->detail), "Adresse enregistrée à compter du %s", date);
    return 0;
}

int identity_address_change(struct mdv_msg *msg, const char *journey_id, const char *step_code,
                            const identity_person_t *person, const identity_address_t *address,
                            const char *date, mdv_step_status unknown, char **recipients,
                            size_t n_recipients, int *found)
{
    struct address_work w = {journey_id, person, address, date, unknown, 0};
    const struct mdv_step_work work = {journey_id, step_code, NULL};
    if (mdv_journey_apply_step(msg, &work, record_address, &w) != 0)
        return -1;
    *found = w.found;
    if (!w.found)
        return 0;
    return publish_address_changed(msg, journey_id, person, address, date, recipients,
                                   n_recipients);
}

enum mdv_outcome identity_on_address_change(struct mdv_msg *msg, const identity_declaration_t *d)
{
    const Mdv__Gateway__V1__AddressChangeDeclaration *b = d->address_change;
    int found = 0;

    if (mdv_plan_publish(msg, identity_plan(d->kind), d->journey_id, d->submitted_at) != 0 ||
        identity_address_change(msg, d->journey_id, IDENTITY_STEP_ADDRESS, b->person, b->address,
                                b->effective_date, MDV_STEP_FAILED, d->recipients, d->n_recipients,
                                &found) != 0)
        return mdv_msg_db_failure(msg);
    if (!found && identity_report_others(msg, d->kind, d->journey_id, DETAIL_NOT_RECORDED) != 0)
        return mdv_msg_db_failure(msg);
    mdv_log_at(MDV_LOG_INFO, &msg->log, "address_change: %s",
               found ? "address recorded, AddressChanged published" : "person unknown");
    return MDV_OK;
}
