/* SPDX-License-Identifier: Apache-2.0 */
/* The Compose converter: Typed reading of a Compose document's values: each wanted type, or an error at the key's path. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cara-error.h"
#include "compose-conv.h"

char *
conv_join (const char *path, const char *key)
{
  return *path ? g_strconcat (path, ".", key, NULL) : g_strdup (key);
}

gboolean
conv_is_string (JsonNode *v)
{
  return JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING;
}

/* Scalars as text, as Compose casts them. NULL for null, lists and mappings. */
char *
conv_scalar_text (JsonNode *v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!JSON_NODE_HOLDS_VALUE (v))
    return NULL;
  switch (json_node_get_value_type (v))
    {
    case G_TYPE_STRING:
      return g_strdup (json_node_get_string (v));
    case G_TYPE_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (v));
    case G_TYPE_BOOLEAN:
      return g_strdup (json_node_get_boolean (v) ? "true" : "false");
    default:
      return g_strdup (g_ascii_dtostr (buf, sizeof buf, json_node_get_double (v)));
    }
}

gboolean
conv_want_string (Conv *c, JsonNode *v, const char *path, char **ret)
{
  char *s = conv_scalar_text (v);
  if (s == NULL)
    {
      ctl_compose_error (c->diag, path, _("must be a string"));
      return FALSE;
    }
  *ret = s;
  return TRUE;
}

gboolean
conv_want_int (Conv *c, JsonNode *v, const char *path, gint64 *ret)
{
  g_autofree char *s = conv_scalar_text (v);
  gint64 n;

  if (s == NULL || !g_ascii_string_to_signed (s, 10, 0, G_MAXINT32, &n, NULL))
    {
      ctl_compose_error (c->diag, path, _("must be a whole number"));
      return FALSE;
    }
  *ret = n;
  return TRUE;
}

gboolean
conv_want_bool (Conv *c, JsonNode *v, const char *path, gboolean *ret)
{
  g_autofree char *s = conv_scalar_text (v);

  if (s != NULL && (g_str_equal (s, "true") || g_str_equal (s, "false")))
    {
      *ret = g_str_equal (s, "true");
      return TRUE;
    }
  ctl_compose_error (c->diag, path, _("must be true or false"));
  return FALSE;
}

JsonObject *
conv_want_mapping (Conv *c, JsonNode *v, const char *path)
{
  if (v != NULL && JSON_NODE_HOLDS_OBJECT (v))
    return json_node_get_object (v);
  ctl_compose_error (c->diag, path, _("must be a mapping"));
  return NULL;
}

JsonArray *
conv_want_list (Conv *c, JsonNode *v, const char *path)
{
  if (v != NULL && JSON_NODE_HOLDS_ARRAY (v))
    return json_node_get_array (v);
  ctl_compose_error (c->diag, path, _("must be a list"));
  return NULL;
}

gboolean
conv_member_string (Conv *c, JsonObject *o, const char *path, const char *key, char **ret)
{
  JsonNode *m = json_object_get_member (o, key);
  g_autofree char *kp = NULL;

  *ret = NULL;
  if (m == NULL)
    return TRUE;
  kp = conv_join (path, key);
  return conv_want_string (c, m, kp, ret);
}

void
conv_map_string (Conv *c, JsonObject *from, const char *path, const char *key, JsonObject *out,
                 const char *out_key)
{
  JsonNode *m = json_object_get_member (from, key);
  g_autofree char *s = NULL;

  if (m == NULL || JSON_NODE_HOLDS_NULL (m))
    return;
  if (conv_member_string (c, from, path, key, &s))
    json_object_set_string_member (out, out_key, s);
}

void
conv_each_pair (Conv *c, JsonNode *n, const char *path, ConvPairFunc fn, gpointer data)
{
  if (JSON_NODE_HOLDS_ARRAY (n))
    {
      JsonArray *a = json_node_get_array (n);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          g_autofree char *ip = g_strdup_printf ("%s[%u]", path, i);
          g_autofree char *item = NULL;
          char *eq;
          if (!conv_want_string (c, json_array_get_element (a, i), ip, &item))
            continue;
          eq = strchr (item, '=');
          if (eq != NULL)
            *eq = '\0';
          fn (c, item, eq != NULL ? eq + 1 : NULL, ip, data);
        }
    }
  else if (JSON_NODE_HOLDS_OBJECT (n))
    {
      CtlKeyIter it;
      const char *k;
      JsonNode *v;
      ctl_key_iter_init (&it, json_node_get_object (n));
      while (ctl_key_iter_next (&it, &k, &v))
        {
          g_autofree char *kp = conv_join (path, k);
          g_autofree char *value = NULL;
          if (JSON_NODE_HOLDS_NULL (v))
            fn (c, k, NULL, kp, data);
          else if (conv_want_string (c, v, kp, &value))
            fn (c, k, value, kp, data);
        }
    }
  else
    ctl_compose_error (c->diag, path, _("must be a list of KEY=VALUE or a mapping"));
}

JsonNode *
conv_string_array_node (char **strv)
{
  g_autoptr(JsonArray) a = json_array_new ();
  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    json_array_add_string_element (a, strv[i]);
  return json_node_init_array (json_node_alloc (), a); /* takes its own reference */
}

void
conv_add_seconds (Conv *c, JsonObject *from, const char *key, const char *path, JsonObject *out, const char *out_key)
{
  JsonNode *m = json_object_get_member (from, key);
  g_autofree char *kp = conv_join (path, key);
  g_autofree char *s = NULL;
  g_autofree char *msg = NULL;
  gint64 secs;
  gboolean rounded;

  if (m == NULL || JSON_NODE_HOLDS_NULL (m))
    return;
  if (!conv_want_string (c, m, kp, &s))
    return;
  if (!ctl_compose_parse_seconds (s, &secs, &rounded, &msg))
    {
      ctl_compose_error (c->diag, kp, "%s", msg);
      return;
    }
  if (rounded)
    ctl_compose_warn (c->diag, kp, _("%s rounded up to %llds (whole seconds here)"), s, (long long) secs);
  json_object_set_int_member (out, out_key, secs);
}
