/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-api"
#include "config.h"

#include "api-watch.h"

#include <string.h>

#include "api.h"
#include "cara-error.h"

/* GET /api/v1/{projects,nodes}?watch=true[&nodeRef=N][&resourceVersion=R]: an NDJSON stream.
 * Without R (or R=0) it starts with ADDED for every current object, as kubectl does; with R it
 * replays the events after R, or ends with a 410 Expired ERROR event when they are no longer
 * kept, so the client lists again. */
void
api_watch_handle (CaraHttpRequest *req, const char *kind, gpointer user_data)
{
  WatchHub *hub = user_data;
  const char *node_ref = cara_http_request_get_query (req, "nodeRef");
  const char *rv = cara_http_request_get_query (req, "resourceVersion");
  WatchRequest wr = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraHttpStream) stream = NULL;

  wr.kind = g_str_equal (kind, "Node") ? WATCH_KIND_NODE : g_str_equal (kind, "Event") ? WATCH_KIND_EVENT
                                                                                      : WATCH_KIND_PROJECT;
  if (wr.kind == WATCH_KIND_EVENT)
    {
      ApiEventQuery q;
      if (!api_events_parse_query (req, &q))
        return;
      wr.event_project = q.project;
      wr.event_node = q.node;
      wr.event_type = q.type;
      wr.event_since_usec = q.since_usec;
    }
  if (wr.kind == WATCH_KIND_PROJECT && node_ref != NULL && *node_ref != '\0')
    wr.node_ref = node_ref;
  if (rv != NULL && *rv != '\0' && !g_str_equal (rv, "0"))
    {
      guint64 v;
      if (!g_ascii_string_to_unsigned (rv, 10, 0, G_MAXINT64, &v, NULL))
        {
          cara_http_respond_problem (req, 400, "resourceVersion must be a non-negative integer");
          return;
        }
      wr.has_rv = TRUE;
      wr.rv = (gint64) v;
    }
  if (watch_hub_is_full (hub))
    {
      cara_http_respond_problem (req, 503, "too many watch streams are open; retry later");
      return;
    }
  stream = cara_http_respond_stream (req, 200, "application/x-ndjson", NULL, NULL);
  if (!watch_hub_add (hub, stream, &wr, &error))
    {
      /* Over the limit: the status line is out already, so say it in the stream. */
      g_autofree char *line = watch_error_line (503, "TooManyWatchers", error->message);
      cara_http_stream_write (stream, line, strlen (line));
      cara_http_stream_close (stream);
    }
}
