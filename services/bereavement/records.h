/* The état civil's death records and the survivor claims, in bereavement's
 * database. A death is recorded once: a later declaration of the same
 * death (same pivot key, same death date) is recorded as a repeat of the
 * first, and at most one pension de réversion claim is offered per
 * deceased person. */
#ifndef BEREAVEMENT_RECORDS_H
#define BEREAVEMENT_RECORDS_H

#include <libpq-fe.h>

#include "mdv/gateway/v1/declarations.pb-c.h"
#include "mdv/util.h"

#define RECORDS_DATE_LEN 16

/* The death's first record. */
struct death_first {
    char journey_id[MDV_UUID_LEN];      /* the journey that recorded it */
    char recorded_on[RECORDS_DATE_LEN]; /* DD/MM/YYYY, in France's time */
};

/* Records the bereavement declaration d, whose deceased has pivot_key.
 * Returns 1 when it is the first record of that death, 0 when another
 * declaration recorded it before (a concurrent one too: the insert waits
 * for its commit), -1 on error. Fills first either way. */
int records_add_death(PGconn *conn, const Mdv__Gateway__V1__DeclarationSubmitted *d,
                      const char *pivot_key, struct death_first *first) MDV_MUSTCHECK;

/* Offers a survivor claim for the deceased whose pivot key is pivot_key to
 * the usager of journey_id, naming survivor (the declaring spouse's own
 * identity; NULL when they gave none) as its claimant, found by their
 * pivot key, at address (where they said they live; NULL when they did
 * not say). Returns 1 when offered, 0 when a claim was offered for that
 * person before (offered_on written), -1 on error. */
int records_offer_claim(PGconn *conn, const char *journey_id, const char *usager_id,
                        const char *pivot_key, const Mdv__Journey__V1__PivotIdentity *survivor,
                        const Mdv__Journey__V1__Address *address,
                        char offered_on[RECORDS_DATE_LEN]) MDV_MUSTCHECK;

#endif
