/* SPDX-License-Identifier: Apache-2.0 */
/* Cluster events (SPEC §11): agents report theirs (POST /api/v1/nodes/{name}/events), everyone
 * with read access lists or watches them (GET /api/v1/events). */
#define G_LOG_DOMAIN "cara-api"
#include "config.h"

#include "api.h"

#include "cara-error.h"
#include "cara-event.h"
#include "cara-json.h"
#include "cara-quantity.h"
#include "store.h"

/* Events in one report at most. */
#define REPORT_MAX 500
/* A list answers the newest this many by default (?limit= up to LIST_MAX). */
#define LIST_DEFAULT 10000
#define LIST_MAX 100000

static JsonNode *
list_to_json (GPtrArray *events)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "items");
  json_builder_begin_array (b);
  for (guint i = 0; i < events->len; i++)
    json_builder_add_value (b, cara_event_to_json (events->pdata[i]));
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* POST /api/v1/nodes/{name}/events: one event or {"items": [...]}; every one is about this
 * node (an event naming another node is refused: a node token speaks for its own node only). */
void
api_nodes_events_create (CaraHttpRequest *req, gpointer user_data)
{
  const char *node = cara_http_request_get_param (req, "name");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) body = api_parse_body (req);
  if (body == NULL)
    return;
  g_autoptr (CaraNode) n = NULL;
  if (!store_get_node (node, &n, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_autoptr (GPtrArray) events = cara_event_list_from_json (body, REPORT_MAX, &error);
  if (events == NULL)
    {
      api_respond_invalid_body (req, error);
      return;
    }
  for (guint i = 0; i < events->len; i++)
    {
      CaraEvent *e = events->pdata[i];
      if (e->node == NULL)
        e->node = g_strdup (node);
      else if (g_strcmp0 (e->node, node) != 0)
        {
          g_autofree char *at = events->len > 1 ? g_strdup_printf ("items[%u].", i) : g_strdup ("");
          g_autofree char *detail = g_strdup_printf ("invalid request body: %snode: must be %s, the reporting node, "
                                                     "not %s", at, node, e->node);
          cara_http_respond_problem (req, 400, detail);
          return;
        }
    }
  if (!store_cluster_events_insert (events, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_autoptr (JsonNode) json = list_to_json (events);
  cara_http_respond_json (req, 201, json);
}

gboolean
api_events_parse_query (CaraHttpRequest *req, ApiEventQuery *ret)
{
  ApiEventQuery q = { 0 };
  const char *since = cara_http_request_get_query (req, "since");
  const char *limit = cara_http_request_get_query (req, "limit");

  q.project = cara_http_request_get_query (req, "project");
  q.node = cara_http_request_get_query (req, "node");
  q.type = cara_http_request_get_query (req, "type");
  if (q.project && !*q.project)
    q.project = NULL;
  if (q.node && !*q.node)
    q.node = NULL;
  if (q.type && !*q.type)
    q.type = NULL;
  CaraEventType t;
  if (q.type && !cara_event_type_from_string (q.type, &t))
    {
      g_autofree char *d = g_strdup_printf ("type: must be Normal or Warning, not \"%s\"", q.type);
      cara_http_respond_problem (req, 400, d);
      return FALSE;
    }
  if (since && *since)
    {
      /* An RFC 3339 time, or a duration back from now ("1h", "30m"). */
      g_autoptr (GDateTime) dt = NULL;
      gint64 ago = 0;
      if (cara_duration_parse (since, &ago, NULL) && ago >= 0)
        q.since_usec = MAX (g_get_real_time () - ago, 1);
      else if (cara_time_parse (since, &dt, NULL) && dt != NULL)
        q.since_usec = MAX (g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt), 1);
      else
        {
          g_autofree char *d = g_strdup_printf ("since: must be an RFC 3339 time or a duration such as 1h, not \"%s\"",
                                                since);
          cara_http_respond_problem (req, 400, d);
          return FALSE;
        }
    }
  q.limit = LIST_DEFAULT;
  if (limit && *limit)
    {
      guint64 v = 0;
      if (!g_ascii_string_to_unsigned (limit, 10, 1, LIST_MAX, &v, NULL))
        {
          g_autofree char *d = g_strdup_printf ("limit: must be a number from 1 to %d, not \"%s\"", LIST_MAX, limit);
          cara_http_respond_problem (req, 400, d);
          return FALSE;
        }
      q.limit = (guint) v;
    }
  *ret = q;
  return TRUE;
}

/* GET /api/v1/events?project=&node=&type=&since=&limit=[&watch=true] */
void
api_events_list (CaraHttpRequest *req, gpointer user_data)
{
  ApiEventQuery q;
  if (!api_events_parse_query (req, &q))
    return;
  if (api_dispatch_watch (req, "Event"))
    return;
  StoreClusterEventFilter f = { .project = q.project, .node = q.node, .type = q.type, .since_usec = q.since_usec,
                                .limit = q.limit };
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GError) error = NULL;
  if (!store_cluster_events_list (&f, &events, NULL, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_autoptr (JsonNode) json = list_to_json (events);
  cara_http_respond_json (req, 200, json);
}
