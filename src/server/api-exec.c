/* SPDX-License-Identifier: Apache-2.0 */
/* GET /api/v1/projects/{name}/exec (SPEC §11): checks what can be checked before the upgrade
 * (404 unknown project or service, 409 not running), then hands the WebSocket to the relay that
 * port-forward uses, toward the agent's /api/v1/exec.  The relay passes frames through as they
 * are: the channel protocol (cara-exec.h) is spoken end to end by caractrl and the agent. */
#define G_LOG_DOMAIN "cara-exec"
#include "config.h"

#include "api.h"

#include "api-streams.h"
#include "cara-exec.h"
#include "cara-http-client.h"
#include "store.h"

static const CaraServiceStatus *
service_status (const CaraProject *p, const char *service)
{
  for (guint i = 0; i < p->status.services->len; i++)
    {
      const CaraServiceStatus *ss = g_ptr_array_index (p->status.services, i);
      if (g_strcmp0 (ss->name, service) == 0)
        return ss;
    }
  return NULL;
}

/* Go's strconv.ParseBool, as the rest of the API reads booleans. */
static gboolean
query_bool (CaraHttpRequest *req, const char *key)
{
  const char *v = cara_http_request_get_query (req, key);
  static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True", NULL };
  return v && g_strv_contains (yes, v);
}

/* TRUE when the client asked for no subprotocol or for ours (*ret_named then tells which). */
static gboolean
offers_subprotocol (CaraHttpRequest *req, gboolean *ret_named)
{
  const char *offered = cara_http_request_get_header (req, "Sec-WebSocket-Protocol");
  *ret_named = FALSE;
  if (offered == NULL)
    return TRUE;
  g_auto (GStrv) list = g_strsplit (offered, ",", -1);
  for (guint i = 0; list[i]; i++)
    if (g_str_equal (g_strstrip (list[i]), CARA_EXEC_SUBPROTOCOL))
      *ret_named = TRUE;
  return *ret_named;
}

void
api_projects_exec (CaraHttpRequest *req, gpointer user_data)
{
  const char *service = cara_http_request_get_query (req, "service");
  if (service == NULL || *service == '\0')
    {
      cara_http_respond_problem (req, 400, "the service query parameter is required");
      return;
    }
  const char *const *command = cara_http_request_get_query_all (req, "command");
  if (command[0] == NULL || *command[0] == '\0')
    {
      cara_http_respond_problem (req, 400, "the command query parameter is required (one per argument)");
      return;
    }
  /* What the user asked about comes first (404, then 409), then how to reach its agent (502). */
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraProject) stored = NULL;
  if (!store_get_project (cara_http_request_get_param (req, "name"), &stored, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  const CaraServiceStatus *ss = service_status (stored, service);
  if (cara_project_find_service (stored, service) != NULL && stored->status.phase == CARA_PROJECT_PHASE_RUNNING
      && (ss == NULL || g_strcmp0 (ss->state, "running") != 0))
    {
      g_autofree char *detail = g_strdup_printf ("service %s of project %s is not running (state %s)", service,
                                                 stored->metadata.name, ss && ss->state ? ss->state : "<none>");
      cara_http_respond_problem (req, 409, detail);
      return;
    }
  g_autoptr (CaraProject) project = NULL;
  g_autofree char *node = NULL, *base = NULL, *secret = NULL;
  if (!api_streams_resolve_agent (req, service, TRUE, &project, &node, &base, &secret))
    return;
  gboolean named = FALSE;
  if (!offers_subprotocol (req, &named))
    {
      cara_http_respond_problem (req, 400, "Sec-WebSocket-Protocol: the exec endpoint speaks only "
                                           CARA_EXEC_SUBPROTOCOL);
      return;
    }
  const char *key = cara_http_request_websocket_key (req);
  if (key == NULL)
    return;

  g_autofree char *esc_project = cara_http_escape (project->metadata.name);
  g_autofree char *esc_service = cara_http_escape (service);
  g_autoptr (GString) path = g_string_new (NULL);
  g_string_printf (path, "/api/v1/exec/%s/%s?stdin=%s&tty=%s", esc_project, esc_service,
                   query_bool (req, "stdin") ? "true" : "false", query_bool (req, "tty") ? "true" : "false");
  for (guint i = 0; command[i]; i++)
    {
      g_autofree char *arg = cara_http_escape (command[i]);
      g_string_append_printf (path, "&command=%s", arg);
    }
  g_autofree char *what = g_strdup_printf ("exec %s/%s", project->metadata.name, service);
  api_streams_relay_websocket (req, key, node, base, secret, path->str, named ? CARA_EXEC_SUBPROTOCOL : NULL, what);
}
