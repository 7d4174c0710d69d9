/* The journeys abroad, which the abroad service owns, as the register sees
 * them: ResidenceAbroadStarted records the address abroad
 * (identity.address_abroad_recorded); ResidenceAbroadEnded records the new
 * address in France (identity.address_recorded) and publishes
 * AddressChanged under the return journey, caused by that
 * ResidenceAbroadEnded, so that the administrations that only follow
 * addresses learn it (those that acted on the return itself recognise it).
 * A person the register does not know: not_applicable, nothing published. */
#include <stdio.h>

#include "identity.h"

typedef Mdv__Abroad__V1__ResidenceAbroadStarted started_t;
typedef Mdv__Abroad__V1__ResidenceAbroadEnded ended_t;

/* The effect on the register, for mdv_journey_apply_step. */
static int record_address_abroad(struct mdv_msg *msg, void *ctx, struct mdv_effect *out)
{
    const struct mdv_residence *r = ctx;
    const started_t *s = r->started;
    struct identity_person person;

    int found = identity_person_find(msg->conn, r->key, &person);
    if (found <= 0)
        return found; /* not applicable: no record */
    if (identity_address_record(msg->conn, person.person_id, s->address, s->start_date,
                                s->journey_id) != 0)
        return -1;
    out->status = MDV_STEP_DONE;
    snprintf(out->detail, sizeof(out->detail), "Adresse à l'étranger enregistrée (%s)",
             identity_country_name(s->address->country_code));
    return 0;
}

enum mdv_outcome identity_on_abroad_started(struct mdv_msg *msg)
{
    return mdv_residence_started_apply(msg, IDENTITY_STEP_ADDRESS_ABROAD, record_address_abroad);
}

enum mdv_outcome identity_on_abroad_ended(struct mdv_msg *msg)
{
    ended_t *e = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    int found = 0;
    if (mdv_abroad_ended_decode(msg->rkm->payload, msg->rkm->len, &e, key, msg->error,
                                sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    enum mdv_outcome outcome = MDV_OK;
    if (identity_address_change(msg, e->journey_id, IDENTITY_STEP_ADDRESS, e->person, e->address,
                                e->end_date, MDV_STEP_NOT_APPLICABLE, NULL, 0, &found) != 0)
        outcome = mdv_msg_db_failure(msg);
    else
        mdv_log_at(MDV_LOG_INFO, &msg->log, "return to France: %s",
                   found ? "address recorded, AddressChanged published" : "person unknown");
    mdv__abroad__v1__residence_abroad_ended__free_unpacked(e, NULL);
    return outcome;
}
