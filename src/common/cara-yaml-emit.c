/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "cara-cleanup.h"
#include "cara-error.h"
#include "cara-manifest.h"

/* JSON node -> YAML text with libyaml's emitter (block style, 2-space indent, keys in JSON
 * order).  Strings that would read back as something else ("true", "123", "", "null") are
 * double-quoted; libyaml itself quotes what cannot be plain (": ", leading "-", ...). */

static int
write_handler (void *data, unsigned char *buffer, size_t size)
{
  g_string_append_len (data, (const char *) buffer, (gssize) size);
  return 1;
}

static gboolean
emit (yaml_emitter_t *e, yaml_event_t *ev, GError **error)
{
  if (!yaml_emitter_emit (e, ev))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot write YAML: %s",
                   e->problem != NULL ? e->problem : "emitter error");
      return FALSE;
    }
  return TRUE;
}

static gboolean
emit_scalar (yaml_emitter_t *e, const char *text, gboolean is_string, GError **error)
{
  yaml_event_t ev;
  yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

  /* "<<" would read back as a merge key. */
  if (is_string && (!cara_yaml_plain_scalar_is_string (text) || strcmp (text, "<<") == 0))
    style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
  yaml_scalar_event_initialize (&ev, NULL, NULL, (yaml_char_t *) text, (int) strlen (text),
                                1, 1, style);
  return emit (e, &ev, error);
}

static gboolean
emit_node (yaml_emitter_t *e, JsonNode *node, GError **error)
{
  yaml_event_t ev;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter it;
        const char *k;
        JsonNode *v;

        yaml_mapping_start_event_initialize (&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (!emit (e, &ev, error))
          return FALSE;
        json_object_iter_init_ordered (&it, json_node_get_object (node));
        while (json_object_iter_next_ordered (&it, &k, &v))
          if (!emit_scalar (e, k, TRUE, error) || !emit_node (e, v, error))
            return FALSE;
        yaml_mapping_end_event_initialize (&ev);
        return emit (e, &ev, error);
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *a = json_node_get_array (node);

        yaml_sequence_start_event_initialize (&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (!emit (e, &ev, error))
          return FALSE;
        for (guint i = 0; i < json_array_get_length (a); i++)
          if (!emit_node (e, json_array_get_element (a, i), error))
            return FALSE;
        yaml_sequence_end_event_initialize (&ev);
        return emit (e, &ev, error);
      }
    case JSON_NODE_NULL:
      return emit_scalar (e, "null", FALSE, error);
    case JSON_NODE_VALUE:
    default:
      break;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return emit_scalar (e, json_node_get_string (node), TRUE, error);
    case G_TYPE_BOOLEAN:
      return emit_scalar (e, json_node_get_boolean (node) ? "true" : "false", FALSE, error);
    case G_TYPE_INT64:
      {
        g_autofree char *s = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
        return emit_scalar (e, s, FALSE, error);
      }
    case G_TYPE_DOUBLE:
      {
        char buf[G_ASCII_DTOSTR_BUF_SIZE + 2];
        g_ascii_dtostr (buf, G_ASCII_DTOSTR_BUF_SIZE, json_node_get_double (node));
        /* Keep it a float when read back: 1000.0 is "1000.0", not "1000". */
        if (strpbrk (buf, ".eEni") == NULL)
          g_strlcat (buf, ".0", sizeof buf);
        return emit_scalar (e, buf, FALSE, error);
      }
    default:
      return emit_scalar (e, "null", FALSE, error);
    }
}

static gboolean
emit_document (yaml_emitter_t *e, JsonNode *node, GError **error)
{
  yaml_event_t ev;

  yaml_stream_start_event_initialize (&ev, YAML_UTF8_ENCODING);
  if (!emit (e, &ev, error))
    return FALSE;
  yaml_document_start_event_initialize (&ev, NULL, NULL, NULL, 1);
  if (!emit (e, &ev, error) || !emit_node (e, node, error))
    return FALSE;
  yaml_document_end_event_initialize (&ev, 1);
  if (!emit (e, &ev, error))
    return FALSE;
  yaml_stream_end_event_initialize (&ev);
  return emit (e, &ev, error) && yaml_emitter_flush (e);
}

char *
cara_yaml_from_json (JsonNode *node, GError **error)
{
  yaml_emitter_t emitter;
  g_autoptr(GString) out = g_string_new (NULL);
  gboolean ok;

  if (!yaml_emitter_initialize (&emitter))
    {
      g_set_error_literal (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot initialise the YAML emitter");
      return NULL;
    }
  yaml_emitter_set_output (&emitter, write_handler, out);
  yaml_emitter_set_unicode (&emitter, 1);
  yaml_emitter_set_indent (&emitter, 2);
  yaml_emitter_set_width (&emitter, -1);
  ok = emit_document (&emitter, node, error);
  yaml_emitter_delete (&emitter);
  return ok ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}
