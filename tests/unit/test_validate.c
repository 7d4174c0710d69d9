/* Unit tests of shared/validate.c: the checks on the fields of a
 * declaration (names, dates, INSEE COG codes, sex). */
#include "unit.h"

#include <locale.h>

#include "mdv/util.h"
#include "mdv/validate.h"

struct row {
    const char *input;
    int valid;
};

typedef const char *(*validator)(const char *);

static void check_table(const char *what, validator check, const struct row *rows, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const char *reason = check(rows[i].input);
        if ((reason == NULL) != rows[i].valid)
            ROW_FAILED(failures, "%s(\"%s\"): expected %s, got %s", what, rows[i].input,
                       rows[i].valid ? "valid" : "refused", reason ? reason : "valid");
    }
    assert_int_equal(failures, 0);
}

/* Services set it at start (mdv_service_init); iswalpha needs it. */
static int set_utf8_locale(void **state)
{
    (void)state;
    return setlocale(LC_CTYPE, "C.UTF-8") ? 0 : -1;
}

static char *repeat(const char *unit, size_t times)
{
    size_t len = strlen(unit);
    char *s = malloc(len * times + 1);
    assert_non_null(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * len, unit, len);
    s[len * times] = '\0';
    return s;
}

static void test_name_accepts_latin_letters_with_accents_and_inner_separators(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"Martin", 1},
        {"Hélène", 1},
        {"Dvořák", 1},
        {"N'Diaye", 1},
        {"N\u2019Diaye", 1},
        {"Le Goff", 1},
        {"Marie-Claire", 1},
        {"Œdipe", 1},
        {"Zoë", 1},
        {"Jean-Pierre Le Goff", 1},
        {"A", 1},
    };
    check_table("mdv_validate_name", mdv_validate_name, rows, MDV_ARRAY_LEN(rows));
}

/* Matching folds names to A-Z: a name in another script could never be
 * matched by any administration, so it is refused at the door. */
static void test_name_refuses_scripts_that_cannot_be_matched(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"Иван", 0},
        {"山田", 0},
        {"Jean-Иван", 0},
    };
    check_table("mdv_validate_name", mdv_validate_name, rows, MDV_ARRAY_LEN(rows));
}

static void test_name_refuses_empty_digits_symbols_and_misplaced_separators(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"", 0},
        {"Martin2", 0},
        {"1789", 0},
        {"Jean  Paul", 0}, /* double space */
        {"Jean--Paul", 0}, /* double hyphen */
        {"N''Diaye", 0},   /* double apostrophe */
        {"Jean -Paul", 0}, /* space then hyphen */
        {"-Marie", 0},     /* leading hyphen */
        {"Marie-", 0},     /* trailing hyphen */
        {" Marie", 0},     /* leading space */
        {"Marie ", 0},     /* trailing space */
        {"'Marie", 0},     /* leading apostrophe */
        {"Marie'", 0},     /* trailing apostrophe */
        {"Marie_Claire", 0},
        {"Marie.Claire", 0},
        {"Marie\tClaire", 0},
        {"Robert'); DROP TABLE persons;--", 0},
        {"<script>", 0},
    };
    check_table("mdv_validate_name", mdv_validate_name, rows, MDV_ARRAY_LEN(rows));
}

static void test_name_refuses_invalid_utf8(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"H\xe9l\xe8ne", 0},       /* Latin-1, not UTF-8 */
        {"Hel\xc3", 0},            /* truncated sequence */
        {"\xc0\xaf", 0},           /* overlong encoding */
        {"Mar\xed\xa0\x80tin", 0}, /* UTF-16 surrogate */
        {"\xff", 0},
    };
    check_table("mdv_validate_name", mdv_validate_name, rows, MDV_ARRAY_LEN(rows));
}

static void test_name_counts_characters_not_bytes_up_to_100(void **state)
{
    (void)state;
    char *ascii100 = repeat("a", 100);
    char *ascii101 = repeat("a", 101);
    char *accented100 = repeat("é", 100); /* 200 bytes, 100 letters */
    char *accented101 = repeat("é", 101);

    assert_null(mdv_validate_name(ascii100));
    assert_non_null(mdv_validate_name(ascii101));
    assert_null(mdv_validate_name(accented100));
    assert_non_null(mdv_validate_name(accented101));
    free(ascii100);
    free(ascii101);
    free(accented100);
    free(accented101);
}

/* Regression (shared/validate.c mdv_validate_name): the typographic
 * apostrophe U+2019 counts as a separator but is left out of the checks
 * on what may follow a separator and on the last character, so doubled
 * or trailing it passes where the ASCII apostrophe is refused. */
static void test_name_treats_typographic_apostrophe_like_ascii_apostrophe(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"N\u2019\u2019Diaye", 0}, /* like "N''Diaye" */
        {"Diaye\u2019", 0},        /* like "Diaye'" */
        {"N\u2019 Diaye", 0},      /* like "N' Diaye" */
        {"N\u2019-Diaye", 0},      /* like "N'-Diaye" */
    };
    check_table("mdv_validate_name", mdv_validate_name, rows, MDV_ARRAY_LEN(rows));
}

/* Regression (shared/validate.c): the gateway checked the folded name in
 * 512 bytes while every service keys it in 128, so 70 « Œ » (140 letters
 * once folded) was accepted and then dead-lettered four times. */
static void test_name_refuses_a_name_that_folds_past_the_key_limit(void **state)
{
    (void)state;
    char *oe70 = repeat("Œ", 70);
    char *oe28 = repeat("Œ", 28); /* 56 letters, and 72 more: 128 */
    char *a72 = repeat("a", 72);
    char *a71 = repeat("a", 71);
    char at_limit[256], past_limit[256];
    snprintf(at_limit, sizeof(at_limit), "%s%s", oe28, a72);
    snprintf(past_limit, sizeof(past_limit), "Œ%s%s", oe28, a71); /* 29 Œ: 129 letters */

    assert_non_null(mdv_validate_name(oe70));
    assert_null(mdv_validate_name(at_limit));
    assert_non_null(mdv_validate_name(past_limit));
    free(oe70);
    free(oe28);
    free(a72);
    free(a71);
}

/* The contract's Name pattern lists the letters of the Latin blocks; other
 * characters iswalpha calls letters and iconv folds to A-Z (ordinals,
 * full-width letters, ligatures of presentation forms) are not in it, so
 * the gateway refuses them too. */
static void test_name_refuses_letters_outside_the_latin_blocks(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"ª", 0},      /* ª feminine ordinal */
        {"µ", 0},      /* µ micro sign */
        {"Maºr", 0},   /* º masculine ordinal */
        {"Ｍａ", 0},   /* full-width Ma */
        {"ﬀranc", 0},  /* ﬀ ligature */
        {"ɐ", 0},      /* IPA ɐ */
        {"ɏ", 1},      /* ɏ, last of Latin Extended-B */
        {"ẞ", 1},      /* ẞ capital sharp s */
        {"Ștefan", 1}, /* Ș (Romanian) */
    };
    check_table("mdv_validate_name", mdv_validate_name, rows, MDV_ARRAY_LEN(rows));
}

static void test_date_accepts_real_calendar_dates_from_1850(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"2026-11-23", 1}, {"2024-02-29", 1}, /* leap year */
        {"2000-02-29", 1},                    /* divisible by 400: leap */
        {"1850-01-01", 1}, {"1999-12-31", 1}, {"2026-01-31", 1},
        {"2026-04-30", 1}, {"2026-12-31", 1},
    };
    check_table("mdv_validate_date", mdv_validate_date, rows, MDV_ARRAY_LEN(rows));
}

static void test_date_refuses_impossible_dates_other_formats_and_before_1850(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"2023-02-29", 0}, /* not a leap year */
        {"1900-02-29", 0}, /* divisible by 100, not 400 */
        {"2026-13-01", 0},
        {"2026-00-10", 0},
        {"2026-01-00", 0},
        {"2026-01-32", 0},
        {"2026-04-31", 0},
        {"2026-1-01", 0},
        {"2026-01-1", 0},
        {"26-01-01", 0},
        {"2026/01/01", 0},
        {"01-01-2026", 0},
        {"2026-01-01T00:00:00Z", 0},
        {"2026-0a-01", 0},
        {"-026-01-01", 0},
        {"+026-01-01", 0},
        {" 026-01-01", 0},
        {"", 0},
        {"1849-12-31", 0},
        {"0000-01-01", 0},
    };
    check_table("mdv_validate_date", mdv_validate_date, rows, MDV_ARRAY_LEN(rows));
}

static void test_date_compare_orders_dates_like_the_calendar(void **state)
{
    (void)state;
    assert_true(mdv_date_compare("2026-01-02", "2026-01-10") < 0);
    assert_true(mdv_date_compare("2025-12-31", "2026-01-01") < 0);
    assert_int_equal(mdv_date_compare("2026-03-04", "2026-03-04"), 0);
    assert_true(mdv_date_compare("2026-10-01", "2026-09-30") > 0);
}

static void test_date_today_is_a_valid_date(void **state)
{
    (void)state;
    char today[11];
    mdv_date_today(today);
    assert_int_equal(strlen(today), 10);
    assert_null(mdv_validate_date(today));
}

static void test_cog_accepts_communes_corsica_and_abroad(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"75056", 1}, /* Paris */
        {"2A004", 1}, /* Ajaccio */
        {"2B033", 1}, /* Bastia */
        {"99109", 1}, /* Germany */
        {"97411", 1}, /* Saint-Denis (La Réunion) */
    };
    check_table("mdv_validate_cog", mdv_validate_cog, rows, MDV_ARRAY_LEN(rows));
}

static void test_cog_refuses_wrong_length_letters_and_other_departments(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"7505", 0},  {"750560", 0}, {"2C004", 0}, {"ABCDE", 0}, {"2a004", 0},
        {"2A0B4", 0}, {"3A004", 0},  {"", 0},      {"7505 ", 0}, {"75 56", 0},
    };
    check_table("mdv_validate_cog", mdv_validate_cog, rows, MDV_ARRAY_LEN(rows));
}

static void test_sex_accepts_only_upper_case_m_and_f(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"M", 1}, {"F", 1}, {"m", 0}, {"f", 0}, {"", 0}, {"X", 0}, {"MF", 0}, {"M ", 0},
    };
    check_table("mdv_validate_sex", mdv_validate_sex, rows, MDV_ARRAY_LEN(rows));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_accepts_latin_letters_with_accents_and_inner_separators),
        cmocka_unit_test(test_name_refuses_scripts_that_cannot_be_matched),
        cmocka_unit_test(test_name_refuses_empty_digits_symbols_and_misplaced_separators),
        cmocka_unit_test(test_name_refuses_invalid_utf8),
        cmocka_unit_test(test_name_counts_characters_not_bytes_up_to_100),
        cmocka_unit_test(test_name_treats_typographic_apostrophe_like_ascii_apostrophe),
        cmocka_unit_test(test_name_refuses_a_name_that_folds_past_the_key_limit),
        cmocka_unit_test(test_name_refuses_letters_outside_the_latin_blocks),
        cmocka_unit_test(test_date_accepts_real_calendar_dates_from_1850),
        cmocka_unit_test(test_date_refuses_impossible_dates_other_formats_and_before_1850),
        cmocka_unit_test(test_date_compare_orders_dates_like_the_calendar),
        cmocka_unit_test(test_date_today_is_a_valid_date),
        cmocka_unit_test(test_cog_accepts_communes_corsica_and_abroad),
        cmocka_unit_test(test_cog_refuses_wrong_length_letters_and_other_departments),
        cmocka_unit_test(test_sex_accepts_only_upper_case_m_and_f),
    };
    return cmocka_run_group_tests_name("validate", tests, set_utf8_locale, NULL);
}
