/* SPDX-License-Identifier: Apache-2.0 */
/* The one route table of cara-server: every route with its method, template and roles.  The
 * template is also what logs and metrics name a request by. */
#define G_LOG_DOMAIN "cara-api"
#include "config.h"

#include "api.h"
#include "migration.h"

static void
healthz (CaraHttpRequest *req, gpointer user_data)
{
  cara_http_respond_text (req, 200, "text/plain; charset=utf-8", "OK");
}

static void
version (CaraHttpRequest *req, gpointer user_data)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, PACKAGE_VERSION);
  json_builder_set_member_name (b, "apiVersion");
  json_builder_add_string_value (b, CARA_API_VERSION);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  cara_http_respond_json (req, 200, root);
}

static const CaraHttpRoute routes[] = {
  { "GET", "/api/healthz", healthz, CARA_HTTP_ROLE_PUBLIC, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/version", version, CARA_HTTP_ROLE_PUBLIC, CARA_HTTP_NODE_NONE },

  { "POST", "/api/v1/nodes", api_nodes_create, CARA_HTTP_ROLE_JOIN, CARA_HTTP_NODE_HANDLER },
  { "GET", "/api/v1/nodes", api_nodes_list, CARA_HTTP_ROLE_READ, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/nodes/{name}", api_nodes_get, CARA_HTTP_ROLE_READ, CARA_HTTP_NODE_PATH },
  { "PUT", "/api/v1/nodes/{name}", api_nodes_update, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "DELETE", "/api/v1/nodes/{name}", api_nodes_delete, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "POST", "/api/v1/nodes/{name}/heartbeat", api_nodes_heartbeat, CARA_HTTP_ROLE_AGENT, CARA_HTTP_NODE_PATH },
  { "POST", "/api/v1/nodes/{name}/reset-token", api_nodes_reset_token, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "POST", "/api/v1/nodes/{name}/drain", api_nodes_drain, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "POST", "/api/v1/nodes/{name}/uncordon", api_nodes_uncordon, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },

  { "POST", "/api/v1/projects", api_projects_create, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/projects", api_projects_list, CARA_HTTP_ROLE_READ, CARA_HTTP_NODE_QUERY },
  { "GET", "/api/v1/projects/{name}", api_projects_get, CARA_HTTP_ROLE_READ, CARA_HTTP_NODE_HANDLER },
  { "PUT", "/api/v1/projects/{name}", api_projects_update, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "DELETE", "/api/v1/projects/{name}", api_projects_delete, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "PATCH", "/api/v1/projects/{name}/status", api_projects_patch_status, CARA_HTTP_ROLE_AGENT, CARA_HTTP_NODE_HANDLER },
  { "GET", "/api/v1/projects/{name}/logs", api_projects_logs, CARA_HTTP_ROLE_READ, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/projects/{name}/portforward", api_projects_portforward, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/projects/{name}/exec", api_projects_exec, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "POST", "/api/v1/projects/{name}/move", api_projects_move, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/projects/{name}/move/volumes/{volume}", api_projects_move_volume, CARA_HTTP_ROLE_AGENT, CARA_HTTP_NODE_HANDLER },
  { "GET", "/api/v1/projects/{name}/move/transfers/{id}", api_projects_move_transfer, CARA_HTTP_ROLE_AGENT, CARA_HTTP_NODE_HANDLER },

  { "GET", "/api/v1/whoami", api_whoami, CARA_HTTP_ROLE_READ, CARA_HTTP_NODE_NONE },
  /* the dashboard's static files; the calls it makes carry the user's token */
  { "GET", "/ui", api_ui_redirect, CARA_HTTP_ROLE_PUBLIC, CARA_HTTP_NODE_NONE },
  { "GET", "/ui/", api_ui_index, CARA_HTTP_ROLE_PUBLIC, CARA_HTTP_NODE_NONE },
  { "GET", "/ui/{file}", api_ui_asset, CARA_HTTP_ROLE_PUBLIC, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/secrets", api_secrets_list, CARA_HTTP_ROLE_READ, CARA_HTTP_NODE_NONE },
  { "POST", "/api/v1/secrets", api_secrets_create, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/secrets/{name}", api_secrets_get, CARA_HTTP_ROLE_READ, CARA_HTTP_NODE_NONE },
  { "PUT", "/api/v1/secrets/{name}", api_secrets_update, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "DELETE", "/api/v1/secrets/{name}", api_secrets_delete, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/nodes/{name}/secrets/{secret}", api_nodes_secret, CARA_HTTP_ROLE_AGENT, CARA_HTTP_NODE_PATH },

  { "POST", "/api/v1/nodes/{name}/events", api_nodes_events_create, CARA_HTTP_ROLE_AGENT, CARA_HTTP_NODE_PATH },
  { "GET", "/api/v1/events", api_events_list, CARA_HTTP_ROLE_READ, CARA_HTTP_NODE_NONE },
  { "GET", "/metrics", api_metrics, CARA_HTTP_ROLE_READ, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/nodes/{name}/metrics", api_nodes_metrics, CARA_HTTP_ROLE_READ, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/projects/{name}/revisions", api_projects_revisions, CARA_HTTP_ROLE_READ, CARA_HTTP_NODE_NONE },
  { "POST", "/api/v1/projects/{name}/rollback", api_projects_rollback, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
};

void
api_register (CaraHttpServer *server)
{
  cara_http_server_add_routes (server, routes, G_N_ELEMENTS (routes), NULL);
}
