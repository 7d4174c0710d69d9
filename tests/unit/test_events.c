/* Unit tests of shared/events.c: CloudEvents 1.0 headers in Kafka binary
 * mode, built for the outbox and checked on consumption. Parsing needs
 * real consumed messages, so they go through librdkafka's in-process mock
 * cluster (no broker needed). */
#include "mock_kafka.h"

#include <ctype.h>

#include "mdv/events.h"
#include "mdv/kafka.h"
#include "mdv/util.h"

#define TOPIC "mdv.unit.events.v1"
#define TYPE "fr.gouv.mdv.bereavement.death_recorded.v1"
#define JOURNEY "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7"
#define CAUSE "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9"

static int is_rfc3339_utc(const char *s)
{
    static const char pattern[] = "9999-99-99T99:99:99.999999Z";
    if (strlen(s) != strlen(pattern))
        return 0;
    for (size_t i = 0; pattern[i]; i++)
        if (pattern[i] == '9' ? !isdigit((unsigned char)s[i]) : s[i] != pattern[i])
            return 0;
    return 1;
}

static const char *header(const json_t *headers, const char *name)
{
    return json_string_value(json_object_get(headers, name));
}

static void test_headers_json_carries_the_cloudevents_envelope(void **state)
{
    (void)state;
    const struct mdv_event_meta meta = {"bereavement", TYPE, "person-42", JOURNEY, CAUSE};
    char id[MDV_UUID_LEN];
    json_t *h = mdv_event_headers_json(&meta, id);

    assert_non_null(h);
    assert_true(mdv_uuid_valid(id));
    assert_string_equal(header(h, "ce_specversion"), "1.0");
    assert_string_equal(header(h, "ce_id"), id);
    assert_string_equal(header(h, "ce_source"), "/mdv/bereavement");
    assert_string_equal(header(h, "ce_type"), TYPE);
    assert_string_equal(header(h, "ce_subject"), "person-42");
    assert_true(is_rfc3339_utc(header(h, "ce_time")));
    assert_string_equal(header(h, "content-type"), "application/protobuf");
    assert_string_equal(header(h, "mdv_journey_id"), JOURNEY);
    assert_string_equal(header(h, "mdv_causation_id"), CAUSE);
    assert_int_equal(json_object_size(h), 9);
    json_decref(h);
}

static void test_headers_json_leaves_out_journey_and_causation_when_not_given(void **state)
{
    (void)state;
    const struct mdv_event_meta meta = {"gateway", "fr.gouv.mdv.gateway.declared.v1", "j-1", NULL,
                                        NULL};
    char id[MDV_UUID_LEN];
    json_t *h = mdv_event_headers_json(&meta, id);
    assert_null(json_object_get(h, "mdv_journey_id"));
    assert_null(json_object_get(h, "mdv_causation_id"));
    assert_string_equal(header(h, "ce_source"), "/mdv/gateway");
    assert_int_equal(json_object_size(h), 7);
    json_decref(h);
}

static void test_headers_json_gives_each_event_a_new_id(void **state)
{
    (void)state;
    const struct mdv_event_meta meta = {"identity", TYPE, "p", NULL, NULL};
    char first[MDV_UUID_LEN], second[MDV_UUID_LEN];
    json_t *a = mdv_event_headers_json(&meta, first);
    json_t *b = mdv_event_headers_json(&meta, second);
    assert_string_not_equal(first, second);
    assert_string_not_equal(header(a, "ce_id"), header(b, "ce_id"));
    json_decref(a);
    json_decref(b);
}

static void test_headers_from_json_round_trips_every_string_header(void **state)
{
    (void)state;
    const struct mdv_event_meta meta = {"bereavement", TYPE, "person-42", JOURNEY, CAUSE};
    char id[MDV_UUID_LEN];
    json_t *h = mdv_event_headers_json(&meta, id);
    rd_kafka_headers_t *kh = mdv_event_headers_from_json(h);

    assert_int_equal(rd_kafka_header_cnt(kh), json_object_size(h));
    const char *name;
    json_t *value;
    json_object_foreach(h, name, value)
    {
        const void *got = NULL;
        size_t size = 0;
        assert_int_equal(rd_kafka_header_get_last(kh, name, &got, &size), 0);
        assert_int_equal(size, strlen(json_string_value(value)));
        assert_memory_equal(got, json_string_value(value), size);
    }
    rd_kafka_headers_destroy(kh);
    json_decref(h);
}

static void test_headers_from_json_skips_values_that_are_not_strings(void **state)
{
    (void)state;
    json_t *h = json_pack("{s:s, s:i, s:n, s:b}", "ce_id", "x", "count", 3, "nothing", "flag", 1);
    rd_kafka_headers_t *kh = mdv_event_headers_from_json(h);
    const void *got = NULL;
    size_t size = 0;
    assert_int_equal(rd_kafka_header_cnt(kh), 1);
    assert_int_equal(rd_kafka_header_get_last(kh, "ce_id", &got, &size), 0);
    assert_int_equal(rd_kafka_header_get_last(kh, "count", &got, &size), RD_KAFKA_RESP_ERR__NOENT);
    rd_kafka_headers_destroy(kh);
    json_decref(h);
}

/* One message to produce and what mdv_event_parse must say of it. */
struct parse_case {
    const char *name;
    const char *const *headers; /* name, value pairs; NULL-terminated */
    int rc;
    const char *err_part; /* a part of the error text, when rc is -1 */
};

#define GOOD_ENVELOPE                                                                              \
    "ce_specversion", "1.0", "ce_id", "id-1", "ce_source", "/mdv/bereavement", "ce_type", TYPE

static const char *const good_full[] = {
    GOOD_ENVELOPE,
    "ce_time",
    "2026-11-23T14:27:09.123456Z",
    "ce_subject",
    "person-42",
    "content-type",
    "application/protobuf",
    "mdv_journey_id",
    JOURNEY,
    "mdv_causation_id",
    CAUSE,
    NULL,
};
static const char *const good_minimal[] = {GOOD_ENVELOPE, NULL};
static const char *const no_id[] = {
    "ce_specversion", "1.0", "ce_source", "/mdv/x", "ce_type", TYPE, NULL,
};
static const char *const empty_id[] = {
    "ce_specversion", "1.0", "ce_id", "", "ce_source", "/mdv/x", "ce_type", TYPE, NULL,
};
static const char *const no_source[] = {
    "ce_specversion", "1.0", "ce_id", "id-1", "ce_type", TYPE, NULL,
};
static const char *const no_type[] = {
    "ce_specversion", "1.0", "ce_id", "id-1", "ce_source", "/mdv/x", NULL,
};
static const char *const no_specversion[] = {
    "ce_id", "id-1", "ce_source", "/mdv/x", "ce_type", TYPE, NULL,
};
static const char *const specversion_03[] = {
    "ce_specversion", "0.3", "ce_id", "id-1", "ce_source", "/mdv/x", "ce_type", TYPE, NULL,
};
static const char *const json_content[] = {GOOD_ENVELOPE, "content-type", "application/json", NULL};
static const char *const foreign_type[] = {
    "ce_specversion",
    "1.0",
    "ce_id",
    "id-1",
    "ce_source",
    "/other",
    "ce_type",
    "com.example.order.created.v1",
    NULL,
};
static const char *const last_wins[] = {GOOD_ENVELOPE, "ce_id", "id-2", NULL};
static const char *const none[] = {NULL};

static const struct parse_case cases[] = {
    {"good-full", good_full, 0, NULL},
    {"good-minimal", good_minimal, 0, NULL},
    {"no-id", no_id, -1, "ce_id"},
    {"empty-id", empty_id, -1, "ce_id"},
    {"no-source", no_source, -1, "ce_source"},
    {"no-type", no_type, -1, "ce_type"},
    {"no-specversion", no_specversion, -1, "ce_specversion"},
    {"specversion-0.3", specversion_03, -1, "ce_specversion 0.3 is not 1.0"},
    {"json-content", json_content, -1, "content-type application/json is not application/protobuf"},
    {"foreign-type", foreign_type, -1, "ce_type com.example.order.created.v1 is not an mdv event"},
    {"last-wins", last_wins, 0, NULL},
    {"no-headers", none, -1, "ce_specversion"},
};

/* Cases built at run time: a ce_id of 255 bytes fits, 256 does not; a NUL
 * inside a value is refused. */
static char id_255[256], id_256[257];
static const char *id_255_headers[] = {
    "ce_specversion", "1.0", "ce_id", id_255, "ce_source", "/mdv/x", "ce_type", TYPE, NULL,
};
static const char *id_256_headers[] = {
    "ce_specversion", "1.0", "ce_id", id_256, "ce_source", "/mdv/x", "ce_type", TYPE, NULL,
};
static const struct parse_case long_cases[] = {
    {"id-255", id_255_headers, 0, NULL},
    {"id-256", id_256_headers, -1, "ce_id"},
};

struct consumed {
    struct mock_kafka mk;
    rd_kafka_t *consumer; /* outlives its messages: destroy waits for them */
    rd_kafka_message_t *messages[64];
    size_t count;
};

static rd_kafka_headers_t *headers_of(const char *const *pairs)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    for (const char *const *p = pairs; *p; p += 2)
        rd_kafka_header_add(h, p[0], -1, p[1], -1);
    return h;
}

static void produce_case(rd_kafka_t *rk, const struct parse_case *c)
{
    assert_int_equal(mdv_kafka_produce_sync(rk, TOPIC, c->name, strlen(c->name), "\x08\x01", 2,
                                            headers_of(c->headers), 10000),
                     0);
}

static void produce_with_nul_in_ce_id(rd_kafka_t *rk)
{
    rd_kafka_headers_t *h = headers_of(no_id);
    rd_kafka_header_add(h, "ce_id", -1, "id\0-1", 5);
    assert_int_equal(mdv_kafka_produce_sync(rk, TOPIC, "nul-in-id", 9, "", 0, h, 10000), 0);
}

static void consume_all(struct consumed *all, size_t expected)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(
        rd_kafka_conf_set(conf, "bootstrap.servers", all->mk.bootstraps, errstr, sizeof(errstr)),
        RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", "mdv-unit-events", errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    assert_non_null(consumer);
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, TOPIC, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(consumer, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);

    double deadline = mdv_monotonic_seconds() + 20;
    while (all->count < expected && mdv_monotonic_seconds() < deadline) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(consumer, 100);
        if (!rkm)
            continue;
        if (rkm->err || all->count == MDV_ARRAY_LEN(all->messages))
            rd_kafka_message_destroy(rkm);
        else
            all->messages[all->count++] = rkm;
    }
    all->consumer = consumer;
    assert_int_equal(all->count, expected);
}

/* Produces every case once, then consumes them all: the tests below parse
 * messages exactly as a service receives them. */
static int produce_and_consume(void **state)
{
    static struct consumed all;
    unset_kafka_environment();
    memset(id_255, 'a', sizeof(id_255) - 1);
    memset(id_256, 'b', sizeof(id_256) - 1);
    mock_kafka_start(&all.mk);
    if (rd_kafka_mock_topic_create(all.mk.mcluster, TOPIC, 1, 1))
        return -1;

    rd_kafka_t *rk = mdv_kafka_producer_new(all.mk.bootstraps);
    assert_non_null(rk);
    for (size_t i = 0; i < MDV_ARRAY_LEN(cases); i++)
        produce_case(rk, &cases[i]);
    for (size_t i = 0; i < MDV_ARRAY_LEN(long_cases); i++)
        produce_case(rk, &long_cases[i]);
    produce_with_nul_in_ce_id(rk);
    rd_kafka_destroy(rk);

    consume_all(&all, MDV_ARRAY_LEN(cases) + MDV_ARRAY_LEN(long_cases) + 1);
    *state = &all;
    return 0;
}

static int release_messages(void **state)
{
    struct consumed *all = *state;
    for (size_t i = 0; i < all->count; i++)
        rd_kafka_message_destroy(all->messages[i]);
    rd_kafka_consumer_close(all->consumer);
    rd_kafka_destroy(all->consumer);
    mock_kafka_stop(&all->mk);
    return 0;
}

static const rd_kafka_message_t *message_named(const struct consumed *all, const char *name)
{
    for (size_t i = 0; i < all->count; i++)
        if (all->messages[i]->key_len == strlen(name) &&
            memcmp(all->messages[i]->key, name, strlen(name)) == 0)
            return all->messages[i];
    fail_msg("no consumed message with key %s", name);
    return NULL;
}

static void check_cases(const struct consumed *all, const struct parse_case *table, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        struct mdv_event ev;
        char err[256] = "";
        int rc = mdv_event_parse(message_named(all, table[i].name), &ev, err, sizeof(err));
        if (rc != table[i].rc)
            ROW_FAILED(failures, "%s: mdv_event_parse = %d (\"%s\"), expected %d", table[i].name,
                       rc, err, table[i].rc);
        else if (rc != 0 && !strstr(err, table[i].err_part))
            ROW_FAILED(failures, "%s: error \"%s\" does not say \"%s\"", table[i].name, err,
                       table[i].err_part);
    }
    assert_int_equal(failures, 0);
}

static void test_parse_accepts_good_envelopes_and_says_why_it_refuses_bad_ones(void **state)
{
    check_cases(*state, cases, MDV_ARRAY_LEN(cases));
}

static void test_parse_copies_every_attribute(void **state)
{
    struct mdv_event ev;
    char err[256] = "";
    assert_int_equal(mdv_event_parse(message_named(*state, "good-full"), &ev, err, sizeof(err)), 0);
    assert_string_equal(ev.id, "id-1");
    assert_string_equal(ev.source, "/mdv/bereavement");
    assert_string_equal(ev.type, TYPE);
    assert_string_equal(ev.time, "2026-11-23T14:27:09.123456Z");
    assert_string_equal(ev.subject, "person-42");
    assert_string_equal(ev.journey_id, JOURNEY);
    assert_string_equal(ev.causation_id, CAUSE);
}

static void test_parse_leaves_absent_optional_attributes_empty(void **state)
{
    struct mdv_event ev;
    char err[256] = "";
    memset(&ev, 'x', sizeof(ev));
    assert_int_equal(mdv_event_parse(message_named(*state, "good-minimal"), &ev, err, sizeof(err)),
                     0);
    assert_string_equal(ev.time, "");
    assert_string_equal(ev.subject, "");
    assert_string_equal(ev.journey_id, "");
    assert_string_equal(ev.causation_id, "");
}

static void test_parse_takes_the_last_of_repeated_headers(void **state)
{
    struct mdv_event ev;
    char err[256] = "";
    assert_int_equal(mdv_event_parse(message_named(*state, "last-wins"), &ev, err, sizeof(err)), 0);
    assert_string_equal(ev.id, "id-2");
}

static void test_parse_accepts_255_byte_attributes_and_refuses_longer(void **state)
{
    check_cases(*state, long_cases, MDV_ARRAY_LEN(long_cases));
}

static void test_parse_refuses_a_nul_byte_inside_a_header(void **state)
{
    struct mdv_event ev;
    char err[256] = "";
    assert_int_equal(mdv_event_parse(message_named(*state, "nul-in-id"), &ev, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "ce_id"));
}

static void test_header_copies_a_value_only_when_it_fits(void **state)
{
    const rd_kafka_message_t *rkm = message_named(*state, "good-full");
    char out[64];
    assert_int_equal(mdv_event_header(rkm, "ce_subject", out, sizeof(out)), 0);
    assert_string_equal(out, "person-42");
    assert_int_equal(mdv_event_header(rkm, "ce_subject", out, 10), 0); /* 9 + NUL */
    assert_int_equal(mdv_event_header(rkm, "ce_subject", out, 9), -1);
    assert_int_equal(mdv_event_header(rkm, "no_such_header", out, sizeof(out)), -1);
    assert_int_equal(
        mdv_event_header(message_named(*state, "no-headers"), "ce_id", out, sizeof(out)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_json_carries_the_cloudevents_envelope),
        cmocka_unit_test(test_headers_json_leaves_out_journey_and_causation_when_not_given),
        cmocka_unit_test(test_headers_json_gives_each_event_a_new_id),
        cmocka_unit_test(test_headers_from_json_round_trips_every_string_header),
        cmocka_unit_test(test_headers_from_json_skips_values_that_are_not_strings),
    };
    const struct CMUnitTest parse_tests[] = {
        cmocka_unit_test(test_parse_accepts_good_envelopes_and_says_why_it_refuses_bad_ones),
        cmocka_unit_test(test_parse_copies_every_attribute),
        cmocka_unit_test(test_parse_leaves_absent_optional_attributes_empty),
        cmocka_unit_test(test_parse_takes_the_last_of_repeated_headers),
        cmocka_unit_test(test_parse_accepts_255_byte_attributes_and_refuses_longer),
        cmocka_unit_test(test_parse_refuses_a_nul_byte_inside_a_header),
        cmocka_unit_test(test_header_copies_a_value_only_when_it_fits),
    };
    int failed = cmocka_run_group_tests_name("events: headers", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("events: parse of consumed messages", parse_tests,
                                          produce_and_consume, release_messages);
    return failed;
}
