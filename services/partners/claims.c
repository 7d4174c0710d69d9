/* A confirmed pension de réversion claim reaches the caisses de retraite
 * (DESIGN.md §11; README, "The CNAV's decision"): bereavement's
 * SurvivorClaimConfirmed goes to each partner entitled to it, the CNAV,
 * as its own projection, and the CNAV's step cnav.survivor_pension_decided
 * joins the journey: received once the CNAV's group committed past it, then
 * the decision the CNAV reports on it (accepted with its monthly amount, or
 * refused with its reason), applied once per idempotency key like any
 * outcome (outcome.c). One claim per deceased is ever offered, so the
 * claim's journey is its occurrence. */
#include <stdlib.h>

#include "bereavement/contract.h"
#include "partners.h"

enum mdv_outcome partners_on_claim(struct mdv_msg *msg)
{
    Mdv__Bereavement__V1__SurvivorClaimConfirmed *claim = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    if (mdv_bereavement_claim_decode(msg->rkm->payload, msg->rkm->len, &claim, key, msg->error,
                                     sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    char *occurrence = mdv_xasprintf("claim|%s", claim->journey_id);
    enum mdv_outcome outcome =
        partners_notify(msg, claim, claim->journey_id, occurrence, NULL, 0) == 0
            ? MDV_OK
            : mdv_msg_db_failure(msg);
    free(occurrence);
    mdv__bereavement__v1__survivor_claim_confirmed__free_unpacked(claim, NULL);
    return outcome;
}
