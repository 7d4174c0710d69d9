/* Unit tests of shared/pivot.c: the pivot identity key that services match
 * persons on, so two spellings of one person must give one key. */
#include "unit.h"

#include <locale.h>

#include "mdv/pivot.h"
#include "mdv/util.h"

/* Services set it at start (mdv_service_init); iconv's transliteration
 * follows the locale. */
static int set_utf8_locale(void **state)
{
    (void)state;
    return setlocale(LC_CTYPE, "C.UTF-8") ? 0 : -1;
}

static void test_fold_removes_accents_case_and_punctuation(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *folded;
    } rows[] = {
        {"Hélène", "HELENE"},
        {"HELENE", "HELENE"},
        {"hélène", "HELENE"},
        {"Le Goff", "LEGOFF"},
        {"LEGOFF", "LEGOFF"},
        {"N'Diaye", "NDIAYE"},
        {"N\u2019Diaye", "NDIAYE"},
        {"Marie-Claire", "MARIECLAIRE"},
        {"Dvořák", "DVORAK"},
        {"Œdipe", "OEDIPE"},
        {"Bœuf", "BOEUF"},
        {"Æsa", "AESA"},
        {"Straße", "STRASSE"},
        {"Zoë", "ZOE"},
        {"Müller", "MULLER"},
        {"François", "FRANCOIS"},
        {"Łódź", "LODZ"},
        {"Nguyễn", "NGUYEN"},
        {"Hélène d'Arc", "HELENEDARC"},
    };
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char out[128] = "";
        int rc = mdv_pivot_fold(rows[i].name, out, sizeof(out));
        if (rc != 0 || strcmp(out, rows[i].folded) != 0)
            ROW_FAILED(failures, "mdv_pivot_fold(\"%s\") = %d \"%s\", expected \"%s\"",
                       rows[i].name, rc, out, rows[i].folded);
    }
    assert_int_equal(failures, 0);
}

static void test_fold_refuses_names_with_no_foldable_letter(void **state)
{
    (void)state;
    static const char *const rows[] = {"", " ", "-'-", "1234", "Иван", "李"};
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char out[128];
        if (mdv_pivot_fold(rows[i], out, sizeof(out)) != -1)
            ROW_FAILED(failures, "mdv_pivot_fold(\"%s\") accepted: \"%s\"", rows[i], out);
    }
    assert_int_equal(failures, 0);
}

static void test_fold_refuses_invalid_utf8(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(mdv_pivot_fold("H\xe9l\xe8ne", out, sizeof(out)), -1);
}

static void test_fold_refuses_rather_than_truncates_when_out_is_small(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(mdv_pivot_fold("Dupont", out, sizeof(out)), 0); /* 6 + NUL fits */
    assert_string_equal(out, "DUPONT");
    assert_int_equal(mdv_pivot_fold("Dupontel", out, sizeof(out)), -1); /* 8 + NUL does not */
    assert_int_equal(mdv_pivot_fold("Dupont", out, 1), -1);
}

/* Regression (shared/pivot.c mdv_pivot_fold): letters iconv cannot
 * transliterate become '?' and are then dropped like punctuation, so
 * "Jean-Иван" folds to "JEAN" and matches every other "Jean-<Cyrillic>";
 * the header promises -1 when a name cannot be folded. */
static void test_fold_refuses_a_name_it_can_only_partly_fold(void **state)
{
    (void)state;
    char out[128] = "";
    int rc = mdv_pivot_fold("Jean-Иван", out, sizeof(out));
    if (rc == 0)
        print_error("mdv_pivot_fold(\"Jean-Иван\") = 0 \"%s\", expected -1\n", out);
    assert_int_equal(rc, -1);
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

/* Regression (shared/pivot.c): the gateway folded names into 512 bytes and
 * the key into 128, so 70 « Œ » (140 letters) passed the gateway and failed
 * in every service. One limit now, whatever room the caller gives. */
static void test_fold_refuses_more_letters_than_the_key_limit_even_with_room(void **state)
{
    (void)state;
    char out[4 * MDV_PIVOT_NAME_MAX];
    char *oe70 = repeat("Œ", 70);
    char *at_limit = repeat("A", MDV_PIVOT_NAME_MAX);
    char *past_limit = repeat("A", MDV_PIVOT_NAME_MAX + 1);

    assert_int_equal(mdv_pivot_fold(oe70, out, sizeof(out)), -1);
    assert_int_equal(mdv_pivot_fold(at_limit, out, sizeof(out)), 0);
    assert_int_equal(strlen(out), MDV_PIVOT_NAME_MAX);
    assert_int_equal(mdv_pivot_fold(past_limit, out, sizeof(out)), -1);
    free(oe70);
    free(at_limit);
    free(past_limit);
}

static void test_name_problem_tells_too_long_from_not_latin(void **state)
{
    (void)state;
    char *oe70 = repeat("Œ", 70);
    const char *long_reason = mdv_pivot_name_problem(oe70);
    const char *script_reason = mdv_pivot_name_problem("Иван");

    assert_null(mdv_pivot_name_problem("Hélène"));
    assert_non_null(long_reason);
    assert_non_null(strstr(long_reason, "at most 128 letters"));
    assert_non_null(script_reason);
    assert_non_null(strstr(script_reason, "Latin letters"));
    free(oe70);
}

/* Every name the gateway accepts can be keyed by the services: a family
 * and a first given name of MDV_PIVOT_NAME_MAX letters each. */
static void test_key_holds_names_at_the_limit(void **state)
{
    (void)state;
    char key[MDV_PIVOT_KEY_LEN];
    char *oe = repeat("Œ", MDV_PIVOT_NAME_MAX / 2); /* folds to 128 letters */
    char *ae = repeat("Æ", MDV_PIVOT_NAME_MAX / 2);
    char *too_long = repeat("Œ", MDV_PIVOT_NAME_MAX / 2 + 1);

    assert_int_equal(mdv_pivot_key(oe, ae, "F", "1941-03-12", "2A004", key), 0);
    assert_int_equal(strlen(key), 2 * MDV_PIVOT_NAME_MAX + strlen("||F|1941-03-12|2A004"));
    assert_int_equal(mdv_pivot_key(too_long, ae, "F", "1941-03-12", "2A004", key), -1);
    free(oe);
    free(ae);
    free(too_long);
}

static void test_key_is_family_given_sex_date_place_separated_by_bars(void **state)
{
    (void)state;
    char key[MDV_PIVOT_KEY_LEN];
    assert_int_equal(mdv_pivot_key("Martin", "Jeanne", "F", "1941-03-12", "75056", key), 0);
    assert_string_equal(key, "MARTIN|JEANNE|F|1941-03-12|75056");
    assert_int_equal(mdv_pivot_key("Le Goff", "Hélène", "F", "1950-01-02", "2A004", key), 0);
    assert_string_equal(key, "LEGOFF|HELENE|F|1950-01-02|2A004");
}

static void test_key_is_the_same_for_spellings_of_one_person(void **state)
{
    (void)state;
    static const struct {
        const char *family, *given;
    } spellings[] = {
        {"Le Goff", "Hélène"}, {"LE GOFF", "HELENE"},      {"LEGOFF", "Helene"},
        {"le-goff", "hélène"}, {"Le\u2019Goff", "HÉLÈNE"},
    };
    char first[MDV_PIVOT_KEY_LEN];
    int failures = 0;
    assert_int_equal(
        mdv_pivot_key(spellings[0].family, spellings[0].given, "F", "1950-01-02", "29019", first),
        0);
    for (size_t i = 1; i < MDV_ARRAY_LEN(spellings); i++) {
        char key[MDV_PIVOT_KEY_LEN] = "";
        int rc =
            mdv_pivot_key(spellings[i].family, spellings[i].given, "F", "1950-01-02", "29019", key);
        if (rc != 0 || strcmp(key, first) != 0)
            ROW_FAILED(failures, "key of (\"%s\", \"%s\") = %d \"%s\", expected \"%s\"",
                       spellings[i].family, spellings[i].given, rc, key, first);
    }
    assert_int_equal(failures, 0);
}

/* Declarations carry a list of given names; the caller passes the first
 * (given_names[0]), so the other given names never reach the key and
 * "Jeanne" matches "Jeanne, Marie". */
static void test_key_holds_the_first_given_name_only(void **state)
{
    (void)state;
    const char *given_names[] = {"Jeanne", "Marie"};
    char key[MDV_PIVOT_KEY_LEN];
    assert_int_equal(mdv_pivot_key("Martin", given_names[0], "F", "1941-03-12", "75056", key), 0);
    assert_string_equal(key, "MARTIN|JEANNE|F|1941-03-12|75056");
    assert_null(strstr(key, "MARIE"));
}

static void test_key_differs_when_any_part_differs(void **state)
{
    (void)state;
    char base[MDV_PIVOT_KEY_LEN], other[MDV_PIVOT_KEY_LEN];
    assert_int_equal(mdv_pivot_key("Martin", "Jeanne", "F", "1941-03-12", "75056", base), 0);
    assert_int_equal(mdv_pivot_key("Martin", "Jeanne", "M", "1941-03-12", "75056", other), 0);
    assert_string_not_equal(base, other);
    assert_int_equal(mdv_pivot_key("Martin", "Jeanne", "F", "1941-03-13", "75056", other), 0);
    assert_string_not_equal(base, other);
    assert_int_equal(mdv_pivot_key("Martin", "Jeanne", "F", "1941-03-12", "75057", other), 0);
    assert_string_not_equal(base, other);
    assert_int_equal(mdv_pivot_key("Martins", "Jeanne", "F", "1941-03-12", "75056", other), 0);
    assert_string_not_equal(base, other);
}

static void test_key_refuses_a_missing_part(void **state)
{
    (void)state;
    char key[MDV_PIVOT_KEY_LEN];
    assert_int_equal(mdv_pivot_key(NULL, "Jeanne", "F", "1941-03-12", "75056", key), -1);
    assert_int_equal(mdv_pivot_key("Martin", NULL, "F", "1941-03-12", "75056", key), -1);
    assert_int_equal(mdv_pivot_key("Martin", "Jeanne", NULL, "1941-03-12", "75056", key), -1);
    assert_int_equal(mdv_pivot_key("Martin", "Jeanne", "F", NULL, "75056", key), -1);
    assert_int_equal(mdv_pivot_key("Martin", "Jeanne", "F", "1941-03-12", NULL, key), -1);
    assert_int_equal(mdv_pivot_key("", "Jeanne", "F", "1941-03-12", "75056", key), -1);
    assert_int_equal(mdv_pivot_key("Martin", "", "F", "1941-03-12", "75056", key), -1);
    assert_int_equal(mdv_pivot_key("--", "Jeanne", "F", "1941-03-12", "75056", key), -1);
}

/* Regression (shared/pivot.c mdv_pivot_key): an empty sex, birth date
 * or birth place is not refused. An empty sex even writes a NUL byte
 * into the key ("%c" of sex[0]), which then reads as "MARTIN|JEANNE|". */
static void test_key_refuses_an_empty_sex_date_or_place(void **state)
{
    (void)state;
    static const struct {
        const char *sex, *date, *place;
    } rows[] = {
        {"", "1941-03-12", "75056"},
        {"F", "", "75056"},
        {"F", "1941-03-12", ""},
    };
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char key[MDV_PIVOT_KEY_LEN] = "";
        int rc = mdv_pivot_key("Martin", "Jeanne", rows[i].sex, rows[i].date, rows[i].place, key);
        if (rc != -1)
            ROW_FAILED(failures,
                       "mdv_pivot_key(sex \"%s\", date \"%s\", place \"%s\") = %d \"%s\", "
                       "expected -1",
                       rows[i].sex, rows[i].date, rows[i].place, rc, key);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_removes_accents_case_and_punctuation),
        cmocka_unit_test(test_fold_refuses_names_with_no_foldable_letter),
        cmocka_unit_test(test_fold_refuses_invalid_utf8),
        cmocka_unit_test(test_fold_refuses_rather_than_truncates_when_out_is_small),
        cmocka_unit_test(test_fold_refuses_a_name_it_can_only_partly_fold),
        cmocka_unit_test(test_fold_refuses_more_letters_than_the_key_limit_even_with_room),
        cmocka_unit_test(test_name_problem_tells_too_long_from_not_latin),
        cmocka_unit_test(test_key_holds_names_at_the_limit),
        cmocka_unit_test(test_key_is_family_given_sex_date_place_separated_by_bars),
        cmocka_unit_test(test_key_is_the_same_for_spellings_of_one_person),
        cmocka_unit_test(test_key_holds_the_first_given_name_only),
        cmocka_unit_test(test_key_differs_when_any_part_differs),
        cmocka_unit_test(test_key_refuses_a_missing_part),
        cmocka_unit_test(test_key_refuses_an_empty_sex_date_or_place),
    };
    return cmocka_run_group_tests_name("pivot", tests, set_utf8_locale, NULL);
}
