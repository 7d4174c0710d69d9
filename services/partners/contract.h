/* partners' contract with the gateway: the decode and check of
 * RecipientNotified (who received what of a usager's journey, DESIGN.md
 * §11), beside its producer. The gateway compiles this file in (the
 * Makefile's CONTRACTS_gateway); the library knows no service. */
#ifndef MDV_PARTNERS_CONTRACT_H
#define MDV_PARTNERS_CONTRACT_H

#include <stddef.h>

#include "mdv/partner/v1/recipients.pb-c.h"
#include "mdv/util.h"

/* A journey id that is a UUID; a partner, its administration and step; at
 * least one field, each named; a legal basis; a basis mandatory or
 * chosen; notified_at set (acknowledged_at may be empty). On success gives
 * the message in *out (free it with
 * mdv__partner__v1__recipient_notified__free_unpacked); else writes why
 * into err and returns -1 (a dead letter). */
int mdv_partners_recipient_decode(const void *value, size_t len,
                                  Mdv__Partner__V1__RecipientNotified **out, char *err,
                                  size_t errlen) MDV_MUSTCHECK;

#endif
