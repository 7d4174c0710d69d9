/* The gateway's contract with the owners of journeys: the decode and
 * check of what it publishes on mdv.gateway.declarations.v1, the
 * DeclarationSubmitted of each kind and the StepConfirmed of a step that
 * waited for the usager, beside their producer. The owners compile this
 * file in (the Makefile's CONTRACTS_<service>); the library knows no
 * service. */
#ifndef MDV_GATEWAY_CONTRACT_H
#define MDV_GATEWAY_CONTRACT_H

#include <stddef.h>

#include "mdv/gateway/v1/declarations.pb-c.h"
#include "mdv/service.h"
#include "mdv/util.h"

/* An owner's checks of the body of one of its kinds: why d cannot be
 * applied (a short English reason), or NULL. */
typedef const char *(*mdv_gateway_body_check_fn)(const Mdv__Gateway__V1__DeclarationSubmitted *d);

/* Decodes a DeclarationSubmitted for the owner of kinds (a NULL-terminated
 * list). Returns 0 with *out NULL for a kind the owner does not own
 * (another service's journey, ignored); 0 with the checked declaration in
 * *out (free it with mdv__gateway__v1__declaration_submitted__free_unpacked)
 * when the journey id is a UUID, a usager is named, the body is the kind's
 * (the oneof member named as the kind) and check finds nothing; else
 * writes why into err and returns -1 (a dead letter). */
int mdv_gateway_declaration_decode(const void *value, size_t len, const char *const *kinds,
                                   mdv_gateway_body_check_fn check,
                                   Mdv__Gateway__V1__DeclarationSubmitted **out, char *err,
                                   size_t errlen) MDV_MUSTCHECK;

/* Decodes a StepConfirmed that names a journey, a usager and a step; else
 * writes why into err and returns -1. Free *out with
 * mdv__gateway__v1__step_confirmed__free_unpacked. What its choice may be
 * is the step owner's. */
int mdv_gateway_confirmation_decode(const void *value, size_t len,
                                    Mdv__Gateway__V1__StepConfirmed **out, char *err,
                                    size_t errlen) MDV_MUSTCHECK;

/* What an owner does when the usager confirms one of its steps. */
struct mdv_gateway_step_handler {
    const char *code; /* the step that waits for the usager */
    enum mdv_outcome (*on_confirmed)(struct mdv_msg *msg, const Mdv__Gateway__V1__StepConfirmed *c);
};

/* The whole handler of an owner's StepConfirmed: decoded and checked (a
 * dead letter when invalid), then the handler of its step among the n of
 * steps; a step none names is not one of the owner's that waits for the
 * usager, and is ignored. */
enum mdv_outcome mdv_gateway_on_confirmation(struct mdv_msg *msg,
                                             const struct mdv_gateway_step_handler *steps,
                                             size_t n);

#endif
