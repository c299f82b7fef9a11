/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-events"
#include "config.h"

#include <stdlib.h>

#include "server-events.h"

#include "cara-config.h"
#include "cara-error.h"
#include "store.h"

static gint64 event_ttl_usec = 24 * (gint64) 3600 * G_USEC_PER_SEC;
static guint event_limit = CARA_EVENT_LIMIT_DEFAULT;

void
cara_events_record_many (GPtrArray *events)
{
  g_autoptr (GError) error = NULL;
  if (events == NULL || events->len == 0)
    return;
  if (!store_cluster_events_insert (events, &error))
    g_debug ("Dropping %u event(s) (%s, ...): %s", events->len, ((CaraEvent *) events->pdata[0])->reason,
             error->message);
}

void
cara_events_record (CaraEventType type, const char *reason, const char *object_kind, const char *object_name,
                    const char *node, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *message = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_autoptr (GPtrArray) one = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_event_free);
  g_ptr_array_add (one, cara_event_new (type, reason, object_kind, object_name, node, message));
  cara_events_record_many (one);
}

gboolean
cara_events_configure (GKeyFile *kf, GError **error)
{
  gint64 ttl = 0;
  if (!cara_config_duration (kf, "server", "event_ttl", "EVENT_TTL", NULL, CARA_EVENT_TTL_DEFAULT, &ttl, error))
    return FALSE;
  if (ttl <= 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "EVENT_TTL must be a positive duration");
      return FALSE;
    }
  g_autofree char *def = g_strdup_printf ("%u", CARA_EVENT_LIMIT_DEFAULT);
  g_autofree char *limit = cara_config_string (kf, "server", "event_limit", "EVENT_LIMIT", NULL, def);
  guint64 n = 0;
  if (!g_ascii_string_to_unsigned (limit, 10, 1, G_MAXUINT32, &n, NULL))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "EVENT_LIMIT must be a positive number of events, not \"%s\"",
                   limit);
      return FALSE;
    }
  event_ttl_usec = ttl;
  event_limit = (guint) n;
  return TRUE;
}

void
cara_events_trim (void)
{
  g_autoptr (GError) error = NULL;
  if (!store_cluster_events_trim (event_limit, event_ttl_usec, &error))
    g_debug ("Trimming old cluster events failed, will retry: %s", error->message);
}
