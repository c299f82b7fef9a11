/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-agent"

#include <stdlib.h>
#include <string.h>

#include "cara-error.h"
#include "cara-json.h"
#include "cara-log.h"
#include "server-api.h"
#include "watch.h"

struct _Watch {
  const AgentConfig *cfg;
  AgentWorker *worker;
  GThread *thread;
  GMutex lock;
  GCond cond;
  gboolean stop;
  gboolean resync;
  GCancellable *current; /* the watch stream in progress */
  gboolean expired;      /* the server said our resourceVersion is too old (watch thread only) */
};

static gboolean
wait_for (Watch *w, gint64 usec)
{
  gint64 until = g_get_monotonic_time () + usec;
  g_mutex_lock (&w->lock);
  while (!w->stop && !w->resync)
    if (!g_cond_wait_until (&w->cond, &w->lock, until))
      break;
  w->resync = FALSE;
  gboolean go_on = !w->stop;
  g_mutex_unlock (&w->lock);
  return go_on;
}

typedef struct {
  Watch *w;
  GString *pending;
  gboolean unsupported; /* the server answered a plain list */
  gboolean relist;      /* the server asked us to list again */
  guint events;
} Stream;

static void
handle_line (Stream *s, const char *line, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) n = cara_json_parse (line, (gssize) len, &error);
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    {
      g_debug ("Ignoring watch line: %s", error ? error->message : "not an object");
      return;
    }
  JsonObject *o = json_node_get_object (n);
  if (json_object_has_member (o, "items"))
    {
      s->unsupported = TRUE;
      return;
    }
  const char *type = json_object_get_string_member_with_default (o, "type", "");
  if (g_strcmp0 (type, "ERROR") == 0)
    {
      /* e.g. our resourceVersion is too old: list again. */
      s->relist = TRUE;
      return;
    }
  if (g_strcmp0 (type, "ADDED") != 0 && g_strcmp0 (type, "MODIFIED") != 0 && g_strcmp0 (type, "DELETED") != 0)
    return; /* BOOKMARK and whatever comes later */
  JsonNode *obj = json_object_get_member (o, "object");
  if (obj == NULL || !JSON_NODE_HOLDS_OBJECT (obj))
    return;
  CaraProject *p = cara_project_from_json (obj, &error);
  if (p != NULL && p->metadata.name == NULL)
    {
      cara_project_free (p);
      return;
    }
  if (p == NULL)
    {
      g_debug ("Ignoring watch event: %s", error->message);
      return;
    }
  s->events++;
  g_debug ("watch: %s %s (%s)", type, p->metadata.name, cara_project_phase_to_string (p->status.phase));
  if (g_strcmp0 (type, "DELETED") == 0 || g_strcmp0 (p->status.node_ref, s->w->cfg->node_name) != 0)
    {
      agent_worker_remove (s->w->worker, p->metadata.name);
      cara_project_free (p);
    }
  else
    agent_worker_update (s->w->worker, p);
}

static gboolean
on_data (const char *data, gsize len, gpointer user_data)
{
  Stream *s = user_data;
  g_string_append_len (s->pending, data, (gssize) len);
  char *nl;
  while ((nl = memchr (s->pending->str, '\n', s->pending->len)) != NULL)
    {
      gsize l = (gsize) (nl - s->pending->str);
      if (l > 0)
        handle_line (s, s->pending->str, l);
      g_string_erase (s->pending, 0, (gssize) l + 1);
    }
  return !s->unsupported && !s->relist;
}

/* The highest resourceVersion seen, when they are numbers (else NULL: watch from now). */
static char *
max_resource_version (GPtrArray *projects)
{
  guint64 max = 0;
  for (guint i = 0; i < projects->len; i++)
    {
      CaraProject *p = g_ptr_array_index (projects, i);
      const char *rv = p->metadata.resource_version;
      guint64 v = 0;
      if (rv == NULL || !g_ascii_string_to_unsigned (rv, 10, 0, G_MAXUINT64, &v, NULL))
        return NULL;
      max = MAX (max, v);
    }
  return max ? g_strdup_printf ("%" G_GUINT64_FORMAT, max) : NULL;
}

/* Follows the watch until the re-list is due.  FALSE: the server has no watch. */
static gboolean
follow (Watch *w, CaraHttpClient *http, const char *rv)
{
  g_autofree char *node = cara_http_escape (w->cfg->node_name);
  g_autofree char *path = rv ? g_strdup_printf ("/api/v1/projects?watch=true&nodeRef=%s&resourceVersion=%s", node, rv)
                             : g_strdup_printf ("/api/v1/projects?watch=true&nodeRef=%s", node);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  g_mutex_lock (&w->lock);
  gboolean stop = w->stop || w->resync;
  w->resync = FALSE;
  g_set_object (&w->current, cancel);
  g_mutex_unlock (&w->lock);
  if (stop)
    return TRUE;

  Stream s = { .w = w, .pending = g_string_new (NULL) };
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  /* The whole-transfer timeout is what ends the stream for the periodic re-list. */
  cara_http_client_set_timeout (http, (guint) (w->cfg->resync_usec / 1000));
  gboolean ok = cara_http_client_stream (http, "GET", path, NULL, NULL, 0, on_data, &s, cancel, &error);
  cara_http_client_set_timeout (http, 10000);
  if (ok && s.pending->len > 0)
    handle_line (&s, s.pending->str, s.pending->len);
  g_string_free (s.pending, TRUE);
  if (s.relist)
    w->expired = TRUE; /* sticky: our projects' versions only grow older relative to the history */

  g_mutex_lock (&w->lock);
  g_clear_object (&w->current);
  g_mutex_unlock (&w->lock);

  if (s.unsupported
      || (!ok && (g_error_matches (error, CARA_ERROR, CARA_ERROR_INVALID)
                  || g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND)
                  || g_error_matches (error, CARA_ERROR, CARA_ERROR_METHOD_NOT_ALLOWED))))
    return FALSE;
  if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      && g_get_monotonic_time () - start < w->cfg->resync_usec - G_USEC_PER_SEC)
    {
      g_debug ("Watch ended: %s", error->message);
      wait_for (w, G_USEC_PER_SEC); /* don't spin when the server drops us at once */
    }
  return TRUE;
}

static gpointer
run (gpointer data)
{
  Watch *w = data;
  g_autoptr (CaraHttpClient) http = server_client_new (w->cfg);
  gboolean watch_supported = TRUE;
  gboolean list_ok = TRUE;
  gint64 backoff = G_USEC_PER_SEC;

  for (;;)
    {
      g_mutex_lock (&w->lock);
      gboolean stop = w->stop;
      w->resync = FALSE;
      g_mutex_unlock (&w->lock);
      if (stop)
        break;

      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) projects = server_list_projects (http, w->cfg, &error);
      if (projects == NULL)
        {
          cara_log_full (G_LOG_DOMAIN, list_ok ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_DEBUG, NULL, w->cfg->node_name,
                         NULL, "Cannot list projects: %s", error->message);
          list_ok = FALSE;
          if (!wait_for (w, MIN (backoff, w->cfg->poll_usec)))
            break;
          backoff = MIN (backoff * 2, 30 * G_USEC_PER_SEC);
          continue;
        }
      list_ok = TRUE;
      backoff = G_USEC_PER_SEC;
      agent_worker_sync (w->worker, projects);

      if (watch_supported)
        {
          /* After an "expired" error our own newest resourceVersion may stay older than the
           * server's history for long (heartbeats fill it): watch from now instead, which
           * replays current objects as ADDED, so nothing is missed. */
          g_autofree char *rv = w->expired ? NULL : max_resource_version (projects);
          watch_supported = follow (w, http, rv);
          if (!watch_supported)
            cara_log_node (G_LOG_LEVEL_INFO, w->cfg->node_name, "The server has no watch; polling every %" G_GINT64_FORMAT " ms",
                           w->cfg->poll_usec / 1000);
          else
            continue;
        }
      if (!wait_for (w, w->cfg->poll_usec))
        break;
    }
  return NULL;
}

Watch *
watch_start (const AgentConfig *cfg, AgentWorker *worker)
{
  Watch *w = g_new0 (Watch, 1);
  w->cfg = cfg;
  w->worker = worker;
  g_mutex_init (&w->lock);
  g_cond_init (&w->cond);
  w->thread = g_thread_new ("watch", run, w);
  return w;
}

void
watch_resync (Watch *w)
{
  g_mutex_lock (&w->lock);
  w->resync = TRUE;
  if (w->current)
    g_cancellable_cancel (w->current);
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->lock);
}

void
watch_stop (Watch *w)
{
  if (w == NULL)
    return;
  g_mutex_lock (&w->lock);
  w->stop = TRUE;
  if (w->current)
    g_cancellable_cancel (w->current);
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->lock);
  g_thread_join (w->thread);
  g_mutex_clear (&w->lock);
  g_cond_clear (&w->cond);
  g_free (w);
}

