/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-agent"

#include "event-reporter.h"

#include "cara-error.h"
#include "cara-json.h"
#include "server-api.h"

#define BATCH_MAX 100
#define RETRY_MIN_USEC (G_USEC_PER_SEC / 2)
#define RETRY_MAX_USEC (30 * G_USEC_PER_SEC)

typedef struct {
  const AgentConfig *cfg;
  GThread *thread;
  GMutex lock;
  GCond cond;
  GQueue queue;   /* CaraEvent*, under lock */
  gboolean stopping;
  guint dropped;  /* under lock */
} Reporter;

static Reporter *reporter;

static void
enqueue (CaraEvent *e)
{
  Reporter *r = reporter;
  if (r == NULL)
    {
      g_debug ("Event %s (%s) not reported: no reporter", e->reason, e->message);
      cara_event_free (e);
      return;
    }
  e->time_usec = g_get_real_time ();
  g_mutex_lock (&r->lock);
  g_queue_push_tail (&r->queue, e);
  while (r->queue.length > EVENT_QUEUE_MAX)
    {
      cara_event_free (g_queue_pop_head (&r->queue));
      r->dropped++;
    }
  g_cond_signal (&r->cond);
  g_mutex_unlock (&r->lock);
}

void
agent_event_object (CaraEventType type, const char *reason, const char *kind, const char *name, const char *format,
                    ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *message = g_strdup_vprintf (format, ap);
  va_end (ap);
  const char *node = reporter ? reporter->cfg->node_name : NULL;
  enqueue (cara_event_new (type, reason, kind, name, node, message));
}

void
agent_event (CaraEventType type, const char *reason, const char *project, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *message = g_strdup_vprintf (format, ap);
  va_end (ap);
  const char *node = reporter ? reporter->cfg->node_name : NULL;
  enqueue (cara_event_new (type, reason, "Project", project, node, message));
}

static gboolean
send_batch (Reporter *r, CaraHttpClient *http, GPtrArray *batch, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "items");
  json_builder_begin_array (b);
  for (guint i = 0; i < batch->len; i++)
    json_builder_add_value (b, cara_event_to_json (batch->pdata[i]));
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) body = json_builder_get_root (b);
  g_autofree char *node = cara_http_escape (r->cfg->node_name);
  g_autofree char *path = g_strdup_printf ("/api/v1/nodes/%s/events", node);
  return cara_http_client_json (http, "POST", path, body, NULL, NULL, error);
}

static gpointer
run (gpointer data)
{
  Reporter *r = data;
  g_autoptr (GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_event_free);
  gint64 retry = 0, backoff = RETRY_MIN_USEC;
  gboolean logged = FALSE;

  for (;;)
    {
      g_mutex_lock (&r->lock);
      /* Wait for events (or the retry time, or the stop). */
      while (!r->stopping && (batch->len == 0 ? r->queue.length == 0 : g_get_monotonic_time () < retry))
        {
          if (batch->len == 0)
            g_cond_wait (&r->cond, &r->lock);
          else
            g_cond_wait_until (&r->cond, &r->lock, retry);
        }
      while (batch->len < BATCH_MAX && r->queue.length > 0)
        g_ptr_array_add (batch, g_queue_pop_head (&r->queue));
      guint dropped = r->dropped;
      r->dropped = 0;
      gboolean stopping = r->stopping;
      g_mutex_unlock (&r->lock);
      if (dropped)
        g_warning ("Dropped %u event(s): the server did not take them in time", dropped);
      if (batch->len == 0)
        {
          if (stopping)
            break;
          continue;
        }
      g_autoptr (GError) error = NULL;
      g_autoptr (CaraHttpClient) http = server_client_new (r->cfg);
      if (send_batch (r, http, batch, &error))
        {
          g_ptr_array_set_size (batch, 0);
          backoff = RETRY_MIN_USEC;
          logged = FALSE;
          continue;
        }
      /* A bad batch is not sent again (it would fail the same way). */
      if (g_error_matches (error, CARA_ERROR, CARA_ERROR_INVALID))
        {
          g_warning ("The server refused %u event(s): %s", batch->len, error->message);
          g_ptr_array_set_size (batch, 0);
          continue;
        }
      if (!logged)
        g_message ("Reporting events failed, retrying: %s", error->message);
      logged = TRUE;
      if (stopping)
        break; /* one last try only: stopping must not wait for an absent server */
      retry = g_get_monotonic_time () + backoff;
      backoff = MIN (backoff * 2, RETRY_MAX_USEC);
    }
  return NULL;
}

void
event_reporter_start (const AgentConfig *cfg)
{
  if (reporter != NULL)
    return;
  Reporter *r = g_new0 (Reporter, 1);
  r->cfg = cfg;
  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  g_queue_init (&r->queue);
  r->thread = g_thread_new ("event-reporter", run, r);
  reporter = r;
}

void
event_reporter_stop (void)
{
  Reporter *r = reporter;
  if (r == NULL)
    return;
  g_mutex_lock (&r->lock);
  r->stopping = TRUE;
  g_cond_signal (&r->cond);
  g_mutex_unlock (&r->lock);
  g_thread_join (r->thread);
  reporter = NULL;
  g_queue_clear_full (&r->queue, (GDestroyNotify) cara_event_free);
  g_mutex_clear (&r->lock);
  g_cond_clear (&r->cond);
  g_free (r);
}
