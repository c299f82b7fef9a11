/* SPDX-License-Identifier: Apache-2.0 */
/* GET /api/v1/whoami: the caller's role, so that a client (the dashboard) shows only the actions
 * its token may take.  The API refuses the others anyway. */
#define G_LOG_DOMAIN "cara-api"
#include "config.h"

#include "api.h"
#include "server-auth.h"

void
api_whoami (CaraHttpRequest *req, gpointer user_data)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, server_auth_request_role (req));
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  cara_http_respond_json (req, 200, root);
}
