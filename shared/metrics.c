/* Metrics registry. A fixed table under one mutex: a service has a few
 * dozen series, so a linear search costs less than it would to explain a
 * hash table. */
#include "mdv/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/util.h"

#define MAX_SERIES 512
#define MAX_LABELS 512

struct series {
    const char *name;
    const char *labels;
    double value;
    int gauge;
};

static const double buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series table[MAX_SERIES];
static size_t nseries;
static unsigned long bucket_counts[NBUCKETS];
static unsigned long observations;
static double observed_sum;
static char *labels_kept[MAX_LABELS];
static size_t nlabels;

static struct series *find(const char *name, const char *labels)
{
    for (size_t i = 0; i < nseries; i++)
        if (strcmp(table[i].name, name) == 0 &&
            strcmp(table[i].labels ? table[i].labels : "", labels ? labels : "") == 0)
            return &table[i];
    if (nseries == MAX_SERIES)
        return NULL; /* full: drop the series rather than grow without bound */
    table[nseries] = (struct series){.name = name, .labels = labels};
    return &table[nseries++];
}

void mdv_metrics_add(const char *name, const char *labels, double delta)
{
    pthread_mutex_lock(&lock);
    struct series *s = find(name, labels);
    if (s)
        s->value += delta;
    pthread_mutex_unlock(&lock);
}

void mdv_metrics_set(const char *name, const char *labels, double value)
{
    pthread_mutex_lock(&lock);
    struct series *s = find(name, labels);
    if (s) {
        s->value = value;
        s->gauge = 1;
    }
    pthread_mutex_unlock(&lock);
}

void mdv_metrics_observe_processing(double seconds)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < NBUCKETS; i++)
        if (seconds <= buckets[i])
            bucket_counts[i]++;
    observations++;
    observed_sum += seconds;
    pthread_mutex_unlock(&lock);
}

const char *mdv_metrics_label(const char *text)
{
    const char *kept = NULL;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nlabels && !kept; i++)
        if (strcmp(labels_kept[i], text) == 0)
            kept = labels_kept[i];
    if (!kept && nlabels < MAX_LABELS)
        kept = labels_kept[nlabels++] = mdv_xstrdup(text);
    pthread_mutex_unlock(&lock);
    return kept ? kept : "overflow=\"true\"";
}

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...) MDV_PRINTF(4, 5);

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if ((size_t)n < *cap - *len) {
            *len += (size_t)n;
            return;
        }
        *cap *= 2;
        *buf = mdv_xrealloc(*buf, *cap);
    }
}

static void render_series(char **buf, size_t *len, size_t *cap, const struct series *s)
{
    if (s->labels && *s->labels)
        append(buf, len, cap, "%s{%s} %.17g\n", s->name, s->labels, s->value);
    else
        append(buf, len, cap, "%s %.17g\n", s->name, s->value);
}

static void render_histogram(char **buf, size_t *len, size_t *cap)
{
    append(buf, len, cap, "# TYPE mdv_processing_seconds histogram\n");
    for (size_t i = 0; i < NBUCKETS; i++)
        append(buf, len, cap, "mdv_processing_seconds_bucket{le=\"%g\"} %lu\n", buckets[i],
               bucket_counts[i]);
    append(buf, len, cap, "mdv_processing_seconds_bucket{le=\"+Inf\"} %lu\n", observations);
    append(buf, len, cap, "mdv_processing_seconds_sum %.6f\n", observed_sum);
    append(buf, len, cap, "mdv_processing_seconds_count %lu\n", observations);
}

char *mdv_metrics_render(void)
{
    size_t cap = 4096, len = 0;
    char *buf = mdv_xmalloc(cap);
    buf[0] = '\0';

    pthread_mutex_lock(&lock);
    /* The exposition format wants each family's series together. */
    for (size_t i = 0; i < nseries; i++) {
        int first = 1;
        for (size_t j = 0; j < i && first; j++)
            first = strcmp(table[j].name, table[i].name) != 0;
        if (!first)
            continue;
        append(&buf, &len, &cap, "# TYPE %s %s\n", table[i].name,
               table[i].gauge ? "gauge" : "counter");
        for (size_t j = i; j < nseries; j++)
            if (strcmp(table[j].name, table[i].name) == 0)
                render_series(&buf, &len, &cap, &table[j]);
    }
    render_histogram(&buf, &len, &cap);
    pthread_mutex_unlock(&lock);
    return buf;
}
