/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The metrics registry (SPEC §11 "Metrics"): counters, gauges and histograms kept in memory,
 * written out in the Prometheus text exposition format 0.0.4.
 *
 * A family has a name, a help text, a type and a fixed list of label names; its series are made
 * on first use from the label values.  Updates take the family's lock and touch one series:
 * cheap enough for every request.  Rendering never calls out (no database, no Docker): what it
 * writes is what was recorded, plus what the collectors add (e.g. the process_* set, read from
 * /proc).
 *
 *   static CaraMetricFamily *requests;
 *   requests = cara_metrics_counter (m, "cara_http_requests_total", "HTTP requests served.",
 *                                    (const char *[]) { "method", "route", "code", NULL });
 *   cara_metric_add (requests, 1, "GET", "/api/v1/projects", "200");   // one value per label
 *   g_autoptr (GString) text = g_string_new (NULL);
 *   cara_metrics_render (m, text);
 *
 * Thread-safe: families may be updated from any thread; register them before serving. */

#include <glib.h>

#define CARA_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct _CaraMetrics CaraMetrics;
typedef struct _CaraMetricFamily CaraMetricFamily;

typedef enum {
  CARA_METRIC_COUNTER,
  CARA_METRIC_GAUGE,
  CARA_METRIC_HISTOGRAM,
} CaraMetricType;

CaraMetrics *cara_metrics_new (void);
void cara_metrics_free (CaraMetrics *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraMetrics, cara_metrics_free)

/* @labels: NULL-terminated label names (NULL or empty: no labels).  The registry owns the
 * family; families are written in the order registered. */
CaraMetricFamily *cara_metrics_counter (CaraMetrics *m, const char *name, const char *help,
                                        const char * const *labels);
CaraMetricFamily *cara_metrics_gauge (CaraMetrics *m, const char *name, const char *help,
                                      const char * const *labels);
/* @buckets: upper bounds, ascending, without +Inf (added); NULL: CARA_METRICS_DEFAULT_BUCKETS. */
CaraMetricFamily *cara_metrics_histogram (CaraMetrics *m, const char *name, const char *help,
                                          const char * const *labels, const double *buckets, guint n_buckets);

/* Prometheus' default buckets, in seconds (5 ms .. 10 s). */
extern const double CARA_METRICS_DEFAULT_BUCKETS[11];

/* The varargs are exactly one label value (const char *) per label name of the family.
 * Counter: adds @v (>= 0).  Gauge: adds @v (may be negative).  Histogram: observes @v. */
void cara_metric_add (CaraMetricFamily *f, double v, ...);
/* Gauges: sets the series to @v. */
void cara_metric_set (CaraMetricFamily *f, double v, ...);
/* The same with the label values as an array (n = the family's number of labels). */
void cara_metric_add_v (CaraMetricFamily *f, double v, const char * const *values);
void cara_metric_set_v (CaraMetricFamily *f, double v, const char * const *values);
/* Current value of a counter or gauge series (0 when it was never touched); for tests. */
double cara_metric_get (CaraMetricFamily *f, ...);
/* Makes the series exist (value 0), so a scrape shows it before the first event. */
void cara_metric_touch (CaraMetricFamily *f, ...);
/* Drops every series of the family (e.g. gauges recomputed from scratch). */
void cara_metric_clear (CaraMetricFamily *f);

/* Called at the end of every render to append families computed on the spot. */
typedef void (*CaraMetricsCollector) (GString *out, gpointer user_data);
void cara_metrics_add_collector (CaraMetrics *m, CaraMetricsCollector func, gpointer user_data);

/* Adds the process_* set (resident memory, CPU seconds, start time, open fds) from /proc. */
void cara_metrics_add_process_collector (CaraMetrics *m);

/* Appends every family in the text format (HELP, TYPE, then the series sorted by label values). */
void cara_metrics_render (CaraMetrics *m, GString *out);

/* Helpers for collectors: a HELP/TYPE header, and one sample line (@labels "k=\"v\"" text or NULL). */
void cara_metrics_write_header (GString *out, const char *name, const char *help, CaraMetricType type);
void cara_metrics_write_sample (GString *out, const char *name, const char *labels, double v);
/* Appends @value escaped for a label value (backslash, double quote, newline). */
void cara_metrics_escape_label (GString *out, const char *value);
