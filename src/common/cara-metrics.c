/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-metrics"
#include "config.h"

#include <dirent.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "cara-metrics.h"

const double CARA_METRICS_DEFAULT_BUCKETS[11] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };

typedef struct {
  char **values;   /* one per label name */
  double value;    /* counter, gauge; histogram: sum */
  guint64 count;   /* histogram */
  guint64 *bucket; /* histogram: per bucket (not cumulative) */
} Series;

struct _CaraMetricFamily {
  char *name;
  char *help;
  CaraMetricType type;
  char **labels;
  guint n_labels;
  double *buckets;
  guint n_buckets;
  GMutex lock;
  GHashTable *series; /* key (values joined by \x1f) -> Series* */
};

typedef struct {
  CaraMetricsCollector func;
  gpointer user_data;
} Collector;

struct _CaraMetrics {
  GPtrArray *families; /* CaraMetricFamily* */
  GArray *collectors;  /* Collector */
};

static void
series_free (Series *s)
{
  g_strfreev (s->values);
  g_free (s->bucket);
  g_free (s);
}

static void
family_free (CaraMetricFamily *f)
{
  g_free (f->name);
  g_free (f->help);
  g_strfreev (f->labels);
  g_free (f->buckets);
  g_hash_table_unref (f->series);
  g_mutex_clear (&f->lock);
  g_free (f);
}

CaraMetrics *
cara_metrics_new (void)
{
  CaraMetrics *m = g_new0 (CaraMetrics, 1);
  m->families = g_ptr_array_new_with_free_func ((GDestroyNotify) family_free);
  m->collectors = g_array_new (FALSE, TRUE, sizeof (Collector));
  return m;
}

void
cara_metrics_free (CaraMetrics *m)
{
  if (m == NULL)
    return;
  g_ptr_array_unref (m->families);
  g_array_unref (m->collectors);
  g_free (m);
}

static CaraMetricFamily *
family_new (CaraMetrics *m, const char *name, const char *help, CaraMetricType type, const char * const *labels)
{
  CaraMetricFamily *f = g_new0 (CaraMetricFamily, 1);
  f->name = g_strdup (name);
  f->help = g_strdup (help);
  f->type = type;
  f->labels = labels ? g_strdupv ((char **) labels) : g_new0 (char *, 1);
  f->n_labels = g_strv_length (f->labels);
  g_mutex_init (&f->lock);
  f->series = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) series_free);
  g_ptr_array_add (m->families, f);
  return f;
}

CaraMetricFamily *
cara_metrics_counter (CaraMetrics *m, const char *name, const char *help, const char * const *labels)
{
  return family_new (m, name, help, CARA_METRIC_COUNTER, labels);
}

CaraMetricFamily *
cara_metrics_gauge (CaraMetrics *m, const char *name, const char *help, const char * const *labels)
{
  return family_new (m, name, help, CARA_METRIC_GAUGE, labels);
}

CaraMetricFamily *
cara_metrics_histogram (CaraMetrics *m, const char *name, const char *help, const char * const *labels,
                        const double *buckets, guint n_buckets)
{
  CaraMetricFamily *f = family_new (m, name, help, CARA_METRIC_HISTOGRAM, labels);
  if (buckets == NULL)
    {
      buckets = CARA_METRICS_DEFAULT_BUCKETS;
      n_buckets = G_N_ELEMENTS (CARA_METRICS_DEFAULT_BUCKETS);
    }
  f->buckets = g_memdup2 (buckets, n_buckets * sizeof (double));
  f->n_buckets = n_buckets;
  return f;
}

/* Under f->lock. */
static Series *
series_lookup (CaraMetricFamily *f, const char * const *values)
{
  g_autoptr (GString) key = g_string_new (NULL);
  for (guint i = 0; i < f->n_labels; i++)
    {
      if (i > 0)
        g_string_append_c (key, '\x1f');
      g_string_append (key, values[i] ? values[i] : "");
    }
  Series *s = g_hash_table_lookup (f->series, key->str);
  if (s != NULL)
    return s;
  s = g_new0 (Series, 1);
  s->values = g_new0 (char *, f->n_labels + 1);
  for (guint i = 0; i < f->n_labels; i++)
    s->values[i] = g_strdup (values[i] ? values[i] : "");
  if (f->type == CARA_METRIC_HISTOGRAM)
    s->bucket = g_new0 (guint64, f->n_buckets);
  g_hash_table_insert (f->series, g_string_free (g_steal_pointer (&key), FALSE), s);
  return s;
}

static void
update (CaraMetricFamily *f, double v, const char * const *values, gboolean set)
{
  g_mutex_lock (&f->lock);
  Series *s = series_lookup (f, values);
  if (f->type == CARA_METRIC_HISTOGRAM)
    {
      s->value += v;
      s->count++;
      for (guint i = 0; i < f->n_buckets; i++)
        if (v <= f->buckets[i])
          {
            s->bucket[i]++;
            break;
          }
    }
  else if (set)
    s->value = v;
  else
    s->value += v;
  g_mutex_unlock (&f->lock);
}

/* Label values from varargs: as many as the family has labels. */
#define COLLECT_VALUES(f, last, values)                                                                    \
  const char *values[16] = { 0 };                                                                          \
  do                                                                                                       \
    {                                                                                                      \
      va_list ap;                                                                                          \
      va_start (ap, last);                                                                                 \
      for (guint i_ = 0; i_ < (f)->n_labels && i_ < G_N_ELEMENTS (values); i_++)                          \
        values[i_] = va_arg (ap, const char *);                                                            \
      va_end (ap);                                                                                         \
    }                                                                                                      \
  while (0)

void
cara_metric_add_v (CaraMetricFamily *f, double v, const char * const *values)
{
  update (f, v, values, FALSE);
}

void
cara_metric_set_v (CaraMetricFamily *f, double v, const char * const *values)
{
  update (f, v, values, TRUE);
}

void
cara_metric_add (CaraMetricFamily *f, double v, ...)
{
  COLLECT_VALUES (f, v, values);
  update (f, v, values, FALSE);
}

void
cara_metric_set (CaraMetricFamily *f, double v, ...)
{
  COLLECT_VALUES (f, v, values);
  update (f, v, values, TRUE);
}

double
cara_metric_get (CaraMetricFamily *f, ...)
{
  COLLECT_VALUES (f, f, values);
  g_mutex_lock (&f->lock);
  double v = series_lookup (f, values)->value;
  g_mutex_unlock (&f->lock);
  return v;
}

void
cara_metric_touch (CaraMetricFamily *f, ...)
{
  COLLECT_VALUES (f, f, values);
  g_mutex_lock (&f->lock);
  series_lookup (f, values);
  g_mutex_unlock (&f->lock);
}

void
cara_metric_clear (CaraMetricFamily *f)
{
  g_mutex_lock (&f->lock);
  g_hash_table_remove_all (f->series);
  g_mutex_unlock (&f->lock);
}

void
cara_metrics_add_collector (CaraMetrics *m, CaraMetricsCollector func, gpointer user_data)
{
  Collector c = { func, user_data };
  g_array_append_val (m->collectors, c);
}

/* ---- the text format ---- */

void
cara_metrics_escape_label (GString *out, const char *value)
{
  for (const char *p = value; *p; p++)
    {
      if (*p == '\\')
        g_string_append (out, "\\\\");
      else if (*p == '"')
        g_string_append (out, "\\\"");
      else if (*p == '\n')
        g_string_append (out, "\\n");
      else
        g_string_append_c (out, *p);
    }
}

/* The shortest of %.15g / %.17g that reads back as @v ("0.1", not "0.10000000000000001"). */
static const char *
format_double (char *buf, gsize len, double v)
{
  g_ascii_formatd (buf, len, "%.15g", v);
  if (g_ascii_strtod (buf, NULL) != v)
    g_ascii_formatd (buf, len, "%.17g", v);
  return buf;
}

static void
append_number (GString *out, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  if (v == (double) (gint64) v && v > -1e15 && v < 1e15)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, (gint64) v);
  else
    g_string_append (out, format_double (buf, sizeof buf, v));
}

static void
append_help (GString *out, const char *help)
{
  for (const char *p = help; *p; p++)
    {
      if (*p == '\\')
        g_string_append (out, "\\\\");
      else if (*p == '\n')
        g_string_append (out, "\\n");
      else
        g_string_append_c (out, *p);
    }
}

void
cara_metrics_write_header (GString *out, const char *name, const char *help, CaraMetricType type)
{
  static const char *const types[] = { "counter", "gauge", "histogram" };
  g_string_append_printf (out, "# HELP %s ", name);
  append_help (out, help);
  g_string_append_printf (out, "\n# TYPE %s %s\n", name, types[type]);
}

void
cara_metrics_write_sample (GString *out, const char *name, const char *labels, double v)
{
  g_string_append (out, name);
  if (labels != NULL && *labels != '\0')
    g_string_append_printf (out, "{%s}", labels);
  g_string_append_c (out, ' ');
  append_number (out, v);
  g_string_append_c (out, '\n');
}

/* name="value",... of a series, plus @extra (e.g. le="0.5") when given. */
static void
append_labels (GString *out, CaraMetricFamily *f, Series *s, const char *extra)
{
  gboolean any = FALSE;
  if (f->n_labels == 0 && extra == NULL)
    return;
  g_string_append_c (out, '{');
  for (guint i = 0; i < f->n_labels; i++)
    {
      g_string_append_printf (out, "%s%s=\"", any ? "," : "", f->labels[i]);
      cara_metrics_escape_label (out, s->values[i]);
      g_string_append_c (out, '"');
      any = TRUE;
    }
  if (extra != NULL)
    g_string_append_printf (out, "%s%s", any ? "," : "", extra);
  g_string_append_c (out, '}');
}

static int
compare_keys (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
render_family (CaraMetricFamily *f, GString *out)
{
  cara_metrics_write_header (out, f->name, f->help, f->type);
  g_mutex_lock (&f->lock);
  guint n = 0;
  g_autofree gpointer *keys = g_hash_table_get_keys_as_array (f->series, &n);
  g_qsort_with_data (keys, (gint) n, sizeof (gpointer), compare_keys, NULL);
  for (guint i = 0; i < n; i++)
    {
      Series *s = g_hash_table_lookup (f->series, keys[i]);
      if (f->type != CARA_METRIC_HISTOGRAM)
        {
          g_string_append (out, f->name);
          append_labels (out, f, s, NULL);
          g_string_append_c (out, ' ');
          append_number (out, s->value);
          g_string_append_c (out, '\n');
          continue;
        }
      guint64 cumulative = 0;
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      for (guint b = 0; b <= f->n_buckets; b++)
        {
          g_autofree char *le = NULL;
          if (b < f->n_buckets)
            {
              cumulative += s->bucket[b];
              le = g_strdup_printf ("le=\"%s\"", format_double (buf, sizeof buf, f->buckets[b]));
            }
          else
            {
              cumulative = s->count;
              le = g_strdup ("le=\"+Inf\"");
            }
          g_string_append_printf (out, "%s_bucket", f->name);
          append_labels (out, f, s, le);
          g_string_append_printf (out, " %" G_GUINT64_FORMAT "\n", cumulative);
        }
      g_string_append_printf (out, "%s_sum", f->name);
      append_labels (out, f, s, NULL);
      g_string_append_c (out, ' ');
      append_number (out, s->value);
      g_string_append_printf (out, "\n%s_count", f->name);
      append_labels (out, f, s, NULL);
      g_string_append_printf (out, " %" G_GUINT64_FORMAT "\n", s->count);
    }
  g_mutex_unlock (&f->lock);
}

void
cara_metrics_render (CaraMetrics *m, GString *out)
{
  for (guint i = 0; i < m->families->len; i++)
    render_family (m->families->pdata[i], out);
  for (guint i = 0; i < m->collectors->len; i++)
    {
      Collector *c = &g_array_index (m->collectors, Collector, i);
      c->func (out, c->user_data);
    }
}

/* ---- process_* (as the Prometheus client libraries name them) ---- */

static double
process_start_time (void)
{
  static double start;
  if (start == 0)
    {
      /* Field 22 of /proc/self/stat is the start time in clock ticks after boot. */
      g_autofree char *stat = NULL, *uptime = NULL;
      if (!g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL)
          || !g_file_get_contents ("/proc/uptime", &uptime, NULL, NULL))
        return (double) g_get_real_time () / G_USEC_PER_SEC;
      const char *p = strrchr (stat, ')');
      g_auto (GStrv) f = g_strsplit (p ? p + 2 : stat, " ", 0);
      double ticks = g_strv_length (f) > 19 ? g_ascii_strtod (f[19], NULL) : 0;
      double up = g_ascii_strtod (uptime, NULL);
      double now = (double) g_get_real_time () / G_USEC_PER_SEC;
      start = now - up + ticks / (double) sysconf (_SC_CLK_TCK);
    }
  return start;
}

static void
process_collector (GString *out, gpointer user_data)
{
  g_autofree char *stat = NULL;
  double cpu = 0, rss = 0;
  if (g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL))
    {
      /* After "pid (comm) ": state is field 3; utime 14, stime 15, rss (pages) 24. */
      const char *p = strrchr (stat, ')');
      g_auto (GStrv) f = g_strsplit (p ? p + 2 : stat, " ", 0);
      if (g_strv_length (f) > 21)
        {
          double tck = (double) sysconf (_SC_CLK_TCK);
          cpu = (g_ascii_strtod (f[11], NULL) + g_ascii_strtod (f[12], NULL)) / tck;
          rss = g_ascii_strtod (f[21], NULL) * (double) sysconf (_SC_PAGESIZE);
        }
    }
  guint fds = 0;
  DIR *d = opendir ("/proc/self/fd");
  if (d != NULL)
    {
      struct dirent *e;
      while ((e = readdir (d)) != NULL)
        if (e->d_name[0] != '.')
          fds++;
      closedir (d);
      fds--; /* the directory's own */
    }
  cara_metrics_write_header (out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                             CARA_METRIC_COUNTER);
  cara_metrics_write_sample (out, "process_cpu_seconds_total", NULL, cpu);
  cara_metrics_write_header (out, "process_resident_memory_bytes", "Resident memory size in bytes.",
                             CARA_METRIC_GAUGE);
  cara_metrics_write_sample (out, "process_resident_memory_bytes", NULL, rss);
  cara_metrics_write_header (out, "process_start_time_seconds",
                             "Start time of the process since unix epoch in seconds.", CARA_METRIC_GAUGE);
  cara_metrics_write_sample (out, "process_start_time_seconds", NULL, process_start_time ());
  cara_metrics_write_header (out, "process_open_fds", "Number of open file descriptors.", CARA_METRIC_GAUGE);
  cara_metrics_write_sample (out, "process_open_fds", NULL, fds);
}

void
cara_metrics_add_process_collector (CaraMetrics *m)
{
  process_start_time ();
  cara_metrics_add_collector (m, process_collector, NULL);
}
