/* Prometheus metrics: counters, gauges and one latency histogram, kept in
 * a small fixed table and rendered in the text exposition format. */
#ifndef MDV_METRICS_H
#define MDV_METRICS_H

#include <stddef.h>

/* labels is the inside of the braces, e.g. "topic=\"mdv.dlq.v1\"", or NULL.
 * Names and labels must be string literals or outlive the process. */
void mdv_metrics_add(const char *name, const char *labels, double delta);
void mdv_metrics_set(const char *name, const char *labels, double value);
/* Records one message's processing time in mdv_processing_seconds. */
void mdv_metrics_observe_processing(double seconds);

/* Returns the exposition text; the caller frees it. */
char *mdv_metrics_render(void);

/* Copies labels into a string the table keeps for the process's life (for
 * labels built at run time, such as a partition number). Interned: the
 * same text gives the same pointer. */
const char *mdv_metrics_label(const char *text);

#endif
