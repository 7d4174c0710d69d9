/* Unit tests of shared/holdback.c on a consumer with no broker: librdkafka
 * assigns, pauses and seeks partitions locally, which is all the module
 * drives. */
#include "unit.h"

#include "mdv/holdback.h"

struct fixture {
    rd_kafka_t *rk;
    struct mdv_holdback *holdback;
};

static int setup(void **state)
{
    static struct fixture f;
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "group.id", "unit-holdback", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr)))
        return -1;
    f.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!f.rk)
        return -1;
    rd_kafka_topic_partition_list_t *assignment = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(assignment, "t", 0)->offset = 10;
    rd_kafka_topic_partition_list_add(assignment, "t", 1)->offset = 10;
    rd_kafka_resp_err_t err = rd_kafka_assign(f.rk, assignment);
    rd_kafka_topic_partition_list_destroy(assignment);
    f.holdback = mdv_holdback_new();
    *state = &f;
    return err ? -1 : 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mdv_holdback_destroy(f->holdback);
    rd_kafka_destroy(f->rk);
    return 0;
}

/* As the consumer loop does: resume when due, again while the partition
 * is held (a loaded machine can time a seek out, which keeps it for the
 * next backoff), for up to 10 s. Returns whether it is still held. */
static int release(struct fixture *f, const char *topic, int32_t partition)
{
    int held = 1;
    for (int i = 0; i < 100 && held; i++) {
        mdv_sleep_ms(150);
        mdv_holdback_resume_due(f->holdback, f->rk);
        held = mdv_holdback_holds(f->holdback, topic, partition);
    }
    return held;
}

static void test_a_held_partition_is_skipped_until_its_backoff_is_over(void **state)
{
    struct fixture *f = *state;
    struct capture c;
    capture_start(&c);
    mdv_holdback_hold(f->holdback, f->rk, "t", 0, 7);
    int held = mdv_holdback_holds(f->holdback, "t", 0);
    int other = mdv_holdback_holds(f->holdback, "t", 1);
    mdv_holdback_resume_due(f->holdback, f->rk); /* too early */
    int still = mdv_holdback_holds(f->holdback, "t", 0);
    int after = release(f, "t", 0);
    char *said = capture_end(&c);

    assert_true(held);
    assert_false(other);
    assert_true(still);
    assert_false(after);
    assert_non_null(strstr(said, "retrying in 100 ms"));
    free(said);
}

static void test_each_new_failure_doubles_the_backoff_until_a_success(void **state)
{
    struct fixture *f = *state;
    struct capture c;
    capture_start(&c);
    for (int i = 0; i < 6; i++)
        mdv_holdback_hold(f->holdback, f->rk, "t", 0, 7);
    mdv_holdback_succeeded(f->holdback);
    mdv_holdback_hold(f->holdback, f->rk, "t", 0, 7);
    char *said = capture_end(&c);
    const char *expected[] = {"100 ms", "200 ms", "400 ms", "800 ms", "1600 ms", "2000 ms"};
    const char *at = said;
    for (size_t i = 0; i < MDV_ARRAY_LEN(expected); i++) {
        at = strstr(at, expected[i]);
        assert_non_null(at);
    }
    assert_non_null(strstr(at, "retrying in 100 ms")); /* after the success */
    free(said);
}

/* The unassignment is applied by librdkafka's own thread: wait for it (a
 * loaded machine may take a while), up to 5 s. */
static void wait_unassigned(rd_kafka_t *rk)
{
    for (int i = 0; i < 500; i++) {
        rd_kafka_topic_partition_list_t *now = NULL;
        assert_int_equal(rd_kafka_assignment(rk, &now), RD_KAFKA_RESP_ERR_NO_ERROR);
        int left = now->cnt;
        rd_kafka_topic_partition_list_destroy(now);
        if (left == 0)
            return;
        mdv_sleep_ms(10);
    }
    fail_msg("still assigned after 5 s");
}

/* After a rebalance the partition is someone else's: its seek fails with
 * __STATE, and holding it would block nothing but our own bookkeeping. */
static void test_a_partition_no_longer_assigned_is_dropped(void **state)
{
    struct fixture *f = *state;
    struct capture c;
    capture_start(&c);
    mdv_holdback_hold(f->holdback, f->rk, "t", 1, 4);
    rd_kafka_assign(f->rk, NULL);
    wait_unassigned(f->rk);
    int held = release(f, "t", 1);
    char *said = capture_end(&c);
    assert_false(held);
    assert_non_null(strstr(said, "seek back t:1 failed"));
    free(said);
}

/* A batch that must run again holds each of its partitions at its first
 * message, and counts as one failure for the backoff. */
static void test_a_batch_holds_each_partition_with_one_step_of_backoff(void **state)
{
    struct fixture *f = *state;
    struct capture c;
    rd_kafka_topic_partition_list_t *first = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(first, "t", 0)->offset = 7;
    rd_kafka_topic_partition_list_add(first, "t", 1)->offset = 12;
    capture_start(&c);
    mdv_holdback_hold_partitions(f->holdback, f->rk, first);
    mdv_holdback_hold(f->holdback, f->rk, "t", 0, 7);
    char *said = capture_end(&c);
    rd_kafka_topic_partition_list_destroy(first);
    assert_true(mdv_holdback_holds(f->holdback, "t", 0));
    assert_true(mdv_holdback_holds(f->holdback, "t", 1));
    const char *at = strstr(said, "retrying in 100 ms");
    assert_non_null(at);
    assert_non_null(strstr(at, "retrying in 200 ms"));
    assert_null(strstr(said, "retrying in 400 ms"));
    free(said);
    assert_false(release(f, "t", 1));
}

static void test_clear_forgets_every_partition(void **state)
{
    struct fixture *f = *state;
    struct capture c;
    capture_start(&c);
    mdv_holdback_hold(f->holdback, f->rk, "t", 0, 7);
    mdv_holdback_hold(f->holdback, f->rk, "t", 1, 8);
    mdv_holdback_clear(f->holdback);
    free(capture_end(&c));
    assert_false(mdv_holdback_holds(f->holdback, "t", 0));
    assert_false(mdv_holdback_holds(f->holdback, "t", 1));
    mdv_holdback_destroy(NULL);
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_a_held_partition_is_skipped_until_its_backoff_is_over),
        TEST(test_each_new_failure_doubles_the_backoff_until_a_success),
        TEST(test_a_partition_no_longer_assigned_is_dropped),
        TEST(test_a_batch_holds_each_partition_with_one_step_of_backoff),
        TEST(test_clear_forgets_every_partition),
    };
#undef TEST
    return cmocka_run_group_tests_name("holdback (no broker)", tests, NULL, NULL);
}
