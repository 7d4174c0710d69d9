/* Unit tests of shared/batch.c: where a batch of consumed messages starts
 * on each partition, the offsets stored once it committed, the checks of
 * the batch settings, and how long a poll for a batch may block. */
#include "unit.h"

#include "mdv/batch.h"

struct expected {
    const char *topic;
    int32_t partition;
    int64_t offset;
};

/* Every expected partition in the list, in this order, and nothing else. */
static void assert_partitions(const rd_kafka_topic_partition_list_t *got,
                              const struct expected *want, int n)
{
    int failures = 0;
    if (got->cnt != n)
        ROW_FAILED(failures, "%d partitions, expected %d", got->cnt, n);
    for (int i = 0; i < n && i < got->cnt; i++)
        if (strcmp(got->elems[i].topic, want[i].topic) != 0 ||
            got->elems[i].partition != want[i].partition || got->elems[i].offset != want[i].offset)
            ROW_FAILED(failures, "row %d: %s[%d]@%lld, expected %s[%d]@%lld", i,
                       got->elems[i].topic, got->elems[i].partition,
                       (long long)got->elems[i].offset, want[i].topic, want[i].partition,
                       (long long)want[i].offset);
    assert_int_equal(failures, 0);
}

/* Two topics, partitions interleaved as a consumer's fetches mix them. */
static const struct mdv_batch_position mixed[] = {
    {"a", 0, 10}, {"b", 0, 3}, {"a", 1, 40}, {"a", 0, 11}, {"b", 0, 4}, {"a", 0, 12}, {"a", 1, 41},
};

static void test_the_offsets_stored_are_each_partitions_last_plus_one(void **state)
{
    (void)state;
    rd_kafka_topic_partition_list_t *next = mdv_batch_next_offsets(mixed, MDV_ARRAY_LEN(mixed));
    const struct expected want[] = {{"a", 0, 13}, {"b", 0, 5}, {"a", 1, 42}};
    assert_partitions(next, want, 3);
    rd_kafka_topic_partition_list_destroy(next);
}

static void test_a_batch_runs_again_from_each_partitions_first_message(void **state)
{
    (void)state;
    rd_kafka_topic_partition_list_t *first = mdv_batch_first_offsets(mixed, MDV_ARRAY_LEN(mixed));
    const struct expected want[] = {{"a", 0, 10}, {"b", 0, 3}, {"a", 1, 40}};
    assert_partitions(first, want, 3);
    rd_kafka_topic_partition_list_destroy(first);
}

/* A rebalance inside a batch can hand a partition back from an earlier
 * offset: the first message is the lowest, the stored offset past the
 * highest, whatever the order they came in. */
static void test_offsets_that_went_back_keep_the_lowest_first_and_the_highest_next(void **state)
{
    (void)state;
    const struct mdv_batch_position again[] = {{"a", 0, 20}, {"a", 0, 21}, {"a", 0, 18}};
    rd_kafka_topic_partition_list_t *first = mdv_batch_first_offsets(again, 3);
    rd_kafka_topic_partition_list_t *next = mdv_batch_next_offsets(again, 3);
    const struct expected want_first[] = {{"a", 0, 18}};
    const struct expected want_next[] = {{"a", 0, 22}};
    assert_partitions(first, want_first, 1);
    assert_partitions(next, want_next, 1);
    rd_kafka_topic_partition_list_destroy(first);
    rd_kafka_topic_partition_list_destroy(next);
}

static void test_the_batch_settings_are_checked(void **state)
{
    (void)state;
    static const struct {
        int (*check)(const char *, char *, size_t);
        const char *name, *value;
        int valid;
    } rows[] = {
        {mdv_check_batch_size, "size", "1", 1},       {mdv_check_batch_size, "size", "256", 1},
        {mdv_check_batch_size, "size", "10000", 1},   {mdv_check_batch_size, "size", "0", 0},
        {mdv_check_batch_size, "size", "10001", 0},   {mdv_check_batch_size, "size", "-3", 0},
        {mdv_check_batch_size, "size", "12ms", 0},    {mdv_check_batch_size, "size", "", 0},
        {mdv_check_batch_wait_ms, "wait", "0", 1},    {mdv_check_batch_wait_ms, "wait", "1000", 1},
        {mdv_check_batch_wait_ms, "wait", "-1", 0},   {mdv_check_batch_wait_ms, "wait", "1001", 0},
        {mdv_check_batch_wait_ms, "wait", "five", 0},
    };
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char err[128] = "";
        int valid = rows[i].check(rows[i].value, err, sizeof(err)) == 0;
        if (valid != rows[i].valid)
            ROW_FAILED(failures, "%s \"%s\": %s, expected %s", rows[i].name, rows[i].value,
                       valid ? "valid" : "refused", rows[i].valid ? "valid" : "refused");
        else if (!valid && !strstr(err, "expected an integer from"))
            ROW_FAILED(failures, "%s \"%s\" refused without the range: %s", rows[i].name,
                       rows[i].value, err);
    }
    assert_int_equal(failures, 0);
}

/* A stop is only seen between polls: a poll during the batch's wait
 * blocks no longer than the one for a first message, however long the
 * wait (MDV_CONSUMER_BATCH_WAIT_MS up to 1 000 ms against 200). */
static void test_a_poll_during_the_wait_blocks_no_longer_than_a_first_poll(void **state)
{
    (void)state;
    static const struct {
        int first, left_ms, want;
    } rows[] = {
        {1, 0, 200},   {1, 1000, 200}, {0, 0, 0},     {0, 25, 25},
        {0, 199, 199}, {0, 200, 200},  {0, 201, 200}, {0, 1000, 200},
    };
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        int got = mdv_batch_poll_timeout_ms(rows[i].first, rows[i].left_ms, 200);
        if (got != rows[i].want)
            ROW_FAILED(failures, "first %d, %d ms left: %d ms, expected %d", rows[i].first,
                       rows[i].left_ms, got, rows[i].want);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_offsets_stored_are_each_partitions_last_plus_one),
        cmocka_unit_test(test_a_batch_runs_again_from_each_partitions_first_message),
        cmocka_unit_test(test_offsets_that_went_back_keep_the_lowest_first_and_the_highest_next),
        cmocka_unit_test(test_the_batch_settings_are_checked),
        cmocka_unit_test(test_a_poll_during_the_wait_blocks_no_longer_than_a_first_poll),
    };
    return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
