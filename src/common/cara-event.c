/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-event.h"
#include "cara-fields.h"
#include "cara-json.h"

const char *
cara_event_type_to_string (CaraEventType t)
{
  return t == CARA_EVENT_WARNING ? "Warning" : "Normal";
}

gboolean
cara_event_type_from_string (const char *s, CaraEventType *ret)
{
  if (g_strcmp0 (s, "Normal") == 0)
    *ret = CARA_EVENT_NORMAL;
  else if (g_strcmp0 (s, "Warning") == 0)
    *ret = CARA_EVENT_WARNING;
  else
    return FALSE;
  return TRUE;
}

static char *
cut_message (const char *message)
{
  if (message == NULL)
    return g_strdup ("");
  if (strlen (message) <= CARA_EVENT_MESSAGE_MAX)
    return g_strdup (message);
  /* On a character boundary. */
  const char *end = message + CARA_EVENT_MESSAGE_MAX;
  while (end > message && ((guchar) *end & 0xC0) == 0x80)
    end--;
  return g_strndup (message, end - message);
}

CaraEvent *
cara_event_new (CaraEventType type, const char *reason, const char *object_kind, const char *object_name,
                const char *node, const char *message)
{
  CaraEvent *e = g_new0 (CaraEvent, 1);
  e->type = type;
  e->reason = g_strdup (reason);
  e->object_kind = g_strdup (object_kind);
  e->object_name = g_strdup (object_name);
  e->node = node && *node ? g_strdup (node) : NULL;
  e->message = cut_message (message);
  return e;
}

void
cara_event_free (CaraEvent *e)
{
  if (e == NULL)
    return;
  g_free (e->reason);
  g_free (e->object_kind);
  g_free (e->object_name);
  g_free (e->node);
  g_free (e->message);
  g_free (e);
}

static GDateTime *
datetime_from_usec (gint64 usec)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  return g_date_time_add (t, usec % G_USEC_PER_SEC);
}

JsonNode *
cara_event_to_json (const CaraEvent *e)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GDateTime) t = datetime_from_usec (e->time_usec ? e->time_usec : g_get_real_time ());
  g_autofree char *time = cara_time_format (t);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "time");
  json_builder_add_string_value (b, time);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, cara_event_type_to_string (e->type));
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, e->reason);
  json_builder_set_member_name (b, "object");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, e->object_kind);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, e->object_name);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "node");
  json_builder_add_string_value (b, e->node ? e->node : "");
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, e->message ? e->message : "");
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* "items[2].reason" */
static char *
field_path (const char *path, const char *field)
{
  return path && *path ? g_strdup_printf ("%s.%s", path, field) : g_strdup (field);
}

/* A string member: required (non-empty) or optional; anything but a string is an error. */
static gboolean
get_string (JsonObject *o, const char *path, const char *field, gboolean required, const char **ret,
            GError **error)
{
  JsonNode *m = json_object_get_member (o, field);
  g_autofree char *fp = field_path (path, field);

  *ret = NULL;
  if (m == NULL || JSON_NODE_HOLDS_NULL (m))
    {
      if (!required)
        return TRUE;
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: required", fp);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_STRING)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: must be a string", fp);
      return FALSE;
    }
  *ret = json_node_get_string (m);
  if (required && **ret == '\0')
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: required", fp);
      return FALSE;
    }
  return TRUE;
}

/* CamelCase: a capital letter, then letters and digits. */
static gboolean
is_camel_word (const char *s)
{
  if (!g_ascii_isupper (s[0]) || strlen (s) > CARA_EVENT_REASON_MAX)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum (*p))
      return FALSE;
  return TRUE;
}

CaraEvent *
cara_event_from_json (JsonNode *node, const char *path, GError **error)
{
  const char *time = NULL, *type = NULL, *reason = NULL, *kind = NULL, *name = NULL, *on = NULL, *msg = NULL;
  CaraEventType t;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: must be an object", path && *path ? path : "event");
      return NULL;
    }
  g_autoptr (JsonNode) doc = json_node_copy (node);
  json_object_set_string_member (json_node_get_object (doc), "kind", "Event");
  g_autoptr (GPtrArray) unknown = cara_fields_check (doc, "Event", CARA_FIELDS_ALL);
  if (unknown->len > 0)
    {
      const GError *first = unknown->pdata[0];
      if (path && *path)
        g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s.%s", path, first->message);
      else
        g_set_error_literal (error, CARA_ERROR, CARA_ERROR_INVALID, first->message);
      return NULL;
    }
  JsonObject *o = json_node_get_object (node);
  if (!get_string (o, path, "time", FALSE, &time, error) || !get_string (o, path, "type", TRUE, &type, error)
      || !get_string (o, path, "reason", TRUE, &reason, error) || !get_string (o, path, "node", FALSE, &on, error)
      || !get_string (o, path, "message", FALSE, &msg, error))
    return NULL;
  if (!cara_event_type_from_string (type, &t))
    {
      g_autofree char *fp = field_path (path, "type");
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: must be Normal or Warning, not \"%s\"", fp, type);
      return NULL;
    }
  if (!is_camel_word (reason))
    {
      g_autofree char *fp = field_path (path, "reason");
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "%s: must be one CamelCase word of at most %d letters and digits (e.g. \"Pulled\")", fp,
                   CARA_EVENT_REASON_MAX);
      return NULL;
    }
  g_autofree char *opath = field_path (path, "object");
  JsonNode *obj = json_object_get_member (o, "object");
  if (obj == NULL || !JSON_NODE_HOLDS_OBJECT (obj))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: %s", opath,
                   obj == NULL ? "required" : "must be an object {kind, name}");
      return NULL;
    }
  JsonObject *oo = json_node_get_object (obj);
  if (!get_string (oo, opath, "kind", TRUE, &kind, error) || !get_string (oo, opath, "name", TRUE, &name, error))
    return NULL;
  if (!is_camel_word (kind))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s.kind: must be a kind such as Project or Node", opath);
      return NULL;
    }
  if (strlen (name) > 253)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s.name: longer than 253 characters", opath);
      return NULL;
    }
  gint64 usec = 0;
  if (time != NULL && *time != '\0')
    {
      g_autoptr (GDateTime) dt = NULL;
      g_autoptr (GError) local = NULL;
      if (!cara_time_parse (time, &dt, &local) || dt == NULL)
        {
          g_autofree char *fp = field_path (path, "time");
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: not an RFC 3339 time: \"%s\"", fp, time);
          return NULL;
        }
      usec = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
    }
  CaraEvent *e = cara_event_new (t, reason, kind, name, on, msg);
  e->time_usec = usec;
  return e;
}

GPtrArray *
cara_event_list_from_json (JsonNode *node, guint max_items, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_event_free);

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node) && json_object_has_member (json_node_get_object (node), "items"))
    {
      JsonObject *o = json_node_get_object (node);
      JsonNode *items = json_object_get_member (o, "items");
      if (json_object_get_size (o) != 1)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "a list of events has only \"items\"");
          return NULL;
        }
      if (!JSON_NODE_HOLDS_ARRAY (items) || json_array_get_length (json_node_get_array (items)) == 0)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "items: must be a non-empty array of events");
          return NULL;
        }
      JsonArray *a = json_node_get_array (items);
      if (json_array_get_length (a) > max_items)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "items: at most %u events at once", max_items);
          return NULL;
        }
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          g_autofree char *path = g_strdup_printf ("items[%u]", i);
          CaraEvent *e = cara_event_from_json (json_array_get_element (a, i), path, error);
          if (e == NULL)
            return NULL;
          g_ptr_array_add (out, e);
        }
      return g_steal_pointer (&out);
    }
  CaraEvent *e = cara_event_from_json (node, NULL, error);
  if (e == NULL)
    return NULL;
  g_ptr_array_add (out, e);
  return g_steal_pointer (&out);
}
