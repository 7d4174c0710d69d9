/* The decode-and-check shape of every contract (see include/mdv/contract.h). */
#include "mdv/contract.h"

#include <stdio.h>
#include <string.h>

/* The article of a message name in English: "an" before a vowel. */
static const char *article(const char *name)
{
    return strchr("AEIOU", name[0]) ? "an" : "a";
}

int mdv_contract_decode(const ProtobufCMessageDescriptor *desc, const void *value, size_t len,
                        mdv_contract_check_fn check, void *ctx, ProtobufCMessage **out, char *err,
                        size_t errlen)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, value);
    const char *problem = NULL;

    *out = NULL;
    if (!m) {
        snprintf(err, errlen, "value is not %s %s protobuf", article(desc->short_name),
                 desc->short_name);
        return -1;
    }
    problem = check ? check(m, ctx) : NULL;
    if (problem) {
        snprintf(err, errlen, "%s invalid: %s", desc->short_name, problem);
        protobuf_c_message_free_unpacked(m, NULL);
        return -1;
    }
    *out = m;
    return 0;
}
