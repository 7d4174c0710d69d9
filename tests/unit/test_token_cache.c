/* Unit tests of shared/token_cache.c: what a verified token's entry gives
 * back, until when, and to which token only. */
#include "unit.h"

#include "mdv/auth.h"
#include "mdv/token_cache.h"

#define NOW 1800000000.0

static void test_a_stored_token_gives_its_subject_until_its_exp(void **state)
{
    (void)state;
    struct mdv_token_cache *cache = mdv_token_cache_new(64);
    char sub[MDV_AUTH_SUB_LEN];

    assert_int_equal(mdv_token_cache_get(cache, "a.b.c", NOW, sub, sizeof(sub)), 0);
    mdv_token_cache_put(cache, "a.b.c", NOW + 10, "usager-a");
    assert_int_equal(mdv_token_cache_get(cache, "a.b.c", NOW, sub, sizeof(sub)), 1);
    assert_string_equal(sub, "usager-a");
    assert_int_equal(mdv_token_cache_get(cache, "a.b.c", NOW + 9.999, sub, sizeof(sub)), 1);
    /* exp is strict: not on or after it, and the entry is gone. */
    assert_int_equal(mdv_token_cache_get(cache, "a.b.c", NOW + 10, sub, sizeof(sub)), 0);
    assert_string_equal(sub, "");
    assert_int_equal(mdv_token_cache_get(cache, "a.b.c", NOW, sub, sizeof(sub)), 0);
    mdv_token_cache_destroy(cache);
    mdv_token_cache_destroy(NULL);
}

static void test_another_token_never_gets_an_entry_not_its_own(void **state)
{
    (void)state;
    struct mdv_token_cache *cache = mdv_token_cache_new(64);
    char sub[MDV_AUTH_SUB_LEN];

    mdv_token_cache_put(cache, "a.b.c", NOW + 10, "usager-a");
    /* One byte more, one byte less, another byte: other tokens. */
    const char *others[] = {"a.b.cd", "a.b.", "a.b.C", "A.b.c", ""};
    for (size_t i = 0; i < MDV_ARRAY_LEN(others); i++)
        assert_int_equal(mdv_token_cache_get(cache, others[i], NOW, sub, sizeof(sub)), 0);
    mdv_token_cache_put(cache, "x.y.z", NOW + 10, "usager-x");
    assert_int_equal(mdv_token_cache_get(cache, "x.y.z", NOW, sub, sizeof(sub)), 1);
    assert_string_equal(sub, "usager-x");
    assert_int_equal(mdv_token_cache_get(cache, "a.b.c", NOW, sub, sizeof(sub)), 1);
    assert_string_equal(sub, "usager-a");
    mdv_token_cache_destroy(cache);
}

/* One slot: each token takes it from the one before, which then misses
 * (and would be checked in full again) rather than get the other's. */
static void test_a_token_taking_a_slot_evicts_the_one_before(void **state)
{
    (void)state;
    struct mdv_token_cache *cache = mdv_token_cache_new(1);
    char sub[MDV_AUTH_SUB_LEN];

    mdv_token_cache_put(cache, "a.b.c", NOW + 10, "usager-a");
    mdv_token_cache_put(cache, "x.y.z", NOW + 10, "usager-x");
    assert_int_equal(mdv_token_cache_get(cache, "a.b.c", NOW, sub, sizeof(sub)), 0);
    assert_string_equal(sub, "");
    assert_int_equal(mdv_token_cache_get(cache, "x.y.z", NOW, sub, sizeof(sub)), 1);
    assert_string_equal(sub, "usager-x");
    mdv_token_cache_destroy(cache);
}

static void test_a_subject_too_long_for_the_caller_is_a_miss(void **state)
{
    (void)state;
    struct mdv_token_cache *cache = mdv_token_cache_new(8);
    char sub[8];

    mdv_token_cache_put(cache, "a.b.c", NOW + 10, "a-long-subject");
    assert_int_equal(mdv_token_cache_get(cache, "a.b.c", NOW, sub, sizeof(sub)), 0);
    assert_string_equal(sub, "");
    /* Nor is an already expired token kept. */
    mdv_token_cache_put(cache, "x.y.z", 0, "usager-x");
    assert_int_equal(mdv_token_cache_get(cache, "x.y.z", -1, sub, sizeof(sub)), 0);
    mdv_token_cache_destroy(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_stored_token_gives_its_subject_until_its_exp),
        cmocka_unit_test(test_another_token_never_gets_an_entry_not_its_own),
        cmocka_unit_test(test_a_token_taking_a_slot_evicts_the_one_before),
        cmocka_unit_test(test_a_subject_too_long_for_the_caller_is_a_miss),
    };
    return cmocka_run_group_tests_name("token_cache", tests, NULL, NULL);
}
