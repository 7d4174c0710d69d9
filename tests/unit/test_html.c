/* Unit tests of services/gateway/html.c: every value escaped, markup left
 * as written, the délais in French. */
#include "unit.h"

#include "gateway/html.h"

static void test_escape_turns_every_markup_character_into_its_entity(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } rows[] = {
        {"", ""},
        {"Décès enregistré", "Décès enregistré"},
        {"&", "&amp;"},
        {"<", "&lt;"},
        {">", "&gt;"},
        {"\"", "&quot;"},
        {"'", "&#39;"},
        {"<script>alert(\"x\")</script>", "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"},
        {"\" onmouseover='x'", "&quot; onmouseover=&#39;x&#39;"},
        {"a&amp;b", "a&amp;amp;b"},
        {"Caisse nationale d'assurance vieillesse (CNAV)",
         "Caisse nationale d&#39;assurance vieillesse (CNAV)"},
        {"<<>>", "&lt;&lt;&gt;&gt;"},
        {"ligne 1\nligne 2", "ligne 1\nligne 2"},
    };
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char *got = html_escape(rows[i].in);
        if (strcmp(got, rows[i].out) != 0)
            ROW_FAILED(failures, "html_escape(\"%s\") = \"%s\", expected \"%s\"", rows[i].in, got,
                       rows[i].out);
        free(got);
    }
    assert_int_equal(failures, 0);
}

static void test_null_writes_nothing(void **state)
{
    (void)state;
    struct html h = {0};
    html_text(&h, NULL);
    char *out = html_take(&h);
    assert_string_equal(out, "");
    free(out);
}

static void test_printf_escapes_its_arguments_and_not_its_format(void **state)
{
    (void)state;
    struct html h = {0};
    html_printf(&h, "<a href=\"/parcours/%s\">%s</a> %d %%", "x\"><script>", "<b>", 42);
    char *out = html_take(&h);
    assert_string_equal(out, "<a href=\"/parcours/x&quot;&gt;&lt;script&gt;\">&lt;b&gt;</a> 42 %");
    free(out);
}

static void test_the_buffer_grows_past_its_first_size(void **state)
{
    (void)state;
    struct html h = {0};
    for (int i = 0; i < 5000; i++)
        html_text(&h, "<>");
    char *out = html_take(&h);
    assert_int_equal(strlen(out), 5000 * 8);
    assert_memory_equal(out + 8 * 4999, "&lt;&gt;", 8);
    free(out);
    html_free(&h);
}

static void test_durations_read_in_french(void **state)
{
    (void)state;
    static const struct {
        double seconds;
        const char *out;
    } rows[] = {
        {0, "0 min"},
        {1, "1 min"},
        {59, "1 min"},
        {600, "10 min"},
        {3599, "60 min"},
        {3600, "1 h"},
        {5 * 3600, "5 h"},
        {47 * 3600, "47 h"},
        {2 * 86400, "2,0 jours"},
        {3.5 * 86400, "3,5 jours"},
        {-5, "0 min"},
    };
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char got[32];
        html_duration(rows[i].seconds, got, sizeof(got));
        if (strcmp(got, rows[i].out) != 0)
            ROW_FAILED(failures, "html_duration(%g) = \"%s\", expected \"%s\"", rows[i].seconds,
                       got, rows[i].out);
    }
    assert_int_equal(failures, 0);
}

static void test_dates_read_in_french(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } rows[] = {
        {"2026-12-01T15:02:11.482913Z", "1er décembre 2026 à 15 h 02 (UTC)"},
        {"2027-02-14T08:05:00Z", "14 février 2027 à 08 h 05 (UTC)"},
        {"2026-08-31T23:59:59.000000Z", "31 août 2026 à 23 h 59 (UTC)"},
        {"hier", ""},
        {"", ""},
    };
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char got[64];
        html_date(rows[i].in, got, sizeof(got));
        if (strcmp(got, rows[i].out) != 0)
            ROW_FAILED(failures, "html_date(\"%s\") = \"%s\", expected \"%s\"", rows[i].in, got,
                       rows[i].out);
    }
    assert_int_equal(failures, 0);
    time_t a, b;
    assert_int_equal(html_parse_time("2026-12-01T00:00:00Z", &a), 0);
    assert_int_equal(html_parse_time("2026-12-03T12:00:00.5Z", &b), 0);
    assert_int_equal(b - a, 2 * 86400 + 12 * 3600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_turns_every_markup_character_into_its_entity),
        cmocka_unit_test(test_null_writes_nothing),
        cmocka_unit_test(test_printf_escapes_its_arguments_and_not_its_format),
        cmocka_unit_test(test_the_buffer_grows_past_its_first_size),
        cmocka_unit_test(test_durations_read_in_french),
        cmocka_unit_test(test_dates_read_in_french),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
