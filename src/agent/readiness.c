/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "readiness.h"

/* Enough to say "restarted N times" for any loop Docker's backoff allows in the window. */
#define MAX_TIMES 256

RestartHistory *
restart_history_new (void)
{
  RestartHistory *h = g_new0 (RestartHistory, 1);
  h->times = g_array_new (FALSE, FALSE, sizeof (gint64));
  return h;
}

void
restart_history_free (RestartHistory *h)
{
  if (h == NULL)
    return;
  g_free (h->container_id);
  g_array_unref (h->times);
  g_free (h);
}

static void
add_times (RestartHistory *h, gint64 n, gint64 when)
{
  n = MIN (n, MAX_TIMES);
  for (gint64 i = 0; i < n; i++)
    g_array_append_val (h->times, when);
  if (h->times->len > MAX_TIMES)
    g_array_remove_range (h->times, 0, h->times->len - MAX_TIMES);
}

void
restart_history_observe (RestartHistory *h, const char *container_id, gint64 restart_count, gint64 created_usec,
                         gint64 now_usec)
{
  restart_count = MAX (restart_count, 0);
  if (g_strcmp0 (h->container_id, container_id) != 0)
    {
      /* Another container (a new spec, or a replacement): its own history. */
      g_free (h->container_id);
      h->container_id = g_strdup (container_id);
      g_array_set_size (h->times, 0);
      add_times (h, restart_count, created_usec > 0 ? MIN (created_usec, now_usec) : now_usec);
    }
  else if (restart_count > h->last_count)
    add_times (h, restart_count - h->last_count, now_usec);
  else if (restart_count < h->last_count)
    add_times (h, restart_count, now_usec);
  h->last_count = restart_count;
}

guint
restart_history_recent (RestartHistory *h, gint64 now_usec)
{
  guint old = 0;
  while (old < h->times->len && g_array_index (h->times, gint64, old) <= now_usec - READINESS_WINDOW_USEC)
    old++;
  if (old)
    g_array_remove_range (h->times, 0, old);
  return h->times->len;
}

gint64
restart_history_next_expiry (const RestartHistory *h, gint64 now_usec)
{
  for (guint i = 0; i < h->times->len; i++)
    {
      gint64 t = g_array_index (h->times, gint64, i);
      if (t > now_usec - READINESS_WINDOW_USEC)
        return t + READINESS_WINDOW_USEC;
    }
  return 0;
}

const char *
readiness_reason_to_string (ReadinessReason r)
{
  switch (r)
    {
    case READINESS_READY:
      return "Ready";
    case READINESS_STARTING:
      return "Starting";
    case READINESS_UNHEALTHY:
      return "Unhealthy";
    case READINESS_CRASHLOOP:
    default:
      return "CrashLoop";
    }
}

ReadinessReason
readiness_service (const ReadinessService *s, char **ret_message)
{
  char *msg = NULL;
  ReadinessReason r = READINESS_READY;
  if (s->recent_restarts >= READINESS_CRASHLOOP_RESTARTS)
    {
      r = READINESS_CRASHLOOP;
      msg = g_strdup_printf ("%s restarted %u times in %um", s->name, s->recent_restarts,
                             (guint) (READINESS_WINDOW_USEC / (60 * G_USEC_PER_SEC)));
    }
  else if (s->state == NULL)
    {
      r = READINESS_STARTING;
      msg = g_strdup_printf ("%s has no container yet", s->name);
    }
  else if (!s->current)
    {
      r = READINESS_STARTING;
      msg = g_strdup_printf ("%s does not run its current spec yet", s->name);
    }
  else if (g_str_equal (s->state, "running"))
    {
      if (s->has_healthcheck && g_strcmp0 (s->health, "unhealthy") == 0)
        {
          r = READINESS_UNHEALTHY;
          msg = g_strdup_printf ("%s is unhealthy", s->name);
        }
      else if (s->has_healthcheck && g_strcmp0 (s->health, "healthy") != 0)
        {
          r = READINESS_STARTING;
          msg = g_strdup_printf ("%s has not passed its healthcheck yet", s->name);
        }
      else if (!s->has_healthcheck && s->uptime_usec >= 0 && s->uptime_usec < READINESS_MIN_UPTIME_USEC)
        {
          r = READINESS_STARTING;
          msg = g_strdup_printf ("%s has just started", s->name);
        }
    }
  else if (!s->completed)
    {
      r = READINESS_STARTING;
      msg = g_strdup_printf ("%s is %s", s->name, s->state);
    }
  if (ret_message)
    *ret_message = msg;
  else
    g_free (msg);
  return r;
}

ReadinessReason
readiness_decide (const ReadinessService *services, guint n, char **ret_message)
{
  ReadinessReason worst = READINESS_READY;
  g_autoptr (GPtrArray) messages = g_ptr_array_new_with_free_func (g_free);
  g_autofree ReadinessReason *reasons = g_new0 (ReadinessReason, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      char *m = NULL;
      reasons[i] = readiness_service (&services[i], &m);
      g_ptr_array_add (messages, m);
      worst = MAX (worst, reasons[i]);
    }
  if (worst == READINESS_READY)
    {
      *ret_message = g_strdup ("All services ready");
      return worst;
    }
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    if (reasons[i] == worst)
      g_string_append_printf (s, "%s%s", s->len ? "; " : "", (char *) messages->pdata[i]);
  *ret_message = g_string_free (g_steal_pointer (&s), FALSE);
  return worst;
}
