/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-rescheduler"
#include "config.h"

#include "cara-error.h"
#include "cara-log.h"
#include "server-events.h"
#include "controller-decide.h"
#include "controller-manager.h"
#include "migration-event.h"
#include "rescheduler.h"
#include "store.h"

/* The rescheduler (reference §4.6, its gaps fixed), keyed by node name: projects on a node that
 * is down (NotReady, gone, or Draining with a stale heartbeat) are moved — Scheduled at once,
 * Running after RESCHEDULE_GRACE_PERIOD — and Terminating ones are given up on after
 * TERMINATION_TIMEOUT.  When the node is back, the NotReadyAt/TerminatingAt clocks are cleared.
 * A moved project has nodeRef cleared, so the old node's agent, when it returns, finds it no
 * longer placed there and tears its containers down: it never runs twice. */

static const char *const placed_phases[] = { "Scheduled", "Running", "Terminating", NULL };

typedef struct {
  const char *node;
  gboolean down;
  const ControllerTimeouts *t;
  RescheduleAction action;
  gint64 recheck_after;
} RescheduleRun;

static gint64
condition_time (CaraProject *p, const char *type)
{
  CaraCondition *c = cara_conditions_find (p->status.conditions, type);
  gint64 t;

  if (c == NULL)
    return 0;
  t = controller_time_usec (c->last_transition_time);
  return t > 0 ? t : 1; /* present but without a time: treat as long ago */
}

void
rescheduler_reset_to_pending (CaraProject *p, const char *reason, const char *message)
{
  p->status.phase = CARA_PROJECT_PHASE_PENDING;
  g_clear_pointer (&p->status.node_ref, g_free);
  g_ptr_array_set_size (p->status.services, 0);
  cara_conditions_remove (p->status.conditions, "NotReadyAt");
  cara_conditions_remove (p->status.conditions, "TerminatingAt");
  cara_conditions_remove (p->status.conditions, "Scheduled");
  cara_conditions_upsert (p->status.conditions, cara_condition_new ("Phase", "True", reason, message));
}

/* SPEC §14: a project whose data lives on its node stays there when the node is lost: condition
 * NodeLost (reason DataOnNode) and an event saying how to move it.  FALSE (nothing to write) once
 * it is set, and while a move is under way. */
static gboolean
rescheduler_bind_to_data (CaraProject *p, const char *node)
{
  g_autofree char *msg = NULL;

  if (cara_migration_active (p->status.migration) || cara_conditions_find (p->status.conditions, "NodeLost") != NULL)
    return FALSE;
  msg = g_strdup_printf ("Node %s is lost, and this project's Persistent data lives there: it is not moved. "
                         "Bring the node back, or move it: caractrl move project %s --to NODE "
                         "(--discard-data if the node is gone for good)", node, p->metadata.name);
  cara_conditions_upsert (p->status.conditions, cara_condition_new ("NodeLost", "True", "DataOnNode", msg));
  migration_event (p->metadata.name, "Warning", "DataOnNode", "%s", msg);
  return TRUE;
}

static gboolean
reschedule_mutate (CaraProject *p, gpointer user_data, GError **error)
{
  RescheduleRun *run = user_data;
  g_autofree char *msg = NULL;

  run->action = RESCHEDULE_NONE;
  run->recheck_after = 0;
  if (g_strcmp0 (p->status.node_ref, run->node) != 0)
    return FALSE; /* moved meanwhile */
  run->action = rescheduler_decide (run->down, p->status.phase, condition_time (p, "NotReadyAt"),
                                    condition_time (p, "TerminatingAt"), g_get_real_time (),
                                    run->t->grace_period, run->t->terminating_timeout, &run->recheck_after);
  switch (run->action)
    {
    case RESCHEDULE_NONE:
      return FALSE;
    case RESCHEDULE_MARK_NOT_READY_AT:
      cara_conditions_upsert (p->status.conditions,
                              cara_condition_new ("NotReadyAt", "True", "NodeNotReady",
                                                  "Node went NotReady while project was Running; running grace period clock started"));
      return TRUE;
    case RESCHEDULE_MARK_TERMINATING_AT:
      cara_conditions_upsert (p->status.conditions,
                              cara_condition_new ("TerminatingAt", "True", "NodeNotReady",
                                                  "Node went NotReady while project was Terminating; force-termination timeout clock started"));
      return TRUE;
    case RESCHEDULE_RESET_PENDING:
      if (cara_project_has_node_data (p))
        {
          run->action = RESCHEDULE_NONE; /* the event says what happened */
          return rescheduler_bind_to_data (p, run->node);
        }
      msg = g_strdup_printf ("Node %s went NotReady; project reset to Pending for rescheduling", run->node);
      rescheduler_reset_to_pending (p, "NodeNotReady", msg);
      return TRUE;
    case RESCHEDULE_FORCE_TERMINATED:
      p->status.phase = CARA_PROJECT_PHASE_TERMINATED;
      cara_conditions_remove (p->status.conditions, "TerminatingAt");
      cara_conditions_upsert (p->status.conditions,
                              cara_condition_new ("Phase", "True", "TerminationTimeout",
                                                  "Node was NotReady for too long; project force-terminated. "
                                                  "Its agent removes the containers when the node returns."));
      return TRUE;
    case RESCHEDULE_CLEAR_MARKS:
      cara_conditions_remove (p->status.conditions, "NodeLost");
      cara_conditions_remove (p->status.conditions, "NotReadyAt");
      cara_conditions_remove (p->status.conditions, "TerminatingAt");
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
rescheduler_reconcile (ControllerContext *ctx, const char *name, gint64 *ret_requeue_after, GError **error)
{
  StoreProjectFilter filter = { .node_ref = name, .phases = placed_phases };
  g_autoptr (CaraNode) node = NULL;
  g_autoptr (GPtrArray) projects = NULL;
  g_autoptr (GError) local = NULL;
  RescheduleRun run = { .node = name, .t = &ctx->t };
  gint64 requeue = 0;
  CaraNode *cached = g_hash_table_lookup (ctx->cache->nodes, name);

  /* The common case, a heartbeat of a healthy node with no clock running anywhere: nothing to do,
   * and no query. */
  if (cached != NULL && ctx->cache->n_marked == 0)
    {
      CaraCondition *ready = cara_conditions_find (cached->status.conditions, "Ready");
      if (!node_is_down (TRUE, cached->status.state, ready ? ready->status : NULL))
        return TRUE;
    }

  if (!store_get_node (name, &node, &local))
    {
      if (!g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_clear_error (&local);
    }
  if (node != NULL)
    {
      CaraCondition *ready = cara_conditions_find (node->status.conditions, "Ready");
      run.down = node_is_down (TRUE, node->status.state, ready ? ready->status : NULL);
    }
  else
    run.down = node_is_down (FALSE, CARA_NODE_STATE_NONE, NULL);

  if (!store_list_projects (&filter, &projects, NULL, error))
    return FALSE;
  for (guint i = 0; i < projects->len; i++)
    {
      CaraProject *p = projects->pdata[i];
      gint64 again = 0;

      /* Cheap check first: most projects on a healthy node need nothing. */
      if (rescheduler_decide (run.down, p->status.phase, condition_time (p, "NotReadyAt"),
                              condition_time (p, "TerminatingAt"), g_get_real_time (), ctx->t.grace_period,
                              ctx->t.terminating_timeout, &again) == RESCHEDULE_NONE)
        {
          if (again > 0)
            requeue = requeue > 0 ? MIN (requeue, again) : again;
          continue;
        }
      if (!store_update_project (p->metadata.name, reschedule_mutate, &run, NULL, &local))
        {
          if (g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
            {
              g_clear_error (&local);
              continue;
            }
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      if (run.action != RESCHEDULE_NONE)
        cara_log_project (run.action == RESCHEDULE_CLEAR_MARKS ? G_LOG_LEVEL_INFO : G_LOG_LEVEL_MESSAGE,
                          p->metadata.name, "Project %s on node %s: %s", p->metadata.name, name,
                          reschedule_action_to_string (run.action));
      if (run.action == RESCHEDULE_RESET_PENDING)
        cara_events_record (CARA_EVENT_WARNING, "Rescheduled", "Project", p->metadata.name, name,
                            "Node %s is NotReady beyond the grace period: moving the project to another node", name);
      else if (run.action == RESCHEDULE_FORCE_TERMINATED)
        cara_events_record (CARA_EVENT_WARNING, "ForceTerminated", "Project", p->metadata.name, name,
                            "Node %s was NotReady for too long: project marked Terminated", name);
      if (run.recheck_after > 0)
        requeue = requeue > 0 ? MIN (requeue, run.recheck_after) : run.recheck_after;
    }
  *ret_requeue_after = requeue;
  return TRUE;
}

static gboolean
rescheduler_resync (ControllerContext *ctx, GPtrArray *keys, GError **error)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter it;
  gpointer k, v;

  g_hash_table_iter_init (&it, ctx->cache->nodes);
  while (g_hash_table_iter_next (&it, &k, NULL))
    g_hash_table_add (seen, k);
  /* Also nodes that no longer exist but still have projects. */
  g_hash_table_iter_init (&it, ctx->cache->placed);
  while (g_hash_table_iter_next (&it, NULL, &v))
    g_hash_table_add (seen, ((CachePlaced *) v)->node_ref);
  g_hash_table_iter_init (&it, seen);
  while (g_hash_table_iter_next (&it, &k, NULL))
    g_ptr_array_add (keys, g_strdup (k));
  return TRUE;
}

const ControllerDef rescheduler_controller = {
  .name = "rescheduler",
  .reconcile = rescheduler_reconcile,
  .resync = rescheduler_resync,
};
