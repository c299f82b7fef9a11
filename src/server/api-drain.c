/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-api"
#include "config.h"

#include "api-drain.h"
#include "api.h"

#include "cara-error.h"
#include "cara-json.h"
#include "cara-log.h"
#include "controller-decide.h"
#include "migration.h"
#include "rescheduler.h"
#include "scheduler-decide.h"
#include "server-events.h"
#include "store.h"

/* Drain and uncordon (SPEC §3).  Draining is a node state set here and kept until uncordon
 * (heartbeats never overwrite it, node-health never changes it); the scheduler places nothing on
 * a Draining node.  ?evict=true also moves the node's Scheduled and Running projects: they go
 * back to Pending and the scheduler places them elsewhere, while the node's agent tears down its
 * copies (they are no longer placed on it).  Terminating projects stay for the agent to finish.
 * A project that no other node could take (none Ready, schedulable and matching its
 * nodeSelector) is not evicted: it keeps running where it is rather than being stopped with
 * nowhere to go.  The node's condition "Evicted" says what happened (True: every project moved;
 * False, reason NoOtherNode: which projects stayed), in the answer and in `describe node`.
 * A project with Persistent data is moved with it (SPEC §14: status.migration), to the node the
 * scheduler's filters pick. */

static const ControllerTimeouts *timeouts;

static gboolean
drain_mutate (CaraNode *n, gpointer user_data, GError **error)
{
  if (n->status.state == CARA_NODE_STATE_DRAINING)
    return FALSE;
  n->status.state = CARA_NODE_STATE_DRAINING;
  return TRUE;
}

typedef struct {
  const char *node;
  gboolean moved;
} EvictRun;

static gboolean
evict_mutate (CaraProject *p, gpointer user_data, GError **error)
{
  EvictRun *run = user_data;
  g_autofree char *msg = NULL;

  if (g_strcmp0 (p->status.node_ref, run->node) != 0 ||
      (p->status.phase != CARA_PROJECT_PHASE_SCHEDULED && p->status.phase != CARA_PROJECT_PHASE_RUNNING))
    return FALSE;
  msg = g_strdup_printf ("Evicted from node %s, which is being drained", run->node);
  rescheduler_reset_to_pending (p, "NodeDrained", msg);
  run->moved = TRUE;
  return TRUE;
}

/* The node other than @self that the scheduler's filters pick for @p, or NULL (what is already
 * placed there is not counted: the scheduler decides that when it places the project). */
static const char *
other_node_for (const CaraProject *p, GPtrArray *nodes, const char *self)
{
  g_autofree SchedNode *sn = g_new0 (SchedNode, MAX (nodes->len, 1));
  SchedRequest req;
  guint n = 0;

  for (guint i = 0; i < nodes->len; i++)
    {
      CaraNode *node = nodes->pdata[i];
      if (g_strcmp0 (node->metadata.name, self) != 0)
        sched_node_from_node (node, &sn[n++]);
    }
  sched_request_from_project (p, &req);
  gint pick = scheduler_decide (&req, sn, n, NULL);
  return pick >= 0 ? sn[pick].name : NULL;
}

static gboolean
other_node_could_take (const CaraProject *p, GPtrArray *nodes, const char *self)
{
  return other_node_for (p, nodes, self) != NULL;
}

/* SPEC §14: a project whose data lives on the node moves with it (migration.c), not through
 * Pending.  FALSE when it could not start (the reason is logged; it then stays). */
static gboolean
evict_with_data (const CaraProject *p, GPtrArray *nodes, const char *node)
{
  g_autoptr (GError) error = NULL;
  const char *to = other_node_for (p, nodes, node);
  if (to == NULL)
    return FALSE;
  if (!migration_request (p->metadata.name, to, FALSE, NULL, &error))
    {
      cara_log_project (G_LOG_LEVEL_WARNING, p->metadata.name, "Cannot move project %s off draining node %s: %s",
                        p->metadata.name, node, error->message);
      return FALSE;
    }
  cara_log_project (G_LOG_LEVEL_MESSAGE, p->metadata.name, "Moving project %s with its data from draining node %s "
                    "to %s", p->metadata.name, node, to);
  return TRUE;
}

static gboolean
evict_projects (const char *node, guint *ret_moved, GPtrArray *ret_kept, GError **error)
{
  static const char *const phases[] = { "Scheduled", "Running", NULL };
  StoreProjectFilter filter = { .node_ref = node, .phases = phases };
  g_autoptr (GPtrArray) projects = NULL;
  g_autoptr (GPtrArray) nodes = NULL;
  guint moved = 0;

  if (!store_list_projects (&filter, &projects, NULL, error) || !store_list_nodes (&nodes, NULL, error))
    return FALSE;
  for (guint i = 0; i < projects->len; i++)
    {
      CaraProject *p = projects->pdata[i];
      EvictRun run = { .node = node };
      g_autoptr (GError) local = NULL;

      if (cara_project_has_node_data (p) && !cara_migration_active (p->status.migration))
        {
          if (evict_with_data (p, nodes, node))
            moved++;
          else
            g_ptr_array_add (ret_kept, g_strdup (p->metadata.name));
          continue;
        }
      if (!other_node_could_take (p, nodes, node))
        {
          g_ptr_array_add (ret_kept, g_strdup (p->metadata.name));
          continue;
        }
      if (!store_update_project (p->metadata.name, evict_mutate, &run, NULL, &local))
        {
          if (g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
            continue;
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      if (run.moved)
        {
          moved++;
          cara_log_project (G_LOG_LEVEL_MESSAGE, p->metadata.name, "Evicted project %s from draining node %s",
                            p->metadata.name, node);
          cara_events_record (CARA_EVENT_NORMAL, "Evicted", "Project", p->metadata.name, node,
                              "Evicted from draining node %s: to be scheduled on another node", node);
        }
    }
  *ret_moved = moved;
  return TRUE;
}

typedef struct {
  guint moved;
  GPtrArray *kept; /* project names */
} EvictResult;

static gboolean
evicted_condition_mutate (CaraNode *n, gpointer user_data, GError **error)
{
  EvictResult *r = user_data;
  g_autofree char *msg = NULL;

  if (r->kept->len == 0)
    {
      msg = g_strdup_printf ("%u project%s moved to other nodes", r->moved, r->moved == 1 ? "" : "s");
      cara_conditions_upsert (n->status.conditions, cara_condition_new ("Evicted", "True", "Evicted", msg));
      return TRUE;
    }
  g_ptr_array_add (r->kept, NULL);
  g_autofree char *names = g_strjoinv (", ", (char **) r->kept->pdata);
  g_ptr_array_remove_index (r->kept, r->kept->len - 1);
  msg = g_strdup_printf ("No other node can take %s, so %s on this node: %s", r->kept->len == 1 ? "this project" : "these projects",
                         r->kept->len == 1 ? "it stays" : "they stay", names);
  if (r->moved)
    {
      g_autofree char *more = g_strdup_printf ("%s (%u other%s moved)", msg, r->moved, r->moved == 1 ? "" : "s");
      g_free (msg);
      msg = g_steal_pointer (&more);
    }
  cara_conditions_upsert (n->status.conditions, cara_condition_new ("Evicted", "False", "NoOtherNode", msg));
  return TRUE;
}

static gboolean
query_true (CaraHttpRequest *req, const char *key)
{
  const char *v = cara_http_request_get_query (req, key);
  return v != NULL && (g_str_equal (v, "true") || g_str_equal (v, "1"));
}

void
api_nodes_drain (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  g_autoptr (CaraNode) node = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) json = NULL;
  g_autoptr (GPtrArray) kept = g_ptr_array_new_with_free_func (g_free);
  EvictResult result = { .kept = kept };

  if (!store_update_node (name, drain_mutate, NULL, NULL, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  cara_log_node (G_LOG_LEVEL_MESSAGE, name, "Node %s is Draining", name);
  if (query_true (req, "evict"))
    {
      if (!evict_projects (name, &result.moved, kept, &error)
          || !store_update_node (name, evicted_condition_mutate, &result, NULL, &error))
        {
          cara_http_respond_error (req, error);
          return;
        }
      if (kept->len > 0)
        cara_log_node (G_LOG_LEVEL_MESSAGE, name, "Node %s: %u project(s) stay, no other node can take them",
                       name, kept->len);
      cara_events_record (kept->len > 0 ? CARA_EVENT_WARNING : CARA_EVENT_NORMAL, "Drained", "Node", name, name,
                          "Node drained: %u project(s) moved, %u stay (no other node can take them)", result.moved,
                          kept->len);
    }
  else
    cara_events_record (CARA_EVENT_NORMAL, "Drained", "Node", name, name, "Node drained: no new projects are placed on it");
  if (!store_get_node (name, &node, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  json = cara_node_to_json (node);
  cara_http_respond_json (req, 200, json);
}

static gboolean
uncordon_mutate (CaraNode *n, gpointer user_data, GError **error)
{
  NodeHealthDecision d;

  if (n->status.state != CARA_NODE_STATE_DRAINING)
    return FALSE;
  /* Back to what the heartbeats say; NotReady here is what makes node-health look at it. */
  node_health_decide (CARA_NODE_STATE_NONE, controller_time_usec (n->status.last_heartbeat), NULL, NULL,
                      g_get_real_time (), timeouts->heartbeat_timeout, &d);
  n->status.state = d.state;
  cara_conditions_remove (n->status.conditions, "Evicted");
  CaraCondition *c = cara_condition_new ("Ready", d.cond_status, d.cond_reason, d.cond_message);
  c->last_heartbeat_time = n->status.last_heartbeat ? g_date_time_ref (n->status.last_heartbeat) : NULL;
  cara_conditions_upsert (n->status.conditions, c);
  return TRUE;
}

void
api_nodes_uncordon (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  g_autoptr (CaraNode) node = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) json = NULL;

  if (!store_update_node (name, uncordon_mutate, NULL, &node, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  cara_log_node (G_LOG_LEVEL_MESSAGE, name, "Node %s uncordoned: %s", name,
                 cara_node_state_to_string (node->status.state));
  json = cara_node_to_json (node);
  cara_http_respond_json (req, 200, json);
}

void
api_drain_configure (const ControllerTimeouts *t)
{
  timeouts = t;
}
