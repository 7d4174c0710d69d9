/* Unit tests of services/gateway/journey_cache.c: the owner's answer kept
 * and served, evicted when full, forgotten when the journey changes or
 * the listening connection is lost or made again, and never stored from
 * a read that began before a change. */
#include "unit.h"

#include "gateway/journey_cache.h"

#define J1 "00000000-0000-4000-8000-000000000001"
#define J2 "00000000-0000-4000-8000-000000000002"
#define J3 "00000000-0000-4000-8000-000000000003"

/* A miss then the put of what the database would have said. */
static void fill(struct journey_cache *c, const char *id, const char *owner, const char *etag,
                 const char *body)
{
    char got[JOURNEY_CACHE_ETAG_LEN];
    struct journey_cache_ticket ticket;
    assert_int_equal(journey_cache_get(c, id, owner, got, NULL, &ticket), 0);
    journey_cache_put(c, &ticket, id, owner, etag, body);
}

/* 1 when the cache answers id for owner with that version and body. */
static int holds(struct journey_cache *c, const char *id, const char *owner, const char *etag,
                 const char *body)
{
    char got[JOURNEY_CACHE_ETAG_LEN];
    char *text = NULL;
    struct journey_cache_ticket ticket;
    if (!journey_cache_get(c, id, owner, got, &text, &ticket))
        return 0;
    int same = strcmp(got, etag) == 0 && strcmp(text, body) == 0;
    free(text);
    assert_true(same);
    return 1;
}

static struct journey_cache *serving(size_t capacity)
{
    struct journey_cache *c = journey_cache_new(capacity);
    assert_non_null(c);
    journey_cache_reset(c, 1);
    return c;
}

static void test_a_put_after_a_miss_is_served_to_its_owner_only(void **state)
{
    (void)state;
    struct journey_cache *c = serving(8);
    fill(c, J1, "alice", "v1", "{\"id\":1}");
    assert_true(holds(c, J1, "alice", "v1", "{\"id\":1}"));
    assert_false(holds(c, J1, "bob", "v1", "{\"id\":1}"));
    assert_false(holds(c, J2, "alice", "v1", "{\"id\":1}"));
    char etag[JOURNEY_CACHE_ETAG_LEN];
    struct journey_cache_ticket ticket;
    /* A 304 needs no body. */
    assert_int_equal(journey_cache_get(c, J1, "alice", etag, NULL, &ticket), 1);
    assert_string_equal(etag, "v1");
    struct journey_cache_stats st;
    journey_cache_stats(c, &st);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.misses, 3);
    assert_int_equal(st.entries, 1);
    journey_cache_destroy(c);
}

static void test_nothing_is_served_before_the_first_reset_to_serving(void **state)
{
    (void)state;
    struct journey_cache *c = journey_cache_new(8);
    fill(c, J1, "alice", "v1", "{}");
    assert_false(holds(c, J1, "alice", "v1", "{}"));
    journey_cache_reset(c, 1);
    fill(c, J1, "alice", "v1", "{}");
    assert_true(holds(c, J1, "alice", "v1", "{}"));
    journey_cache_destroy(c);
}

static void test_an_invalidated_journey_is_forgotten_and_the_others_kept(void **state)
{
    (void)state;
    struct journey_cache *c = serving(8);
    fill(c, J1, "alice", "v1", "{1}");
    fill(c, J2, "alice", "v2", "{2}");
    journey_cache_invalidate(c, J1);
    assert_false(holds(c, J1, "alice", "v1", "{1}"));
    assert_true(holds(c, J2, "alice", "v2", "{2}"));
    /* Invalidating what it does not hold changes nothing else. */
    journey_cache_invalidate(c, J3);
    assert_true(holds(c, J2, "alice", "v2", "{2}"));
    struct journey_cache_stats st;
    journey_cache_stats(c, &st);
    assert_int_equal(st.invalidations, 1);
    journey_cache_destroy(c);
}

/* The race: a GET misses and reads V; the change to V+1 commits and its
 * notification invalidates; the GET's put of V must be refused. */
static void test_a_read_that_began_before_an_invalidation_is_not_stored(void **state)
{
    (void)state;
    struct journey_cache *c = serving(8);
    char etag[JOURNEY_CACHE_ETAG_LEN];
    struct journey_cache_ticket before, after;
    assert_int_equal(journey_cache_get(c, J1, "alice", etag, NULL, &before), 0);
    journey_cache_invalidate(c, J1); /* nothing held: the epoch moves all the same */
    journey_cache_put(c, &before, J1, "alice", "old", "{old}");
    assert_false(holds(c, J1, "alice", "old", "{old}"));
    /* A read that began after it is stored. */
    assert_int_equal(journey_cache_get(c, J1, "alice", etag, NULL, &after), 0);
    journey_cache_put(c, &after, J1, "alice", "new", "{new}");
    assert_true(holds(c, J1, "alice", "new", "{new}"));
    journey_cache_destroy(c);
}

/* An invalidation of a journey of another bucket does not refuse the put;
 * one of the same journey always does. */
static void test_the_refusal_follows_the_journey_s_bucket(void **state)
{
    (void)state;
    struct journey_cache *c = serving(1024);
    char etag[JOURNEY_CACHE_ETAG_LEN], other[MDV_UUID_LEN];
    struct journey_cache_ticket t1, t2;
    assert_int_equal(journey_cache_get(c, J1, "alice", etag, NULL, &t1), 0);
    for (int i = 2;; i++) { /* a journey of another bucket */
        snprintf(other, sizeof(other), "00000000-0000-4000-8000-%012d", i);
        assert_int_equal(journey_cache_get(c, other, "alice", etag, NULL, &t2), 0);
        if (t2.bucket != t1.bucket)
            break;
    }
    journey_cache_invalidate(c, other);
    journey_cache_put(c, &t1, J1, "alice", "v1", "{1}");
    journey_cache_put(c, &t2, other, "alice", "v2", "{2}");
    assert_true(holds(c, J1, "alice", "v1", "{1}"));
    assert_false(holds(c, other, "alice", "v2", "{2}"));
    journey_cache_destroy(c);
}

static void test_a_reset_empties_it_and_refuses_reads_begun_before(void **state)
{
    (void)state;
    struct journey_cache *c = serving(8);
    char etag[JOURNEY_CACHE_ETAG_LEN];
    struct journey_cache_ticket before;
    fill(c, J1, "alice", "v1", "{1}");
    assert_int_equal(journey_cache_get(c, J2, "alice", etag, NULL, &before), 0);
    /* The listening connection is lost: nothing is served, nothing kept. */
    journey_cache_reset(c, 0);
    assert_false(holds(c, J1, "alice", "v1", "{1}"));
    fill(c, J1, "alice", "v1", "{1}");
    assert_false(holds(c, J1, "alice", "v1", "{1}"));
    /* It listens again: a read begun while no one listened may have
     * missed a change whose notification was lost. */
    struct journey_cache_ticket while_down;
    assert_int_equal(journey_cache_get(c, J3, "alice", etag, NULL, &while_down), 0);
    journey_cache_reset(c, 1);
    journey_cache_put(c, &before, J2, "alice", "v2", "{2}");
    journey_cache_put(c, &while_down, J3, "alice", "v3", "{3}");
    assert_false(holds(c, J2, "alice", "v2", "{2}"));
    assert_false(holds(c, J3, "alice", "v3", "{3}"));
    fill(c, J1, "alice", "v1", "{1}");
    assert_true(holds(c, J1, "alice", "v1", "{1}"));
    struct journey_cache_stats st;
    journey_cache_stats(c, &st);
    assert_int_equal(st.entries, 1);
    journey_cache_destroy(c);
}

/* The notification names a journey in lowercase, as PostgreSQL writes a
 * uuid; a client may have asked with capitals. */
static void test_an_id_asked_in_capitals_is_the_same_journey(void **state)
{
    (void)state;
    struct journey_cache *c = serving(8);
    const char *upper = "0000000A-0000-4000-8000-00000000000B";
    const char *lower = "0000000a-0000-4000-8000-00000000000b";
    fill(c, upper, "alice", "v1", "{1}");
    assert_true(holds(c, lower, "alice", "v1", "{1}"));
    journey_cache_invalidate(c, lower);
    assert_false(holds(c, upper, "alice", "v1", "{1}"));
    /* And a read in capitals begun before that invalidation is refused. */
    char etag[JOURNEY_CACHE_ETAG_LEN];
    struct journey_cache_ticket before;
    assert_int_equal(journey_cache_get(c, upper, "alice", etag, NULL, &before), 0);
    journey_cache_invalidate(c, lower);
    journey_cache_put(c, &before, upper, "alice", "v1", "{1}");
    assert_false(holds(c, lower, "alice", "v1", "{1}"));
    journey_cache_destroy(c);
}

/* Full, the entry not read since the clock's hand last passed goes first. */
static void test_when_full_the_entry_not_read_lately_is_evicted(void **state)
{
    (void)state;
    struct journey_cache *c = serving(2);
    fill(c, J1, "alice", "v1", "{1}");
    fill(c, J2, "alice", "v2", "{2}");
    assert_true(holds(c, J1, "alice", "v1", "{1}")); /* J1 read: J2 goes */
    fill(c, J3, "alice", "v3", "{3}");
    assert_true(holds(c, J1, "alice", "v1", "{1}"));
    assert_false(holds(c, J2, "alice", "v2", "{2}"));
    assert_true(holds(c, J3, "alice", "v3", "{3}"));
    struct journey_cache_stats st;
    journey_cache_stats(c, &st);
    assert_int_equal(st.entries, 2);
    assert_int_equal(st.evictions, 1);
    journey_cache_destroy(c);
}

static void test_many_journeys_never_hold_more_than_the_capacity(void **state)
{
    (void)state;
    struct journey_cache *c = serving(64);
    char id[MDV_UUID_LEN];
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", i);
        fill(c, id, "alice", "v", "{}");
        if (i % 7 == 0)
            journey_cache_invalidate(c, id);
    }
    struct journey_cache_stats st;
    journey_cache_stats(c, &st);
    assert_true(st.entries <= 64);
    assert_true(st.entries >= 60);
    assert_true(holds(c, id, "alice", "v", "{}")); /* the last one put */
    journey_cache_destroy(c);
}

/* Two GETs that missed at once both put: the second replaces the first
 * (both read after the last change). */
static void test_a_second_put_replaces_the_first(void **state)
{
    (void)state;
    struct journey_cache *c = serving(4);
    char etag[JOURNEY_CACHE_ETAG_LEN];
    struct journey_cache_ticket a, b;
    assert_int_equal(journey_cache_get(c, J1, "alice", etag, NULL, &a), 0);
    assert_int_equal(journey_cache_get(c, J1, "alice", etag, NULL, &b), 0);
    journey_cache_put(c, &a, J1, "alice", "v2", "{22}");
    journey_cache_put(c, &b, J1, "alice", "v2", "{333}");
    assert_true(holds(c, J1, "alice", "v2", "{333}"));
    struct journey_cache_stats st;
    journey_cache_stats(c, &st);
    assert_int_equal(st.entries, 1);
    journey_cache_destroy(c);
}

static void test_size_0_is_no_cache_at_all(void **state)
{
    (void)state;
    struct journey_cache *c = journey_cache_new(0);
    assert_null(c);
    journey_cache_reset(c, 1);
    fill(c, J1, "alice", "v1", "{1}");
    assert_false(holds(c, J1, "alice", "v1", "{1}"));
    journey_cache_invalidate(c, J1);
    struct journey_cache_stats st;
    journey_cache_stats(c, &st);
    assert_int_equal(st.entries, 0);
    journey_cache_destroy(c);
}

static void test_its_size_setting_is_checked(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        int ok;
    } rows[] = {
        {"0", 1},  {"1", 1}, {"4096", 1}, {"1000000", 1}, {"1000001", 0},
        {"-1", 0}, {"", 0},  {"ten", 0},  {"10k", 0},     {"99999999999999999999", 0},
    };
    char err[128];
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        int ok = journey_cache_check_size(rows[i].value, err, sizeof(err)) == 0;
        if (ok != rows[i].ok)
            ROW_FAILED(failures, "\"%s\": %s, expected %s", rows[i].value, ok ? "ok" : err,
                       rows[i].ok ? "ok" : "refused");
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_put_after_a_miss_is_served_to_its_owner_only),
        cmocka_unit_test(test_nothing_is_served_before_the_first_reset_to_serving),
        cmocka_unit_test(test_an_invalidated_journey_is_forgotten_and_the_others_kept),
        cmocka_unit_test(test_a_read_that_began_before_an_invalidation_is_not_stored),
        cmocka_unit_test(test_the_refusal_follows_the_journey_s_bucket),
        cmocka_unit_test(test_a_reset_empties_it_and_refuses_reads_begun_before),
        cmocka_unit_test(test_an_id_asked_in_capitals_is_the_same_journey),
        cmocka_unit_test(test_when_full_the_entry_not_read_lately_is_evicted),
        cmocka_unit_test(test_many_journeys_never_hold_more_than_the_capacity),
        cmocka_unit_test(test_a_second_put_replaces_the_first),
        cmocka_unit_test(test_size_0_is_no_cache_at_all),
        cmocka_unit_test(test_its_size_setting_is_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
