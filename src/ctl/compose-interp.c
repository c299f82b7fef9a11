/* SPDX-License-Identifier: Apache-2.0 */
/* Interpolation as Compose does it: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
 * ${VAR:?message}, ${VAR?message}, ${VAR:+replacement}, ${VAR+replacement}, $$ for a literal $;
 * defaults and replacements may themselves hold ${...}.  Any other $ is an error. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "compose.h"

static gboolean
name_start (char c)
{
  return g_ascii_isalpha (c) || c == '_';
}

static gboolean
name_char (char c)
{
  return g_ascii_isalnum (c) || c == '_';
}

static gboolean expand (const char *in, gsize len, GHashTable *env, GString *out, GPtrArray *unset,
                        char **ret_error);

static void
note_unset (GPtrArray *unset, const char *name)
{
  if (unset != NULL && !g_ptr_array_find_with_equal_func (unset, name, g_str_equal, NULL))
    g_ptr_array_add (unset, g_strdup (name));
}

/* The end of a braced expression starting after "${": the index of its '}', nesting counted. */
static gboolean
find_close (const char *in, gsize len, gsize from, gsize *ret)
{
  guint depth = 0;

  for (gsize i = from; i < len; i++)
    {
      if (in[i] == '$' && i + 1 < len && in[i + 1] == '$')
        {
          i++;
          continue;
        }
      if (in[i] == '$' && i + 1 < len && in[i + 1] == '{')
        {
          depth++;
          i++;
          continue;
        }
      if (in[i] == '}')
        {
          if (depth == 0)
            {
              *ret = i;
              return TRUE;
            }
          depth--;
        }
    }
  return FALSE;
}

static gboolean
invalid (const char *in, gsize len, char **ret_error)
{
  g_autofree char *s = g_strndup (in, len);
  *ret_error = g_strdup_printf (_("invalid interpolation format in \"%s\" (a literal $ is written $$)"), s);
  return FALSE;
}

static gboolean
braced (const char *whole, gsize whole_len, const char *e, gsize len, GHashTable *env, GString *out,
        GPtrArray *unset, char **ret_error)
{
  gsize n = 0;
  g_autofree char *name = NULL;
  const char *value;
  const char *op, *arg;
  gsize arg_len;
  gboolean colon;

  if (len == 0 || !name_start (e[0]))
    return invalid (whole, whole_len, ret_error);
  while (n < len && name_char (e[n]))
    n++;
  name = g_strndup (e, n);
  value = g_hash_table_lookup (env, name);
  if (n == len)
    {
      if (value == NULL)
        note_unset (unset, name);
      g_string_append (out, value != NULL ? value : "");
      return TRUE;
    }
  op = e + n;
  colon = *op == ':';
  if (colon)
    op++;
  if (op >= e + len || (*op != '-' && *op != '?' && *op != '+'))
    return invalid (whole, whole_len, ret_error);
  arg = op + 1;
  arg_len = (gsize) (e + len - arg);
  {
    gboolean missing = value == NULL || (colon && *value == '\0');
    switch (*op)
      {
      case '-':
        if (missing)
          return expand (arg, arg_len, env, out, unset, ret_error);
        g_string_append (out, value);
        return TRUE;
      case '+':
        if (!missing)
          return expand (arg, arg_len, env, out, unset, ret_error);
        return TRUE;
      case '?':
      default:
        if (missing)
          {
            g_autoptr(GString) msg = g_string_new (NULL);
            g_autofree char *sub_error = NULL;
            if (!expand (arg, arg_len, env, msg, NULL, &sub_error))
              {
                *ret_error = g_steal_pointer (&sub_error);
                return FALSE;
              }
            if (msg->len > 0)
              *ret_error = g_strdup_printf (_("required variable %s is missing a value: %s"), name, msg->str);
            else
              *ret_error = g_strdup_printf (_("required variable %s is missing a value"), name);
            return FALSE;
          }
        g_string_append (out, value);
        return TRUE;
      }
  }
}

static gboolean
expand (const char *in, gsize len, GHashTable *env, GString *out, GPtrArray *unset, char **ret_error)
{
  for (gsize i = 0; i < len; i++)
    {
      if (in[i] != '$')
        {
          g_string_append_c (out, in[i]);
          continue;
        }
      if (i + 1 < len && in[i + 1] == '$')
        {
          g_string_append_c (out, '$');
          i++;
        }
      else if (i + 1 < len && in[i + 1] == '{')
        {
          gsize close;
          if (!find_close (in, len, i + 2, &close))
            return invalid (in, len, ret_error);
          if (!braced (in, len, in + i + 2, close - (i + 2), env, out, unset, ret_error))
            return FALSE;
          i = close;
        }
      else if (i + 1 < len && name_start (in[i + 1]))
        {
          gsize n = i + 1;
          g_autofree char *name = NULL;
          const char *value;
          while (n < len && name_char (in[n]))
            n++;
          name = g_strndup (in + i + 1, n - i - 1);
          value = g_hash_table_lookup (env, name);
          if (value == NULL)
            note_unset (unset, name);
          g_string_append (out, value != NULL ? value : "");
          i = n - 1;
        }
      else
        return invalid (in, len, ret_error);
    }
  return TRUE;
}

gboolean
ctl_compose_interpolate (const char *in, GHashTable *env, char **ret_out, GPtrArray *ret_unset, char **ret_error)
{
  g_autoptr(GString) out = g_string_new (NULL);

  if (strchr (in, '$') == NULL)
    {
      *ret_out = g_strdup (in);
      return TRUE;
    }
  if (!expand (in, strlen (in), env, out, ret_unset, ret_error))
    return FALSE;
  *ret_out = g_string_free (g_steal_pointer (&out), FALSE);
  return TRUE;
}

static void
interpolate_string_node (JsonNode *node, const char *path, GHashTable *env, CtlComposeDiag *diag)
{
  g_autoptr(GPtrArray) unset = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *out = NULL;
  g_autofree char *msg = NULL;

  if (!ctl_compose_interpolate (json_node_get_string (node), env, &out, unset, &msg))
    {
      ctl_compose_error (diag, path, "%s", msg);
      return;
    }
  for (guint i = 0; i < unset->len; i++)
    ctl_compose_warn (diag, path, _("variable \"%s\" is not set; using an empty string"),
                      (const char *) unset->pdata[i]);
  json_node_set_string (node, out);
}

void
ctl_compose_interpolate_tree (JsonNode *node, const char *path, GHashTable *env, CtlComposeDiag *diag)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      CtlKeyIter it;
      const char *k;
      JsonNode *v;

      ctl_key_iter_init (&it, json_node_get_object (node));
      while (ctl_key_iter_next (&it, &k, &v))
        {
          g_autofree char *cp = *path ? g_strconcat (path, ".", k, NULL) : g_strdup (k);
          ctl_compose_interpolate_tree (v, cp, env, diag);
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          g_autofree char *ip = g_strdup_printf ("%s[%u]", path, i);
          ctl_compose_interpolate_tree (json_array_get_element (a, i), ip, env, diag);
        }
    }
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    interpolate_string_node (node, path, env, diag);
}
