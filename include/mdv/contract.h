/* The shape every contract's decoder shares: unpack a Kafka value as one
 * protobuf message, check it, and on failure say why for the dead letter.
 * Each producer's contract (services/<producer>/contract.c) gives the
 * message type and its checks; the library knows none of them. */
#ifndef MDV_CONTRACT_H
#define MDV_CONTRACT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "mdv/util.h"

/* Why m cannot be applied (a short English reason), or NULL. ctx is the
 * decoder's: a check may write what it derives there (matching keys). */
typedef const char *(*mdv_contract_check_fn)(const ProtobufCMessage *m, void *ctx);

/* Unpacks value as a message of desc and, when check is not NULL, checks
 * it. Returns 0 and gives the message in *out (the caller frees it with
 * its type's __free_unpacked); else writes "value is not a <Name>
 * protobuf" or "<Name> invalid: <why>" into err and returns -1 (the
 * message is a dead letter). */
int mdv_contract_decode(const ProtobufCMessageDescriptor *desc, const void *value, size_t len,
                        mdv_contract_check_fn check, void *ctx, ProtobufCMessage **out, char *err,
                        size_t errlen) MDV_MUSTCHECK;

#endif
