/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-node-health"
#include "config.h"

#include "cara-error.h"
#include "cara-log.h"
#include "controller-decide.h"
#include "controller-manager.h"
#include "server-events.h"
#include "store.h"

/* node-health (reference §4.3, its gaps fixed): NotReady after NODE_HEARTBEAT_TIMEOUT without a
 * heartbeat, Ready again when they resume, and the Ready condition always current; Draining is
 * never changed.  Keyed by node name; a fresh node is looked at again right when its heartbeat
 * would go stale, so detection does not wait for a resync. */

typedef struct {
  gint64 timeout;
  NodeHealthDecision d;
  CaraNodeState old_state;
} NodeHealthRun;

static gboolean
node_health_mutate (CaraNode *n, gpointer user_data, GError **error)
{
  NodeHealthRun *run = user_data;
  CaraCondition *ready = cara_conditions_find (n->status.conditions, "Ready");

  /* Decided on the locked row, so a heartbeat that raced us is taken into account. */
  node_health_decide (n->status.state, controller_time_usec (n->status.last_heartbeat),
                      ready ? ready->status : NULL, ready ? ready->reason : NULL, g_get_real_time (),
                      run->timeout, &run->d);
  if (!run->d.write)
    return FALSE;
  run->old_state = n->status.state;
  n->status.state = run->d.state;
  CaraCondition *c = cara_condition_new ("Ready", run->d.cond_status, run->d.cond_reason, run->d.cond_message);
  c->last_heartbeat_time = n->status.last_heartbeat ? g_date_time_ref (n->status.last_heartbeat) : NULL;
  cara_conditions_upsert (n->status.conditions, c);
  return TRUE;
}

static gboolean
node_health_reconcile (ControllerContext *ctx, const char *name, gint64 *ret_requeue_after, GError **error)
{
  NodeHealthRun run = { .timeout = ctx->t.heartbeat_timeout };
  g_autoptr (GError) local = NULL;
  CaraNode *cached = g_hash_table_lookup (ctx->cache->nodes, name);

  /* Most wake-ups are heartbeats that change nothing: decide on the cached copy (current up to the
   * event that woke us) and touch the database only to write. */
  if (cached != NULL)
    {
      CaraCondition *ready = cara_conditions_find (cached->status.conditions, "Ready");
      node_health_decide (cached->status.state, controller_time_usec (cached->status.last_heartbeat),
                          ready ? ready->status : NULL, ready ? ready->reason : NULL, g_get_real_time (),
                          run.timeout, &run.d);
      if (!run.d.write)
        {
          *ret_requeue_after = run.d.recheck_after;
          return TRUE;
        }
    }

  if (!store_update_node (name, node_health_mutate, &run, NULL, &local))
    {
      if (g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (run.d.write && run.old_state != run.d.state)
    {
      cara_log_node (run.d.state == CARA_NODE_STATE_READY ? G_LOG_LEVEL_MESSAGE : G_LOG_LEVEL_WARNING, name,
                     "Node %s is %s (%s)", name, cara_node_state_to_string (run.d.state), run.d.cond_reason);
      if (run.d.state == CARA_NODE_STATE_NOT_READY)
        cara_events_record (CARA_EVENT_WARNING, "NodeNotReady", "Node", name, name, "%s",
                            run.d.cond_message ? run.d.cond_message : "Node stopped sending heartbeats");
      else if (run.d.state == CARA_NODE_STATE_READY && run.old_state == CARA_NODE_STATE_NOT_READY)
        cara_events_record (CARA_EVENT_NORMAL, "NodeReady", "Node", name, name, "Heartbeats resumed");
    }
  else if (run.d.write)
    cara_log_node (G_LOG_LEVEL_INFO, name, "Node %s: Ready condition is now %s (%s)", name,
                   run.d.cond_status, run.d.cond_reason);
  *ret_requeue_after = run.d.recheck_after;
  return TRUE;
}

static gboolean
node_health_resync (ControllerContext *ctx, GPtrArray *keys, GError **error)
{
  GHashTableIter it;
  gpointer k;

  g_hash_table_iter_init (&it, ctx->cache->nodes);
  while (g_hash_table_iter_next (&it, &k, NULL))
    g_ptr_array_add (keys, g_strdup (k));
  return TRUE;
}

const ControllerDef node_health_controller = {
  .name = "node-health",
  .reconcile = node_health_reconcile,
  .resync = node_health_resync,
};
