/* identity's contract with the services that react to its events: the
 * decode and check of AddressChanged and PersonNameChanged, beside their
 * producer. The services that consume mdv.identity.events.v1 compile this
 * file in (the Makefile's CONTRACTS_<service>); the library knows no
 * service. */
#ifndef MDV_IDENTITY_CONTRACT_H
#define MDV_IDENTITY_CONTRACT_H

#include <stddef.h>

#include "mdv/identity/v1/identity.pb-c.h"
#include "mdv/pivot.h"
#include "mdv/util.h"

/* Each decoder: on success gives the checked message in *out (free it with
 * the message's __free_unpacked) and writes the person's matching key; on
 * a value that is not a valid message writes why into err and returns -1
 * (a dead letter). */

/* A person, an address in France, a date. */
int mdv_identity_address_changed_decode(const void *value, size_t len,
                                        Mdv__Identity__V1__AddressChanged **out,
                                        char key[MDV_PIVOT_KEY_LEN], char *err,
                                        size_t errlen) MDV_MUSTCHECK;
/* Writes the key of the previous identity (the records hold it) and of the
 * current one (the same unless birth_name_changed). */
int mdv_identity_name_changed_decode(const void *value, size_t len,
                                     Mdv__Identity__V1__PersonNameChanged **out,
                                     char previous[MDV_PIVOT_KEY_LEN],
                                     char current[MDV_PIVOT_KEY_LEN], char *err,
                                     size_t errlen) MDV_MUSTCHECK;

#endif
