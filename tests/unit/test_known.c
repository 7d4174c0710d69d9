/* Unit tests of what the gateway asks identity about a signed-in usager
 * and how identity reads the question: the provider's claims as the
 * contract's pivot identity (services/gateway/known.c), identity's answer
 * held to the KnownAddress shape, and the lookup's body checked field by
 * field into the matching key declarations use
 * (services/identity/lookup_check.c). */
#include "unit.h"

#include <locale.h>

#include "../../services/gateway/known.h"
#include "../../services/identity/identity.h"

static int setup(void **state)
{
    (void)state;
    return setlocale(LC_CTYPE, "C.UTF-8") ? 0 : -1;
}

static json_t *claims(const char *gender, const char *birthplace, const char *birthcountry)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "given_name", "Amélie  Rose", "family_name",
                     "MONTELNIL", "birthdate", "1977-07-21", "gender", gender, "birthplace",
                     birthplace, "birthcountry", birthcountry);
}

static void test_claims_become_the_contracts_pivot_identity(void **state)
{
    (void)state;
    json_t *me = claims("female", "2B033", "99100");
    json_t *p = gateway_known_pivot(me);
    json_t *want =
        json_pack("{s:s, s:[s, s], s:s, s:s, s:s}", "family_name", "MONTELNIL", "given_names",
                  "Amélie", "Rose", "sex", "F", "birth_date", "1977-07-21", "birth_place", "2B033");
    assert_true(json_equal(p, want));
    json_decref(want);
    json_decref(p);
    json_decref(me);
}

static void test_a_birth_abroad_is_the_country(void **state)
{
    (void)state;
    json_t *me = claims("male", "", "99134");
    json_t *p = gateway_known_pivot(me);
    assert_string_equal(json_string_value(json_object_get(p, "birth_place")), "99134");
    assert_string_equal(json_string_value(json_object_get(p, "sex")), "M");
    json_decref(p);
    json_decref(me);
}

static void test_an_incomplete_identity_asks_nobody(void **state)
{
    (void)state;
    json_t *cases[] = {claims("other", "2B033", "99100"), claims("female", "", "99100"),
                       claims("female", "2B033", "99100"), claims("female", "2B033", "99100")};
    json_object_del(cases[2], "birthdate");
    json_object_set_new(cases[3], "given_name", json_string("   "));
    for (size_t i = 0; i < MDV_ARRAY_LEN(cases); i++) {
        assert_null(gateway_known_pivot(cases[i]));
        json_decref(cases[i]);
    }
}

static void test_the_answer_keeps_the_address_shape_only(void **state)
{
    (void)state;
    json_t *answer =
        json_pack("{s:[s], s:s, s:s, s:s, s:s}", "lines", "12 rue des Lilas", "postal_code",
                  "75011", "commune_code", "75111", "city", "Paris", "extra", "dropped");
    json_t *address = gateway_known_address(answer);
    assert_non_null(address);
    assert_int_equal(json_object_size(address), 4);
    assert_null(json_object_get(address, "extra"));
    json_object_set_new(answer, "lines", json_array());
    assert_null(gateway_known_address(answer));
    json_object_set_new(answer, "lines", json_pack("[s]", "1 place"));
    json_object_set_new(answer, "commune_code", json_null());
    assert_null(gateway_known_address(answer));
    json_decref(address);
    json_decref(answer);
}

static json_t *lookup_body(void)
{
    return json_pack("{s:s, s:[s, s], s:s, s:s, s:s}", "family_name", "Montelnil", "given_names",
                     "Amélie", "Rose", "sex", "F", "birth_date", "1977-07-21", "birth_place",
                     "2B033");
}

static void test_the_lookup_key_is_the_declarations_key(void **state)
{
    (void)state;
    char key[MDV_PIVOT_KEY_LEN], want[MDV_PIVOT_KEY_LEN];
    json_t *body = lookup_body(), *errors = json_array();
    assert_int_equal(identity_lookup_key(body, errors, key), 0);
    assert_int_equal(json_array_size(errors), 0);
    assert_int_equal(mdv_pivot_key("MONTELNIL", "Amelie", "F", "1977-07-21", "2B033", want), 0);
    assert_string_equal(key, want);
    json_decref(errors);
    json_decref(body);
}

struct bad_row {
    const char *member;
    json_t *(*value)(void);
    const char *field;
};

static json_t *no_value(void)
{
    return NULL;
}
static json_t *number(void)
{
    return json_integer(1977);
}
static json_t *bad_date(void)
{
    return json_string("1977-02-29");
}
static json_t *bad_names(void)
{
    return json_pack("[s, i]", "Rose", 3);
}

static void test_a_wrong_member_is_named(void **state)
{
    static const struct bad_row rows[] = {
        {"family_name", no_value, "family_name"},
        {"family_name", number, "family_name"},
        {"given_names", bad_names, "given_names[1]"},
        {"sex", number, "sex"},
        {"birth_date", bad_date, "birth_date"},
        {"birth_place", number, "birth_place"},
        {"nir", number, "nir"},
    };
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char key[MDV_PIVOT_KEY_LEN];
        json_t *body = lookup_body(), *errors = json_array();
        json_t *v = rows[i].value();
        if (v)
            json_object_set_new(body, rows[i].member, v);
        else
            json_object_del(body, rows[i].member);
        assert_int_equal(identity_lookup_key(body, errors, key), -1);
        assert_int_equal(json_array_size(errors), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "field")),
                            rows[i].field);
        json_decref(errors);
        json_decref(body);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claims_become_the_contracts_pivot_identity),
        cmocka_unit_test(test_a_birth_abroad_is_the_country),
        cmocka_unit_test(test_an_incomplete_identity_asks_nobody),
        cmocka_unit_test(test_the_answer_keeps_the_address_shape_only),
        cmocka_unit_test(test_the_lookup_key_is_the_declarations_key),
        cmocka_unit_test(test_a_wrong_member_is_named),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
