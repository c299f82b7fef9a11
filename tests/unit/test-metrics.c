/* SPDX-License-Identifier: Apache-2.0 */
/* The metrics registry and its text exposition (Prometheus format 0.0.4). */
#include "config.h"

#include <string.h>

#include "cara-metrics.h"

static char *
render (CaraMetrics *m)
{
  GString *out = g_string_new (NULL);
  cara_metrics_render (m, out);
  return g_string_free (out, FALSE);
}

static void
test_counter_labels (void)
{
  g_autoptr (CaraMetrics) m = cara_metrics_new ();
  CaraMetricFamily *c = cara_metrics_counter (m, "cara_http_requests_total", "HTTP requests served.",
                                              (const char *[]) { "method", "route", "code", NULL });
  cara_metric_add (c, 1, "GET", "/api/v1/projects", "200");
  cara_metric_add (c, 2, "GET", "/api/v1/projects", "200");
  cara_metric_add (c, 1, "POST", "/api/v1/projects", "201");
  g_assert_cmpfloat (cara_metric_get (c, "GET", "/api/v1/projects", "200"), ==, 3);
  g_autofree char *text = render (m);
  g_assert_cmpstr (text, ==,
                   "# HELP cara_http_requests_total HTTP requests served.\n"
                   "# TYPE cara_http_requests_total counter\n"
                   "cara_http_requests_total{method=\"GET\",route=\"/api/v1/projects\",code=\"200\"} 3\n"
                   "cara_http_requests_total{method=\"POST\",route=\"/api/v1/projects\",code=\"201\"} 1\n");
}

static void
test_gauge_no_labels (void)
{
  g_autoptr (CaraMetrics) m = cara_metrics_new ();
  CaraMetricFamily *g = cara_metrics_gauge (m, "cara_leader", "1 when this replica runs the controllers.", NULL);
  cara_metric_set (g, 1);
  cara_metric_add (g, -1);
  cara_metric_add (g, 0.5);
  g_autofree char *text = render (m);
  g_assert_cmpstr (text, ==,
                   "# HELP cara_leader 1 when this replica runs the controllers.\n"
                   "# TYPE cara_leader gauge\n"
                   "cara_leader 0.5\n");
  CaraMetricFamily *s = cara_metrics_gauge (m, "cara_projects", "Projects by phase.",
                                            (const char *[]) { "phase", NULL });
  cara_metric_touch (s, "Running");
  cara_metric_set (s, 4, "Failed");
  g_autofree char *text2 = render (m);
  g_assert_nonnull (strstr (text2, "cara_projects{phase=\"Failed\"} 4\ncara_projects{phase=\"Running\"} 0\n"));
  cara_metric_clear (s);
  g_autofree char *text3 = render (m);
  g_assert_null (strstr (text3, "cara_projects{"));
  g_assert_nonnull (strstr (text3, "# TYPE cara_projects gauge\n"));
}

static void
test_histogram (void)
{
  g_autoptr (CaraMetrics) m = cara_metrics_new ();
  const double buckets[] = { 0.1, 1 };
  CaraMetricFamily *h = cara_metrics_histogram (m, "d_seconds", "Durations.", (const char *[]) { "route", NULL },
                                                buckets, G_N_ELEMENTS (buckets));
  cara_metric_add (h, 0.05, "/a");
  cara_metric_add (h, 0.1, "/a"); /* le is inclusive */
  cara_metric_add (h, 0.5, "/a");
  cara_metric_add (h, 7, "/a");
  g_autofree char *text = render (m);
  g_assert_cmpstr (text, ==,
                   "# HELP d_seconds Durations.\n"
                   "# TYPE d_seconds histogram\n"
                   "d_seconds_bucket{route=\"/a\",le=\"0.1\"} 2\n"
                   "d_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
                   "d_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
                   "d_seconds_sum{route=\"/a\"} 7.65\n"
                   "d_seconds_count{route=\"/a\"} 4\n");
  /* Without labels and with the default buckets. */
  CaraMetricFamily *d = cara_metrics_histogram (m, "s_seconds", "S.", NULL, NULL, 0);
  cara_metric_add (d, 0.003);
  g_autofree char *text2 = render (m);
  g_assert_nonnull (strstr (text2, "s_seconds_bucket{le=\"0.005\"} 1\n"));
  g_assert_nonnull (strstr (text2, "s_seconds_bucket{le=\"10\"} 1\ns_seconds_bucket{le=\"+Inf\"} 1\n"));
  g_assert_nonnull (strstr (text2, "s_seconds_count 1\n"));
}

static void
test_escaping (void)
{
  g_autoptr (CaraMetrics) m = cara_metrics_new ();
  CaraMetricFamily *c = cara_metrics_counter (m, "x_total", "Help with \\ and\nnewline.",
                                              (const char *[]) { "v", NULL });
  cara_metric_add (c, 1, "a\"b\\c\nd");
  g_autofree char *text = render (m);
  g_assert_cmpstr (text, ==,
                   "# HELP x_total Help with \\\\ and\\nnewline.\n"
                   "# TYPE x_total counter\n"
                   "x_total{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

static void
test_process (void)
{
  g_autoptr (CaraMetrics) m = cara_metrics_new ();
  cara_metrics_add_process_collector (m);
  g_autofree char *text = render (m);
  const char *names[] = { "process_cpu_seconds_total ", "process_resident_memory_bytes ",
                          "process_start_time_seconds ", "process_open_fds " };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *line = g_strconcat ("\n", names[i], NULL);
      const char *p = strstr (text, line);
      g_assert_nonnull (p);
      double v = g_ascii_strtod (p + strlen (line), NULL);
      g_assert_cmpfloat (v, >=, 0);
      if (i == 1)
        g_assert_cmpfloat (v, >, 1024 * 1024); /* some resident memory */
      if (i == 2)
        g_assert_cmpfloat (v, >, 1.7e9); /* seconds since the epoch, not ticks */
      if (i == 3)
        g_assert_cmpfloat (v, >=, 3); /* stdin, stdout, stderr */
    }
}

static gpointer
adder (gpointer data)
{
  for (int i = 0; i < 10000; i++)
    cara_metric_add (data, 1, "x");
  return NULL;
}

static void
test_threads (void)
{
  g_autoptr (CaraMetrics) m = cara_metrics_new ();
  CaraMetricFamily *c = cara_metrics_counter (m, "t_total", "T.", (const char *[]) { "k", NULL });
  GThread *t[4];
  for (guint i = 0; i < G_N_ELEMENTS (t); i++)
    t[i] = g_thread_new ("adder", adder, c);
  for (guint i = 0; i < G_N_ELEMENTS (t); i++)
    g_thread_join (t[i]);
  g_assert_cmpfloat (cara_metric_get (c, "x"), ==, 40000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/counter-labels", test_counter_labels);
  g_test_add_func ("/metrics/gauge", test_gauge_no_labels);
  g_test_add_func ("/metrics/histogram", test_histogram);
  g_test_add_func ("/metrics/escaping", test_escaping);
  g_test_add_func ("/metrics/process", test_process);
  g_test_add_func ("/metrics/threads", test_threads);
  return g_test_run ();
}
