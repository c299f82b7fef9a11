/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-agent"

#include "agent-metrics.h"
#include "cara-error.h"
#include "cara-json.h"
#include "cara-log.h"
#include "docker.h"
#include "observed.h"
#include "proxy.h"
#include "reconcile.h"
#include "backoff.h"
#include "rollout.h"
#include "server-api.h"
#include "status-echo.h"
#include "worker.h"
#include "volume-copy.h"

typedef struct {
  CaraProject *desired;  /* NULL: not placed here any more, tear down */
  gboolean queued;       /* pushed to the pool, not yet started */
  gboolean running;
  gboolean dirty;        /* changed while running */
  char *last_report;     /* JSON of the last status PATCHed */
  char *failed_digest;   /* spec digest last applied while Failed */
  guint failures;        /* failed reconciles in a row of this spec (SPEC §13 backoff) */
  gint64 retry_at;       /* monotonic µs from when the next retry is due; 0: none pending */
  CaraProjectPhase reported; /* phase of the last status PATCHed */
  gboolean torn_down;    /* removed from Docker while Terminating/Terminated: nothing left to do */
} Entry;

struct _AgentWorker {
  const AgentConfig *cfg;
  GMainContext *main_ctx;
  AgentProjectNotify notify;
  gpointer user_data;
  GMutex lock;
  GHashTable *entries; /* name -> Entry */
  GThreadPool *pool;
  Proxy *proxy;
  gboolean stopping; /* under @lock: the pool is being freed, queue nothing more */
  GHashTable *timers; /* under @lock: pending rechecks (GSource*, on @main_ctx) */
};

typedef struct {
  AgentWorker *w;
  char *name;
  GSource *source;
} Recheck;

static void
recheck_free (gpointer data)
{
  Recheck *r = data;
  g_free (r->name);
  g_free (r);
}

static gboolean
on_recheck (gpointer data)
{
  Recheck *r = data;
  g_mutex_lock (&r->w->lock);
  g_hash_table_remove (r->w->timers, r->source);
  g_mutex_unlock (&r->w->lock);
  agent_worker_recheck (r->w, r->name);
  return G_SOURCE_REMOVE;
}

/* Observe @name again after @usec (a condition that changes with time alone). */
static void
schedule_recheck (AgentWorker *w, const char *name, gint64 usec)
{
  Recheck *r = g_new0 (Recheck, 1);
  r->w = w;
  r->name = g_strdup (name);
  r->source = g_timeout_source_new ((guint) MAX ((usec + 999) / 1000, 1));
  g_source_set_callback (r->source, on_recheck, r, recheck_free);
  g_mutex_lock (&w->lock);
  if (w->stopping)
    {
      g_mutex_unlock (&w->lock);
      g_source_unref (r->source);
      return;
    }
  g_hash_table_add (w->timers, r->source);
  g_source_attach (r->source, w->main_ctx);
  g_mutex_unlock (&w->lock);
  g_source_unref (r->source);
}

static void
entry_free (Entry *e)
{
  if (e == NULL)
    return;
  cara_project_free (e->desired);
  g_free (e->last_report);
  g_free (e->failed_digest);
  g_free (e);
}

/* Called with the lock held. */
static void
schedule_locked (AgentWorker *w, const char *name, Entry *e)
{
  if (e->running)
    {
      e->dirty = TRUE;
      return;
    }
  if (e->queued || w->stopping)
    return;
  e->queued = TRUE;
  g_thread_pool_push (w->pool, g_strdup (name), NULL);
}

static Entry *
entry_get_locked (AgentWorker *w, const char *name)
{
  Entry *e = g_hash_table_lookup (w->entries, name);
  if (e == NULL)
    {
      e = g_new0 (Entry, 1);
      g_hash_table_insert (w->entries, g_strdup (name), e);
    }
  return e;
}

typedef struct {
  AgentWorker *w;
  char *project;
  char *phase;
  GPtrArray *services;
  CaraCondition *ready;
} Notice;

static gboolean
deliver_notice (gpointer data)
{
  Notice *n = data;
  n->w->notify (n->project, n->phase, n->services, n->ready, n->w->user_data);
  return G_SOURCE_REMOVE;
}

static void
notice_free (gpointer data)
{
  Notice *n = data;
  g_free (n->project);
  g_free (n->phase);
  if (n->services)
    g_ptr_array_unref (n->services);
  cara_condition_free (n->ready);
  g_free (n);
}

static void
notify (AgentWorker *w, const char *project, CaraProjectPhase phase, GPtrArray *services,
        GPtrArray *conditions)
{
  /* Gone from this node: forget its containers. */
  GPtrArray *observed = phase == CARA_PROJECT_PHASE_NONE ? NULL : services;
  observed_services (project, observed);
  agent_metrics_project_containers (project, observed);
  if (w->notify == NULL)
    return;
  Notice *n = g_new0 (Notice, 1);
  n->w = w;
  n->project = g_strdup (project);
  n->phase = g_strdup (cara_project_phase_to_string (phase));
  CaraCondition *ready = conditions ? cara_conditions_find (conditions, "ServicesReady") : NULL;
  n->ready = ready ? cara_condition_copy (ready) : NULL;
  if (services)
    {
      n->services = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_service_status_free);
      for (guint i = 0; i < services->len; i++)
        {
          const CaraServiceStatus *s = g_ptr_array_index (services, i);
          CaraServiceStatus *c = cara_service_status_new (s->name);
          c->container_id = g_strdup (s->container_id);
          c->state = g_strdup (s->state);
          c->restart_count = s->restart_count;
          c->health = g_strdup (s->health);
          g_ptr_array_add (n->services, c);
        }
    }
  g_main_context_invoke_full (w->main_ctx, G_PRIORITY_DEFAULT, deliver_notice, n, notice_free);
}

static char *
spec_digest (const CaraProject *p)
{
  g_autoptr (JsonNode) spec = cara_project_spec_to_json (p);
  g_autofree char *s = cara_json_to_string (spec, FALSE);
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, s, -1);
}

static void
report (AgentWorker *w, const char *name, Entry *snapshot_last, const CaraProject *p, const CaraStatusReport *r,
        char **ret_new_last)
{
  g_autoptr (JsonNode) json = cara_status_report_to_json (r);
  g_autofree char *text = cara_json_to_string (json, FALSE);
  /* Only changes are sent; after an agent restart the first observation always goes out, and so
   * does one whose phase the server does not show (a retried Failed project is Scheduled there,
   * and failing the same way again must still reach it). */
  if (g_strcmp0 (text, snapshot_last->last_report) == 0 && p->status.phase == r->phase)
    return;
  g_autoptr (CaraHttpClient) http = server_client_new (w->cfg);
  g_autoptr (GError) error = NULL;
  if (!server_report_status (http, name, r, &error))
    {
      /* Deleted meanwhile (404) or moved to another node (403): the watch brings the news. */
      gboolean gone = g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND)
                   || g_error_matches (error, CARA_ERROR, CARA_ERROR_FORBIDDEN);
      cara_log_project (gone ? G_LOG_LEVEL_INFO : G_LOG_LEVEL_WARNING, name, "%s status %s: %s",
                        gone ? "Not reporting" : "Failed to report", cara_project_phase_to_string (r->phase),
                        error->message);
      return;
    }
  if (p->status.phase != r->phase)
    cara_log_project (G_LOG_LEVEL_INFO, name, "Project is %s%s%s", cara_project_phase_to_string (r->phase),
                      r->phase == CARA_PROJECT_PHASE_FAILED ? ": " : "",
                      r->phase == CARA_PROJECT_PHASE_FAILED ? r->message : "");
  *ret_new_last = g_steal_pointer (&text);
}

/* TRUE when everything is gone from Docker. */
static gboolean
teardown (AgentWorker *w, DockerClient *dc, const char *name, gboolean report_terminated)
{
  g_autoptr (GError) error = NULL;
  if (!reconcile_teardown (dc, w->cfg, name, &error))
    {
      cara_log_project (G_LOG_LEVEL_WARNING, name, "Teardown failed (will retry): %s", error->message);
      return FALSE;
    }
  proxy_remove (w->proxy, name);
  notify (w, name, CARA_PROJECT_PHASE_NONE, NULL, NULL);
  if (!report_terminated)
    return TRUE;
  /* Before the PATCH: its echo (Terminated) and the deletion that follows are no work. */
  g_mutex_lock (&w->lock);
  Entry *e = g_hash_table_lookup (w->entries, name);
  e->reported = CARA_PROJECT_PHASE_TERMINATED;
  e->torn_down = TRUE;
  g_mutex_unlock (&w->lock);
  g_autoptr (CaraStatusReport) r = cara_status_report_new ();
  r->phase = CARA_PROJECT_PHASE_TERMINATED;
  r->reason = g_strdup ("ResourcesRemoved");
  r->message = g_strdup ("All Docker resources have been removed");
  g_autoptr (CaraHttpClient) http = server_client_new (w->cfg);
  /* Not found: already removed (a forced delete); forbidden: the project is another node's now. */
  if (!server_report_status (http, name, r, &error) && !g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND)
      && !g_error_matches (error, CARA_ERROR, CARA_ERROR_FORBIDDEN))
    cara_log_project (G_LOG_LEVEL_WARNING, name, "Failed to report Terminated: %s", error->message);
  else
    cara_log_project (G_LOG_LEVEL_INFO, name, "Project is Terminated");
  return TRUE;
}

static void
process (gpointer data, gpointer user_data)
{
  g_autofree char *name = data;
  AgentWorker *w = user_data;

  g_mutex_lock (&w->lock);
  Entry *e = g_hash_table_lookup (w->entries, name);
  if (e == NULL)
    {
      g_mutex_unlock (&w->lock);
      return;
    }
  e->queued = FALSE;
  e->running = TRUE;
  e->dirty = FALSE;
  g_autoptr (CaraProject) p = e->desired ? cara_project_copy (e->desired) : NULL;
  Entry snap = { .last_report = g_strdup (e->last_report), .failed_digest = g_strdup (e->failed_digest),
                 .failures = e->failures, .retry_at = e->retry_at };
  g_mutex_unlock (&w->lock);
  guint new_failures = snap.failures;
  gint64 new_retry_at = snap.retry_at;

  g_autofree char *new_last = NULL;
  g_autofree char *new_failed_digest = NULL;
  gboolean gone = FALSE;
  gboolean torn_down = FALSE;
  g_autoptr (GError) error = NULL;
  DockerClient *dc = docker_client_for_thread (w->cfg->docker_host, &error);
  if (dc == NULL)
    cara_log_project (G_LOG_LEVEL_WARNING, name, "Cannot reach Docker: %s", error->message);
  else if (volume_copy_skip (name, p))
    cara_log_project (G_LOG_LEVEL_DEBUG, name, "Project %s is being moved: left alone", name);
  else if (p == NULL)
    {
      teardown (w, dc, name, FALSE);
      gone = TRUE;
    }
  else
    switch (p->status.phase)
      {
      case CARA_PROJECT_PHASE_TERMINATING:
        torn_down = teardown (w, dc, name, TRUE);
        break;
      case CARA_PROJECT_PHASE_TERMINATED:
        torn_down = teardown (w, dc, name, FALSE);
        break;
      case CARA_PROJECT_PHASE_SCHEDULED:
      case CARA_PROJECT_PHASE_RUNNING:
      case CARA_PROJECT_PHASE_FAILED:
        {
          /* Any spec other than the one that failed starts the backoff over (SPEC §13), whether
             it comes back Failed or, as an update does (the server places it again), Scheduled. */
          gboolean failed = p->status.phase == CARA_PROJECT_PHASE_FAILED;
          g_autofree char *digest = failed || snap.failed_digest != NULL ? spec_digest (p) : NULL;
          gboolean other_spec = g_strcmp0 (digest, snap.failed_digest) != 0;
          if (other_spec)
            new_failures = 0;
          /* A Failed project is left as it is until its spec changes (e.g. a fixed image) or its
             retry is due (a transient fault heals by itself). */
          gboolean apply = TRUE;
          if (failed)
            {
              apply = other_spec || (snap.retry_at > 0 && g_get_monotonic_time () >= snap.retry_at);
              new_failed_digest = g_steal_pointer (&digest);
            }
          gint64 recheck = 0;
          gint64 t0 = g_get_monotonic_time ();
          g_autoptr (CaraStatusReport) r = reconcile_ensure (dc, w->cfg, p, apply, &recheck);
          agent_metrics_reconcile (r == NULL ? "error" : r->phase == CARA_PROJECT_PHASE_FAILED ? "failed" : "success",
                                   (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC);
          if (r && recheck > 0)
            schedule_recheck (w, name, recheck);
          if (r == NULL)
            {
              g_clear_pointer (&new_failed_digest, g_free);
              break; /* Docker is away: its event stream's reconnect brings us back here */
            }
          if (apply && r->phase == CARA_PROJECT_PHASE_FAILED)
            {
              new_failures++;
              gint64 delay = backoff_delay_usec (new_failures);
              new_retry_at = g_get_monotonic_time () + delay;
              schedule_recheck (w, name, delay);
              g_autofree char *in = backoff_format (delay);
              g_autoptr (GDateTime) at = g_date_time_new_from_unix_utc ((g_get_real_time () + delay) / G_USEC_PER_SEC);
              g_autofree char *at_s = g_date_time_format_iso8601 (at);
              g_autofree char *msg = r->message;
              r->message = g_strdup_printf ("%s; retry %u in %s at %s (or re-apply to retry now)", msg, new_failures, in, at_s);
              rollout_event (name, "Warning", "BackOff", "%s", r->message);
            }
          else if (apply)
            {
              new_failures = 0;
              new_retry_at = 0;
            }
          /* What made it Failed stays the reported reason until the spec changes or a retry. */
          if (apply)
            {
              /* Before the PATCH: the watch may bring its echo before the PATCH returns. */
              g_mutex_lock (&w->lock);
              ((Entry *) g_hash_table_lookup (w->entries, name))->reported = r->phase;
              g_mutex_unlock (&w->lock);
              report (w, name, &snap, p, r, &new_last);
            }
          if (apply && r->phase == CARA_PROJECT_PHASE_FAILED && new_failed_digest == NULL)
            new_failed_digest = spec_digest (p);
          if (r->phase == CARA_PROJECT_PHASE_RUNNING)
            proxy_update (w->proxy, dc, w->cfg, p);
          notify (w, name, r->phase, r->services, r->conditions);
          break;
        }
      default:
        break;
      }
  g_free (snap.last_report);
  g_free (snap.failed_digest);

  g_mutex_lock (&w->lock);
  e = g_hash_table_lookup (w->entries, name);
  e->running = FALSE;
  e->torn_down = torn_down;
  gone = gone || (torn_down && e->desired == NULL);
  if (new_last)
    {
      g_free (e->last_report);
      e->last_report = g_steal_pointer (&new_last);
    }
  if (new_failed_digest)
    {
      g_free (e->failed_digest);
      e->failed_digest = g_steal_pointer (&new_failed_digest);
    }
  e->failures = new_failures;
  e->retry_at = new_retry_at;
  if (e->dirty)
    schedule_locked (w, name, e);
  else if (gone && e->desired == NULL)
    g_hash_table_remove (w->entries, name);
  g_mutex_unlock (&w->lock);
}

AgentWorker *
agent_worker_new (const AgentConfig *cfg, GMainContext *main_ctx, AgentProjectNotify notify_cb, gpointer user_data)
{
  AgentWorker *w = g_new0 (AgentWorker, 1);
  w->cfg = cfg;
  w->main_ctx = g_main_context_ref (main_ctx);
  w->notify = notify_cb;
  w->user_data = user_data;
  g_mutex_init (&w->lock);
  w->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_free);
  w->pool = g_thread_pool_new (process, w, 4, FALSE, NULL);
  w->timers = g_hash_table_new (g_direct_hash, g_direct_equal);
  return w;
}

void
agent_worker_set_proxy (AgentWorker *w, Proxy *px)
{
  w->proxy = px;
  rollout_set_proxy (px);
}

void
agent_worker_free (AgentWorker *w)
{
  if (w == NULL)
    return;
  /* A reconcile still running when we stop may want to queue its project again: not any more. */
  g_mutex_lock (&w->lock);
  w->stopping = TRUE;
  g_mutex_unlock (&w->lock);
  g_thread_pool_free (w->pool, TRUE, TRUE);
  /* Pending rechecks hold @w: they go with it (the main loop no longer runs). */
  GHashTableIter it;
  gpointer src;
  g_hash_table_iter_init (&it, w->timers);
  while (g_hash_table_iter_next (&it, &src, NULL))
    g_source_destroy (src);
  g_hash_table_unref (w->timers);
  g_hash_table_unref (w->entries);
  g_mutex_clear (&w->lock);
  g_main_context_unref (w->main_ctx);
  g_free (w);
}

void
agent_worker_update (AgentWorker *w, CaraProject *p)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&w->lock);
  Entry *e = entry_get_locked (w, p->metadata.name);
  /* Our own status report coming back: Docker already is as the project wants. */
  gboolean echo = status_echo (e->desired, p, e->reported);
  /* Removed and reported Terminated already: a later change of the Terminating object (the
   * server's conditions, its own Terminated) asks for nothing more (a Terminating project never
   * runs again). */
  if (e->torn_down && e->reported == CARA_PROJECT_PHASE_TERMINATED &&
      (p->status.phase == CARA_PROJECT_PHASE_TERMINATING || p->status.phase == CARA_PROJECT_PHASE_TERMINATED))
    echo = TRUE;
  cara_project_free (e->desired);
  e->desired = p;
  if (!echo)
    schedule_locked (w, p->metadata.name, e);
}

void
agent_worker_remove (AgentWorker *w, const char *name)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&w->lock);
  Entry *e = entry_get_locked (w, name);
  /* Deleted after we tore it down and reported it Terminated: nothing to remove again. */
  if (e->torn_down && !e->queued && !e->dirty)
    {
      g_clear_pointer (&e->desired, cara_project_free);
      if (!e->running)
        g_hash_table_remove (w->entries, name);
      return;
    }
  g_clear_pointer (&e->desired, cara_project_free);
  schedule_locked (w, name, e);
}

void
agent_worker_recheck (AgentWorker *w, const char *name)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&w->lock);
  Entry *e = g_hash_table_lookup (w->entries, name);
  if (e)
    schedule_locked (w, name, e);
}

void
agent_worker_recheck_all (AgentWorker *w)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&w->lock);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, w->entries);
  while (g_hash_table_iter_next (&it, &k, &v))
    schedule_locked (w, k, v);
}

void
agent_worker_sync (AgentWorker *w, GPtrArray *projects)
{
  g_autoptr (GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < projects->len; i++)
    {
      CaraProject *p = g_ptr_array_index (projects, i);
      g_hash_table_add (listed, p->metadata.name);
    }

  /* What Docker holds for us but the server no longer places here. */
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) local = NULL;
  DockerClient *dc = docker_client_for_thread (w->cfg->docker_host, &error);
  if (dc)
    local = reconcile_local_projects (dc, w->cfg, &error);
  if (local == NULL)
    cara_log_full (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, NULL, w->cfg->node_name, NULL,
                   "Cannot list local Docker objects: %s", error->message);

  g_mutex_lock (&w->lock);
  for (guint i = 0; i < projects->len; i++)
    {
      CaraProject *p = g_ptr_array_index (projects, i);
      Entry *e = entry_get_locked (w, p->metadata.name);
      cara_project_free (e->desired);
      e->desired = cara_project_copy (p);
      schedule_locked (w, p->metadata.name, e);
    }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, w->entries);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (!g_hash_table_contains (listed, k))
      {
        Entry *e = v;
        g_clear_pointer (&e->desired, cara_project_free);
        schedule_locked (w, k, e);
      }
  if (local)
    {
      g_hash_table_iter_init (&it, local);
      while (g_hash_table_iter_next (&it, &k, NULL))
        if (!g_hash_table_contains (listed, k))
          {
            Entry *e = g_hash_table_lookup (w->entries, k);
            if (e == NULL || e->desired != NULL)
              cara_log_project (G_LOG_LEVEL_INFO, k, "Project is no longer placed on this node; removing it");
            e = entry_get_locked (w, k);
            g_clear_pointer (&e->desired, cara_project_free);
            schedule_locked (w, k, e);
          }
    }
  g_mutex_unlock (&w->lock);
}

GPtrArray *
agent_worker_list (AgentWorker *w)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_project_free);
  g_mutex_lock (&w->lock);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, w->entries);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      Entry *e = v;
      if (e->desired)
        g_ptr_array_add (out, cara_project_copy (e->desired));
    }
  g_mutex_unlock (&w->lock);
  return out;
}
