/* Unit tests of shared/service.c for the steps that need no server:
 * start-up configuration, the HTTP endpoints and readiness when nothing
 * is reachable, closing a partly started service, and the outcome
 * helpers. */
#include "http_client.h"
#include "mock_kafka.h"

#include "mdv/pivot.h"
#include "mdv/service.h"
#include "mdv/validate.h"

#define NO_DATABASE "host=127.0.0.1 port=1 dbname=mdv_unit connect_timeout=2"

static const char *const base_vars[] = {
    "MDV_KAFKA_BROKERS", "MDV_PG_DSN",   "MDV_HTTP_ADDR",           "MDV_LOG_LEVEL",
    "MDV_INSTANCE_ID",   "MDV_DATA_DIR", "MDV_SHUTDOWN_TIMEOUT_MS", "MDV_UNIT_EXTRA",
};

static int clear_environment(void **state)
{
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(base_vars); i++)
        unsetenv(base_vars[i]);
    unset_kafka_environment();
    return 0;
}

static void set_good_environment(const char *http_addr)
{
    setenv("MDV_KAFKA_BROKERS", "127.0.0.1:1", 1);
    setenv("MDV_PG_DSN", NO_DATABASE, 1);
    setenv("MDV_DATA_DIR", ".", 1);
    setenv("MDV_LOG_LEVEL", "warn", 1);
    if (http_addr)
        setenv("MDV_HTTP_ADDR", http_addr, 1);
}

static void test_init_refuses_a_bad_configuration_naming_it(void **state)
{
    (void)state;
    struct mdv_service svc;
    set_good_environment("nohost");
    struct capture c;
    capture_start(&c);
    int rc = mdv_service_init(&svc, "unit", NULL);
    char *said = capture_end(&c);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(said, "MDV_HTTP_ADDR"));
    free(said);
}

static void test_init_loads_the_extra_table_and_sets_the_utf8_locale(void **state)
{
    (void)state;
    struct mdv_service svc;
    const char *extra_value = NULL;
    const struct mdv_config_var extra[] = {
        {"MDV_UNIT_EXTRA", "extra", NULL, &extra_value, "a service setting"},
        {NULL, NULL, NULL, NULL, NULL},
    };
    set_good_environment(NULL);
    assert_int_equal(mdv_service_init(&svc, "unit", extra), 0);
    assert_string_equal(svc.name, "unit");
    assert_string_equal(svc.config.pg_dsn, NO_DATABASE);
    assert_string_equal(extra_value, "extra");
    assert_int_equal(mdv_log_min_level, MDV_LOG_WARN);
    /* What the locale is for: Unicode names. */
    char folded[32];
    assert_null(mdv_validate_name("Hélène"));
    assert_int_equal(mdv_pivot_fold("Hélène", folded, sizeof(folded)), 0);
    assert_string_equal(folded, "HELENE");
    mdv_service_close(&svc); /* nothing started: nothing to stop */
}

/* Starts the service's HTTP endpoints on a free port; returns the port. */
static unsigned short start_http(struct mdv_service *svc, const struct mdv_http_route *routes,
                                 void *ctx)
{
    char addr[64];
    unsigned short port = 0;
    int started = -1;
    for (int attempt = 0; attempt < 10 && started != 0; attempt++) {
        port = free_port();
        snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
        set_good_environment(addr);
        assert_int_equal(mdv_service_init(svc, "unit", NULL), 0);
        started = mdv_service_start_http(svc, routes, ctx);
        if (started != 0)
            mdv_service_close(svc);
    }
    assert_int_equal(started, 0);
    return port;
}

static void test_readyz_is_503_naming_what_is_unreachable(void **state)
{
    (void)state;
    struct mdv_service svc;
    unsigned short port = start_http(&svc, NULL, NULL);

    struct reply r = get(port, "/readyz");
    assert_int_equal(r.status, 503);
    json_t *checks = json_object_get(r.json, "checks");
    assert_string_equal(json_string_value(json_object_get(checks, "database")), "unreachable");
    assert_string_equal(json_string_value(json_object_get(checks, "broker")), "unreachable");
    reply_free(&r);

    r = get(port, "/healthz");
    assert_int_equal(r.status, 200);
    reply_free(&r);

    double start = mdv_monotonic_seconds();
    mdv_service_close(&svc);
    assert_true(mdv_monotonic_seconds() - start < 10.0);
}

/* A service's own context (say struct gateway) reaches its handlers
 * whatever its layout: the runtime does not pass its struct mdv_service. */
static void echo_ctx(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    (void)req;
    mdv_http_json(res, 200, json_pack("{s:s}", "ctx", (const char *)ctx));
}

static void test_handlers_get_the_context_given_to_start_http(void **state)
{
    (void)state;
    static const struct mdv_http_route routes[] = {
        {"GET", "/v1/ctx", "GET /v1/ctx", echo_ctx},
        {NULL, NULL, NULL, NULL},
    };
    static char service_ctx[] = "the service's own";
    struct mdv_service svc;
    unsigned short port = start_http(&svc, routes, service_ctx);
    struct reply r = get(port, "/v1/ctx");
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "ctx")), service_ctx);
    reply_free(&r);
    mdv_service_close(&svc);
}

static const char *producer_check(unsigned short port)
{
    static char value[300];
    struct reply r = get(port, "/readyz");
    assert_int_equal(r.status, 503); /* no database, no broker here */
    const char *v =
        json_string_value(json_object_get(json_object_get(r.json, "checks"), "producer"));
    assert_non_null(v);
    mdv_strlcpy(value, v, sizeof(value));
    reply_free(&r);
    return value;
}

/* After a broker restart an idempotent producer can turn fatal for good;
 * the dead letters go through mdv_service_producer, which must replace it
 * (else one undecodable message would hold its partition for ever), and
 * /readyz must say so meanwhile. */
static void test_a_fatal_producer_shows_on_readyz_and_is_replaced(void **state)
{
    (void)state;
    struct mdv_service svc;
    unsigned short port = start_http(&svc, NULL, NULL);
    assert_string_equal(producer_check(port), "ok");

    struct capture c;
    capture_start(&c);
    assert_int_equal(rd_kafka_test_fatal_error(svc.producer,
                                               RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                               "unit test fatal error"),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_non_null(strstr(producer_check(port), "unit test fatal error"));

    rd_kafka_t *rk = mdv_service_producer(&svc);
    char *said = capture_end(&c);
    char errstr[128];
    assert_non_null(rk);
    assert_int_equal(rd_kafka_fatal_error(rk, errstr, sizeof(errstr)), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_non_null(strstr(said, "creating a new producer"));
    assert_string_equal(producer_check(port), "ok");
    free(said);
    mdv_service_close(&svc);
}

static void test_reject_keeps_the_reason_and_is_permanent(void **state)
{
    (void)state;
    struct mdv_msg msg = {0};
    assert_int_equal(mdv_msg_reject(&msg, "field %s: %s", "sex", "must be M or F"), MDV_PERMANENT);
    assert_string_equal(msg.error, "field sex: must be M or F");

    char long_reason[600];
    memset(long_reason, 'x', sizeof(long_reason) - 1);
    long_reason[sizeof(long_reason) - 1] = '\0';
    assert_int_equal(mdv_msg_reject(&msg, "%s", long_reason), MDV_PERMANENT);
    assert_int_equal(strlen(msg.error), sizeof(msg.error) - 1); /* cut, terminated */
}

static void test_lost_database_is_a_transient_outcome(void **state)
{
    (void)state;
    struct mdv_msg msg = {0};
    msg.conn = PQconnectdb(NO_DATABASE);
    assert_int_equal(mdv_msg_db_failure(&msg), MDV_TRANSIENT);
    assert_string_equal(msg.error, "");
    PQfinish(msg.conn);
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup(f, clear_environment)
    const struct CMUnitTest tests[] = {
        TEST(test_init_refuses_a_bad_configuration_naming_it),
        TEST(test_init_loads_the_extra_table_and_sets_the_utf8_locale),
        TEST(test_readyz_is_503_naming_what_is_unreachable),
        TEST(test_handlers_get_the_context_given_to_start_http),
        TEST(test_a_fatal_producer_shows_on_readyz_and_is_replaced),
        TEST(test_reject_keeps_the_reason_and_is_permanent),
        TEST(test_lost_database_is_a_transient_outcome),
    };
#undef TEST
    return cmocka_run_group_tests_name("service (no server)", tests, NULL, clear_environment);
}
