/* SPDX-License-Identifier: Apache-2.0 */
/* Reconcile retries (SPEC §13): 1 s doubling to 5 min. */
#include "config.h"

#include "backoff.h"

#define SEC ((gint64) G_USEC_PER_SEC)

static void
test_delays (void)
{
  g_assert_cmpint (backoff_delay_usec (0), ==, 1 * SEC);
  g_assert_cmpint (backoff_delay_usec (1), ==, 1 * SEC);
  g_assert_cmpint (backoff_delay_usec (2), ==, 2 * SEC);
  g_assert_cmpint (backoff_delay_usec (3), ==, 4 * SEC);
  g_assert_cmpint (backoff_delay_usec (9), ==, 256 * SEC);
  g_assert_cmpint (backoff_delay_usec (10), ==, 300 * SEC);
  g_assert_cmpint (backoff_delay_usec (1000), ==, 300 * SEC);
  g_assert_cmpint (backoff_delay_usec (G_MAXUINT), ==, 300 * SEC);
}

static void
test_format (void)
{
  const struct { gint64 usec; const char *text; } cases[] = {
    { SEC, "1s" }, { SEC / 2, "1s" }, { 59 * SEC, "59s" }, { 64 * SEC, "1m4s" }, { 300 * SEC, "5m" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *s = backoff_format (cases[i].usec);
      g_assert_cmpstr (s, ==, cases[i].text);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/backoff/delays", test_delays);
  g_test_add_func ("/backoff/format", test_format);
  return g_test_run ();
}
