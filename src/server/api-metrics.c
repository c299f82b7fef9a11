/* SPDX-License-Identifier: Apache-2.0 */
/* GET /metrics (this server's, from memory: server-metrics.h) and GET /api/v1/nodes/{name}/metrics
 * (relayed from that node's agent, so Prometheus needs to reach only the server). */
#define G_LOG_DOMAIN "cara-api"
#include "config.h"

#include "api.h"

#include "api-streams.h"
#include "cara-error.h"
#include "cara-http-client.h"
#include "cara-metrics.h"
#include "controller-setup.h"
#include "server-metrics.h"
#include "store.h"

#define AGENT_METRICS_TIMEOUT_MS 5000

/* What is not kept in the registry but read on the spot, from memory. */
static void
state_collector (GString *out, gpointer user_data)
{
  cara_metrics_write_header (out, "cara_watchers", "Open watch streams.", CARA_METRIC_GAUGE);
  cara_metrics_write_sample (out, "cara_watchers", NULL, controllers_watcher_count ());
  cara_metrics_write_header (out, "cara_leader", "1 when this replica runs the controllers, else 0.",
                             CARA_METRIC_GAUGE);
  cara_metrics_write_sample (out, "cara_leader", NULL, controllers_is_leader () ? 1 : 0);
  cara_metrics_write_header (out, "cara_db_errors_total", "Database statements that failed.", CARA_METRIC_COUNTER);
  cara_metrics_write_sample (out, "cara_db_errors_total", NULL, (double) store_get_error_count ());
}

void
api_metrics_init (void)
{
  server_metrics_init ();
  cara_metrics_add_collector (server_metrics_get (), state_collector, NULL);
  cara_metrics_add_process_collector (server_metrics_get ());
}

void
api_metrics (CaraHttpRequest *req, gpointer user_data)
{
  CaraMetrics *m = server_metrics_get ();
  if (m == NULL)
    {
      cara_http_respond_problem (req, 503, "metrics are not set up");
      return;
    }
  g_autoptr (GString) out = g_string_sized_new (16 * 1024);
  cara_metrics_render (m, out);
  cara_http_respond_text (req, 200, CARA_METRICS_CONTENT_TYPE, out->str);
}

void
api_nodes_metrics (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraNode) node = NULL;
  g_autofree char *secret = NULL;

  if (!store_get_node (name, &node, &error) || !store_get_node_agent_secret (name, &secret, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_autofree char *base = api_streams_agent_url (node);
  if (base == NULL)
    {
      g_autofree char *d = g_strdup_printf ("node %s has no IP address to reach its agent", name);
      cara_http_respond_problem (req, 502, d);
      return;
    }
  g_autoptr (CaraHttpClient) c = cara_http_client_new (base);
  if (secret != NULL)
    cara_http_client_set_token (c, secret);
  if (api_streams_agent_ca () != NULL)
    cara_http_client_set_ca_file (c, api_streams_agent_ca ());
  cara_http_client_set_timeout (c, AGENT_METRICS_TIMEOUT_MS);
  cara_http_client_set_connect_timeout (c, 2000);
  g_autoptr (CaraHttpResponse) r = cara_http_client_request (c, "GET", "/metrics", NULL, NULL, 0, &error);
  if (r == NULL)
    {
      g_autofree char *d = g_strdup_printf ("cannot reach the agent of node %s: %s", name, error->message);
      cara_http_respond_problem (req, 502, d);
      return;
    }
  if (r->status != 200)
    {
      g_autofree char *d = g_strdup_printf ("the agent of node %s answered with status %u", name, r->status);
      cara_http_respond_problem (req, 502, d);
      return;
    }
  gsize len = 0;
  const char *data = g_bytes_get_data (r->body, &len);
  g_autofree char *text = g_strndup (data ? data : "", len);
  cara_http_respond_text (req, 200, CARA_METRICS_CONTENT_TYPE, text);
}
