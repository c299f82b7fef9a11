/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-controllers"
#include "config.h"

#include <glib-unix.h>

#include "controller-manager.h"

#include "cara-cleanup.h"
#include "cara-error.h"
#include "cara-json.h"
#include "cara-log.h"
#include "controller-queue.h"
#include "server-metrics.h"
#include "store-leader.h"
#include "store-listen.h"
#include "store.h"

#define LEADER_RETRY_USEC (1 * G_USEC_PER_SEC)
#define BACKOFF_BASE_USEC (50 * 1000)
#define BACKOFF_MAX_USEC (30 * G_USEC_PER_SEC)
/* Keys handled per main-loop iteration, so the LISTEN socket is read between batches. */
#define BATCH 64
#define BATCH_USEC (100 * 1000)
/* Node changes (heartbeats mostly) are coalesced before a scheduling pass. */
#define NODE_EVENT_SCHEDULE_DELAY_USEC (100 * 1000)

enum { C_NODE_HEALTH, C_SCHEDULER, C_RESCHEDULER, C_TERMINATION, C_EXPIRY, C_MIGRATION, C_N };

static const ControllerDef *const controller_defs[C_N] = {
  [C_NODE_HEALTH] = &node_health_controller,
  [C_SCHEDULER] = &scheduler_controller,
  [C_RESCHEDULER] = &rescheduler_controller,
  [C_TERMINATION] = &termination_controller,
  [C_EXPIRY] = &expiry_controller,
  [C_MIGRATION] = &migration_controller,
};

struct _ControllerManager {
  ControllerTimeouts t;
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  gint is_leader; /* atomic */
  gint stopping;  /* atomic: set by controller_manager_stop() */

  /* Everything below belongs to the controller thread. */
  StoreLeaderLock *lock;
  StoreListener *listener;
  GSource *process_source;  /* idle: ready keys waiting */
  GSource *deadline_source; /* timeout: the next delayed key */
  GSource *resync_source;
  ControllerQueue *queues[C_N];
  ControllerCache *cache;
  guint next_controller;    /* round robin */
};

static void schedule_processing (ControllerManager *m);

static void
destroy_source (GSource **s)
{
  if (*s != NULL)
    {
      g_source_destroy (*s);
      g_source_unref (*s);
      *s = NULL;
    }
}

static void
enqueue (ControllerManager *m, guint c, const char *key)
{
  controller_queue_add (m->queues[c], key);
  schedule_processing (m);
}

static void
enqueue_after (ControllerManager *m, guint c, const char *key, gint64 delay)
{
  controller_queue_add_after (m->queues[c], key, delay, g_get_monotonic_time ());
  schedule_processing (m);
}

/* Full lists; events after the newest rv read here are applied on top by pump_events(). */
static gboolean
cache_rebuild (ControllerCache *c, GError **error)
{
  g_autoptr (GPtrArray) nodes = NULL;
  g_autoptr (GPtrArray) projects = NULL;
  gint64 oldest = 0, newest = 0;

  /* The newest rv first: whatever the lists miss comes after it, and applying an event again is
   * harmless (each carries the whole object, applied in order). */
  if (!store_events_range (&oldest, &newest, error) || !store_list_nodes (&nodes, NULL, error) ||
      !store_list_projects (NULL, &projects, NULL, error))
    return FALSE;
  controller_cache_clear (c);
  for (guint i = 0; i < nodes->len; i++)
    controller_cache_set_node (c, g_steal_pointer (&nodes->pdata[i]));
  for (guint i = 0; i < projects->len; i++)
    controller_cache_set_project (c, projects->pdata[i]);
  c->last_rv = MAX (c->last_rv, newest);
  return TRUE;
}

/* cara_nodes / cara_projects follow the cache (a few gauge writes, no query). */
static void
publish_counts (ControllerManager *m)
{
  if (m->cache != NULL)
    server_metrics_set_counts (m->cache->node_states, G_N_ELEMENTS (m->cache->node_states), m->cache->phases,
                               G_N_ELEMENTS (m->cache->phases));
}

/* Routes one event by its content: only what a controller cares about wakes it. */
static void
apply_event (ControllerManager *m, StoreEvent *e)
{
  gboolean deleted = g_str_equal (e->type, "DELETED");

  /* The feed carries other kinds too (cluster events, ...): only nodes and projects matter here. */
  if (g_ascii_strcasecmp (e->kind, "Node") != 0 && g_ascii_strcasecmp (e->kind, "Project") != 0)
    return;

  if (g_ascii_strcasecmp (e->kind, "Node") == 0)
    {
      gboolean sched;

      if (deleted)
        sched = controller_cache_remove_node (m->cache, e->name);
      else
        {
          CaraNode *n = cara_node_from_data (e->object, -1, NULL);
          if (n == NULL)
            return;
          sched = controller_cache_set_node (m->cache, n);
        }
      enqueue (m, C_NODE_HEALTH, e->name);
      enqueue (m, C_RESCHEDULER, e->name);
      /* Heartbeats change nothing the scheduler looks at; state or capacity changes do. */
      if (sched)
        enqueue_after (m, C_SCHEDULER, SCHEDULER_KEY, NODE_EVENT_SCHEDULE_DELAY_USEC);
      return;
    }

  if (deleted)
    {
      if (controller_cache_remove_project (m->cache, e->name))
        enqueue (m, C_SCHEDULER, SCHEDULER_KEY); /* resources freed */
      return;
    }
  g_autoptr (CaraProject) p = cara_project_from_data (e->object, -1, NULL);
  if (p == NULL)
    return;
  if (controller_cache_set_project (m->cache, p) || p->status.phase == CARA_PROJECT_PHASE_PENDING)
    enqueue (m, C_SCHEDULER, SCHEDULER_KEY);
  if (p->status.phase == CARA_PROJECT_PHASE_TERMINATED)
    enqueue (m, C_TERMINATION, e->name);
  if (p->spec.expire_at != NULL)
    enqueue (m, C_EXPIRY, e->name);
  if (cara_migration_active (p->status.migration))
    enqueue (m, C_MIGRATION, e->name);
}

/* Everything after the last event applied, in rv order (store.h: events become visible in rv
 * order, so none is skipped). */
static gboolean
pump_events (ControllerManager *m, GError **error)
{
  for (;;)
    {
      g_autoptr (GPtrArray) events = NULL;

      if (!store_events_since (m->cache->last_rv, NULL, 1000, &events, error))
        return FALSE;
      for (guint i = 0; i < events->len; i++)
        {
          StoreEvent *e = events->pdata[i];
          apply_event (m, e);
          m->cache->last_rv = e->rv;
        }
      if (events->len < 1000)
        {
          publish_counts (m);
          return TRUE;
        }
    }
}

static void
resync_all (ControllerManager *m)
{
  ControllerContext ctx = { .t = m->t, .cache = m->cache, .now = g_get_real_time (), .stopping = &m->stopping };
  g_autoptr (GError) cache_error = NULL;

  if (!cache_rebuild (m->cache, &cache_error))
    g_warning ("Rebuilding the controllers' cache failed: %s", cache_error->message);
  publish_counts (m);

  for (guint c = 0; c < C_N; c++)
    {
      g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GError) error = NULL;

      if (!controller_defs[c]->resync (&ctx, keys, &error))
        {
          g_warning ("Resync of %s failed: %s", controller_defs[c]->name, error->message);
          continue;
        }
      for (guint i = 0; i < keys->len; i++)
        controller_queue_add (m->queues[c], keys->pdata[i]);
    }
  schedule_processing (m);
}

static void step_down (ControllerManager *m, const char *why, gboolean expected);

static void
reconcile_one (ControllerManager *m, guint c, const char *key)
{
  ControllerContext ctx = { .t = m->t, .cache = m->cache, .now = g_get_real_time (), .stopping = &m->stopping };
  g_autoptr (GError) error = NULL;
  gint64 requeue_after = 0;
  gint64 t0 = g_get_monotonic_time ();

  if (!controller_defs[c]->reconcile (&ctx, key, &requeue_after, &error))
    {
      g_warning ("%s: reconciling %s failed (retry %u): %s", controller_defs[c]->name, key,
                 controller_queue_failures (m->queues[c], key) + 1, error->message);
      controller_queue_add_rate_limited (m->queues[c], key, g_get_monotonic_time ());
      return;
    }
  controller_queue_forget (m->queues[c], key);
  if (requeue_after > 0)
    controller_queue_add_after (m->queues[c], key, requeue_after, g_get_monotonic_time ());
  g_debug ("%s: reconciled %s in %" G_GINT64_FORMAT " us", controller_defs[c]->name, key,
           g_get_monotonic_time () - t0);
}

static gboolean
process_cb (gpointer user_data)
{
  ControllerManager *m = user_data;
  guint done = 0, idle_rounds = 0;
  gint64 until = g_get_monotonic_time () + BATCH_USEC;

  destroy_source (&m->process_source);
  if (!g_atomic_int_get (&m->is_leader))
    return G_SOURCE_REMOVE;

  /* Round robin over the controllers so a flood for one does not starve the others. */
  /* A bounded batch: then the loop dispatches what else is due (LISTEN, deadlines, a stop). */
  while (done < BATCH && idle_rounds < C_N && g_get_monotonic_time () < until && !g_atomic_int_get (&m->stopping))
    {
      guint c = m->next_controller;
      g_autofree char *key = NULL;

      m->next_controller = (m->next_controller + 1) % C_N;
      key = controller_queue_pop (m->queues[c], g_get_monotonic_time ());
      if (key == NULL)
        {
          idle_rounds++;
          continue;
        }
      idle_rounds = 0;
      reconcile_one (m, c, key);
      done++;
    }
  schedule_processing (m);
  return G_SOURCE_REMOVE;
}

static gboolean
deadline_cb (gpointer user_data)
{
  ControllerManager *m = user_data;

  destroy_source (&m->deadline_source);
  schedule_processing (m);
  return G_SOURCE_REMOVE;
}

static void
schedule_processing (ControllerManager *m)
{
  gint64 now = g_get_monotonic_time (), next = -1;
  gboolean ready = FALSE;

  if (!g_atomic_int_get (&m->is_leader))
    return;
  for (guint c = 0; c < C_N; c++)
    {
      gint64 d = controller_queue_next_deadline (m->queues[c]);
      if (controller_queue_ready_length (m->queues[c]) > 0 || (d >= 0 && d <= now))
        ready = TRUE;
      else if (d >= 0 && (next < 0 || d < next))
        next = d;
    }
  if (ready)
    {
      if (m->process_source == NULL)
        {
          m->process_source = g_idle_source_new ();
          g_source_set_callback (m->process_source, process_cb, m, NULL);
          g_source_attach (m->process_source, m->context);
        }
      return;
    }
  destroy_source (&m->deadline_source);
  if (next >= 0)
    {
      /* ms granularity; round up so we never wake early and spin. */
      guint ms = (guint) MIN ((next - now + 999) / 1000, G_MAXUINT);
      m->deadline_source = g_timeout_source_new (ms);
      g_source_set_callback (m->deadline_source, deadline_cb, m, NULL);
      g_source_attach (m->deadline_source, m->context);
    }
}

static void
notified_cb (gpointer user_data)
{
  ControllerManager *m = user_data;
  g_autoptr (GError) error = NULL;

  if (!pump_events (m, &error))
    g_warning ("Reading events failed (the next notification or resync retries): %s", error->message);
}

static void
listen_lost_cb (const char *why, gpointer user_data)
{
  g_autofree char *msg = g_strdup_printf ("the LISTEN connection was lost: %s", why);

  step_down (user_data, msg, FALSE);
}

static const StoreListenCallbacks listen_callbacks = {
  .notified = notified_cb,
  .lost = listen_lost_cb,
};

static gboolean
resync_cb (gpointer user_data)
{
  ControllerManager *m = user_data;

  if (g_atomic_int_get (&m->is_leader))
    resync_all (m);
  return G_SOURCE_CONTINUE;
}

static gboolean
become_leader (ControllerManager *m, GError **error)
{
  m->listener = store_listen_start (m->context, &listen_callbacks, m, error);
  if (m->listener == NULL)
    return FALSE;

  m->resync_source = g_timeout_source_new ((guint) MAX (m->t.resync_interval / 1000, 10));
  g_source_set_callback (m->resync_source, resync_cb, m, NULL);
  g_source_attach (m->resync_source, m->context);

  for (guint c = 0; c < C_N; c++)
    m->queues[c] = controller_queue_new (BACKOFF_BASE_USEC, BACKOFF_MAX_USEC);
  m->cache = controller_cache_new ();
  g_atomic_int_set (&m->is_leader, TRUE);
  g_message ("Became the controller leader; running node-health, scheduler, rescheduler, "
             "termination and expiry");
  /* LISTEN is active before this first resync, so nothing falls between the two. */
  resync_all (m);
  return TRUE;
}

/* @expected: a clean shutdown (info), not a lost database or lock (warning). */
static void
step_down (ControllerManager *m, const char *why, gboolean expected)
{
  gboolean was = g_atomic_int_get (&m->is_leader);

  g_atomic_int_set (&m->is_leader, FALSE);
  g_clear_pointer (&m->listener, store_listener_free);
  destroy_source (&m->process_source);
  destroy_source (&m->deadline_source);
  destroy_source (&m->resync_source);
  store_leader_release (m->lock);
  for (guint c = 0; c < C_N; c++)
    g_clear_pointer (&m->queues[c], controller_queue_free);
  g_clear_pointer (&m->cache, controller_cache_free);
  server_metrics_clear_counts ();
  if (was && expected)
    g_message ("No longer the controller leader: %s", why);
  else if (was)
    g_warning ("No longer the controller leader: %s", why);
}

static gboolean
leader_tick_cb (gpointer user_data)
{
  ControllerManager *m = user_data;
  g_autoptr (GError) error = NULL;
  gboolean acquired = FALSE;

  if (g_atomic_int_get (&m->is_leader))
    {
      if (!store_leader_check (m->lock, &error))
        step_down (m, error->message, FALSE);
      return G_SOURCE_CONTINUE;
    }

  if (!store_leader_try_acquire (m->lock, &acquired, &error))
    {
      g_debug ("Leader election: %s", error->message);
      return G_SOURCE_CONTINUE;
    }
  if (!acquired)
    return G_SOURCE_CONTINUE;
  if (!become_leader (m, &error))
    step_down (m, error->message, FALSE);
  return G_SOURCE_CONTINUE;
}

static gpointer
manager_thread (gpointer user_data)
{
  ControllerManager *m = user_data;
  g_autoptr (GSource) tick = NULL;

  g_main_context_push_thread_default (m->context);
  tick = g_timeout_source_new ((guint) (LEADER_RETRY_USEC / 1000));
  g_source_set_callback (tick, leader_tick_cb, m, NULL);
  g_source_attach (tick, m->context);
  leader_tick_cb (m); /* try at once, not a second from now */
  g_main_loop_run (m->loop);
  g_source_destroy (tick);
  step_down (m, "shutting down", TRUE);
  store_thread_disconnect ();
  g_main_context_pop_thread_default (m->context);
  return NULL;
}

ControllerManager *
controller_manager_start (const ControllerTimeouts *t)
{
  ControllerManager *m = g_new0 (ControllerManager, 1);

  m->t = *t;
  m->lock = store_leader_lock_new ();
  m->context = g_main_context_new ();
  m->loop = g_main_loop_new (m->context, FALSE);
  m->thread = g_thread_new ("controllers", manager_thread, m);
  return m;
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

void
controller_manager_stop (ControllerManager *m)
{
  if (m == NULL)
    return;
  g_atomic_int_set (&m->stopping, 1);
  g_main_context_invoke (m->context, quit_cb, m->loop);
  g_thread_join (m->thread);
  g_main_loop_unref (m->loop);
  g_main_context_unref (m->context);
  store_leader_lock_free (m->lock);
  g_free (m);
}

gboolean
controller_manager_is_leader (ControllerManager *m)
{
  return m != NULL && g_atomic_int_get (&m->is_leader);
}
