/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "backoff.h"

gint64
backoff_delay_usec (guint failures)
{
  gint64 d = BACKOFF_FIRST_USEC;
  for (guint i = 1; i < failures && d < BACKOFF_MAX_USEC; i++)
    d *= 2;
  return MIN (d, BACKOFF_MAX_USEC);
}

char *
backoff_format (gint64 usec)
{
  gint64 s = (usec + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
  if (s < 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT "s", s);
  if (s % 60 == 0)
    return g_strdup_printf ("%" G_GINT64_FORMAT "m", s / 60);
  return g_strdup_printf ("%" G_GINT64_FORMAT "m%" G_GINT64_FORMAT "s", s / 60, s % 60);
}
