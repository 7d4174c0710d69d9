/* Unit tests of identity's comparison of a declared dwelling with the
 * recorded main address (services/identity/residence.c): the same address
 * typed another way is the same; another street, number, postcode or
 * commune is not; an arrondissement municipal is its city. */
#include "unit.h"

#include <locale.h>

#include "../../services/identity/identity.h"

static int setup(void **state)
{
    (void)state;
    return setlocale(LC_CTYPE, "C.UTF-8") ? 0 : -1;
}

static identity_address_t dwelling(char **lines, size_t n, const char *postal_code,
                                   const char *commune_code)
{
    identity_address_t a = MDV__JOURNEY__V1__ADDRESS__INIT;
    a.lines = lines;
    a.n_lines = n;
    a.postal_code = (char *)postal_code;
    a.commune_code = (char *)commune_code;
    return a;
}

static void test_the_fold_keeps_letters_and_digits_only(void **state)
{
    char out[128];
    (void)state;
    identity_address_fold("  12, Rue de l'Église -- Bât. B ", out, sizeof(out));
    assert_string_equal(out, "12 RUE DE L EGLISE BAT B");
    identity_address_fold("Cœur ß", out, sizeof(out));
    assert_string_equal(out, "COEUR SS");
    identity_address_fold("", out, sizeof(out));
    assert_string_equal(out, "");
}

struct same_row {
    const char *declared[3];
    size_t n;
    const char *postal_code, *commune_code;
    int same;
};

static void test_same_and_different_addresses(void **state)
{
    static const char *recorded = "12 rue des Lilas\nBâtiment B";
    static const struct same_row rows[] = {
        {{"12 rue des Lilas", "Bâtiment B"}, 2, "75011", "75056", 1},
        {{"12, RUE DES LILAS", "batiment b"}, 2, "75011", "75056", 1},
        {{"12 rue des Lilas Bâtiment B"}, 1, "75011", "75056", 1},
        {{"12 rue des Lilas", "Bâtiment B"}, 2, "75011", "75111", 1}, /* the 11e arrondissement */
        {{"12 rue des Lilas"}, 1, "75011", "75056", 0},
        {{"14 rue des Lilas", "Bâtiment B"}, 2, "75011", "75056", 0},
        {{"12 rue des Lilas", "Bâtiment B"}, 2, "75012", "75056", 0},
        {{"12 rue des Lilas", "Bâtiment B"}, 2, "75011", "69123", 0},
        {{"12 bd des Lilas", "Bâtiment B"}, 2, "75011", "75056", 0},
    };
    int failures = 0;
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        identity_address_t a = dwelling((char **)rows[i].declared, rows[i].n, rows[i].postal_code,
                                        rows[i].commune_code);
        int same = identity_address_same(&a, recorded, "75011", "75056");
        if (same != rows[i].same)
            ROW_FAILED(failures, "row %zu (%s, %s %s): %d", i, rows[i].declared[0],
                       rows[i].postal_code, rows[i].commune_code, same);
    }
    assert_int_equal(failures, 0);
}

static void test_lyon_and_marseille_arrondissements_are_their_city(void **state)
{
    char *line[] = {"3 place Bellecour"};
    (void)state;
    identity_address_t lyon = dwelling(line, 1, "69002", "69382");
    assert_true(identity_address_same(&lyon, "3 place Bellecour", "69002", "69123"));
    identity_address_t marseille = dwelling(line, 1, "13008", "13208");
    assert_true(identity_address_same(&marseille, "3 place Bellecour", "13008", "13055"));
    assert_false(identity_address_same(&marseille, "3 place Bellecour", "13008", "69123"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_fold_keeps_letters_and_digits_only),
        cmocka_unit_test(test_same_and_different_addresses),
        cmocka_unit_test(test_lyon_and_marseille_arrondissements_are_their_city),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
