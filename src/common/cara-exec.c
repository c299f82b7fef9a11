/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-exec"
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "cara-error.h"
#include "cara-exec.h"
#include "cara-json.h"
#include "cara-websocket.h"

void
cara_exec_frame_append (GByteArray *out, CaraExecChannel channel, const guint8 *data, gsize len, gboolean mask)
{
  g_autofree guint8 *payload = g_malloc (len + 1);
  payload[0] = (guint8) channel;
  if (len)
    memcpy (payload + 1, data, len);
  cara_ws_frame_append (out, CARA_WS_OP_BINARY, TRUE, payload, len + 1, mask);
}

static JsonObject *
parse_object (const guint8 *data, gsize len, const char *what, GError **error)
{
  if (!cara_json_check_depth ((const char *) data, (gssize) len, error))
    return NULL;
  g_autoptr (JsonParser) p = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (p, (const char *) data, (gssize) len, &local))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: invalid JSON: %s", what, local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (p);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: expected a JSON object", what);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

/* An integer member in [min, max]. */
static gboolean
int_member (JsonObject *o, const char *what, const char *name, gint64 min, gint64 max, gint64 *ret, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s.%s: required", what, name);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s.%s: expected an integer", what, name);
      return FALSE;
    }
  gint64 v = json_node_get_int (n);
  if (v < min || v > max)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s.%s: %" G_GINT64_FORMAT " is out of range (%"
                   G_GINT64_FORMAT "..%" G_GINT64_FORMAT ")", what, name, v, min, max);
      return FALSE;
    }
  *ret = v;
  return TRUE;
}

gboolean
cara_exec_parse_size (const guint8 *data, gsize len, guint *ret_width, guint *ret_height, GError **error)
{
  g_autoptr (JsonObject) o = parse_object (data, len, "terminal size", error);
  gint64 w = 0, h = 0;
  if (o == NULL || !int_member (o, "terminal size", "width", 1, 65535, &w, error)
      || !int_member (o, "terminal size", "height", 1, 65535, &h, error))
    return FALSE;
  *ret_width = (guint) w;
  *ret_height = (guint) h;
  return TRUE;
}

char *
cara_exec_size_json (guint width, guint height)
{
  return g_strdup_printf ("{\"width\":%u,\"height\":%u}", width, height);
}

char *
cara_exec_status_json (int exit_code)
{
  return g_strdup_printf ("{\"exitCode\":%d}", exit_code);
}

gboolean
cara_exec_parse_status (const guint8 *data, gsize len, int *ret_exit_code, GError **error)
{
  g_autoptr (JsonObject) o = parse_object (data, len, "exit status", error);
  gint64 code = 0;
  if (o == NULL || !int_member (o, "exit status", "exitCode", G_MININT, G_MAXINT, &code, error))
    return FALSE;
  *ret_exit_code = (int) code;
  return TRUE;
}

gboolean
cara_docker_demux_feed (CaraDockerDemux *d, const guint8 *data, gsize len, CaraDockerDemuxFunc func,
                        gpointer user_data)
{
  while (len > 0)
    {
      if (d->frame_left == 0)
        {
          gsize take = MIN (sizeof d->header - d->header_len, len);
          memcpy (d->header + d->header_len, data, take);
          d->header_len += take;
          data += take;
          len -= take;
          if (d->header_len == sizeof d->header)
            {
              d->stream = d->header[0];
              d->frame_left = ((gsize) d->header[4] << 24) | ((gsize) d->header[5] << 16)
                              | ((gsize) d->header[6] << 8) | d->header[7];
              d->header_len = 0;
            }
          continue;
        }
      gsize take = MIN (d->frame_left, len);
      if (!func (d->stream, data, take, user_data))
        return FALSE;
      d->frame_left -= take;
      data += take;
      len -= take;
    }
  return TRUE;
}
