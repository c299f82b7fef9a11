/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-scheduler"
#include "config.h"

#include "cara-error.h"
#include "cara-log.h"
#include "cara-quantity.h"
#include "controller-decide.h"
#include "controller-manager.h"
#include "scheduler-decide.h"
#include "server-events.h"
#include "server-metrics.h"
#include "store.h"
#include "store-controllers.h"

/* The scheduler (SPEC §4).  One key, SCHEDULER_KEY: a pass over every Pending project, oldest
 * first, against one view of the nodes and of what is already placed on them (updated as the
 * pass places projects); nodes and usage come from the controllers' cache.  Any project change and (coalesced) node change queues a pass, so a new
 * project is placed within milliseconds.  The placement itself is scheduler_decide(). */

/* A pass places at most this many, then yields to the loop and comes back at once. */
#define PASS_LIMIT 2000
/* Placements written per transaction (store_controllers_write_statuses). */
#define WRITE_BATCH 64
/* An Unschedulable message is refreshed at most this often. */
#define UNSCHEDULABLE_REFRESH_USEC (10 * G_USEC_PER_SEC)

/* FALSE when the decision changes nothing: an Unschedulable condition that already says the same
 * (no write, no event, no loop). */
static gboolean
decision_changes (const CaraProject *p, const char *node, const char *reason)
{
  if (node != NULL)
    return TRUE;
  CaraCondition *c = cara_conditions_find (p->status.conditions, "Scheduled");
  if (c == NULL || g_strcmp0 (c->status, "False") != 0 || g_strcmp0 (c->reason, "Unschedulable") != 0)
    return TRUE;
  /* lastHeartbeatTime is when the condition was last restated; lastTransitionTime stays at the
   * first time it became Unschedulable. */
  gint64 age = g_get_real_time () - controller_time_usec (c->last_heartbeat_time ? c->last_heartbeat_time
                                                                                : c->last_transition_time);
  /* Same words, or said very recently: node counts change with every node event, and rewriting
   * every Pending project each time would be a write storm. */
  return g_strcmp0 (c->message, reason) != 0 && age >= UNSCHEDULABLE_REFRESH_USEC;
}

/* Puts the decision into @p (in memory). */
static void
apply_decision (CaraProject *p, const char *node, const char *reason)
{
  CaraCondition *c;

  if (node != NULL)
    {
      g_autofree char *msg = g_strdup_printf ("Scheduled to node %s", node);
      p->status.phase = CARA_PROJECT_PHASE_SCHEDULED;
      g_free (p->status.node_ref);
      p->status.node_ref = g_strdup (node);
      cara_conditions_upsert (p->status.conditions, cara_condition_new ("Scheduled", "True", "Scheduled", msg));
      return;
    }
  c = cara_condition_new ("Scheduled", "False", "Unschedulable", reason);
  c->last_heartbeat_time = g_date_time_new_now_utc ();
  cara_conditions_upsert (p->status.conditions, c);
}

static gint
created_cmp (gconstpointer a, gconstpointer b)
{
  const CaraProject *x = *(CaraProject *const *) a, *y = *(CaraProject *const *) b;
  gint64 tx = controller_time_usec (x->metadata.created_at), ty = controller_time_usec (y->metadata.created_at);

  if (tx != ty)
    return tx < ty ? -1 : 1;
  return g_strcmp0 (x->metadata.name, y->metadata.name);
}

static gint
node_name_cmp (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 ((*(CaraNode *const *) a)->metadata.name, (*(CaraNode *const *) b)->metadata.name);
}

static gboolean
scheduler_reconcile (ControllerContext *ctx, const char *key, gint64 *ret_requeue_after, GError **error)
{
  /* Borrowed from the cache: a project is copied only when a decision about it is to be written
   * (and once written, the cache's own entry goes; the pass never looks back at it). */
  g_autoptr (GPtrArray) pending = g_ptr_array_new ();
  g_autoptr (GPtrArray) nodes = g_ptr_array_new ();
  g_autoptr (GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree SchedNode *sn = NULL;
  guint n_scheduled = 0, n_unschedulable = 0;
  gint64 t0 = g_get_monotonic_time ();
  GHashTableIter it;
  gpointer k, v;

  g_hash_table_iter_init (&it, ctx->cache->pending);
  while (g_hash_table_iter_next (&it, NULL, &v))
    g_ptr_array_add (pending, v);
  if (pending->len == 0)
    return TRUE;
  g_ptr_array_sort (pending, created_cmp);

  /* Nodes and usage from the cache (controller-cache.h), current up to the last event read. */
  g_hash_table_iter_init (&it, ctx->cache->nodes);
  while (g_hash_table_iter_next (&it, NULL, &v))
    g_ptr_array_add (nodes, v);
  g_ptr_array_sort (nodes, node_name_cmp);
  sn = g_new0 (SchedNode, MAX (nodes->len, 1));
  for (guint i = 0; i < nodes->len; i++)
    {
      CaraNode *n = nodes->pdata[i];
      sched_node_from_node (n, &sn[i]);
      g_hash_table_insert (index, n->metadata.name, GUINT_TO_POINTER (i + 1));
    }
  g_hash_table_iter_init (&it, ctx->cache->placed);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      CachePlaced *e = v;
      guint idx = GPOINTER_TO_UINT (g_hash_table_lookup (index, e->node_ref));

      if (idx == 0)
        continue;
      sn[idx - 1].used_cpu_m += e->cpu_m;
      sn[idx - 1].used_mem += e->mem;
      sn[idx - 1].n_projects++;
      if (e->host_ports != NULL)
        {
          GHashTableIter pit;
          gpointer port_key;
          if (sn[idx - 1].host_ports == NULL)
            sn[idx - 1].host_ports = g_hash_table_new (g_direct_hash, g_direct_equal);
          g_hash_table_iter_init (&pit, e->host_ports);
          while (g_hash_table_iter_next (&pit, &port_key, NULL))
            g_hash_table_add (sn[idx - 1].host_ports, port_key);
        }
    }

  guint start;
  for (start = 0; start < pending->len && start < PASS_LIMIT && !controller_stopping (ctx); start += WRITE_BATCH)
    {
      guint end = MIN (MIN (pending->len, PASS_LIMIT), start + WRITE_BATCH);
      g_autoptr (GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_project_free);
      g_autoptr (GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GArray) picks = g_array_new (FALSE, FALSE, sizeof (gint));
      g_autoptr (GArray) reqs = g_array_new (FALSE, FALSE, sizeof (SchedRequest));
      g_autoptr (GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
      g_autofree gboolean *written = NULL;
      g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_event_free);

      for (guint i = start; i < end; i++)
        {
          const CaraProject *seen = pending->pdata[i];
          g_autofree char *reason = NULL;
          SchedRequest req;
          gint pick;

          sched_request_from_project (seen, &req);
          pick = scheduler_decide (&req, sn, nodes->len, &reason);
          if (!decision_changes (seen, pick >= 0 ? sn[pick].name : NULL, reason))
            continue;
          /* A copy: the decision goes into it before it is written, and the write may be refused. */
          CaraProject *p = cara_project_copy (seen);
          g_autofree char *rv = g_strdup (p->metadata.resource_version);
          apply_decision (p, pick >= 0 ? sn[pick].name : NULL, reason);
          sched_request_from_project (p, &req);
          /* Counted at once so the next decision of this batch sees it; undone if not written. */
          if (pick >= 0)
            {
              sn[pick].used_cpu_m += req.cpu_m;
              sn[pick].used_mem += req.mem;
              sn[pick].n_projects++;
              /* Not undone if the write fails: at worst a port looks taken until the next pass. */
              sn[pick].host_ports = sched_host_ports_add (sn[pick].host_ports, req.services);
            }
          g_ptr_array_add (batch, p);
          g_ptr_array_add (expected, g_steal_pointer (&rv));
          g_array_append_val (picks, pick);
          g_array_append_val (reqs, req);
          g_ptr_array_add (reasons, g_steal_pointer (&reason));
        }
      if (batch->len == 0)
        continue;
      g_ptr_array_add (expected, NULL);
      written = g_new0 (gboolean, batch->len);
      if (!store_controllers_write_statuses (batch, (const char * const *) expected->pdata, written, error))
        {
          for (guint i = 0; i < nodes->len; i++)
            g_clear_pointer (&sn[i].host_ports, g_hash_table_unref);
          return FALSE;
        }
      for (guint b = 0; b < batch->len; b++)
        {
          CaraProject *p = batch->pdata[b];
          gint pick = g_array_index (picks, gint, b);
          SchedRequest *req = &g_array_index (reqs, SchedRequest, b);

          if (!written[b])
            {
              /* Changed since we listed it: its own event brings it back to a pass. */
              if (pick >= 0)
                {
                  sn[pick].used_cpu_m -= req->cpu_m;
                  sn[pick].used_mem -= req->mem;
                  sn[pick].n_projects--;
                }
              continue;
            }
          /* Counted now, not when our own event comes back: the next pass may start first. */
          controller_cache_set_project (ctx->cache, p);
          if (pick >= 0)
            {
              n_scheduled++;
              cara_log_project (G_LOG_LEVEL_INFO, p->metadata.name, "Scheduled project %s to node %s",
                                p->metadata.name, sn[pick].name);
              g_autofree char *msg = g_strdup_printf ("Scheduled to node %s", sn[pick].name);
              g_ptr_array_add (events, cara_event_new (CARA_EVENT_NORMAL, "Scheduled", "Project", p->metadata.name,
                                                       sn[pick].name, msg));
            }
          else
            {
              n_unschedulable++;
              cara_log_project (G_LOG_LEVEL_MESSAGE, p->metadata.name, "Project %s is unschedulable: %s",
                                p->metadata.name, (const char *) reasons->pdata[b]);
              g_ptr_array_add (events, cara_event_new (CARA_EVENT_WARNING, "Unschedulable", "Project",
                                                       p->metadata.name, NULL, reasons->pdata[b]));
            }
        }
      /* One transaction for the batch's events, as for its placements. */
      cara_events_record_many (events);
    }
  server_metrics_scheduler_decisions ("scheduled", n_scheduled);
  server_metrics_scheduler_decisions ("unschedulable", n_unschedulable);
  server_metrics_scheduling_pass ((double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC);
  for (guint i = 0; i < nodes->len; i++)
    g_clear_pointer (&sn[i].host_ports, g_hash_table_unref);
  if (pending->len > start)
    *ret_requeue_after = 1; /* the rest in the next pass (or the next leader) */
  g_debug ("Scheduling pass: %u pending, %u scheduled, %u newly unschedulable", pending->len, n_scheduled,
           n_unschedulable);
  return TRUE;
}

static gboolean
scheduler_resync (ControllerContext *ctx, GPtrArray *keys, GError **error)
{
  g_ptr_array_add (keys, g_strdup (SCHEDULER_KEY));
  return TRUE;
}

const ControllerDef scheduler_controller = {
  .name = "scheduler",
  .reconcile = scheduler_reconcile,
  .resync = scheduler_resync,
};
