/* The confirmed pension de réversion claim, as bereavement sends it on to
 * the caisses de retraite (claims.c). */
#ifndef BEREAVEMENT_CLAIMS_H
#define BEREAVEMENT_CLAIMS_H

#include "mdv/service.h"
#include "mdv/util.h"

/* Publishes SurvivorClaimConfirmed for the claim of journey_id, which the
 * caller has just marked confirmed in msg's transaction: the deceased as
 * the death record has them, the death date, the day of the confirmation
 * (France's time), and the claimant and address as the claim holds them
 * (each left out when the claim has none). The partners service sends it
 * on to the CNAV, whose decision is a step of its own. */
int claims_publish_confirmed(struct mdv_msg *msg, const char *journey_id) MDV_MUSTCHECK;

#endif
