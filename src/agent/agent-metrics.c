/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-agent"

#include "agent-metrics.h"

#include <string.h>

#include "cara-error.h"
#include "cara-http-server.h"
#include "cara-metrics.h"
#include "cara-model.h"

static CaraMetrics *metrics;
static CaraMetricFamily *reconciles, *reconcile_seconds, *docker_requests, *pulls, *heartbeat_failures;

/* project -> GPtrArray of container states (char*), under containers_lock */
static GHashTable *containers;
static GMutex containers_lock;

static void
containers_collector (GString *out, gpointer user_data)
{
  g_autoptr (GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_mutex_lock (&containers_lock);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, containers);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      GPtrArray *states = v;
      for (guint i = 0; i < states->len; i++)
        {
          const char *st = states->pdata[i];
          guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, st));
          g_hash_table_replace (counts, g_strdup (st), GUINT_TO_POINTER (n + 1));
        }
    }
  g_mutex_unlock (&containers_lock);
  cara_metrics_write_header (out, "cara_agent_containers", "Containers of this node's projects, by state.",
                             CARA_METRIC_GAUGE);
  /* The usual states always, so "running" has a series before the first project. */
  static const char *const usual[] = { "running", "exited", "restarting", NULL };
  for (guint i = 0; usual[i]; i++)
    if (!g_hash_table_contains (counts, usual[i]))
      g_hash_table_insert (counts, g_strdup (usual[i]), GUINT_TO_POINTER (0));
  g_autoptr (GList) keys = g_list_sort (g_hash_table_get_keys (counts), (GCompareFunc) g_strcmp0);
  for (GList *l = keys; l; l = l->next)
    {
      g_autoptr (GString) labels = g_string_new ("state=\"");
      cara_metrics_escape_label (labels, l->data);
      g_string_append_c (labels, '"');
      cara_metrics_write_sample (out, "cara_agent_containers", labels->str,
                                 GPOINTER_TO_UINT (g_hash_table_lookup (counts, l->data)));
    }
}

void
agent_metrics_init (void)
{
  if (metrics != NULL)
    return;
  metrics = cara_metrics_new ();
  reconciles = cara_metrics_counter (metrics, "cara_agent_reconciles_total", "Project reconciles, by result.",
                                     (const char *[]) { "result", NULL });
  reconcile_seconds = cara_metrics_histogram (metrics, "cara_agent_reconcile_duration_seconds",
                                              "Duration of one project reconcile.", NULL, NULL, 0);
  docker_requests = cara_metrics_counter (metrics, "cara_agent_docker_requests_total",
                                          "Docker Engine API requests, by HTTP status (\"error\": no answer).",
                                          (const char *[]) { "code", NULL });
  pulls = cara_metrics_counter (metrics, "cara_agent_image_pulls_total", "Image pulls, by result.",
                                (const char *[]) { "result", NULL });
  heartbeat_failures = cara_metrics_counter (metrics, "cara_agent_heartbeat_failures_total",
                                             "Heartbeats (or registrations) the server did not take.", NULL);
  for (guint i = 0; i < 3; i++)
    cara_metric_touch (reconciles, (const char *[]) { "success", "failed", "error" }[i]);
  cara_metric_touch (pulls, "success");
  cara_metric_touch (pulls, "failure");
  cara_metric_touch (heartbeat_failures);
  containers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  cara_metrics_add_collector (metrics, containers_collector, NULL);
  cara_metrics_add_process_collector (metrics);
}

char *
agent_metrics_render (void)
{
  GString *out = g_string_sized_new (8192);
  if (metrics != NULL)
    cara_metrics_render (metrics, out);
  return g_string_free (out, FALSE);
}

void
agent_metrics_reconcile (const char *result, double seconds)
{
  if (metrics == NULL)
    return;
  cara_metric_add (reconciles, 1, result);
  cara_metric_add (reconcile_seconds, seconds);
}

void
agent_metrics_docker_request (guint status, gpointer user_data)
{
  char code[8];
  if (metrics == NULL)
    return;
  if (status == 0)
    g_strlcpy (code, "error", sizeof code);
  else
    g_snprintf (code, sizeof code, "%u", status);
  cara_metric_add (docker_requests, 1, code);
}

void
agent_metrics_image_pull (const char *result)
{
  if (metrics != NULL)
    cara_metric_add (pulls, 1, result);
}

void
agent_metrics_heartbeat_failure (void)
{
  if (metrics != NULL)
    cara_metric_add (heartbeat_failures, 1);
}

void
agent_metrics_project_containers (const char *project, GPtrArray *services)
{
  if (metrics == NULL)
    return;
  g_mutex_lock (&containers_lock);
  if (services == NULL)
    g_hash_table_remove (containers, project);
  else
    {
      GPtrArray *states = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < services->len; i++)
        {
          const CaraServiceStatus *s = services->pdata[i];
          if (s->container_id != NULL && s->state != NULL && *s->state != '\0' && g_strcmp0 (s->state, "missing") != 0)
            g_ptr_array_add (states, g_strdup (s->state));
        }
      g_hash_table_replace (containers, g_strdup (project), states);
    }
  g_mutex_unlock (&containers_lock);
}

/* ---- METRICS_LISTEN_ADDR ---- */

struct _AgentMetricsListener {
  CaraHttpServer *server;
};

static void
handle_metrics (CaraHttpRequest *req, gpointer user_data)
{
  g_autofree char *text = agent_metrics_render ();
  cara_http_respond_text (req, 200, CARA_METRICS_CONTENT_TYPE, text);
}

static const CaraHttpRoute listener_routes[] = {
  { "GET", "/metrics", handle_metrics, CARA_HTTP_ROLE_PUBLIC, CARA_HTTP_NODE_NONE },
};

AgentMetricsListener *
agent_metrics_listen (const char *addr, GError **error)
{
  if (addr == NULL || *addr == '\0')
    return NULL;
  const char *colon = strrchr (addr, ':');
  guint64 port = 0;
  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &port, NULL))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid METRICS_LISTEN_ADDR \"%s\" (want HOST:PORT or :PORT)",
                   addr);
      return NULL;
    }
  g_autofree char *host = g_strndup (addr, (gsize) (colon - addr));
  AgentMetricsListener *l = g_new0 (AgentMetricsListener, 1);
  l->server = cara_http_server_new ();
  cara_http_server_add_routes (l->server, listener_routes, G_N_ELEMENTS (listener_routes), NULL);
  cara_http_server_set_threads (l->server, 1);
  cara_http_server_set_connection_limits (l->server, 64, 16);
  if (!cara_http_server_start (l->server, -1, *host ? host : "0.0.0.0", (guint16) port, error))
    {
      g_prefix_error (error, "METRICS_LISTEN_ADDR: ");
      agent_metrics_listener_stop (l);
      return NULL;
    }
  return l;
}

void
agent_metrics_listener_stop (AgentMetricsListener *l)
{
  if (l == NULL)
    return;
  cara_http_server_free (l->server);
  g_free (l);
}
