/* Unit tests of the MaPrimeRénov' engine (services/housing/bareme.c) on
 * the barème housing ships: every category boundary for households of 1
 * to 6 persons inside and outside Île-de-France (one euro below, at, and
 * one euro above each ceiling), Île-de-France from the commune, each work
 * item's flat amount per category and its cap of eligible spending, rose
 * at 0, the écrêtement, the age of a dwelling, a bad file named with its
 * line or its table and entry; and the Anah's reading of an application
 * (services/housing/estimate.c): the reasons of ineligibility and the
 * French detail of the estimate. The expected figures are the official
 * ones (RULES-REFERENCE.md: the 2025 barème as betagouv/reno encodes it),
 * typed here apart from the data file. */
#include "unit.h"

#include <unistd.h>

#include "../../services/housing/bareme.h"
#include "../../services/housing/estimate.h"

#define BAREME MDV_TEST_HOUSING_RULES "/maprimerenov.json"

static struct housing_bareme *bareme;

static int setup(void **state)
{
    char err[512];
    (void)state;
    housing_bareme_free(bareme);
    bareme = housing_bareme_load(BAREME, err, sizeof(err));
    if (!bareme)
        fprintf(stderr, "%s\n", err);
    return bareme ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    housing_bareme_free(bareme);
    bareme = NULL;
    return 0;
}

/* Ceilings of the revenu fiscal de référence, bleu / jaune / violet, for
 * 1 to 5 persons, then each extra person (france-renov.gouv.fr/bareme,
 * 2025). */
static const uint64_t outside[6][3] = {
    {17173, 22015, 30844}, {25115, 32197, 45340}, {30206, 38719, 54592},
    {35285, 45234, 63844}, {40388, 51775, 73098}, {5094, 6525, 9254},
};
static const uint64_t inside[6][3] = {
    {23768, 28933, 40404}, {34884, 42463, 59394}, {41893, 51000, 71060},
    {48914, 59549, 83637}, {55961, 68123, 95758}, {7038, 8568, 12122},
};

/* The official ceiling for persons (1 to 6). */
static uint64_t official(const uint64_t table[6][3], uint32_t persons, int c)
{
    return persons <= 5 ? table[persons - 1][c] : table[4][c] + (persons - 5) * table[5][c];
}

static void boundaries(int idf, const uint64_t table[6][3], int *failures)
{
    static const char *const names[] = {"bleu", "jaune", "violet", "rose"};
    for (uint32_t persons = 1; persons <= 6; persons++) {
        for (int c = 0; c < 3; c++) {
            uint64_t ceiling = official(table, persons, c);
            enum housing_category below =
                housing_bareme_category(bareme, idf, persons, ceiling - 1);
            enum housing_category at = housing_bareme_category(bareme, idf, persons, ceiling);
            enum housing_category above =
                housing_bareme_category(bareme, idf, persons, ceiling + 1);
            if ((int)below != c || (int)at != c || (int)above != c + 1 ||
                housing_bareme_ceiling(bareme, idf, persons, (enum housing_category)c) != ceiling)
                ROW_FAILED(*failures, "%s, %u persons, %s ceiling %llu: %s / %s / %s",
                           idf ? "IdF" : "hors IdF", persons, names[c], (unsigned long long)ceiling,
                           housing_category_name(below), housing_category_name(at),
                           housing_category_name(above));
        }
    }
}

static void test_every_category_boundary_outside_ile_de_france(void **state)
{
    int failures = 0;
    (void)state;
    boundaries(0, outside, &failures);
    assert_int_equal(failures, 0);
}

static void test_every_category_boundary_inside_ile_de_france(void **state)
{
    int failures = 0;
    (void)state;
    boundaries(1, inside, &failures);
    assert_int_equal(failures, 0);
}

static void test_no_income_is_bleu_and_a_large_one_rose(void **state)
{
    (void)state;
    assert_int_equal(housing_bareme_category(bareme, 0, 1, 0), HOUSING_BLEU);
    assert_int_equal(housing_bareme_category(bareme, 1, 9, 10000000), HOUSING_ROSE);
    /* Nine persons: the fifth row and four extra persons. */
    assert_int_equal(housing_bareme_ceiling(bareme, 1, 9, HOUSING_VIOLET), 95758 + 4 * 12122);
    assert_string_equal(housing_category_name(HOUSING_VIOLET), "violet");
}

static void test_ile_de_france_is_its_eight_departments(void **state)
{
    static const char *const in[] = {"75056", "75111", "77288", "78646", "91228",
                                     "92012", "93066", "94028", "95127"};
    static const char *const out[] = {"60057", "35238", "2A004", "97411", "69123", "13055"};
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(in); i++)
        assert_true(housing_bareme_ile_de_france(bareme, in[i]));
    for (size_t i = 0; i < MDV_ARRAY_LEN(out); i++)
        assert_false(housing_bareme_ile_de_france(bareme, out[i]));
}

/* Each item's flat amount, bleu / jaune / violet / rose (per unit or per
 * m²), and its cap of eligible spending (per unit or per m²). */
struct item_row {
    const char *code;
    int per_m2;
    uint64_t amount[4];
    uint64_t cap;
};

static const struct item_row items[] = {
    {"air_water_heat_pump", 0, {5000, 4000, 3000, 0}, 12000},
    {"geothermal_heat_pump", 0, {11000, 9000, 6000, 0}, 18000},
    {"solar_thermal_heat_pump", 0, {11000, 9000, 6000, 0}, 18000},
    {"external_wall_insulation", 1, {75, 60, 40, 0}, 150},
    {"internal_wall_insulation", 1, {25, 20, 15, 0}, 70},
    {"roof_slopes_insulation", 1, {25, 20, 15, 0}, 75},
    {"flat_roof_insulation", 1, {75, 60, 40, 0}, 180},
};

static void test_each_item_has_its_amount_per_category_and_its_cap(void **state)
{
    int failures = 0;
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(items); i++) {
        uint32_t surface = items[i].per_m2 ? 50 : 0;
        uint64_t quantity = items[i].per_m2 ? 50 : 1;
        for (int c = 0; c < HOUSING_CATEGORIES; c++) {
            struct housing_item_estimate e;
            /* A quote well over the cap: the cap is what is eligible. */
            int rc = housing_bareme_item(bareme, (enum housing_category)c, items[i].code, surface,
                                         1000000, &e);
            if (rc != 0 || e.rate != items[i].amount[c] ||
                e.flat != items[i].amount[c] * quantity || e.amount != e.flat ||
                e.cap != items[i].cap * quantity || e.eligible != e.cap ||
                e.per_m2 != items[i].per_m2)
                ROW_FAILED(failures, "%s, %s: rc %d, rate %llu, amount %llu, cap %llu",
                           items[i].code, housing_category_name((enum housing_category)c), rc,
                           (unsigned long long)e.rate, (unsigned long long)e.amount,
                           (unsigned long long)e.cap);
        }
    }
    assert_int_equal(failures, 0);
}

static void test_rose_gets_nothing_for_any_item(void **state)
{
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(items); i++) {
        struct housing_item_estimate e;
        assert_int_equal(housing_bareme_item(bareme, HOUSING_ROSE, items[i].code,
                                             items[i].per_m2 ? 80 : 0, 20000, &e),
                         0);
        assert_int_equal(e.amount, 0);
    }
}

static void test_the_example_of_the_design(void **state)
{
    struct housing_item_estimate pump, walls;
    (void)state;
    assert_int_equal(
        housing_bareme_item(bareme, HOUSING_JAUNE, "air_water_heat_pump", 0, 12000, &pump), 0);
    assert_int_equal(
        housing_bareme_item(bareme, HOUSING_JAUNE, "external_wall_insulation", 60, 9000, &walls),
        0);
    assert_int_equal(pump.amount, 4000);
    assert_int_equal(walls.amount, 3600);
    assert_int_equal(walls.surface, 60);
    assert_int_equal(walls.rate, 60);
    assert_string_equal(pump.label, "pompe à chaleur air/eau");
}

static void test_a_quote_under_the_cap_is_what_is_eligible(void **state)
{
    struct housing_item_estimate e;
    (void)state;
    assert_int_equal(
        housing_bareme_item(bareme, HOUSING_VIOLET, "internal_wall_insulation", 40, 2000, &e), 0);
    assert_int_equal(e.cap, 40 * 70);
    assert_int_equal(e.eligible, 2000);
    assert_int_equal(e.amount, 40 * 15); /* 600, under 60 % of 2 000 */
}

static void test_the_ecretement_keeps_the_aid_under_the_categorys_share(void **state)
{
    static const unsigned shares[4] = {90, 75, 60, 40};
    struct housing_item_estimate e;
    (void)state;
    for (int c = 0; c < HOUSING_CATEGORIES; c++)
        assert_int_equal(housing_bareme_max_share(bareme, (enum housing_category)c), shares[c]);
    /* A bleu heat pump quoted 5 000 €: 5 000 € flat, at most 90 % = 4 500 €. */
    assert_int_equal(housing_bareme_item(bareme, HOUSING_BLEU, "air_water_heat_pump", 0, 5000, &e),
                     0);
    assert_int_equal(e.flat, 5000);
    assert_int_equal(e.eligible, 5000);
    assert_int_equal(e.amount, 4500);
    /* Rounded down to the euro: 75 % of 4 001 € is 3 000.75 €. */
    assert_int_equal(housing_bareme_item(bareme, HOUSING_JAUNE, "air_water_heat_pump", 0, 4001, &e),
                     0);
    assert_int_equal(e.amount, 3000);
}

static void test_external_walls_are_paid_on_100_m2_at_most(void **state)
{
    struct housing_item_estimate e;
    (void)state;
    assert_int_equal(
        housing_bareme_item(bareme, HOUSING_BLEU, "external_wall_insulation", 140, 21000, &e), 0);
    assert_int_equal(e.surface, 100);
    assert_int_equal(e.flat, 7500);
    assert_int_equal(e.cap, 15000);
    assert_int_equal(e.eligible, 15000);
    assert_int_equal(e.amount, 7500);
}

static void test_an_unknown_item_or_a_surface_of_the_wrong_unit_is_refused(void **state)
{
    struct housing_item_estimate e;
    (void)state;
    assert_int_equal(housing_bareme_item(bareme, HOUSING_BLEU, "jacuzzi", 0, 1000, &e), -1);
    assert_int_equal(housing_bareme_item(bareme, HOUSING_BLEU, "air_water_heat_pump", 10, 1000, &e),
                     -1);
    assert_int_equal(housing_bareme_item(bareme, HOUSING_BLEU, "flat_roof_insulation", 0, 1000, &e),
                     -1);
}

static void test_a_dwelling_is_old_enough_from_its_fifteenth_year(void **state)
{
    (void)state;
    assert_int_equal(housing_bareme_min_age(bareme), 15);
    assert_true(housing_bareme_old_enough(bareme, 2011, 2026));
    assert_false(housing_bareme_old_enough(bareme, 2012, 2026));
    assert_true(housing_bareme_old_enough(bareme, 1850, 2026));
}

/* The shipped file with one piece replaced, written to a temporary file;
 * what loading it says. */
static int load_broken(const char *from, const char *to, char *err, size_t errlen)
{
    static char text[65536];
    FILE *f = fopen(BAREME, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char *at = strstr(text, from);
    assert_non_null(at);
    char path[] = "/tmp/mdv-renovation-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    fclose(f);
    struct housing_bareme *b = housing_bareme_load(path, err, errlen);
    unlink(path);
    housing_bareme_free(b);
    return b ? 0 : -1;
}

struct broken_row {
    const char *from, *to, *said;
};

static void test_a_wrong_file_names_the_line_or_the_table_and_the_entry(void **state)
{
    static const struct broken_row rows[] = {
        {"\"year\": 2025,", "\"year\": 2025,,", ":2: "},
        {"\"jaune\": 32197", "\"jaune\": 25000",
         "categories.outside_ile_de_france.ceilings[1]: bleu, jaune and violet"},
        {"\"persons\": 3, \"bleu\": 41893", "\"persons\": 4, \"bleu\": 41893",
         "categories.ile_de_france.ceilings[2]: rows must be for 1, 2, 3"},
        {"\"bleu\": 35285", "\"bleu\": 30000",
         "categories.outside_ile_de_france.ceilings[3]: each ceiling must rise"},
        {"\"per_extra_person\": {\"bleu\": 7038", "\"per_extra_person\": {\"bleu\": -1",
         "categories.ile_de_france.per_extra_person"},
        {"\"departments\": [", "\"departements\": [", "ile_de_france.departments"},
        {"\"rose\": 40}", "\"rose\": 140}", "ecretement.max_share_percent"},
        {"\"min_dwelling_age_years\": 15", "\"min_dwelling_age_years\": \"15\"",
         "eligibility.min_dwelling_age_years"},
        {"\"bleu\": 5000, \"jaune\": 4000", "\"bleu\": 3500, \"jaune\": 4000",
         "items[0]: amount_eur"},
        {"\"cap_eur\": 18000,\n     \"source\": \"betagouv/reno "
         "app/règles/gestes/chauffage/PAC.yaml, "
         "chauffage . PAC . solaire",
         "\"cap_eur\": 0,\n     \"source\": \"betagouv/reno app/règles/gestes/chauffage/PAC.yaml, "
         "chauffage . PAC . solaire",
         "items[2]: cap_eur"},
        {"\"unit\": \"m2\"", "\"unit\": \"m²\"", "items[3]: needs a code"},
        {"\"code\": \"internal_wall_insulation\"", "\"code\": \"external_wall_insulation\"",
         "items[4]: its code is listed twice"},
    };
    int failures = 0;
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char err[512] = "";
        int rc = load_broken(rows[i].from, rows[i].to, err, sizeof(err));
        if (rc != -1 || !strstr(err, "/tmp/mdv-renovation-") || !strstr(err, rows[i].said))
            ROW_FAILED(failures, "%s → %s: rc %d, « %s »", rows[i].from, rows[i].to, rc, err);
    }
    assert_int_equal(failures, 0);
}

/* A declaration of the given items for a household, in Rennes (outside
 * Île-de-France) unless commune says otherwise. */
struct application {
    Mdv__Gateway__V1__RenovationGrantDeclaration r;
    Mdv__Journey__V1__Address dwelling;
    Mdv__Gateway__V1__RenovationWorkItem items[3];
    Mdv__Gateway__V1__RenovationWorkItem *list[3];
};

static void application_init(struct application *a, const char *commune, uint32_t persons,
                             uint64_t income)
{
    Mdv__Gateway__V1__RenovationGrantDeclaration r =
        MDV__GATEWAY__V1__RENOVATION_GRANT_DECLARATION__INIT;
    Mdv__Journey__V1__Address d = MDV__JOURNEY__V1__ADDRESS__INIT;
    a->r = r;
    a->dwelling = d;
    a->dwelling.commune_code = (char *)commune;
    a->r.dwelling = &a->dwelling;
    a->r.construction_year = 1975;
    a->r.main_residence = 1;
    a->r.owner_occupier = 1;
    a->r.household_size = persons;
    a->r.reference_tax_income_eur = income;
    a->r.items = a->list;
}

static void application_item(struct application *a, const char *code, uint32_t surface,
                             uint64_t cost)
{
    Mdv__Gateway__V1__RenovationWorkItem w = MDV__GATEWAY__V1__RENOVATION_WORK_ITEM__INIT;
    w.code = (char *)code;
    w.surface_m2 = surface;
    w.cost_eur = cost;
    a->items[a->r.n_items] = w;
    a->list[a->r.n_items] = &a->items[a->r.n_items];
    a->r.n_items++;
}

static void test_the_detail_of_the_design_example(void **state)
{
    struct application a;
    struct estimate e;
    char err[128];
    (void)state;
    application_init(&a, "35238", 2, 30000); /* jaune outside IdF for 2 persons */
    application_item(&a, "air_water_heat_pump", 0, 12000);
    application_item(&a, "external_wall_insulation", 60, 9000);
    assert_int_equal(estimate_assess(bareme, &a.r, "2026-12-01T10:00:00Z", &e, err, sizeof(err)),
                     0);
    char *detail = estimate_detail(&e);
    assert_string_equal(detail,
                        "Catégorie jaune (hors Île-de-France) : pompe à chaleur air/eau 4 000 € ; "
                        "isolation des murs par l'extérieur 60 m² × 60 € = 3 600 € ; "
                        "total 7 600 €");
    free(detail);
    assert_string_equal(e.reasons, "");
    assert_int_equal(e.total, 7600);
}

static void test_the_detail_says_the_cap_and_the_ecretement(void **state)
{
    struct application a;
    struct estimate e;
    char err[128];
    (void)state;
    application_init(&a, "92012", 1, 20000); /* bleu in Île-de-France for 1 person */
    application_item(&a, "air_water_heat_pump", 0, 4000);
    application_item(&a, "internal_wall_insulation", 10, 900);
    assert_int_equal(estimate_assess(bareme, &a.r, "2026-12-01T10:00:00Z", &e, err, sizeof(err)),
                     0);
    char *detail = estimate_detail(&e);
    /* The pump: 5 000 € flat, 90 % of 4 000 € = 3 600 €. The walls: 10 m²
     * × 25 € = 250 €, the quote 900 € over the cap of 700 €. */
    assert_string_equal(
        detail, "Catégorie bleu (Île-de-France) : pompe à chaleur air/eau 5 000 €, ramenée à "
                "3 600 € par l'écrêtement (part maximale de 4 000 € de dépense éligible) ; "
                "isolation des murs par l'intérieur 10 m² × 25 € = 250 € (dépense retenue "
                "plafonnée à 700 €) ; total 3 850 €");
    free(detail);
}

static void test_every_reason_of_ineligibility_is_said(void **state)
{
    struct application a;
    struct estimate e;
    char err[128];
    (void)state;
    application_init(&a, "35238", 2, 30000);
    application_item(&a, "air_water_heat_pump", 0, 12000);
    a.r.owner_occupier = 0;
    a.r.main_residence = 0;
    a.r.construction_year = 2012;
    assert_int_equal(estimate_assess(bareme, &a.r, "2026-03-01T10:00:00Z", &e, err, sizeof(err)),
                     0);
    assert_string_equal(e.reasons,
                        "le demandeur n'est pas propriétaire occupant du logement ; logement "
                        "construit en 2012 : moins de 15 ans à la date de la demande ; le logement "
                        "n'est pas la résidence principale du demandeur");
    a.r.construction_year = 2011;
    a.r.owner_occupier = a.r.main_residence = 1;
    assert_int_equal(estimate_assess(bareme, &a.r, "2026-03-01T10:00:00Z", &e, err, sizeof(err)),
                     0);
    assert_string_equal(e.reasons, "");
}

static void test_an_item_the_bareme_does_not_know_is_a_dead_letter(void **state)
{
    struct application a;
    struct estimate e;
    char err[128] = "";
    (void)state;
    application_init(&a, "35238", 2, 30000);
    application_item(&a, "jacuzzi", 0, 12000);
    assert_int_equal(estimate_assess(bareme, &a.r, "2026-03-01T10:00:00Z", &e, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "jacuzzi"));
}

static void test_euros_are_grouped_by_thousands(void **state)
{
    char out[32];
    (void)state;
    estimate_euros(0, out);
    assert_string_equal(out, "0");
    estimate_euros(999, out);
    assert_string_equal(out, "999");
    estimate_euros(1000, out);
    assert_string_equal(out, "1 000");
    estimate_euros(1234567, out);
    assert_string_equal(out, "1 234 567");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_category_boundary_outside_ile_de_france),
        cmocka_unit_test(test_every_category_boundary_inside_ile_de_france),
        cmocka_unit_test(test_no_income_is_bleu_and_a_large_one_rose),
        cmocka_unit_test(test_ile_de_france_is_its_eight_departments),
        cmocka_unit_test(test_each_item_has_its_amount_per_category_and_its_cap),
        cmocka_unit_test(test_rose_gets_nothing_for_any_item),
        cmocka_unit_test(test_the_example_of_the_design),
        cmocka_unit_test(test_a_quote_under_the_cap_is_what_is_eligible),
        cmocka_unit_test(test_the_ecretement_keeps_the_aid_under_the_categorys_share),
        cmocka_unit_test(test_external_walls_are_paid_on_100_m2_at_most),
        cmocka_unit_test(test_an_unknown_item_or_a_surface_of_the_wrong_unit_is_refused),
        cmocka_unit_test(test_a_dwelling_is_old_enough_from_its_fifteenth_year),
        cmocka_unit_test(test_a_wrong_file_names_the_line_or_the_table_and_the_entry),
        cmocka_unit_test(test_the_detail_of_the_design_example),
        cmocka_unit_test(test_the_detail_says_the_cap_and_the_ecretement),
        cmocka_unit_test(test_every_reason_of_ineligibility_is_said),
        cmocka_unit_test(test_an_item_the_bareme_does_not_know_is_a_dead_letter),
        cmocka_unit_test(test_euros_are_grouped_by_thousands),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
