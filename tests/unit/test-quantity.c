/* SPDX-License-Identifier: Apache-2.0 */
/* Quantities and durations, table-driven. */
#include "config.h"

#include "cara-error.h"
#include "cara-quantity.h"

typedef struct {
  const char *in;
  gboolean ok;
  gint64 value;
  const char *formatted; /* cara_*_format (value); NULL = not checked */
} Row;

static const Row cpu_rows[] = {
  { "500m", TRUE, 500, "500m" },
  { "2", TRUE, 2000, "2" },
  { "0.5", TRUE, 500, "500m" },
  { "1.5", TRUE, 1500, "1500m" },
  { "1.25", TRUE, 1250, "1250m" },
  { "0.001", TRUE, 1, "1m" },
  { ".5", TRUE, 500, "500m" },
  { "2.", TRUE, 2000, "2" },
  { "1.500", TRUE, 1500, NULL },
  { "0", TRUE, 0, "0" },
  { "2000m", TRUE, 2000, "2" },
  { "9223372036854775m", TRUE, G_GINT64_CONSTANT (9223372036854775), NULL },
  { "0.0001", FALSE, 0, NULL },
  { "0.5m", FALSE, 0, NULL },
  { "", FALSE, 0, NULL },
  { "m", FALSE, 0, NULL },
  { "-1", FALSE, 0, NULL },
  { "1k", FALSE, 0, NULL },
  { "1 ", FALSE, 0, NULL },
  { " 1", FALSE, 0, NULL },
  { "1e3", FALSE, 0, NULL },
  { "9223372036854776", FALSE, 0, NULL },
  { "99999999999999999999999", FALSE, 0, NULL },
};

static const Row bytes_rows[] = {
  { "256Mi", TRUE, 268435456, "256Mi" },
  { "1G", TRUE, 1000000000, "1000000000" },
  { "1.5Gi", TRUE, 1610612736, "1536Mi" },
  { "1024", TRUE, 1024, "1Ki" },
  { "1000", TRUE, 1000, "1000" },
  { "500k", TRUE, 500000, NULL },
  { "1Ki", TRUE, 1024, "1Ki" },
  { "2Gi", TRUE, G_GINT64_CONSTANT (2147483648), "2Gi" },
  { "1Ti", TRUE, G_GINT64_CONSTANT (1099511627776), "1Ti" },
  { "1Pi", TRUE, G_GINT64_CONSTANT (1125899906842624), "1Pi" },
  { "7Ei", TRUE, G_GINT64_CONSTANT (8070450532247928832), "7Ei" },
  { "1T", TRUE, G_GINT64_CONSTANT (1000000000000), NULL },
  { "1P", TRUE, G_GINT64_CONSTANT (1000000000000000), NULL },
  { "9E", TRUE, G_GINT64_CONSTANT (9000000000000000000), NULL },
  { "1.5k", TRUE, 1500, NULL },
  { "0.5Ki", TRUE, 512, NULL },
  { "0.0009765625Ki", TRUE, 1, "1" },
  { "0", TRUE, 0, "0" },
  { "9223372036854775807", TRUE, G_MAXINT64, NULL },
  { "0.5", FALSE, 0, NULL },
  { "1.0001k", FALSE, 0, NULL },
  { "1.0000000000000000001Ki", FALSE, 0, NULL },
  { "8Ei", FALSE, 0, NULL },
  { "10E", FALSE, 0, NULL },
  { "9223372036854775808", FALSE, 0, NULL },
  { "256MB", FALSE, 0, NULL },
  { "256m", FALSE, 0, NULL },
  { "1K", FALSE, 0, NULL },
  { "Mi", FALSE, 0, NULL },
  { "", FALSE, 0, NULL },
  { "-1", FALSE, 0, NULL },
  { "1 Gi", FALSE, 0, NULL },
};

static const Row duration_rows[] = {
  { "500ms", TRUE, 500000, "500ms" },
  { "2s", TRUE, 2000000, "2s" },
  { "3m", TRUE, 180000000, "3m" },
  { "1h30m", TRUE, G_GINT64_CONSTANT (5400000000), "1h30m" },
  { "1.5s", TRUE, 1500000, "1.5s" },
  { "1.5h", TRUE, G_GINT64_CONSTANT (5400000000), "1h30m" },
  { "90s", TRUE, 90000000, "1m30s" },
  { "1m30s", TRUE, 90000000, "1m30s" },
  { "250us", TRUE, 250, "250us" },
  { "250\xc2\xb5s", TRUE, 250, NULL },
  { "250\xce\xbcs", TRUE, 250, NULL },
  { "1500ns", TRUE, 1, "1us" },
  { "100ns", TRUE, 0, "0s" },
  { "0", TRUE, 0, "0s" },
  { "0s", TRUE, 0, "0s" },
  { "+5s", TRUE, 5000000, NULL },
  { ".5s", TRUE, 500000, NULL },
  { "1.s", TRUE, 1000000, NULL },
  { "1h1m1s1ms1us", TRUE, G_GINT64_CONSTANT (3661001001), NULL },
  { "2562047h", TRUE, G_GINT64_CONSTANT (9223369200000000), "2562047h" },
  { "1.123456789012345678h", TRUE, G_GINT64_CONSTANT (4044444440), NULL },
  { "2562048h", FALSE, 0, NULL },
  { "", FALSE, 0, NULL },
  { "-1s", FALSE, 0, NULL },
  { "1", FALSE, 0, NULL },
  { "10", FALSE, 0, NULL },
  { "s", FALSE, 0, NULL },
  { ".s", FALSE, 0, NULL },
  { "1d", FALSE, 0, NULL },
  { "1 s", FALSE, 0, NULL },
  { "1s ", FALSE, 0, NULL },
  { "+", FALSE, 0, NULL },
  { "99999999999999999999s", FALSE, 0, NULL },
};

typedef gboolean (*ParseFunc) (const char *s, gint64 *ret, GError **error);
typedef char *(*FormatFunc) (gint64 v);

static void
run_rows (const Row *rows, guint n, ParseFunc parse, FormatFunc format)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      gint64 v = -12345;
      gboolean ok = parse (rows[i].in, &v, &error);

      if (ok != rows[i].ok)
        g_error ("\"%s\": expected %s, got %s (%s)", rows[i].in, rows[i].ok ? "success" : "an error",
                 ok ? "success" : "an error", error != NULL ? error->message : "");
      if (!ok)
        {
          g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
          g_assert_cmpint (v, ==, -12345); /* ret_* untouched on failure */
          continue;
        }
      g_assert_no_error (error);
      if (v != rows[i].value)
        g_error ("\"%s\": expected %" G_GINT64_FORMAT ", got %" G_GINT64_FORMAT, rows[i].in,
                 rows[i].value, v);
      if (rows[i].formatted != NULL)
        {
          g_autofree char *f = format (v);
          gint64 back;
          g_assert_cmpstr (f, ==, rows[i].formatted);
          /* What we format, we parse back to the same value. */
          g_assert_true (parse (f, &back, NULL));
          g_assert_cmpint (back, ==, v);
        }
    }
}

static void
test_cpu (void)
{
  run_rows (cpu_rows, G_N_ELEMENTS (cpu_rows), cara_cpu_parse, cara_cpu_format);
}

static void
test_bytes (void)
{
  run_rows (bytes_rows, G_N_ELEMENTS (bytes_rows), cara_bytes_parse, cara_bytes_format);
}

static void
test_duration (void)
{
  run_rows (duration_rows, G_N_ELEMENTS (duration_rows), cara_duration_parse, cara_duration_format);
}

static void
test_messages (void)
{
  g_autoptr(GError) error = NULL;
  gint64 v;

  g_assert_false (cara_duration_parse ("-2s", &v, &error));
  g_assert_cmpstr (error->message, ==, "invalid duration \"-2s\": must not be negative");
  g_clear_error (&error);
  g_assert_false (cara_duration_parse ("3x", &v, &error));
  g_assert_cmpstr (error->message, ==, "invalid duration \"3x\": unknown unit \"x\" (ns, us, ms, s, m, h)");
  g_clear_error (&error);
  g_assert_false (cara_bytes_parse ("0.5", &v, &error));
  g_assert_cmpstr (error->message, ==, "invalid quantity \"0.5\": not a whole number of bytes");
  g_clear_error (&error);
  g_assert_false (cara_bytes_parse ("8Ei", &v, &error));
  g_assert_cmpstr (error->message, ==, "invalid quantity \"8Ei\": too large");
  g_clear_error (&error);
  g_assert_false (cara_cpu_parse ("0.1m", &v, &error));
  g_assert_cmpstr (error->message, ==, "invalid cpu quantity \"0.1m\": finer than 1m (one millicore)");
}

static void
test_format_edges (void)
{
  g_autofree char *a = cara_duration_format (1);
  g_autofree char *b = cara_duration_format (G_GINT64_CONSTANT (3600000000));
  g_autofree char *c = cara_duration_format (G_GINT64_CONSTANT (3600500000));
  g_autofree char *d = cara_bytes_format (1536);
  g_autofree char *e = cara_cpu_format (1);

  g_assert_cmpstr (a, ==, "1us");
  g_assert_cmpstr (b, ==, "1h");
  g_assert_cmpstr (c, ==, "1h0.5s");
  g_assert_cmpstr (d, ==, "1536");
  g_assert_cmpstr (e, ==, "1m");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quantity/cpu", test_cpu);
  g_test_add_func ("/quantity/bytes", test_bytes);
  g_test_add_func ("/quantity/duration", test_duration);
  g_test_add_func ("/quantity/messages", test_messages);
  g_test_add_func ("/quantity/format-edges", test_format_edges);
  return g_test_run ();
}
