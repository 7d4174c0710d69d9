/* Unit tests of shared/log.c: one JSON object a line on stderr, with the
 * message's context, and nothing evaluated below the level. */
#include "unit.h"

#include <jansson.h>

#include "mdv/log.h"
#include "mdv/util.h"

static int restore_level(void **state)
{
    (void)state;
    mdv_log_init("unit", MDV_LOG_DEBUG);
    return 0;
}

/* Runs emit through a capture of stderr and parses the one line. */
static json_t *emitted_line(enum mdv_log_level level, const struct mdv_log_ctx *ctx,
                            const char *message)
{
    struct capture c;
    capture_start(&c);
    mdv_log_emit(level, ctx, "%s", message);
    char *said = capture_end(&c);
    size_t len = strlen(said);
    assert_true(len > 0);
    assert_int_equal(said[len - 1], '\n');
    assert_ptr_equal(strchr(said, '\n'), said + len - 1); /* one line */
    json_t *line = json_loads(said, 0, NULL);
    free(said);
    assert_non_null(line);
    return line;
}

static const char *field(const json_t *line, const char *name)
{
    return json_string_value(json_object_get(line, name));
}

static void test_parse_level_knows_the_four_names_only(void **state)
{
    (void)state;
    assert_int_equal(mdv_log_parse_level("debug"), MDV_LOG_DEBUG);
    assert_int_equal(mdv_log_parse_level("info"), MDV_LOG_INFO);
    assert_int_equal(mdv_log_parse_level("warn"), MDV_LOG_WARN);
    assert_int_equal(mdv_log_parse_level("error"), MDV_LOG_ERROR);
    assert_int_equal(mdv_log_parse_level("WARN"), -1);
    assert_int_equal(mdv_log_parse_level("fatal"), -1);
    assert_int_equal(mdv_log_parse_level(""), -1);
    assert_int_equal(mdv_log_parse_level(NULL), -1);
}

static void test_line_is_json_with_time_level_service_and_message(void **state)
{
    (void)state;
    json_t *line = emitted_line(MDV_LOG_WARN, NULL, "database slow");
    assert_string_equal(field(line, "level"), "warn");
    assert_string_equal(field(line, "service"), "unit");
    assert_string_equal(field(line, "message"), "database slow");
    assert_int_equal(strlen(field(line, "time")), strlen("2026-11-23T14:27:09.123456Z"));
    assert_null(json_object_get(line, "topic"));
    json_decref(line);
}

static void test_line_carries_the_message_context(void **state)
{
    (void)state;
    const struct mdv_log_ctx ctx = {"journey-1", "event-2", "mdv.identity.events.v1", 3, 42};
    json_t *line = emitted_line(MDV_LOG_ERROR, &ctx, "failed");
    assert_string_equal(field(line, "journey_id"), "journey-1");
    assert_string_equal(field(line, "ce_id"), "event-2");
    assert_string_equal(field(line, "topic"), "mdv.identity.events.v1");
    assert_int_equal(json_integer_value(json_object_get(line, "partition")), 3);
    assert_int_equal(json_integer_value(json_object_get(line, "offset")), 42);
    json_decref(line);
}

static void test_line_leaves_out_empty_context_fields(void **state)
{
    (void)state;
    const struct mdv_log_ctx ctx = {"", NULL, NULL, 0, 0};
    json_t *line = emitted_line(MDV_LOG_INFO, &ctx, "no context");
    assert_null(json_object_get(line, "journey_id"));
    assert_null(json_object_get(line, "ce_id"));
    assert_null(json_object_get(line, "topic"));
    assert_null(json_object_get(line, "partition"));
    json_decref(line);
}

static void test_usager_input_cannot_break_the_line(void **state)
{
    (void)state;
    const char *input = "Hélène\"}\n{\"level\":\"error\"";
    json_t *line = emitted_line(MDV_LOG_INFO, NULL, input);
    assert_string_equal(field(line, "message"), input);
    json_decref(line);
}

static void test_message_not_utf8_is_replaced_not_dropped(void **state)
{
    (void)state;
    json_t *line = emitted_line(MDV_LOG_INFO, NULL, "H\xe9l\xe8ne");
    assert_non_null(field(line, "message"));
    assert_non_null(strstr(field(line, "message"), "not UTF-8"));
    json_decref(line);
}

static int evaluations;

static const char *counted(void)
{
    evaluations++;
    return "x";
}

static void test_arguments_are_not_evaluated_below_the_level(void **state)
{
    (void)state;
    mdv_log_init("unit", MDV_LOG_WARN);
    evaluations = 0;
    struct capture c;
    capture_start(&c);
    mdv_debug("%s", counted());
    mdv_info("%s", counted());
    mdv_warn("%s", counted());
    mdv_error("%s", counted());
    char *said = capture_end(&c);
    assert_int_equal(evaluations, 2);
    assert_int_equal(count_occurrences(said, "\n"), 2);
    assert_null(strstr(said, "\"level\":\"debug\""));
    assert_null(strstr(said, "\"level\":\"info\""));
    free(said);
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup(f, restore_level)
    const struct CMUnitTest tests[] = {
        TEST(test_parse_level_knows_the_four_names_only),
        TEST(test_line_is_json_with_time_level_service_and_message),
        TEST(test_line_carries_the_message_context),
        TEST(test_line_leaves_out_empty_context_fields),
        TEST(test_usager_input_cannot_break_the_line),
        TEST(test_message_not_utf8_is_replaced_not_dropped),
        TEST(test_arguments_are_not_evaluated_below_the_level),
    };
#undef TEST
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
