/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-agent"

#include "cara-log.h"
#include "docker.h"
#include "event-reporter.h"
#include "events.h"
#include "inspect-cache.h"
#include "networks.h"

struct _Events {
  const AgentConfig *cfg;
  AgentWorker *worker;
  GThread *thread;
  GCancellable *cancel;
};

static JsonObject *
actor_attributes (JsonObject *event)
{
  JsonNode *actor = json_object_get_member (event, "Actor");
  if (actor == NULL || !JSON_NODE_HOLDS_OBJECT (actor))
    return NULL;
  JsonNode *attrs = json_object_get_member (json_node_get_object (actor), "Attributes");
  return attrs != NULL && JSON_NODE_HOLDS_OBJECT (attrs) ? json_node_get_object (attrs) : NULL;
}

static void
on_event (JsonObject *event, gpointer user_data)
{
  Events *ev = user_data;
  const char *action = json_object_get_string_member_with_default (event, "Action", "");
  JsonObject *attrs = actor_attributes (event);
  if (attrs == NULL)
    return;
  /* Every network's, so that the view of the host's subnets and names stays current. */
  if (g_strcmp0 (json_object_get_string_member_with_default (event, "Type", ""), "network") == 0)
    {
      networks_on_event (ev->cfg, action, json_object_get_string_member_with_default (attrs, "name", NULL));
      return;
    }
  if (g_strcmp0 (json_object_get_string_member_with_default (attrs, AGENT_LABEL_NODE, NULL), ev->cfg->node_name) != 0)
    return;
  /* What we know of its inspect is old now (a pause, an update, a death...), but for a create (a
   * new container: nothing known) and the execs healthchecks run.  The start of a container the
   * agent has just created and started itself is no news at all: it knows already. */
  JsonNode *actor = json_object_get_member (event, "Actor");
  const char *id = JSON_NODE_HOLDS_OBJECT (actor)
                   ? json_object_get_string_member_with_default (json_node_get_object (actor), "ID", NULL) : NULL;
  if (id != NULL && !g_str_has_prefix (action, "exec_") && !g_str_equal (action, "create")
      && !inspect_cache_event (id, action))
    {
      g_debug ("docker event %s of container %.12s: our own", action, id);
      return;
    }
  /* Healthchecks run as execs: their exec_* events say nothing about the container. */
  if (!(g_str_equal (action, "die") || g_str_equal (action, "start") || g_str_equal (action, "oom")
        || g_str_equal (action, "destroy") || g_str_equal (action, "stop") || g_str_has_prefix (action, "health_status")))
    return;
  const char *project = json_object_get_string_member_with_default (attrs, AGENT_LABEL_PROJECT, NULL);
  if (project == NULL)
    return;
  g_debug ("docker event %s for project %s", action, project);
  if (g_str_equal (action, "oom"))
    {
      agent_event (CARA_EVENT_WARNING, "Killed", project, "Container %s of service %s was killed: out of memory",
                   json_object_get_string_member_with_default (attrs, "name", "?"),
                   json_object_get_string_member_with_default (attrs, AGENT_LABEL_SERVICE, "?"));
    }
  agent_worker_recheck (ev->worker, project);
}

static gpointer
run (gpointer data)
{
  Events *ev = data;
  /* Our containers' events (their node label is checked in on_event: a label filter would drop
   * the networks' events, which carry no labels) and the creates and removals of networks. */
  const char *filters = "{\"type\":[\"container\",\"network\"]}";
  gboolean was_ok = TRUE;
  while (!g_cancellable_is_cancelled (ev->cancel))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DockerClient) dc = docker_client_new (ev->cfg->docker_host, &error);
      if (dc)
        {
          /* Anything missed while we were not listening. */
          networks_invalidate ();
          inspect_cache_invalidate ();
          agent_worker_recheck_all (ev->worker);
          if (!was_ok)
            cara_log_node (G_LOG_LEVEL_INFO, ev->cfg->node_name, "Docker event stream reconnected");
          was_ok = TRUE;
          docker_events (dc, filters, on_event, ev, ev->cancel, &error);
        }
      if (g_cancellable_is_cancelled (ev->cancel))
        break;
      if (was_ok)
        cara_log_node (G_LOG_LEVEL_WARNING, ev->cfg->node_name, "Docker event stream ended: %s; reconnecting",
                       error ? error->message : "end of stream");
      was_ok = FALSE;
      /* An interruptible one-second pause. */
      g_autoptr (GMainContext) ctx = g_main_context_new ();
      g_autoptr (GSource) t = g_timeout_source_new_seconds (1);
      g_source_set_dummy_callback (t);
      g_source_attach (t, ctx);
      g_autoptr (GSource) c = g_cancellable_source_new (ev->cancel);
      g_source_set_dummy_callback (c);
      g_source_attach (c, ctx);
      g_main_context_iteration (ctx, TRUE);
    }
  return NULL;
}

Events *
events_start (const AgentConfig *cfg, AgentWorker *worker)
{
  Events *ev = g_new0 (Events, 1);
  ev->cfg = cfg;
  ev->worker = worker;
  ev->cancel = g_cancellable_new ();
  ev->thread = g_thread_new ("docker-events", run, ev);
  return ev;
}

void
events_stop (Events *ev)
{
  if (ev == NULL)
    return;
  g_cancellable_cancel (ev->cancel);
  g_thread_join (ev->thread);
  g_object_unref (ev->cancel);
  g_free (ev);
}
