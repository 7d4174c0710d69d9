/* The messages bereavement consumes, decoded and checked without a
 * database, so the checks can be exercised on any bytes. */
#ifndef BEREAVEMENT_MESSAGES_H
#define BEREAVEMENT_MESSAGES_H

#include <stddef.h>

#include "gateway/contract.h"
#include "mdv/util.h"

typedef Mdv__Gateway__V1__DeclarationSubmitted declaration_t;
typedef Mdv__Gateway__V1__BereavementDeclaration bereavement_t;

/* Decodes a DeclarationSubmitted value. Returns 0 and gives a checked
 * bereavement declaration in *out, or 0 with *out NULL for another kind
 * (another service's journey); on a value that is not a valid declaration
 * writes why into err and returns -1. The caller frees *out with
 * mdv__gateway__v1__declaration_submitted__free_unpacked. */
int bereavement_declaration_decode(const void *value, size_t len, declaration_t **out, char *err,
                                   size_t errlen) MDV_MUSTCHECK;

/* A StepConfirmed is decoded by the gateway's contract
 * (mdv_gateway_confirmation_decode, gateway/contract.h). */

#endif
