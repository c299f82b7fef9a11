/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers the API handlers share: body parsing and checks, the watch hand-over. */
#define G_LOG_DOMAIN "cara-api"
#include "config.h"

#include "api.h"
#include "cara-error.h"
#include "cara-fields.h"

static ApiWatchHandler watch_handler;
static gpointer watch_data;

void
api_set_watch_handler (ApiWatchHandler handler, gpointer user_data)
{
  watch_handler = handler;
  watch_data = user_data;
}

gboolean
api_dispatch_watch (CaraHttpRequest *req, const char *kind)
{
  const char *w = cara_http_request_get_query (req, "watch");
  if (w == NULL || !(g_str_equal (w, "true") || g_str_equal (w, "1")))
    return FALSE;
  if (watch_handler == NULL)
    {
      cara_http_respond_problem (req, 400, "watch is not supported by this server");
      return TRUE;
    }
  watch_handler (req, kind, watch_data);
  return TRUE;
}

void
api_respond_invalid_body (CaraHttpRequest *req, const GError *error)
{
  g_autofree char *detail = g_strdup_printf ("invalid request body: %s", error->message);
  cara_http_respond_problem (req, 400, detail);
}

gboolean
api_check_fields (CaraHttpRequest *req, const char *kind, JsonNode *body)
{
  g_autoptr (GPtrArray) problems = cara_fields_check (body, kind, CARA_FIELDS_SPEC);
  if (problems->len == 0)
    return TRUE;
  g_autoptr (GString) detail = g_string_new ("invalid request body: ");
  for (guint i = 0; i < problems->len; i++)
    g_string_append_printf (detail, "%s%s", i > 0 ? "; " : "", ((GError *) problems->pdata[i])->message);
  cara_http_respond_problem (req, 400, detail->str);
  return FALSE;
}

JsonNode *
api_parse_body (CaraHttpRequest *req)
{
  gsize len = 0;
  const char *body = cara_http_request_get_body (req, &len);
  if (len == 0)
    {
      cara_http_respond_problem (req, 400, "invalid request body: EOF");
      return NULL;
    }
  g_autoptr (GError) error = NULL;
  JsonNode *node = cara_json_parse (body, len, &error);
  if (node == NULL)
    api_respond_invalid_body (req, error);
  return node;
}

gboolean
api_check_resource_version (const char *kind, const char *name, const char *body_rv, const char *current_rv,
                            GError **error)
{
  if (body_rv == NULL || *body_rv == '\0' || g_strcmp0 (body_rv, current_rv) == 0)
    return TRUE;
  g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT,
               "operation conflicts with current resource state: %s \"%s\" has resourceVersion %s, "
               "the request was based on %s", kind, name, current_rv, body_rv);
  return FALSE;
}
