/* Unit tests of the gateway's COG tables (services/gateway/cog.c) on the
 * real files: the countries shipped in services/gateway/rules and the
 * communes the build made from the pinned package. Known rows of each,
 * row by row, and how a code with two lines and an arrondissement read. */
#include "unit.h"

#include "../../services/gateway/cog.h"

static int load(void **state)
{
    (void)state;
    return cog_load(MDV_TEST_COMMUNES, MDV_TEST_COUNTRIES);
}

static int unload(void **state)
{
    (void)state;
    cog_unload();
    return 0;
}

struct country_row {
    const char *code;
    const char *name; /* NULL: no such code */
    int ended;
};

/* INSEE, COG, « Pays et territoires étrangers ». */
static const struct country_row countries[] = {
    {"99100", "France", 0},
    {"99109", "Allemagne", 0},
    {"99134", "Espagne", 0},
    {"99132", "Royaume-Uni", 0},
    {"99401", "Canada", 0},
    {"99404", "États-Unis", 0},
    {"99350", "Maroc", 0},
    {"99351", "Tunisie", 0},
    {"99352", "Algérie", 0},
    {"99127", "Italie", 0},
    {"99131", "Belgique", 0},
    {"99140", "Suisse", 0},
    {"99216", "Chine", 0},
    {"99217", "Japon", 0},
    {"99501", "Australie", 0},
    {"99230", "Hong Kong", 0},
    {"99115", "Tchécoslovaquie", 1},
    {"99142", "Allemagne de l’Ouest", 1},
    {"99146", NULL, 0},
    {"99999", NULL, 0},
    {"75056", NULL, 0},
};

static void test_known_countries_are_the_insee_rows(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof(countries) / sizeof(countries[0]); i++) {
        const struct country_row *want = &countries[i];
        const struct cog_country *got = cog_country_find(want->code);
        if (!want->name) {
            if (got)
                ROW_FAILED(failures, "%s: expected no country, got %s", want->code, got->name);
            continue;
        }
        if (!got || strcmp(got->name, want->name) != 0 || (got->ended[0] != 0) != want->ended)
            ROW_FAILED(failures, "%s: expected %s%s, got %s%s", want->code, want->name,
                       want->ended ? " (ended)" : "", got ? got->name : "nothing",
                       got && got->ended[0] ? " (ended)" : "");
    }
    assert_int_equal(failures, 0);
}

static void test_a_territory_names_its_state(void **state)
{
    (void)state;
    const struct cog_country *hong_kong = cog_country_find("99230");
    assert_non_null(hong_kong);
    assert_string_equal(hong_kong->parent, "99216");
    assert_string_equal(cog_country_find("99401")->parent, "");
}

struct commune_row {
    const char *code;
    const char *postcode;
    int has_postcode;
    int addressable;
    const char *city;
};

static const struct commune_row communes[] = {
    {"75056", "75011", 1, 1, "Paris"},
    {"75056", "75116", 1, 1, "Paris"},
    {"75056", "69001", 0, 1, "Paris"},
    {"75111", "75011", 1, 1, "Paris"}, /* an arrondissement: its commune's name */
    {"75111", "75012", 0, 1, "Paris"},
    {"13055", "13001", 1, 1, "Marseille"},
    {"69123", "69009", 1, 1, "Lyon"},
    {"2A004", "20000", 1, 1, "Ajaccio"},
    {"97411", "97400", 1, 1, "Saint-Denis"},
    {"01001", "01400", 1, 1, "L'Abergement-Clémenciat"},
    {"01001", "0140", 0, 1, "L'Abergement-Clémenciat"},
    /* A commune nouvelle and its commune déléguée share 01015: the
     * commune nouvelle is the one an address names. */
    {"01015", "01300", 1, 1, "Arboys en Bugey"},
    {"01120", "01290", 0, 0, "Cordieux"},   /* commune associée */
    {"14002", "14340", 0, 0, "Acqueville"}, /* commune déléguée only */
};

static void test_known_communes_and_their_postcodes(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof(communes) / sizeof(communes[0]); i++) {
        const struct commune_row *want = &communes[i];
        const struct cog_commune *got = cog_commune_find(want->code);
        if (!got) {
            ROW_FAILED(failures, "%s: not found", want->code);
            continue;
        }
        if (cog_commune_has_postcode(got, want->postcode) != want->has_postcode ||
            cog_commune_addressable(got) != want->addressable ||
            strcmp(cog_commune_city(got), want->city) != 0)
            ROW_FAILED(failures, "%s %s: postcode %d addressable %d city %s", want->code,
                       want->postcode, cog_commune_has_postcode(got, want->postcode),
                       cog_commune_addressable(got), cog_commune_city(got));
    }
    assert_int_equal(failures, 0);
}

static void test_codes_that_are_no_commune_are_not_found(void **state)
{
    (void)state;
    static const char *const codes[] = {"99401", "00000", "75000", "2C001", "", "750560"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        assert_null(cog_commune_find(codes[i]));
}

static void test_a_broken_file_is_refused_and_leaves_no_table(void **state)
{
    (void)state;
    char path[] = "/tmp/mdv-cog-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char broken[] = "# header\n99401\tCanada\n";
    assert_int_equal(write(fd, broken, sizeof(broken) - 1), (ssize_t)(sizeof(broken) - 1));
    close(fd);
    struct capture c;
    capture_start(&c);
    int rc = cog_load(MDV_TEST_COMMUNES, path);
    char *log = capture_end(&c);
    unlink(path);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(log, ":2: not a valid line"));
    free(log);
    assert_null(cog_commune_find("75056"));
    assert_int_equal(cog_load(MDV_TEST_COMMUNES, "/nonexistent/countries.tsv"), -1);
    assert_int_equal(load(NULL), 0); /* for the tests after this one */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_countries_are_the_insee_rows),
        cmocka_unit_test(test_a_territory_names_its_state),
        cmocka_unit_test(test_known_communes_and_their_postcodes),
        cmocka_unit_test(test_codes_that_are_no_commune_are_not_found),
        cmocka_unit_test(test_a_broken_file_is_refused_and_leaves_no_table),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
