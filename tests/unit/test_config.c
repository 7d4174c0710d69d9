/* Unit tests of shared/config.c: configuration tables read from the
 * environment and the checks they use. */
#include "unit.h"

#include <errno.h>
#include <sys/stat.h>

#include "mdv/config.h"

typedef int (*check_fn)(const char *value, char *err, size_t errlen);

struct row {
    const char *value;
    int valid;
};

static void check_table(const char *what, check_fn check, const struct row *rows, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        char err[256] = "";
        int rc = check(rows[i].value, err, sizeof(err));
        if (rc != (rows[i].valid ? 0 : -1))
            ROW_FAILED(failures, "%s(\"%s\") = %d, expected %s", what, rows[i].value, rc,
                       rows[i].valid ? "valid" : "refused");
        else if (!rows[i].valid && err[0] == '\0')
            ROW_FAILED(failures, "%s(\"%s\") refused without saying why", what, rows[i].value);
    }
    assert_int_equal(failures, 0);
}

/* The variables these tests use, cleared before each so that a value left
 * in the environment (or by an earlier test) cannot leak in. */
static const char *const test_vars[] = {
    "MDV_UNIT_A",
    "MDV_UNIT_B",
    "MDV_UNIT_C",
    "MDV_UNIT_PORT",
    "MDV_UNIT_LEVEL",
    "MDV_KAFKA_BROKERS",
    "MDV_PG_DSN",
    "MDV_HTTP_ADDR",
    "MDV_LOG_LEVEL",
    "MDV_INSTANCE_ID",
    "MDV_DATA_DIR",
    "MDV_SHUTDOWN_TIMEOUT_MS",
    "MDV_CONSUMER_BATCH_SIZE",
    "MDV_CONSUMER_BATCH_WAIT_MS",
    "MDV_PG_POOL_WAIT_MS",
};

static int clear_environment(void **state)
{
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(test_vars); i++)
        unsetenv(test_vars[i]);
    return 0;
}

static void test_load_applies_defaults_when_the_environment_is_silent(void **state)
{
    (void)state;
    const char *a = NULL, *b = NULL;
    const struct mdv_config_var vars[] = {
        {"MDV_UNIT_A", "alpha", NULL, &a, "a"},
        {"MDV_UNIT_B", "0.0.0.0:8080", mdv_check_host_port, &b, "b"},
        {NULL, NULL, NULL, NULL, NULL},
    };
    assert_int_equal(mdv_config_load(vars), 0);
    assert_string_equal(a, "alpha");
    assert_string_equal(b, "0.0.0.0:8080");
}

static void test_load_prefers_the_environment_over_defaults(void **state)
{
    (void)state;
    const char *a = NULL, *b = NULL;
    const struct mdv_config_var vars[] = {
        {"MDV_UNIT_A", "alpha", NULL, &a, "a"},
        {"MDV_UNIT_B", "0.0.0.0:8080", mdv_check_host_port, &b, "b"},
        {NULL, NULL, NULL, NULL, NULL},
    };
    setenv("MDV_UNIT_A", "from-env", 1);
    setenv("MDV_UNIT_B", "127.0.0.1:9090", 1);
    assert_int_equal(mdv_config_load(vars), 0);
    assert_string_equal(a, "from-env");
    assert_string_equal(b, "127.0.0.1:9090");
}

static void test_load_treats_an_empty_variable_as_unset(void **state)
{
    (void)state;
    const char *a = NULL;
    const struct mdv_config_var vars[] = {
        {"MDV_UNIT_A", "alpha", NULL, &a, "a"},
        {NULL, NULL, NULL, NULL, NULL},
    };
    setenv("MDV_UNIT_A", "", 1);
    assert_int_equal(mdv_config_load(vars), 0);
    assert_string_equal(a, "alpha");
}

static void test_load_fails_naming_a_missing_required_variable(void **state)
{
    (void)state;
    const char *a = NULL, *b = NULL;
    const struct mdv_config_var vars[] = {
        {"MDV_UNIT_A", "alpha", NULL, &a, "a"},
        {"MDV_UNIT_B", NULL, NULL, &b, "the thing B"},
        {NULL, NULL, NULL, NULL, NULL},
    };
    struct capture c;
    capture_start(&c);
    int rc = mdv_config_load(vars);
    char *said = capture_end(&c);
    assert_int_equal(rc, -1);
    assert_null(b);
    assert_non_null(strstr(said, "MDV_UNIT_B"));
    free(said);
}

static void test_load_reports_every_bad_variable_not_only_the_first(void **state)
{
    (void)state;
    const char *a = NULL, *port = NULL, *level = NULL, *c_value = NULL;
    const struct mdv_config_var vars[] = {
        {"MDV_UNIT_A", "alpha", NULL, &a, "a"},
        {"MDV_UNIT_PORT", "0.0.0.0:8080", mdv_check_host_port, &port, "listen address"},
        {"MDV_UNIT_LEVEL", "info", mdv_check_log_level, &level, "log level"},
        {"MDV_UNIT_C", NULL, NULL, &c_value, "required"},
        {NULL, NULL, NULL, NULL, NULL},
    };
    setenv("MDV_UNIT_PORT", "nohost", 1);
    setenv("MDV_UNIT_LEVEL", "verbose", 1);
    struct capture c;
    capture_start(&c);
    int rc = mdv_config_load(vars);
    char *said = capture_end(&c);
    assert_int_equal(rc, -1);
    assert_string_equal(a, "alpha"); /* good variables are still loaded */
    assert_non_null(strstr(said, "MDV_UNIT_PORT"));
    assert_non_null(strstr(said, "nohost"));
    assert_non_null(strstr(said, "MDV_UNIT_LEVEL"));
    assert_non_null(strstr(said, "verbose"));
    assert_non_null(strstr(said, "MDV_UNIT_C"));
    assert_null(strstr(said, "MDV_UNIT_A"));
    free(said);
}

static void test_load_checks_a_default_value_too(void **state)
{
    (void)state;
    const char *port = NULL;
    const struct mdv_config_var vars[] = {
        {"MDV_UNIT_PORT", "not-an-address", mdv_check_host_port, &port, "listen address"},
        {NULL, NULL, NULL, NULL, NULL},
    };
    struct capture c;
    capture_start(&c);
    int rc = mdv_config_load(vars);
    char *said = capture_end(&c);
    assert_int_equal(rc, -1);
    free(said);
}

static void test_load_base_requires_brokers_dsn_and_data_dir(void **state)
{
    (void)state;
    struct mdv_base_config base = {0};
    struct capture c;
    capture_start(&c);
    int rc = mdv_config_load_base(&base, "unit", NULL);
    char *said = capture_end(&c);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(said, "MDV_KAFKA_BROKERS"));
    assert_non_null(strstr(said, "MDV_PG_DSN"));
    assert_non_null(strstr(said, "MDV_DATA_DIR"));
    free(said);
}

static void test_load_base_fills_defaults_and_then_the_extra_table(void **state)
{
    (void)state;
    struct mdv_base_config base = {0};
    const char *extra_value = NULL;
    const struct mdv_config_var extra[] = {
        {"MDV_UNIT_A", "extra-default", NULL, &extra_value, "a"},
        {NULL, NULL, NULL, NULL, NULL},
    };
    setenv("MDV_KAFKA_BROKERS", "127.0.0.1:9092", 1);
    setenv("MDV_PG_DSN", "dbname=mdv_unit", 1);
    setenv("MDV_DATA_DIR", ".", 1);
    assert_int_equal(mdv_config_load_base(&base, "unit", extra), 0);
    assert_string_equal(base.kafka_brokers, "127.0.0.1:9092");
    assert_string_equal(base.pg_dsn, "dbname=mdv_unit");
    assert_string_equal(base.http_addr, "0.0.0.0:8080");
    assert_string_equal(base.log_level, "info");
    assert_string_equal(base.shutdown_timeout_ms, "10000");
    assert_string_equal(base.pg_statement_timeout_ms, "5000");
    assert_string_equal(base.pg_pool_wait_ms, "5000");
    assert_string_equal(base.data_dir, ".");
    /* Static group membership: a stable id naming the service. */
    assert_true(strncmp(base.instance_id, "unit-", 5) == 0);
    assert_string_equal(extra_value, "extra-default");
}

static void test_load_base_fails_when_the_extra_table_does(void **state)
{
    (void)state;
    struct mdv_base_config base = {0};
    const char *extra_value = NULL;
    const struct mdv_config_var extra[] = {
        {"MDV_UNIT_A", NULL, NULL, &extra_value, "a"},
        {NULL, NULL, NULL, NULL, NULL},
    };
    setenv("MDV_KAFKA_BROKERS", "127.0.0.1:9092", 1);
    setenv("MDV_PG_DSN", "dbname=mdv_unit", 1);
    setenv("MDV_DATA_DIR", ".", 1);
    struct capture c;
    capture_start(&c);
    int rc = mdv_config_load_base(&base, "unit", extra);
    char *said = capture_end(&c);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(said, "MDV_UNIT_A"));
    free(said);
}

static void test_check_host_port_wants_a_host_and_a_port_from_1_to_65535(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"127.0.0.1:8080", 1},
        {"0.0.0.0:1", 1},
        {"localhost:65535", 1},
        {"kafka-0.kafka:9092", 1},
        {":80", 0},
        {"host", 0},
        {"h:0", 0},
        {"h:70000", 0},
        {"h:65536", 0},
        {"h:12x", 0},
        {"h:", 0},
        {"h:-1", 0},
        {"h: 80", 0},
        {"h:+80", 0},
        {"", 0},
    };
    check_table("mdv_check_host_port", mdv_check_host_port, rows, MDV_ARRAY_LEN(rows));
}

static void test_check_log_level_knows_the_four_levels(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"debug", 1}, {"info", 1},  {"warn", 1},    {"error", 1},
        {"INFO", 0},  {"trace", 0}, {"warning", 0}, {"", 0},
    };
    check_table("mdv_check_log_level", mdv_check_log_level, rows, MDV_ARRAY_LEN(rows));
}

static void test_check_statement_timeout_takes_zero_to_an_hour_of_milliseconds(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"0", 1},  {"5000", 1}, {"3600000", 1}, {"3600001", 0},
        {"-1", 0}, {"5s", 0},   {"", 0},        {"99999999999999999999999", 0},
    };
    check_table("mdv_check_statement_timeout_ms", mdv_check_statement_timeout_ms, rows,
                MDV_ARRAY_LEN(rows));
}

static void test_check_pool_wait_takes_zero_to_an_hour_of_milliseconds(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"0", 1},  {"5000", 1}, {"3600000", 1}, {"3600001", 0},
        {"-1", 0}, {"5s", 0},   {"", 0},        {"99999999999999999999999", 0},
    };
    check_table("mdv_check_pool_wait_ms", mdv_check_pool_wait_ms, rows, MDV_ARRAY_LEN(rows));
}

static void test_check_pool_size_takes_one_to_a_hundred_connections(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"1", 1},  {"4", 1},  {"100", 1}, {"101", 0}, {"0", 0},
        {"-1", 0}, {"4x", 0}, {"", 0},    {" 4", 0},  {"99999999999999999999999", 0},
    };
    check_table("mdv_check_pool_size", mdv_check_pool_size, rows, MDV_ARRAY_LEN(rows));
}

static void test_check_positive_int_refuses_zero_negative_and_trailing_text(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"1", 1},          {"10000", 1},
        {"2147483647", 1}, {"0", 0},
        {"-5", 0},         {"", 0},
        {"12ms", 0},       {"1.5", 0},
        {"abc", 0},        {"99999999999999999999999", 0}, /* overflows long */
    };
    check_table("mdv_check_positive_int", mdv_check_positive_int, rows, MDV_ARRAY_LEN(rows));
}

static void test_check_directory_wants_an_existing_directory(void **state)
{
    (void)state;
    char *dir = make_temp_dir("mdv-unit-config");
    char *file = mdv_xasprintf("%s/file", dir);
    char *missing = mdv_xasprintf("%s/missing", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);

    const struct row rows[] = {
        {dir, 1}, {".", 1}, {file, 0}, {missing, 0}, {"", 0},
    };
    check_table("mdv_check_directory", mdv_check_directory, rows, MDV_ARRAY_LEN(rows));

    unlink(file);
    rmdir(dir);
    free(dir);
    free(file);
    free(missing);
}

static void test_check_readable_file_wants_a_file_it_can_read(void **state)
{
    (void)state;
    char *dir = make_temp_dir("mdv-unit-config");
    char *file = mdv_xasprintf("%s/key.pem", dir);
    char *missing = mdv_xasprintf("%s/missing.pem", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);

    const struct row rows[] = {{file, 1}, {missing, 0}};
    check_table("mdv_check_readable_file", mdv_check_readable_file, rows, MDV_ARRAY_LEN(rows));

    unlink(file);
    rmdir(dir);
    free(dir);
    free(file);
    free(missing);
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup(f, clear_environment)
    const struct CMUnitTest tests[] = {
        TEST(test_load_applies_defaults_when_the_environment_is_silent),
        TEST(test_load_prefers_the_environment_over_defaults),
        TEST(test_load_treats_an_empty_variable_as_unset),
        TEST(test_load_fails_naming_a_missing_required_variable),
        TEST(test_load_reports_every_bad_variable_not_only_the_first),
        TEST(test_load_checks_a_default_value_too),
        TEST(test_load_base_requires_brokers_dsn_and_data_dir),
        TEST(test_load_base_fills_defaults_and_then_the_extra_table),
        TEST(test_load_base_fails_when_the_extra_table_does),
        TEST(test_check_host_port_wants_a_host_and_a_port_from_1_to_65535),
        TEST(test_check_log_level_knows_the_four_levels),
        TEST(test_check_statement_timeout_takes_zero_to_an_hour_of_milliseconds),
        TEST(test_check_pool_wait_takes_zero_to_an_hour_of_milliseconds),
        TEST(test_check_pool_size_takes_one_to_a_hundred_connections),
        TEST(test_check_positive_int_refuses_zero_negative_and_trailing_text),
        TEST(test_check_directory_wants_an_existing_directory),
        TEST(test_check_readable_file_wants_a_file_it_can_read),
    };
#undef TEST
    return cmocka_run_group_tests_name("config", tests, NULL, clear_environment);
}
