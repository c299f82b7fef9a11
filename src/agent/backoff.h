/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* How long a failed reconcile waits before it is tried again (SPEC §13): 1 s after the first
 * failure, doubling to at most 5 minutes; a spec change starts over.  Pure logic. */

#include <glib.h>

#define BACKOFF_FIRST_USEC ((gint64) G_USEC_PER_SEC)
#define BACKOFF_MAX_USEC ((gint64) 5 * 60 * G_USEC_PER_SEC)

/* The wait after @failures consecutive failures (>= 1). */
gint64 backoff_delay_usec (guint failures);
/* "1s", "4s", "1m4s", "5m" */
char *backoff_format (gint64 usec);
