/* Unit tests of shared/metrics.c: the registry and its Prometheus text
 * exposition. The registry is process-wide, so each test uses metric
 * names of its own, and the tests that fill the tables run last. */
#include "unit.h"

#include <math.h>
#include <pthread.h>

#include "mdv/metrics.h"
#include "mdv/util.h"

/* The value of the sample line "series value" in text, or NAN. */
static double sample(const char *text, const char *series)
{
    size_t len = strlen(series);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, series, len) == 0 && line[len] == ' ')
            return strtod(line + len + 1, NULL);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return NAN;
}

static double rendered(const char *series)
{
    char *text = mdv_metrics_render();
    double value = sample(text, series);
    free(text);
    return value;
}

static void test_counters_add_up_per_series(void **state)
{
    (void)state;
    mdv_metrics_add("mdv_unit_consumed_total", "topic=\"a\"", 1);
    mdv_metrics_add("mdv_unit_consumed_total", "topic=\"b\"", 2);
    mdv_metrics_add("mdv_unit_consumed_total", "topic=\"a\"", 1);
    mdv_metrics_add("mdv_unit_consumed_total", "topic=\"a\"", 0.5);
    assert_true(rendered("mdv_unit_consumed_total{topic=\"a\"}") == 2.5);
    assert_true(rendered("mdv_unit_consumed_total{topic=\"b\"}") == 2);
}

static void test_series_without_labels_render_without_braces(void **state)
{
    (void)state;
    mdv_metrics_add("mdv_unit_plain_total", NULL, 1);
    mdv_metrics_add("mdv_unit_plain_total", "", 1); /* the same series as NULL */
    char *text = mdv_metrics_render();
    assert_true(sample(text, "mdv_unit_plain_total") == 2);
    assert_null(strstr(text, "mdv_unit_plain_total{"));
    free(text);
}

static void test_labels_are_compared_by_text_not_pointer(void **state)
{
    (void)state;
    char labels[32];
    snprintf(labels, sizeof(labels), "partition=\"%d\"", 3);
    mdv_metrics_add("mdv_unit_by_text_total", mdv_metrics_label(labels), 1);
    mdv_metrics_add("mdv_unit_by_text_total", "partition=\"3\"", 1);
    assert_true(rendered("mdv_unit_by_text_total{partition=\"3\"}") == 2);
}

static void test_gauges_keep_the_last_value_set_and_render_as_gauge(void **state)
{
    (void)state;
    mdv_metrics_set("mdv_unit_backlog", NULL, 7);
    mdv_metrics_set("mdv_unit_backlog", NULL, 3);
    char *text = mdv_metrics_render();
    assert_true(sample(text, "mdv_unit_backlog") == 3);
    assert_non_null(strstr(text, "# TYPE mdv_unit_backlog gauge\n"));
    assert_non_null(strstr(text, "# TYPE mdv_unit_consumed_total counter\n"));
    free(text);
}

static void test_label_interning_gives_one_pointer_per_text(void **state)
{
    (void)state;
    char buf[64];
    snprintf(buf, sizeof(buf), "partition=\"%d\"", 11);
    const char *first = mdv_metrics_label(buf);
    snprintf(buf, sizeof(buf), "partition=\"%d\"", 11);
    const char *again = mdv_metrics_label(buf);
    snprintf(buf, sizeof(buf), "partition=\"%d\"", 12);
    const char *other = mdv_metrics_label(buf);

    assert_ptr_equal(first, again);
    assert_ptr_not_equal(first, other);
    assert_ptr_not_equal(first, buf); /* a copy the table keeps */
    assert_string_equal(first, "partition=\"11\"");
    assert_string_equal(other, "partition=\"12\"");
}

static void test_histogram_buckets_are_cumulative_and_inf_equals_count(void **state)
{
    (void)state;
    static const double observations[] = {0.0005, 0.003, 0.2, 0.7, 20};
    static const struct {
        const char *le;
        double count;
    } expected[] = {
        {"0.001", 1}, {"0.005", 2}, {"0.01", 2}, {"0.025", 2}, {"0.05", 2},
        {"0.1", 2},   {"0.25", 3},  {"0.5", 3},  {"1", 4},     {"2.5", 4},
        {"5", 4},     {"10", 4},    {"+Inf", 5},
    };
    for (size_t i = 0; i < MDV_ARRAY_LEN(observations); i++)
        mdv_metrics_observe_processing(observations[i]);

    char *text = mdv_metrics_render();
    double previous = 0;
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(expected); i++) {
        char series[64];
        snprintf(series, sizeof(series), "mdv_processing_seconds_bucket{le=\"%s\"}",
                 expected[i].le);
        double got = sample(text, series);
        if (got != expected[i].count)
            ROW_FAILED(failures, "%s = %g, expected %g", series, got, expected[i].count);
        if (got < previous)
            ROW_FAILED(failures, "%s = %g is below the bucket before it", series, got);
        previous = got;
    }
    assert_int_equal(failures, 0);
    assert_true(sample(text, "mdv_processing_seconds_bucket{le=\"+Inf\"}") ==
                sample(text, "mdv_processing_seconds_count"));
    assert_true(fabs(sample(text, "mdv_processing_seconds_sum") - 20.9035) < 1e-6);
    assert_int_equal(count_occurrences(text, "# TYPE mdv_processing_seconds histogram\n"), 1);
    free(text);
}

/* The family a sample line belongs to: its name without labels, and for
 * the histogram without the _bucket, _sum or _count suffix. */
static void family_of(const char *line, char *out, size_t outlen)
{
    size_t n = strcspn(line, "{ ");
    snprintf(out, outlen, "%.*s", (int)n, line);
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    if (strncmp(out, "mdv_processing_seconds", 22) != 0)
        return;
    for (size_t i = 0; i < MDV_ARRAY_LEN(suffixes); i++) {
        size_t len = strlen(out), slen = strlen(suffixes[i]);
        if (len > slen && strcmp(out + len - slen, suffixes[i]) == 0)
            out[len - slen] = '\0';
    }
}

static void test_exposition_has_one_type_line_per_family_and_contiguous_series(void **state)
{
    (void)state;
    /* Interleaved on purpose: the table keeps insertion order. */
    mdv_metrics_add("mdv_unit_x_total", "k=\"1\"", 1);
    mdv_metrics_add("mdv_unit_y_total", NULL, 1);
    mdv_metrics_add("mdv_unit_x_total", "k=\"2\"", 1);
    mdv_metrics_set("mdv_unit_z", "k=\"1\"", 1);
    mdv_metrics_add("mdv_unit_y_total", "k=\"3\"", 1);
    mdv_metrics_add("mdv_unit_x_total", "k=\"3\"", 1);

    char *text = mdv_metrics_render();
    char families[64][64];
    size_t nfamilies = 0;
    char current[64] = "";
    int failures = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# TYPE ", 7) == 0) {
            family_of(line + 7, current, sizeof(current));
            for (size_t i = 0; i < nfamilies; i++)
                if (strcmp(families[i], current) == 0)
                    ROW_FAILED(failures, "second # TYPE line for %s", current);
            if (nfamilies < MDV_ARRAY_LEN(families))
                snprintf(families[nfamilies++], sizeof(families[0]), "%s", current);
            continue;
        }
        char family[64];
        family_of(line, family, sizeof(family));
        if (strcmp(family, current) != 0)
            ROW_FAILED(failures, "\"%s\" stands under the # TYPE of %s", line,
                       current[0] ? current : "nothing");
    }
    free(text);
    assert_int_equal(failures, 0);
    assert_true(nfamilies >= 5);
}

struct adder {
    const char *name;
    int times;
};

static void *add_many(void *arg)
{
    const struct adder *a = arg;
    for (int i = 0; i < a->times; i++)
        mdv_metrics_add(a->name, NULL, 1);
    return NULL;
}

static void test_concurrent_adds_are_not_lost(void **state)
{
    (void)state;
    struct adder a = {"mdv_unit_concurrent_total", 20000};
    pthread_t threads[4];
    for (size_t i = 0; i < MDV_ARRAY_LEN(threads); i++)
        assert_int_equal(pthread_create(&threads[i], NULL, add_many, &a), 0);
    for (size_t i = 0; i < MDV_ARRAY_LEN(threads); i++)
        pthread_join(threads[i], NULL);
    assert_true(rendered("mdv_unit_concurrent_total") == 80000);
}

/* Runs last but one: fills the label table. */
static void test_label_table_overflows_to_a_fixed_label_rather_than_growing(void **state)
{
    (void)state;
    const char *last = NULL;
    for (int i = 0; i < 600; i++) {
        char buf[32];
        snprintf(buf, sizeof(buf), "unit=\"%d\"", i);
        last = mdv_metrics_label(buf);
    }
    assert_string_equal(last, "overflow=\"true\"");
    assert_string_equal(mdv_metrics_label("partition=\"11\""), "partition=\"11\""); /* kept */
}

/* Runs last: fills the series table. */
static void test_series_table_drops_new_series_when_full_and_keeps_the_old(void **state)
{
    (void)state;
    static char names[600][32]; /* names must outlive the registry */
    for (int i = 0; i < 600; i++) {
        snprintf(names[i], sizeof(names[i]), "mdv_unit_fill_%d_total", i);
        mdv_metrics_add(names[i], NULL, 1);
    }
    mdv_metrics_add("mdv_unit_consumed_total", "topic=\"a\"", 1);
    char *text = mdv_metrics_render();
    assert_true(sample(text, "mdv_unit_consumed_total{topic=\"a\"}") == 3.5);
    assert_true(sample(text, "mdv_unit_fill_0_total") == 1);
    assert_true(isnan(sample(text, "mdv_unit_fill_599_total")));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_add_up_per_series),
        cmocka_unit_test(test_series_without_labels_render_without_braces),
        cmocka_unit_test(test_labels_are_compared_by_text_not_pointer),
        cmocka_unit_test(test_gauges_keep_the_last_value_set_and_render_as_gauge),
        cmocka_unit_test(test_label_interning_gives_one_pointer_per_text),
        cmocka_unit_test(test_histogram_buckets_are_cumulative_and_inf_equals_count),
        cmocka_unit_test(test_exposition_has_one_type_line_per_family_and_contiguous_series),
        cmocka_unit_test(test_concurrent_adds_are_not_lost),
        cmocka_unit_test(test_label_table_overflows_to_a_fixed_label_rather_than_growing),
        cmocka_unit_test(test_series_table_drops_new_series_when_full_and_keeps_the_old),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
