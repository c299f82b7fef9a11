/* SPDX-License-Identifier: Apache-2.0 */
/* cara-agent: registers this node, heartbeats, and reconciles the projects placed here with the
 * Docker daemon (SPEC §5).  The main thread runs the GMainLoop (signals, sd_notify, watchdog,
 * D-Bus); heartbeats, the watch, Docker events and reconciles each run on threads of their own. */
#include "config.h"

#define G_LOG_DOMAIN "cara-agent"

#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>

#include "agent-bus.h"
#include "agent-config.h"
#include "agent-http.h"
#include "agent-metrics.h"
#include "agent-secrets.h"
#include "cara-daemon.h"
#include "cara-error.h"
#include "cara-log.h"
#include "cara-tls.h"
#include "docker.h"
#include "event-reporter.h"
#include "events.h"
#include "heartbeat.h"
#include "proxy.h"
#include "watch.h"
#include "worker.h"
#include "volume-copy.h"

typedef struct {
  AgentConfig *cfg;
  GMainLoop *loop;
  AgentWorker *worker;
  Watch *watch;
  AgentBus *bus;
  gboolean ready_sent;
  gboolean server_ok;
  AgentHttp *http;
} Agent;

/* SIGHUP (systemctl reload): the agent API's TLS certificate is read again; nothing else. */
static gboolean
on_reload (gpointer user_data)
{
  Agent *a = user_data;
  g_autoptr (GError) error = NULL;
  cara_daemon_notify_reloading ();
  if (!agent_http_reload_tls (a->http, &error))
    cara_log_node (G_LOG_LEVEL_WARNING, a->cfg->node_name, "Reloading the TLS certificate failed, keeping the old one: %s",
                   error->message);
  else if (a->cfg->tls_cert)
    cara_log_node (G_LOG_LEVEL_INFO, a->cfg->node_name, "TLS certificate reloaded from %s", a->cfg->tls_cert);
  cara_daemon_notify_ready ("Running");
  return G_SOURCE_CONTINUE;
}

static gboolean
on_signal (gpointer user_data)
{
  Agent *a = user_data;
  cara_log_node (G_LOG_LEVEL_INFO, a->cfg->node_name, "Stopping");
  cara_daemon_notify_stopping ();
  g_main_loop_quit (a->loop);
  return G_SOURCE_CONTINUE;
}

static void
on_heartbeat (gboolean registered, gboolean ok, gint64 usec, gpointer user_data)
{
  Agent *a = user_data;
  /* The watch reads with the node token, which the server knows once the node is registered. */
  if (ok && registered && a->watch == NULL)
    a->watch = watch_start (a->cfg, a->worker);
  if (ok)
    {
      agent_bus_set_last_heartbeat (a->bus, (guint64) usec);
      agent_bus_set_state (a->bus, "ready");
      if (!a->server_ok)
        {
          cara_daemon_notify_status ("Connected to %s as node %s", a->cfg->server_url, a->cfg->node_name);
          /* Back after an outage: look at the work again rather than wait for the re-list. */
          if (a->watch)
            watch_resync (a->watch);
        }
    }
  else
    {
      agent_metrics_heartbeat_failure ();
      agent_bus_set_state (a->bus, registered ? "disconnected" : "registering");
      if (a->server_ok)
        cara_daemon_notify_status ("Cannot reach %s; retrying", a->cfg->server_url);
    }
  a->server_ok = ok;
}

static void
on_project (const char *project, const char *phase, GPtrArray *services, const CaraCondition *ready,
            gpointer user_data)
{
  Agent *a = user_data;
  if (phase == NULL || *phase == '\0')
    agent_bus_project_removed (a->bus, project);
  else
    {
      agent_bus_project_changed (a->bus, project, phase, services);
      if (ready)
        agent_bus_project_set_ready (a->bus, project, g_strcmp0 (ready->status, "True") == 0, ready->reason,
                                     ready->message);
    }
}

static gboolean
bus_reconcile (gpointer user_data, GError **error)
{
  Agent *a = user_data;
  if (a->watch)
    watch_resync (a->watch);
  agent_worker_recheck_all (a->worker);
  return TRUE;
}

typedef struct {
  Agent *a;
  char *project;
  char *service;
} RestartJob;

/* Docker work stays off the main loop. */
static gpointer
restart_thread (gpointer data)
{
  RestartJob *j = data;
  g_autoptr (GError) error = NULL;
  DockerClient *dc = docker_client_for_thread (j->a->cfg->docker_host, &error);
  g_autofree char *f_node = g_strdup_printf ("cara.node=%s", j->a->cfg->node_name);
  g_autofree char *f_project = g_strdup_printf ("cara.project=%s", j->project);
  g_autofree char *f_service = g_strdup_printf ("cara.service=%s", j->service);
  const char *filters[] = { f_node, f_project, f_service, NULL };
  g_autoptr (JsonArray) list = dc ? docker_container_list (dc, filters, &error) : NULL;
  for (guint i = 0; list && i < json_array_get_length (list); i++)
    {
      const char *id = json_object_get_string_member_with_default (json_array_get_object_element (list, i), "Id", "");
      g_autofree char *path = g_strdup_printf ("/containers/%s/restart?t=%u", id, j->a->cfg->stop_timeout_s);
      if (docker_call (dc, "POST", path, NULL, NULL, &error))
        cara_log_service (G_LOG_LEVEL_INFO, j->project, j->service, "Restarted container %.12s (D-Bus request)", id);
    }
  if (error)
    cara_log_service (G_LOG_LEVEL_WARNING, j->project, j->service, "Restart failed: %s", error->message);
  agent_worker_recheck (j->a->worker, j->project);
  g_free (j->project);
  g_free (j->service);
  g_free (j);
  return NULL;
}

static gboolean
bus_restart (gpointer user_data, const char *project, const char *service, GError **error)
{
  Agent *a = user_data;
  g_autoptr (GPtrArray) known = agent_worker_list (a->worker);
  for (guint i = 0; i < known->len; i++)
    {
      CaraProject *p = g_ptr_array_index (known, i);
      if (g_strcmp0 (p->metadata.name, project) != 0)
        continue;
      if (cara_project_find_service (p, service) == NULL)
        break;
      RestartJob *j = g_new0 (RestartJob, 1);
      j->a = a;
      j->project = g_strdup (project);
      j->service = g_strdup (service);
      g_thread_unref (g_thread_new ("restart", restart_thread, j));
      return TRUE;
    }
  g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "no service %s in project %s on this node", service, project);
  return FALSE;
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_autoptr (GError) error = NULL;
  g_autoptr (AgentConfig) cfg = agent_config_load (&argc, &argv, &error);
  if (cfg == NULL)
    {
      fprintf (stderr, "cara-agent: %s\n", error->message);
      return g_error_matches (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE) || g_str_has_prefix (error->message, "bad usage")
                 ? 2
                 : 1;
    }
  cara_log_init ("cara-agent", cfg->debug);
  cara_daemon_raise_fd_limit (4096);
  if (cfg->node_token_created)
    cara_log_node (G_LOG_LEVEL_INFO, cfg->node_name, "Generated this node's token in %s", cfg->node_token_path);

  Agent a = { .cfg = cfg, .server_ok = FALSE };
  a.loop = g_main_loop_new (NULL, FALSE);
  /* The signals are ours before anything listens: a SIGTERM sent as soon as the agent answers is
     a clean stop, not death by signal.  They are dispatched once the loop runs, a.http set by then. */
  g_unix_signal_add (SIGTERM, on_signal, &a);
  g_unix_signal_add (SIGINT, on_signal, &a);
  g_unix_signal_add (SIGHUP, on_reload, &a);

  /* Docker must answer before we claim any work. */
  agent_metrics_init ();
  docker_set_request_observer (agent_metrics_docker_request, NULL);
  g_autoptr (DockerClient) dc = docker_client_new (cfg->docker_host, &error);
  if (dc == NULL)
    {
      cara_log_node (G_LOG_LEVEL_CRITICAL, cfg->node_name, "Cannot use Docker: %s", error->message);
      return 1;
    }
  cara_log_node (G_LOG_LEVEL_INFO, cfg->node_name, "Using Docker at %s (API %s), server %s", cfg->docker_host,
                 docker_client_get_api_version (dc), cfg->server_url);

  if (!cara_tls_set_priority (cfg->tls_priority, &error))
    {
      cara_log_node (G_LOG_LEVEL_CRITICAL, cfg->node_name, "%s", error->message);
      return 1;
    }
  AgentHttp *http = agent_http_start (cfg, &error);
  if (http == NULL)
    {
      cara_log_node (G_LOG_LEVEL_CRITICAL, cfg->node_name, "Cannot serve the agent API: %s", error->message);
      return 1;
    }
  a.http = http;

  g_autoptr (GError) proxy_error = NULL;
  agent_secrets_serve_tls (cfg);
  Proxy *proxy = proxy_start (cfg->proxy_listen_addr, &proxy_error);
  if (proxy == NULL)
    cara_log_node (G_LOG_LEVEL_WARNING, cfg->node_name, "No ingress proxy: %s", proxy_error->message);
  else if (cfg->proxy_tls_listen_addr && !proxy_start_tls (proxy, cfg->proxy_tls_listen_addr, &proxy_error))
    cara_log_node (G_LOG_LEVEL_WARNING, cfg->node_name, "No HTTPS ingress: %s", proxy_error->message);

  g_autoptr (GError) metrics_error = NULL;
  AgentMetricsListener *metrics = agent_metrics_listen (cfg->metrics_listen_addr, &metrics_error);
  if (metrics == NULL && metrics_error != NULL)
    {
      cara_log_node (G_LOG_LEVEL_CRITICAL, cfg->node_name, "Cannot serve metrics: %s", metrics_error->message);
      return 1;
    }
  event_reporter_start (cfg);
  a.worker = agent_worker_new (cfg, g_main_context_default (), on_project, &a);
  volume_copy_init (cfg, a.worker);
  agent_worker_set_proxy (a.worker, proxy);
  Events *events = events_start (cfg, a.worker);
  Heartbeat *hb = heartbeat_start (cfg, g_main_context_default (), on_heartbeat, &a);

  guint watchdog = cara_daemon_watchdog_start (NULL);

  AgentBusCallbacks cb = { .reconcile = bus_reconcile, .restart_service = bus_restart };
  g_autoptr (GError) bus_error = NULL;
  a.bus = agent_bus_start (NULL, cfg->node_name, cfg->server_url, PACKAGE_VERSION, &cb, &a, &bus_error);
  if (a.bus == NULL)
    cara_log_node (G_LOG_LEVEL_INFO, cfg->node_name, "Not on D-Bus: %s", bus_error->message);

  cara_daemon_notify_ready ("Running");
  g_main_loop_run (a.loop);

  cara_daemon_notify_stopping ();
  if (watchdog)
    g_source_remove (watchdog);
  heartbeat_stop (hb);
  watch_stop (a.watch);
  events_stop (events);
  agent_http_stop (http);
  agent_worker_free (a.worker);
  event_reporter_stop ();
  agent_metrics_listener_stop (metrics);
  proxy_stop (proxy);
  g_clear_pointer (&a.bus, agent_bus_free);
  g_main_loop_unref (a.loop);
  return 0;
}
