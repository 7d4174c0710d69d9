/* CloudEvents header parsing (mdv_event_parse) on a consumed message whose
 * headers are the input: one header a line, "name=value" (a line without
 * '=' is a header without a value; values may hold any byte but a newline).
 *
 * librdkafka only builds messages it consumed itself, so this target is
 * linked with --wrap=rd_kafka_message_headers: the parser asks the wrapper
 * below for the message's headers and gets a real rd_kafka_headers_t, built
 * and searched by librdkafka's own header functions.
 *
 * Invariants: a parsed event has its required attributes, a version 1.0 and
 * an mdv type, and every attribute is a NUL-terminated string that fits. */
#include "fuzz.h"

#include "mdv/events.h"

static rd_kafka_headers_t *current_headers;

rd_kafka_resp_err_t __wrap_rd_kafka_message_headers(const rd_kafka_message_t *rkm,
                                                    rd_kafka_headers_t **headers);

rd_kafka_resp_err_t __wrap_rd_kafka_message_headers(const rd_kafka_message_t *rkm,
                                                    rd_kafka_headers_t **headers)
{
    (void)rkm;
    if (!current_headers)
        return RD_KAFKA_RESP_ERR__NOENT;
    *headers = current_headers;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* An empty input stands for a message without any header. */
static rd_kafka_headers_t *headers_of(const uint8_t *data, size_t size)
{
    if (size == 0)
        return NULL;
    rd_kafka_headers_t *headers = rd_kafka_headers_new(8);
    const uint8_t *end = data + size;
    while (data < end) {
        const uint8_t *eol = memchr(data, '\n', (size_t)(end - data));
        const uint8_t *line_end = eol ? eol : end;
        const uint8_t *eq = memchr(data, '=', (size_t)(line_end - data));
        if (eq)
            rd_kafka_header_add(headers, (const char *)data, (ssize_t)(eq - data), eq + 1,
                                (ssize_t)(line_end - eq - 1));
        else
            rd_kafka_header_add(headers, (const char *)data, (ssize_t)(line_end - data), NULL, 0);
        data = eol ? eol + 1 : end;
    }
    return headers;
}

static void check_field(const char *value)
{
    FUZZ_REQUIRE(memchr(value, '\0', MDV_EVENT_FIELD_LEN) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rd_kafka_message_t rkm;
    struct mdv_event ev;
    char err[256];

    memset(&rkm, 0, sizeof(rkm));
    current_headers = headers_of(data, size);
    if (mdv_event_parse(&rkm, &ev, err, sizeof(err)) == 0) {
        FUZZ_REQUIRE(*ev.id && *ev.source && *ev.type);
        FUZZ_REQUIRE(strncmp(ev.type, "fr.gouv.mdv.", 12) == 0);
        char version[MDV_EVENT_FIELD_LEN];
        FUZZ_REQUIRE(mdv_event_header(&rkm, "ce_specversion", version, sizeof(version)) == 0);
        FUZZ_REQUIRE(strcmp(version, "1.0") == 0);
    } else {
        FUZZ_REQUIRE(*err);
    }
    check_field(ev.id);
    check_field(ev.source);
    check_field(ev.type);
    check_field(ev.time);
    check_field(ev.subject);
    check_field(ev.journey_id);
    check_field(ev.causation_id);
    if (current_headers)
        rd_kafka_headers_destroy(current_headers);
    current_headers = NULL;
    return 0;
}
