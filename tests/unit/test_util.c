/* Unit tests of shared/util.c: UUIDs, RFC 3339 times, bounded copies and
 * the allocation helpers. */
#include "unit.h"

#include <ctype.h>
#include <time.h>

#include "mdv/util.h"

static void test_uuid_new_gives_valid_lower_case_version_4_uuids(void **state)
{
    (void)state;
    for (int i = 0; i < 100; i++) {
        char id[MDV_UUID_LEN];
        mdv_uuid_new(id);
        assert_int_equal(strlen(id), 36);
        assert_true(mdv_uuid_valid(id));
        assert_int_equal(id[14], '4');           /* version 4 */
        assert_non_null(strchr("89ab", id[19])); /* RFC 4122 variant */
        for (int j = 0; j < 36; j++)
            assert_false(isupper((unsigned char)id[j]));
    }
}

static void test_uuid_new_gives_a_different_uuid_each_time(void **state)
{
    (void)state;
    enum { N = 200 };
    static char ids[N][MDV_UUID_LEN];
    for (int i = 0; i < N; i++)
        mdv_uuid_new(ids[i]);
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            assert_string_not_equal(ids[i], ids[j]);
}

static void test_uuid_valid_accepts_only_the_canonical_form(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int valid;
    } rows[] = {
        {"123e4567-e89b-12d3-a456-426614174000", 1},
        {"00000000-0000-0000-0000-000000000000", 1},
        {"123E4567-E89B-12D3-A456-426614174000", 1}, /* any case */
        {"123e4567e89b12d3a456426614174000", 0},     /* no dashes */
        {"{123e4567-e89b-12d3-a456-426614174000}", 0},
        {"123e4567-e89b-12d3-a456-42661417400", 0},   /* too short */
        {"123e4567-e89b-12d3-a456-4266141740000", 0}, /* too long */
        {"123e4567-e89b-12d3-a456_426614174000", 0},
        {"123e4567-e89b-12d3-a456-42661417400g", 0},
        {"123e4567--89b-12d3-a456-426614174000", 0},
        {"", 0},
        {NULL, 0},
    };
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++)
        if (mdv_uuid_valid(rows[i].s) != rows[i].valid)
            ROW_FAILED(failures, "mdv_uuid_valid(\"%s\") != %d", rows[i].s ? rows[i].s : "(null)",
                       rows[i].valid);
    assert_int_equal(failures, 0);
}

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ": digits where the pattern says 9. */
static int matches(const char *s, const char *pattern)
{
    if (strlen(s) != strlen(pattern))
        return 0;
    for (size_t i = 0; pattern[i]; i++)
        if (pattern[i] == '9' ? !isdigit((unsigned char)s[i]) : s[i] != pattern[i])
            return 0;
    return 1;
}

static void test_time_now_is_rfc3339_utc_with_microseconds(void **state)
{
    (void)state;
    char now[MDV_TIME_LEN];
    /* The bounds from the clock mdv_time_now reads: time() reads a coarse
     * clock that can lag CLOCK_REALTIME by a tick, across a second. */
    struct timespec before_ts, after_ts;
    clock_gettime(CLOCK_REALTIME, &before_ts);
    mdv_time_now(now);
    clock_gettime(CLOCK_REALTIME, &after_ts);
    time_t before = before_ts.tv_sec, after = after_ts.tv_sec;

    if (!matches(now, "9999-99-99T99:99:99.999999Z"))
        fail_msg("mdv_time_now gave \"%s\"", now);
    struct tm tm = {0};
    assert_non_null(strptime(now, "%Y-%m-%dT%H:%M:%S", &tm));
    time_t t = timegm(&tm);
    assert_true(t >= before && t <= after);
}

static void test_time_plus_days_adds_whole_days_in_utc(void **state)
{
    (void)state;
    static const struct {
        time_t t;
        int days;
        const char *expected;
    } rows[] = {
        {0, 0, "1970-01-01T00:00:00Z"},
        {0, 1, "1970-01-02T00:00:00Z"},
        {1709164800, 1, "2024-03-01T00:00:00Z"}, /* 2024-02-29 + 1 */
        {1709164800, 365, "2025-02-28T00:00:00Z"},
        {1700000000, 30, "2023-12-14T22:13:20Z"},
        {1700000000, -30, "2023-10-15T22:13:20Z"},
    };
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char out[MDV_TIME_LEN];
        mdv_time_plus_days(rows[i].t, rows[i].days, out);
        if (strcmp(out, rows[i].expected) != 0)
            ROW_FAILED(failures, "mdv_time_plus_days(%lld, %d) = \"%s\", expected \"%s\"",
                       (long long)rows[i].t, rows[i].days, out, rows[i].expected);
    }
    assert_int_equal(failures, 0);
}

static void test_strlcpy_truncates_terminates_and_returns_the_source_length(void **state)
{
    (void)state;
    char buf[8];

    memset(buf, 'x', sizeof(buf));
    assert_int_equal(mdv_strlcpy(buf, "abc", sizeof(buf)), 3);
    assert_string_equal(buf, "abc");

    memset(buf, 'x', sizeof(buf));
    assert_int_equal(mdv_strlcpy(buf, "abcdefghij", sizeof(buf)), 10);
    assert_string_equal(buf, "abcdefg"); /* size - 1 bytes and the NUL */

    memset(buf, 'x', sizeof(buf));
    assert_int_equal(mdv_strlcpy(buf, "abcdefg", sizeof(buf)), 7); /* exactly fits */
    assert_string_equal(buf, "abcdefg");

    memset(buf, 'x', sizeof(buf));
    assert_int_equal(mdv_strlcpy(buf, "", sizeof(buf)), 0);
    assert_string_equal(buf, "");

    memset(buf, 'x', sizeof(buf));
    assert_int_equal(mdv_strlcpy(buf, "abc", 1), 3);
    assert_string_equal(buf, "");

    memset(buf, 'x', sizeof(buf));
    assert_int_equal(mdv_strlcpy(buf, "abc", 0), 3); /* writes nothing */
    assert_int_equal(buf[0], 'x');
}

static void test_xstrdup_copies_and_keeps_null(void **state)
{
    (void)state;
    const char *text = "Hélène";
    char *copy = mdv_xstrdup(text);
    assert_string_equal(copy, text);
    assert_ptr_not_equal(copy, text);
    free(copy);
    assert_null(mdv_xstrdup(NULL));
}

static void test_xasprintf_formats_into_a_new_string(void **state)
{
    (void)state;
    char *s = mdv_xasprintf("%s-%d-%05.1f", "mdv", 42, 3.14159);
    assert_string_equal(s, "mdv-42-003.1");
    free(s);
}

static void test_allocators_accept_zero_sizes(void **state)
{
    (void)state;
    void *p = mdv_xmalloc(0);
    assert_non_null(p);
    p = mdv_xrealloc(p, 0);
    assert_non_null(p);
    free(p);
    p = mdv_xcalloc(0, 0);
    assert_non_null(p);
    free(p);
    unsigned char *zeroed = mdv_xcalloc(16, 4);
    for (int i = 0; i < 64; i++)
        assert_int_equal(zeroed[i], 0);
    free(zeroed);
}

static void test_monotonic_seconds_advance_across_a_sleep(void **state)
{
    (void)state;
    double start = mdv_monotonic_seconds();
    mdv_sleep_ms(20);
    double elapsed = mdv_monotonic_seconds() - start;
    assert_true(elapsed >= 0.019);
    assert_true(elapsed < 5.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_new_gives_valid_lower_case_version_4_uuids),
        cmocka_unit_test(test_uuid_new_gives_a_different_uuid_each_time),
        cmocka_unit_test(test_uuid_valid_accepts_only_the_canonical_form),
        cmocka_unit_test(test_time_now_is_rfc3339_utc_with_microseconds),
        cmocka_unit_test(test_time_plus_days_adds_whole_days_in_utc),
        cmocka_unit_test(test_strlcpy_truncates_terminates_and_returns_the_source_length),
        cmocka_unit_test(test_xstrdup_copies_and_keeps_null),
        cmocka_unit_test(test_xasprintf_formats_into_a_new_string),
        cmocka_unit_test(test_allocators_accept_zero_sizes),
        cmocka_unit_test(test_monotonic_seconds_advance_across_a_sleep),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
