/* The partners' messages (proto/mdv/partner/v1) between protobuf and JSON
 * for the end-to-end tests, which play a partner and have no protobuf
 * library of their own:
 *
 *   partner_codec decode mdv.partner.v1.CnavDeathNotice < value > json
 *   partner_codec encode mdv.partner.v1.PartnerOutcome < json > value
 *
 * decode prints every field of the message by its name, and "_unknown":
 * how many fields the bytes carried that the message does not define (a
 * projection that carried more than its contract would show there). Only
 * the field types these messages use: strings, repeated strings. */
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/partner/v1/partner.pb-c.h"

static const ProtobufCMessageDescriptor *const messages[] = {
    &mdv__partner__v1__cnav_death_notice__descriptor,
    &mdv__partner__v1__dgfip_death_notice__descriptor,
    &mdv__partner__v1__cnav_address_notice__descriptor,
    &mdv__partner__v1__dgfip_address_notice__descriptor,
    &mdv__partner__v1__cnav_survivor_claim__descriptor,
    &mdv__partner__v1__partner_outcome__descriptor,
};

static const ProtobufCMessageDescriptor *find(const char *name)
{
    for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++)
        if (strcmp(messages[i]->name, name) == 0)
            return messages[i];
    return NULL;
}

static unsigned char *read_all(size_t *len)
{
    size_t cap = 4096;
    unsigned char *buf = malloc(cap);
    *len = 0;
    for (size_t n; buf && (n = fread(buf + *len, 1, cap - *len, stdin)) > 0;) {
        *len += n;
        if (*len == cap)
            buf = realloc(buf, cap *= 2);
    }
    return buf;
}

static int decode(const ProtobufCMessageDescriptor *d)
{
    size_t len = 0;
    unsigned char *buf = read_all(&len);
    ProtobufCMessage *m = buf ? protobuf_c_message_unpack(d, NULL, len, buf) : NULL;
    free(buf);
    if (!m) {
        fprintf(stderr, "not a %s\n", d->name);
        return 1;
    }
    json_t *out = json_object();
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;
        if (f->type != PROTOBUF_C_TYPE_STRING) {
            fprintf(stderr, "%s: field type %d not handled\n", f->name, f->type);
            return 1;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            char **v = *(char **const *)(base + f->offset);
            json_t *list = json_array();
            for (size_t k = 0; k < n; k++)
                json_array_append_new(list, json_string(v[k]));
            json_object_set_new(out, f->name, list);
        } else
            json_object_set_new(out, f->name, json_string(*(char *const *)(base + f->offset)));
    }
    json_object_set_new(out, "_unknown", json_integer((json_int_t)m->n_unknown_fields));
    json_dumpf(out, stdout, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(out);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int encode(const ProtobufCMessageDescriptor *d)
{
    json_error_t error;
    json_t *in = json_loadf(stdin, 0, &error);
    if (!json_is_object(in)) {
        fprintf(stderr, "stdin: not a JSON object: %s\n", error.text);
        return 1;
    }
    ProtobufCMessage *m = calloc(1, d->sizeof_message);
    protobuf_c_message_init(d, m);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *v = json_string_value(json_object_get(in, f->name));
        if (f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED) {
            fprintf(stderr, "%s: only single strings are encoded\n", f->name);
            return 1;
        }
        if (v)
            *(const char **)((char *)m + f->offset) = v;
    }
    size_t len = protobuf_c_message_get_packed_size(m);
    unsigned char *buf = malloc(len ? len : 1);
    protobuf_c_message_pack(m, buf);
    fwrite(buf, 1, len, stdout);
    free(buf);
    free(m);
    json_decref(in);
    return 0;
}

int main(int argc, char **argv)
{
    const ProtobufCMessageDescriptor *d = argc == 3 ? find(argv[2]) : NULL;
    if (!d || (strcmp(argv[1], "decode") != 0 && strcmp(argv[1], "encode") != 0)) {
        fprintf(stderr, "usage: partner_codec decode|encode mdv.partner.v1.<Message>\n");
        return 2;
    }
    return strcmp(argv[1], "decode") == 0 ? decode(d) : encode(d);
}
