/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-agent"

#include "cara-error.h"
#include "cara-json.h"
#include "server-api.h"

CaraHttpClient *
server_client_new (const AgentConfig *cfg)
{
  CaraHttpClient *c = cara_http_client_new (cfg->server_url);
  /* SPEC §9: the join token only registers; the node's own token does the rest. */
  cara_http_client_set_token (c, cfg->node_token ? cfg->node_token : cfg->token);
  if (cfg->ca_file)
    cara_http_client_set_ca_file (c, cfg->ca_file);
  cara_http_client_set_timeout (c, 10000);
  cara_http_client_set_connect_timeout (c, 3000);
  cara_http_client_set_user_agent (c, "cara-agent/" PACKAGE_VERSION);
  return c;
}

GPtrArray *
server_list_projects (CaraHttpClient *c, const AgentConfig *cfg, GError **error)
{
  g_autofree char *node = cara_http_escape (cfg->node_name);
  g_autofree char *path = g_strdup_printf ("/api/v1/projects?nodeRef=%s", node);
  g_autoptr (JsonNode) json = NULL;
  if (!cara_http_client_json (c, "GET", path, NULL, NULL, &json, error))
    return NULL;
  if (json == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "empty project list from the server");
      return NULL;
    }
  GPtrArray *all = cara_project_list_from_json (json, error);
  if (all == NULL)
    return NULL;
  /* Servers without the nodeRef filter would send everything: keep only ours. */
  for (guint i = all->len; i > 0; i--)
    {
      CaraProject *p = g_ptr_array_index (all, i - 1);
      if (g_strcmp0 (p->status.node_ref, cfg->node_name) != 0)
        g_ptr_array_remove_index (all, i - 1);
    }
  return all;
}

gboolean
server_report_status (CaraHttpClient *c, const char *project, const CaraStatusReport *r, GError **error)
{
  g_autofree char *name = cara_http_escape (project);
  g_autofree char *path = g_strdup_printf ("/api/v1/projects/%s/status", name);
  g_autoptr (JsonNode) body = cara_status_report_to_json (r);
  return cara_http_client_json (c, "PATCH", path, body, NULL, NULL, error);
}
