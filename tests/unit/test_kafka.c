/* Unit tests of shared/kafka.c: MDV_KAFKA_* passed through to librdkafka,
 * the settings DESIGN.md §10 requires, and the synchronous produce, against
 * librdkafka's in-process mock cluster (no broker needed). */
#include "mock_kafka.h"

#include <dlfcn.h>

#include "mdv/kafka.h"
#include "mdv/util.h"

#define TOPIC "mdv.unit.events.v1"
#define MISSING_TOPIC "mdv.unit.missing.v1" /* the broker says it does not exist */

/* Nothing listens there: creating a client does not need a broker. */
#define NO_BROKER "127.0.0.1:1"

static int clear_kafka_environment(void **state)
{
    (void)state;
    unset_kafka_environment();
    return 0;
}

/* A property of a client's configuration, as librdkafka reports it. */
static void conf_value(rd_kafka_t *rk, const char *name, char *out, size_t outlen)
{
    size_t size = outlen;
    assert_int_equal(rd_kafka_conf_get(rd_kafka_conf(rk), name, out, &size), RD_KAFKA_CONF_OK);
}

/* A setting shared/kafka.c makes: the value librdkafka reports once it is
 * made, and another value the configuration starts from in the test. */
struct setting {
    const char *name, *want, *start;
};

/* acks=all, enable.auto.commit=true and partition.assignment.strategy=
 * range,roundrobin are librdkafka 2.0.2's own defaults, so reading them
 * back from a client proves nothing. While start_settings is set, every
 * configuration this program creates (shared/kafka.c's included) starts
 * from the table's start values instead: a setting kafka.c stops making
 * then shows as the start value, not as a default that happens to match. */
static const struct setting *start_settings;
static size_t start_count;

rd_kafka_conf_t *rd_kafka_conf_new(void)
{
    static rd_kafka_conf_t *(*real_conf_new)(void);
    if (!real_conf_new)
        *(void **)&real_conf_new = dlsym(RTLD_NEXT, "rd_kafka_conf_new");
    rd_kafka_conf_t *conf = real_conf_new();
    for (size_t i = 0; i < start_count; i++) {
        char errstr[512];
        if (rd_kafka_conf_set(conf, start_settings[i].name, start_settings[i].start, errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK)
            fail_msg("%s=%s refused: %s", start_settings[i].name, start_settings[i].start, errstr);
    }
    return conf;
}

/* Counts (and prints) every setting of the table the client does not have. */
static int missing_settings(rd_kafka_t *rk, const struct setting *table, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        char value[256] = "";
        size_t size = sizeof(value);
        if (strcmp(table[i].want, table[i].start) == 0)
            ROW_FAILED(failures, "%s: the start value must differ from %s", table[i].name,
                       table[i].want);
        else if (rd_kafka_conf_get(rd_kafka_conf(rk), table[i].name, value, &size) !=
                 RD_KAFKA_CONF_OK)
            ROW_FAILED(failures, "%s: unknown to librdkafka", table[i].name);
        else if (strcmp(value, table[i].want) != 0)
            ROW_FAILED(failures, "%s = \"%s\", expected \"%s\" (not set by shared/kafka.c?)",
                       table[i].name, value, table[i].want);
    }
    return failures;
}

/* clang-format off */
static const struct setting producer_settings[] = {
    {"enable.idempotence",   "true",  "false"},
    {"acks",                 "-1",    "1"}, /* all */
    {"socket.nagle.disable", "true",  "false"},
    {"linger.ms",            "5",     "200"},
    {"message.timeout.ms",   "30000", "300000"},
};

static const struct setting consumer_settings[] = {
    {"enable.auto.commit",            "true",             "false"},
    {"enable.auto.offset.store",      "false",            "true"},
    {"auto.offset.reset",             "smallest",         "largest"}, /* earliest */
    {"partition.assignment.strategy", "range,roundrobin", "cooperative-sticky"},
    {"auto.commit.interval.ms",       "1000",             "5000"},
    {"session.timeout.ms",            "10000",            "45000"},
    {"socket.nagle.disable",          "true",             "false"},
    {"statistics.interval.ms",        "5000",             "0"},
    {"fetch.wait.max.ms",             "2000",             "500"},
};
/* clang-format on */

static void test_property_from_env_lowers_and_dots_the_name(void **state)
{
    (void)state;
    static const struct {
        const char *env, *property;
    } rows[] = {
        {"MDV_KAFKA_SECURITY_PROTOCOL", "security.protocol"},
        {"MDV_KAFKA_SASL_MECHANISMS", "sasl.mechanisms"},
        {"MDV_KAFKA_SSL_CA_LOCATION", "ssl.ca.location"},
        {"MDV_KAFKA_LINGER_MS", "linger.ms"},
        {"MDV_KAFKA_DEBUG", "debug"},
    };
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char out[256] = "";
        int rc = mdv_kafka_property_from_env(rows[i].env, out, sizeof(out));
        if (rc != 0 || strcmp(out, rows[i].property) != 0)
            ROW_FAILED(failures, "mdv_kafka_property_from_env(\"%s\") = %d \"%s\", expected \"%s\"",
                       rows[i].env, rc, out, rows[i].property);
    }
    assert_int_equal(failures, 0);
}

static void test_property_from_env_refuses_other_variables_and_brokers(void **state)
{
    (void)state;
    static const char *const rows[] = {
        "MDV_KAFKA_BROKERS", /* bootstrap.servers, set by the code */
        "OTHER_X",           "MDV_PG_DSN",          "MDV_KAFKA_", /* no property */
        "MDV_KAFKA",         "mdv_kafka_linger_ms", "",
    };
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char out[256] = "";
        if (mdv_kafka_property_from_env(rows[i], out, sizeof(out)) != -1)
            ROW_FAILED(failures, "mdv_kafka_property_from_env(\"%s\") accepted: \"%s\"", rows[i],
                       out);
    }
    assert_int_equal(failures, 0);
}

/* Regression (shared/kafka.c mdv_kafka_property_from_env): when out is
 * too small the property name is cut short and 0 is returned, so a caller
 * would pass "securit" to librdkafka instead of being told. */
static void test_property_from_env_refuses_rather_than_truncates(void **state)
{
    (void)state;
    char out[8] = "";
    int rc = mdv_kafka_property_from_env("MDV_KAFKA_SECURITY_PROTOCOL", out, sizeof(out));
    if (rc == 0)
        print_error("mdv_kafka_property_from_env into 8 bytes = 0 \"%s\", expected -1\n", out);
    assert_int_equal(rc, -1);
}

static void test_producer_makes_every_setting_of_design_section_10_and_needs_no_broker(void **state)
{
    (void)state;
    char value[64];
    start_settings = producer_settings;
    start_count = MDV_ARRAY_LEN(producer_settings);
    rd_kafka_t *rk = mdv_kafka_producer_new(NO_BROKER);
    start_settings = NULL;
    start_count = 0;
    if (!rk) /* with acks=1, enable.idempotence=true is refused (its log line says so) */
        fail_msg("mdv_kafka_producer_new failed from the start values");
    int failures = missing_settings(rk, producer_settings, MDV_ARRAY_LEN(producer_settings));
    conf_value(rk, "bootstrap.servers", value, sizeof(value));
    rd_kafka_destroy(rk);
    assert_string_equal(value, NO_BROKER);
    assert_int_equal(failures, 0);
}

static void test_producer_takes_mdv_kafka_variables_over_its_defaults(void **state)
{
    (void)state;
    char value[64];
    setenv("MDV_KAFKA_LINGER_MS", "50", 1);
    setenv("MDV_KAFKA_CLIENT_ID", "mdv-unit", 1);
    rd_kafka_t *rk = mdv_kafka_producer_new(NO_BROKER);
    assert_non_null(rk);
    conf_value(rk, "linger.ms", value, sizeof(value));
    assert_string_equal(value, "50");
    conf_value(rk, "client.id", value, sizeof(value));
    assert_string_equal(value, "mdv-unit");
    rd_kafka_destroy(rk);
}

static void test_producer_is_refused_with_a_bad_property_value_naming_it(void **state)
{
    (void)state;
    setenv("MDV_KAFKA_SECURITY_PROTOCOL", "carrier-pigeon", 1);
    struct capture c;
    capture_start(&c);
    rd_kafka_t *rk = mdv_kafka_producer_new(NO_BROKER);
    char *said = capture_end(&c);
    if (rk)
        rd_kafka_destroy(rk);
    assert_null(rk);
    assert_non_null(strstr(said, "security.protocol"));
    free(said);
}

static void test_producer_is_refused_with_an_unknown_property(void **state)
{
    (void)state;
    setenv("MDV_KAFKA_NO_SUCH_PROPERTY", "1", 1);
    struct capture c;
    capture_start(&c);
    rd_kafka_t *rk = mdv_kafka_producer_new(NO_BROKER);
    char *said = capture_end(&c);
    if (rk)
        rd_kafka_destroy(rk);
    assert_null(rk);
    assert_non_null(strstr(said, "no.such.property"));
    free(said);
}

static void test_producer_ignores_mdv_kafka_brokers_in_the_environment(void **state)
{
    (void)state;
    char value[64];
    setenv("MDV_KAFKA_BROKERS", "elsewhere:9092", 1);
    rd_kafka_t *rk = mdv_kafka_producer_new(NO_BROKER);
    assert_non_null(rk);
    conf_value(rk, "bootstrap.servers", value, sizeof(value));
    assert_string_equal(value, NO_BROKER);
    rd_kafka_destroy(rk);
}

static void test_consumer_makes_every_setting_of_design_section_10(void **state)
{
    struct mock_kafka *mk = *state;
    static const char *const topics[] = {TOPIC, NULL};
    char group[64], instance[64];
    start_settings = consumer_settings;
    start_count = MDV_ARRAY_LEN(consumer_settings);
    rd_kafka_t *rk = mdv_kafka_consumer_new(mk->bootstraps, "mdv-unit", "mdv-unit-1", topics);
    start_settings = NULL;
    start_count = 0;
    if (!rk)
        fail_msg("mdv_kafka_consumer_new failed from the start values");
    int failures = missing_settings(rk, consumer_settings, MDV_ARRAY_LEN(consumer_settings));
    conf_value(rk, "group.id", group, sizeof(group));
    conf_value(rk, "group.instance.id", instance, sizeof(instance));
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    assert_string_equal(group, "mdv-unit");
    assert_string_equal(instance, "mdv-unit-1");
    assert_int_equal(failures, 0);
}

static void test_consumer_is_refused_with_a_bad_property_value(void **state)
{
    struct mock_kafka *mk = *state;
    static const char *const topics[] = {TOPIC, NULL};
    setenv("MDV_KAFKA_SESSION_TIMEOUT_MS", "soon", 1);
    struct capture c;
    capture_start(&c);
    rd_kafka_t *rk = mdv_kafka_consumer_new(mk->bootstraps, "mdv-unit", "mdv-unit-1", topics);
    char *said = capture_end(&c);
    if (rk)
        rd_kafka_destroy(rk);
    assert_null(rk);
    assert_non_null(strstr(said, "session.timeout.ms"));
    free(said);
}

static void test_reachable_is_1_with_a_broker_and_0_without(void **state)
{
    struct mock_kafka *mk = *state;
    rd_kafka_t *rk = mdv_kafka_producer_new(mk->bootstraps);
    assert_non_null(rk);
    assert_int_equal(mdv_kafka_reachable(rk, 5000), 1);
    rd_kafka_destroy(rk);

    rk = mdv_kafka_producer_new(NO_BROKER);
    assert_non_null(rk);
    assert_int_equal(mdv_kafka_reachable(rk, 300), 0);
    rd_kafka_destroy(rk);
}

static void test_produce_sync_returns_0_once_the_broker_acknowledged(void **state)
{
    struct mock_kafka *mk = *state;
    rd_kafka_t *rk = mdv_kafka_producer_new(mk->bootstraps);
    assert_non_null(rk);
    rd_kafka_headers_t *headers = rd_kafka_headers_new(1);
    rd_kafka_header_add(headers, "ce_id", -1, "1", -1);
    assert_int_equal(mdv_kafka_produce_sync(rk, TOPIC, "k", 1, "v", 1, headers, 10000), 0);
    assert_int_equal(rd_kafka_outq_len(rk), 0);
    rd_kafka_destroy(rk);
}

/* A producer that fails a message to a missing topic after a second
 * rather than auto-creating it or waiting 30 s for it to appear, and that
 * reconnects quickly to a broker back up. */
static rd_kafka_t *strict_producer(const char *brokers)
{
    setenv("MDV_KAFKA_ALLOW_AUTO_CREATE_TOPICS", "false", 1);
    setenv("MDV_KAFKA_TOPIC_METADATA_PROPAGATION_MAX_MS", "1000", 1);
    setenv("MDV_KAFKA_RECONNECT_BACKOFF_MS", "10", 1);
    setenv("MDV_KAFKA_RECONNECT_BACKOFF_MAX_MS", "50", 1);
    rd_kafka_t *rk = mdv_kafka_producer_new(brokers);
    assert_non_null(rk);
    return rk;
}

static void test_produce_sync_returns_minus_1_when_the_broker_refuses(void **state)
{
    struct mock_kafka *mk = *state;
    rd_kafka_t *rk = strict_producer(mk->bootstraps);
    double start = mdv_monotonic_seconds();
    assert_int_equal(mdv_kafka_produce_sync(rk, MISSING_TOPIC, "k", 1, "v", 1, NULL, 20000), -1);
    assert_true(mdv_monotonic_seconds() - start < 10.0); /* refused, not timed out */
    rd_kafka_destroy(rk);
}

static void test_produce_sync_returns_minus_1_when_no_broker_answers_in_time(void **state)
{
    (void)state;
    rd_kafka_t *rk = mdv_kafka_producer_new(NO_BROKER);
    assert_non_null(rk);
    double start = mdv_monotonic_seconds();
    assert_int_equal(mdv_kafka_produce_sync(rk, TOPIC, "k", 1, "v", 1, NULL, 300), -1);
    assert_true(mdv_monotonic_seconds() - start < 5.0);
    /* No poll after this: the queued message's report would be written
     * into produce_sync's finished frame (see the BUG test below). */
    rd_kafka_destroy(rk);
}

/* Not inlined, so that both calls below put produce_sync's frame at the
 * same address, as two calls from one service loop do. */
__attribute__((noinline)) static int produce_once(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
    return mdv_kafka_produce_sync(rk, topic, "k", 1, "v", 1, NULL, timeout_ms);
}

/* Regression (shared/kafka.c mdv_kafka_produce_sync): the message's
 * opaque is a struct mdv_delivery on produce_sync's stack. When the wait
 * times out the message stays queued, and its delivery report, served by
 * a later rd_kafka_poll (the next produce_sync, or the flush at shutdown),
 * writes into a stack frame that is gone: here the frame of the next
 * call, which then takes the earlier message's acknowledgement for its
 * own and returns 0 for a message the broker refused. */
static void test_produce_sync_never_takes_an_earlier_messages_report_for_its_own(void **state)
{
    struct mock_kafka *mk = *state;
    rd_kafka_t *rk = strict_producer(mk->bootstraps);
    assert_int_equal(mdv_kafka_reachable(rk, 5000), 1);

    rd_kafka_mock_broker_set_down(mk->mcluster, 1);
    int first = produce_once(rk, TOPIC, 300); /* times out, stays queued */
    rd_kafka_mock_broker_set_up(mk->mcluster, 1);
    /* The first message is delivered within milliseconds; this one is
     * refused a second later (no such topic). */
    int second = produce_once(rk, MISSING_TOPIC, 20000);

    rd_kafka_destroy(rk); /* no flush: it would serve reports into dead frames */
    assert_int_equal(first, -1);
    assert_int_equal(second, -1);
}

static int start_mock(void **state)
{
    static struct mock_kafka mk;
    unset_kafka_environment();
    mock_kafka_start(&mk);
    if (rd_kafka_mock_topic_create(mk.mcluster, TOPIC, 1, 1))
        return -1;
    rd_kafka_mock_topic_set_error(mk.mcluster, MISSING_TOPIC,
                                  RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    *state = &mk;
    return 0;
}

static int stop_mock(void **state)
{
    mock_kafka_stop(*state);
    return 0;
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup(f, clear_kafka_environment)
    const struct CMUnitTest tests[] = {
        TEST(test_property_from_env_lowers_and_dots_the_name),
        TEST(test_property_from_env_refuses_other_variables_and_brokers),
        TEST(test_property_from_env_refuses_rather_than_truncates),
        TEST(test_producer_makes_every_setting_of_design_section_10_and_needs_no_broker),
        TEST(test_producer_takes_mdv_kafka_variables_over_its_defaults),
        TEST(test_producer_is_refused_with_a_bad_property_value_naming_it),
        TEST(test_producer_is_refused_with_an_unknown_property),
        TEST(test_producer_ignores_mdv_kafka_brokers_in_the_environment),
        TEST(test_consumer_makes_every_setting_of_design_section_10),
        TEST(test_consumer_is_refused_with_a_bad_property_value),
        TEST(test_reachable_is_1_with_a_broker_and_0_without),
        TEST(test_produce_sync_returns_0_once_the_broker_acknowledged),
        TEST(test_produce_sync_returns_minus_1_when_the_broker_refuses),
        TEST(test_produce_sync_returns_minus_1_when_no_broker_answers_in_time),
        TEST(test_produce_sync_never_takes_an_earlier_messages_report_for_its_own),
    };
#undef TEST
    return cmocka_run_group_tests_name("kafka", tests, start_mock, stop_mock);
}
