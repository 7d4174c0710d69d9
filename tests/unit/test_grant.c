/* Unit tests of the bourse engine (services/student/grant.c) on the rules
 * it ships: every cell of the 2025-2026 ceilings, every annual amount, each
 * points de charge rule and band boundary, the outre-mer supplement, the
 * cap of the points, and a bad rules file named with its line or entry.
 * The expected figures are the official ones (RULES-REFERENCE.md: arrêté
 * of 13 April 2023, F12214), typed here apart from the data file. */
#include "unit.h"

#include "../../services/student/grant.h"

#define YEAR "2025-2026"

static const unsigned long official_ceilings[18][8] = {
    {35086, 23850, 19281, 17034, 14829, 12667, 7992, 265},
    {38966, 26500, 21423, 18921, 16472, 14077, 8872, 530},
    {42877, 29150, 23564, 20818, 18126, 15476, 9773, 795},
    {46767, 31800, 25705, 22716, 19758, 16875, 10653, 1060},
    {50668, 34450, 27846, 24603, 21412, 18285, 11533, 1325},
    {54569, 37111, 29998, 26500, 23066, 19695, 12434, 1590},
    {58459, 39761, 32139, 28376, 24709, 21105, 13324, 1855},
    {62360, 42411, 34280, 30274, 26352, 22514, 14215, 2120},
    {66261, 45061, 36422, 32171, 28005, 23914, 15094, 2385},
    {70151, 47700, 38563, 34058, 29648, 25323, 15985, 2650},
    {74052, 50361, 40704, 35955, 31291, 26733, 16865, 2915},
    {77952, 53011, 42835, 37853, 32955, 28132, 17755, 3180},
    {81843, 55650, 44976, 39739, 34588, 29542, 18645, 3445},
    {85743, 58300, 47117, 41637, 36231, 30952, 19525, 3710},
    {89634, 60971, 49269, 43513, 37895, 32362, 20426, 3975},
    {93545, 63611, 51410, 45410, 39538, 33772, 21317, 4240},
    {97435, 66261, 53551, 47308, 41170, 35181, 22196, 4505},
    {101347, 68911, 55692, 49195, 42824, 36581, 23087, 4770},
};

static const unsigned official_amounts[8] = {1454, 2163, 3071, 3828, 4587, 5212, 5506, 6335};
static const char *const names[8] = {"0bis", "1", "2", "3", "4", "5", "6", "7"};

static int setup(void **state)
{
    char err[512];
    (void)state;
    if (mdv_grant_rules_load(MDV_TEST_STUDENT_RULES, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mdv_grant_rules_free();
    return 0;
}

/* A household with exactly `points` points de charge: two per child at
 * charge, one more from a family home 30 km away. */
static struct mdv_grant_household with_points(unsigned points, unsigned long income)
{
    struct mdv_grant_household h = {.parents_income_eur = income};
    h.children_at_charge = points / 2;
    h.distance_km = points % 2 ? 30 : 0;
    return h;
}

static int assess(unsigned points, unsigned long income, struct mdv_grant_result *r)
{
    struct mdv_grant_household h = with_points(points, income);
    return mdv_grant_assess(YEAR, &h, r);
}

static int check_cell(unsigned p, int e)
{
    struct mdv_grant_result at, above;
    unsigned long ceiling = official_ceilings[p][e];
    if (assess(p, ceiling, &at) != 0 || assess(p, ceiling + 1, &above) != 0)
        return -1;
    if (at.points != p || at.echelon != e || strcmp(at.echelon_name, names[e]) != 0)
        return -1;
    /* One euro above: the next lower échelon, none above the 0bis. */
    return above.echelon == e - 1 && strcmp(above.echelon_name, e ? names[e - 1] : "") == 0 ? 0
                                                                                            : -1;
}

static void test_every_ceiling_gives_its_echelon_and_one_euro_above_the_next_lower(void **state)
{
    int failures = 0;
    (void)state;
    for (unsigned p = 0; p < 18; p++)
        for (int e = 0; e < 8; e++)
            if (check_cell(p, e) != 0)
                ROW_FAILED(failures, "%u points, échelon %s (ceiling %lu): wrong échelon", p,
                           names[e], official_ceilings[p][e]);
    assert_int_equal(failures, 0);
}

static void test_no_resources_is_echelon_7_and_above_0bis_no_bourse(void **state)
{
    struct mdv_grant_result r;
    (void)state;
    assert_int_equal(assess(0, 0, &r), 0);
    assert_int_equal(r.echelon, 7);
    assert_int_equal(assess(0, 1000000, &r), 0);
    assert_int_equal(r.echelon, -1);
    assert_string_equal(r.echelon_name, "");
    assert_int_equal(r.annual_amount_eur, 0);
}

static void test_every_echelon_has_its_annual_amount_and_outre_mer_300_more(void **state)
{
    int failures = 0;
    (void)state;
    for (int e = 0; e < 8; e++) {
        struct mdv_grant_household h = with_points(4, official_ceilings[4][e]);
        struct mdv_grant_result r, o;
        assert_int_equal(mdv_grant_assess(YEAR, &h, &r), 0);
        h.overseas = true;
        assert_int_equal(mdv_grant_assess(YEAR, &h, &o), 0);
        if (r.echelon != e || r.annual_amount_eur != official_amounts[e] || o.echelon != e ||
            o.annual_amount_eur != official_amounts[e] + 300)
            ROW_FAILED(failures, "échelon %s: %u € (%u € outre-mer), expected %u € (%u €)",
                       names[e], r.annual_amount_eur, o.annual_amount_eur, official_amounts[e],
                       official_amounts[e] + 300);
    }
    assert_int_equal(failures, 0);
}

static void test_outre_mer_without_a_bourse_is_still_nothing(void **state)
{
    struct mdv_grant_household h = with_points(0, official_ceilings[0][0] + 1);
    struct mdv_grant_result r;
    (void)state;
    h.overseas = true;
    assert_int_equal(mdv_grant_assess(YEAR, &h, &r), 0);
    assert_int_equal(r.echelon, -1);
    assert_int_equal(r.annual_amount_eur, 0);
}

struct km_row {
    unsigned km, points;
};

static void test_distance_bands_at_each_boundary(void **state)
{
    static const struct km_row rows[] = {
        {0, 0},    {29, 0},   {30, 1},    {249, 1},   {250, 2},
        {3499, 2}, {3500, 3}, {12999, 3}, {13000, 4}, {20000, 4},
    };
    int failures = 0;
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        struct mdv_grant_household h = {.distance_km = rows[i].km};
        struct mdv_grant_result r;
        assert_int_equal(mdv_grant_assess(YEAR, &h, &r), 0);
        if (r.points != rows[i].points ||
            mdv_grant_distance_points(YEAR, rows[i].km) != (int)rows[i].points)
            ROW_FAILED(failures, "%u km: %u points, expected %u", rows[i].km, r.points,
                       rows[i].points);
    }
    assert_int_equal(failures, 0);
}

struct points_row {
    struct mdv_grant_household h;
    unsigned points;
};

static void test_each_points_de_charge_rule(void **state)
{
    static const struct points_row rows[] = {
        {{.children_at_charge = 1}, 2},
        {{.children_at_charge = 3}, 6},
        {{.children_in_higher_education = 1}, 4},
        {{.children_in_higher_education = 2}, 8},
        {{.disability = true}, 4},
        {{.carer = true}, 4},
        {{.disability = true, .carer = true}, 8},
        {{.children_at_charge = 1, .children_in_higher_education = 1, .distance_km = 300}, 8},
        {{.children_at_charge = 2, .disability = true, .distance_km = 3500}, 11},
        /* Beyond the last row of the ceilings: capped at 17. */
        {{.children_at_charge = 8, .distance_km = 250}, 17},
        {{.children_at_charge = 5, .children_in_higher_education = 3, .carer = true}, 17},
        {{.children_at_charge = 4000000000u, .children_in_higher_education = 4000000000u}, 17},
    };
    int failures = 0;
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        struct mdv_grant_result r;
        assert_int_equal(mdv_grant_assess(YEAR, &rows[i].h, &r), 0);
        if (r.points != rows[i].points)
            ROW_FAILED(failures, "row %zu: %u points, expected %u", i, r.points, rows[i].points);
    }
    assert_int_equal(failures, 0);
}

static void test_points_beyond_17_use_the_17_points_ceilings(void **state)
{
    struct mdv_grant_household h = {.children_at_charge = 12, .parents_income_eur = 101347};
    struct mdv_grant_result r;
    (void)state;
    assert_int_equal(mdv_grant_assess(YEAR, &h, &r), 0);
    assert_int_equal(r.points, 17);
    assert_int_equal(r.echelon, 0);
    h.parents_income_eur = 101348;
    assert_int_equal(mdv_grant_assess(YEAR, &h, &r), 0);
    assert_int_equal(r.echelon, -1);
    assert_int_equal(mdv_grant_echelon(YEAR, 4770, 40), 7);
    assert_int_equal(mdv_grant_echelon(YEAR, 4771, 40), 6);
}

static void test_a_year_not_in_the_data_is_refused(void **state)
{
    struct mdv_grant_household h = {0};
    struct mdv_grant_result r;
    (void)state;
    assert_int_equal(mdv_grant_assess("2024-2025", &h, &r), -1);
    assert_int_equal(mdv_grant_assess(NULL, &h, &r), -1);
    assert_int_equal(mdv_grant_echelon("2030-2031", 0, 0), -2);
    assert_int_equal(mdv_grant_distance_points("2030-2031", 100), -1);
    assert_string_equal(mdv_grant_latest_year(), YEAR);
    assert_int_equal(mdv_grant_months("2030-2031"), 0);
}

static void test_the_bourse_is_paid_in_10_monthly_payments_and_outre_mer_adds_300(void **state)
{
    (void)state;
    assert_int_equal(mdv_grant_months(YEAR), 10);
    assert_int_equal(mdv_grant_overseas_supplement(YEAR), 300);
}

/* Writes text as <dir>/bourse.json in a new temporary folder. */
static void write_rules(char *dir, const char *text)
{
    char path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/bourse.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_rules(const char *dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/bourse.json", dir);
    unlink(path);
    rmdir(dir);
}

static void test_a_syntax_error_names_the_file_and_the_line(void **state)
{
    char dir[] = "/tmp/mdv-grant-XXXXXX", err[512];
    (void)state;
    write_rules(dir, "{\n \"academic_years\": [\n  {\"academic_year\": \"2025-2026\",,}\n ]\n}\n");
    int rc = mdv_grant_rules_load(dir, err, sizeof(err));
    remove_rules(dir);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "bourse.json:3:"));
    assert_int_equal(setup(NULL), 0);
}

/* The shipped file with one figure broken, by text replacement. */
static char *shipped_with(const char *from, const char *to)
{
    FILE *f = fopen(MDV_TEST_STUDENT_RULES "/bourse.json", "r");
    static char text[65536];
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char *at = strstr(text, from);
    assert_non_null(at);
    char *out = malloc(n + strlen(to) + 1);
    snprintf(out, n + strlen(to) + 1, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

struct broken_row {
    const char *from, *to, *said;
};

static void test_a_wrong_or_missing_table_names_the_table_and_the_entry(void **state)
{
    static const struct broken_row rows[] = {
        {"14829", "19282", "ceilings, by_points[0], échelon 4: not below échelon 3"},
        {"\"amount\": 4587", "\"amount\": 5300", "amounts, échelon 5: not above échelon 4"},
        {"\"echelon\": \"7\"", "\"echelon\": \"8\"", "amounts, annual_eur[7]"},
        {"\"from_km\": 0", "\"from_km\": 10", "distance_bands: the last band must start at 0"},
        {"\"carer\"", "\"aidant\"", "points_de_charge, carer"},
        {"\"months\": 10", "\"months\": 0", "amounts: months"},
        {"\"overseas_supplement\"", "\"outre_mer\"", "overseas_supplement"},
        {"\"2025-2026\"", "\"2025-2027\"", "academic_year « AAAA-AAAA »"},
    };
    int failures = 0;
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char dir[] = "/tmp/mdv-grant-XXXXXX", err[512] = "";
        char *text = shipped_with(rows[i].from, rows[i].to);
        write_rules(dir, text);
        free(text);
        int rc = mdv_grant_rules_load(dir, err, sizeof(err));
        remove_rules(dir);
        if (rc != -1 || !strstr(err, "bourse.json") || !strstr(err, rows[i].said))
            ROW_FAILED(failures, "%s → %s: rc %d, « %s »", rows[i].from, rows[i].to, rc, err);
    }
    assert_int_equal(failures, 0);
    assert_int_equal(setup(NULL), 0);
}

static void test_a_missing_file_is_named(void **state)
{
    char err[512];
    (void)state;
    assert_int_equal(mdv_grant_rules_load("/nonexistent-rules", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent-rules/bourse.json"));
    struct mdv_grant_household h = {0};
    struct mdv_grant_result r;
    assert_int_equal(mdv_grant_assess(YEAR, &h, &r), -1);
    assert_int_equal(setup(NULL), 0);
}

#define TEST(f) cmocka_unit_test(f)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_every_ceiling_gives_its_echelon_and_one_euro_above_the_next_lower),
        TEST(test_no_resources_is_echelon_7_and_above_0bis_no_bourse),
        TEST(test_every_echelon_has_its_annual_amount_and_outre_mer_300_more),
        TEST(test_outre_mer_without_a_bourse_is_still_nothing),
        TEST(test_distance_bands_at_each_boundary),
        TEST(test_each_points_de_charge_rule),
        TEST(test_points_beyond_17_use_the_17_points_ceilings),
        TEST(test_a_year_not_in_the_data_is_refused),
        TEST(test_the_bourse_is_paid_in_10_monthly_payments_and_outre_mer_adds_300),
        TEST(test_a_syntax_error_names_the_file_and_the_line),
        TEST(test_a_wrong_or_missing_table_names_the_table_and_the_entry),
        TEST(test_a_missing_file_is_named),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
