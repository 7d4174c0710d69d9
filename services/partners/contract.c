/* The decode and check of partners' RecipientNotified (see contract.h),
 * compiled into the gateway. */
#include "contract.h"

#include "mdv/contract.h"

static const char *check_recipient(const ProtobufCMessage *base, void *ctx)
{
    const Mdv__Partner__V1__RecipientNotified *r = (const void *)base;
    (void)ctx;
    if (!mdv_uuid_valid(r->journey_id))
        return "journey_id is not a UUID";
    if (!*r->partner || !*r->administration || !*r->step_code)
        return "partner, administration or step_code missing";
    if (r->n_fields == 0)
        return "no field";
    for (size_t i = 0; i < r->n_fields; i++)
        if (!*r->fields[i])
            return "a field without a name";
    if (!*r->legal_basis)
        return "legal_basis missing";
    if (r->basis != MDV__PARTNER__V1__RECIPIENT_BASIS__RECIPIENT_BASIS_MANDATORY &&
        r->basis != MDV__PARTNER__V1__RECIPIENT_BASIS__RECIPIENT_BASIS_CHOSEN)
        return "basis is neither mandatory nor chosen";
    return *r->notified_at ? NULL : "notified_at missing";
}

int mdv_partners_recipient_decode(const void *value, size_t len,
                                  Mdv__Partner__V1__RecipientNotified **out, char *err,
                                  size_t errlen)
{
    ProtobufCMessage *m = NULL;
    int rc = mdv_contract_decode(&mdv__partner__v1__recipient_notified__descriptor, value, len,
                                 check_recipient, NULL, &m, err, errlen);
    *out = (void *)m;
    return rc;
}
