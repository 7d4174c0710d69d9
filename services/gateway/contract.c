/* The decode and check of DeclarationSubmitted and StepConfirmed (see
 * contract.h), compiled into each owner of journeys. */
#include "contract.h"

#include <stdio.h>
#include <string.h>

#include "mdv/contract.h"
#include "mdv/validate.h"

static int owned(const char *kind, const char *const *kinds)
{
    for (; *kinds; kinds++)
        if (strcmp(kind, *kinds) == 0)
            return 1;
    return 0;
}

/* The body is the oneof member named as the kind, and is set. */
static int body_is_the_kinds(const Mdv__Gateway__V1__DeclarationSubmitted *d)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(d->base.descriptor, d->kind);
    if (!f || !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || d->body_case != f->id)
        return 0;
    return *(const void *const *)((const char *)d + f->offset) != NULL;
}

static const char *check_declaration(const Mdv__Gateway__V1__DeclarationSubmitted *d,
                                     mdv_gateway_body_check_fn check)
{
    if (!mdv_uuid_valid(d->journey_id))
        return "journey_id is not a UUID";
    if (!*d->usager_id)
        return "usager_id missing";
    if (!body_is_the_kinds(d))
        return "the kind's body missing";
    return check(d);
}

int mdv_gateway_declaration_decode(const void *value, size_t len, const char *const *kinds,
                                   mdv_gateway_body_check_fn check,
                                   Mdv__Gateway__V1__DeclarationSubmitted **out, char *err,
                                   size_t errlen)
{
    ProtobufCMessage *m = NULL;
    Mdv__Gateway__V1__DeclarationSubmitted *d = NULL;
    const char *problem = NULL;

    *out = NULL;
    if (mdv_contract_decode(&mdv__gateway__v1__declaration_submitted__descriptor, value, len, NULL,
                            NULL, &m, err, errlen) != 0)
        return -1;
    d = (void *)m;
    if (!owned(d->kind, kinds))
        goto out; /* another service's journey */
    problem = check_declaration(d, check);
    if (problem) {
        snprintf(err, errlen, "%s declaration invalid: %s", d->kind, problem);
        mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
        return -1;
    }
    *out = d;
    d = NULL;
out:
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
    return 0;
}

static const char *check_confirmation(const ProtobufCMessage *m, void *ctx)
{
    const Mdv__Gateway__V1__StepConfirmed *c = (const void *)m;
    (void)ctx;
    if (!mdv_uuid_valid(c->journey_id) || !*c->usager_id || !*c->code)
        return "no journey id, usager or step";
    return NULL;
}

int mdv_gateway_confirmation_decode(const void *value, size_t len,
                                    Mdv__Gateway__V1__StepConfirmed **out, char *err, size_t errlen)
{
    ProtobufCMessage *m = NULL;
    int rc = mdv_contract_decode(&mdv__gateway__v1__step_confirmed__descriptor, value, len,
                                 check_confirmation, NULL, &m, err, errlen);
    *out = (void *)m;
    return rc;
}

enum mdv_outcome mdv_gateway_on_confirmation(struct mdv_msg *msg,
                                             const struct mdv_gateway_step_handler *steps, size_t n)
{
    Mdv__Gateway__V1__StepConfirmed *c = NULL;
    enum mdv_outcome outcome = MDV_OK;
    if (mdv_gateway_confirmation_decode(msg->rkm->payload, msg->rkm->len, &c, msg->error,
                                        sizeof(msg->error)) != 0)
        return MDV_PERMANENT;
    for (size_t i = 0; i < n; i++)
        if (strcmp(c->code, steps[i].code) == 0)
            outcome = steps[i].on_confirmed(msg, c);
    mdv__gateway__v1__step_confirmed__free_unpacked(c, NULL);
    return outcome;
}
