/* SPDX-License-Identifier: Apache-2.0 */
/* .env and env_file files as Compose reads them: KEY=VALUE lines, optional "export ", # comments,
 * 'single' quotes (literal), "double" quotes (escapes and ${VAR}), unquoted values (trimmed, a
 * " #" starts a comment, ${VAR}); quoted values may span lines.  A bare KEY takes its value from
 * the environment, if set. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cara-error.h"
#include "compose.h"

static gboolean
is_key_char (char c, gboolean first)
{
  return g_ascii_isalpha (c) || c == '_' || (!first && (g_ascii_isdigit (c) || c == '.' || c == '-'));
}

/* Variables seen so far, then @lookup (the environment wins, as in Compose). */
static GHashTable *
merged_env (GHashTable *lookup, GHashTable *so_far)
{
  GHashTable *m = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter it;
  gpointer k, v;

  g_hash_table_iter_init (&it, so_far);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_hash_table_replace (m, g_strdup (k), g_strdup (v));
  if (lookup != NULL)
    {
      g_hash_table_iter_init (&it, lookup);
      while (g_hash_table_iter_next (&it, &k, &v))
        g_hash_table_replace (m, g_strdup (k), g_strdup (v));
    }
  return m;
}

static gboolean
interpolate_value (const char *file, guint line, const char *raw, GHashTable *lookup, GHashTable *so_far,
                   char **ret, GError **error)
{
  g_autoptr(GHashTable) env = merged_env (lookup, so_far);
  g_autofree char *msg = NULL;

  if (!ctl_compose_interpolate (raw, env, ret, NULL, &msg))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s:%u: %s", file, line, msg);
      return FALSE;
    }
  return TRUE;
}

GHashTable *
ctl_compose_dotenv_parse (const char *file, const char *data, GHashTable *lookup, GPtrArray **ret_order,
                          GError **error)
{
  g_autoptr(GHashTable) vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func (g_free);
  const char *p = data;
  guint line = 1;

  while (*p != '\0')
    {
      g_autofree char *key = NULL;
      g_autofree char *value = NULL;
      const char *start;
      guint key_line;

      /* blank space, blank lines and comments */
      while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
      if (*p == '\n')
        {
          p++, line++;
          continue;
        }
      if (*p == '\0')
        break;
      if (*p == '#')
        {
          while (*p != '\0' && *p != '\n')
            p++;
          continue;
        }
      key_line = line;
      if (g_str_has_prefix (p, "export ") || g_str_has_prefix (p, "export\t"))
        {
          p += 7;
          while (*p == ' ' || *p == '\t')
            p++;
        }
      start = p;
      if (!is_key_char (*p, TRUE))
        {
          g_autofree char *bad = g_strndup (start, strcspn (start, "=\n"));
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, _("%s:%u: invalid variable name \"%s\""), file,
                       key_line, g_strstrip (bad));
          return NULL;
        }
      while (is_key_char (*p, FALSE))
        p++;
      key = g_strndup (start, (gsize) (p - start));
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '\n' || *p == '\0' || *p == '\r' || *p == '#')
        {
          /* bare KEY: from the environment, when set */
          const char *v = lookup != NULL ? g_hash_table_lookup (lookup, key) : NULL;
          while (*p != '\0' && *p != '\n')
            p++;
          if (v != NULL)
            {
              if (!g_hash_table_contains (vars, key))
                g_ptr_array_add (order, g_strdup (key));
              g_hash_table_replace (vars, g_steal_pointer (&key), g_strdup (v));
            }
          continue;
        }
      if (*p != '=')
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, _("%s:%u: expected KEY=VALUE after \"%s\""), file,
                       key_line, key);
          return NULL;
        }
      p++;
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '\'' || *p == '"')
        {
          char q = *p++;
          g_autoptr(GString) s = g_string_new (NULL);

          while (*p != q)
            {
              if (*p == '\0')
                {
                  g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, _("%s:%u: %s: unterminated quoted value"),
                               file, key_line, key);
                  return NULL;
                }
              if (*p == '\n')
                line++;
              if (q == '"' && *p == '\\' && p[1] != '\0')
                {
                  p++;
                  switch (*p)
                    {
                    case 'n': g_string_append_c (s, '\n'); break;
                    case 'r': g_string_append_c (s, '\r'); break;
                    case 't': g_string_append_c (s, '\t'); break;
                    case '$': g_string_append (s, "$$"); break; /* stays literal through interpolation */
                    default: g_string_append_c (s, *p); break;
                    }
                  p++;
                  continue;
                }
              g_string_append_c (s, *p++);
            }
          p++;
          /* the rest of the line may only be a comment */
          while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
          if (*p != '\0' && *p != '\n' && *p != '#')
            {
              g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                           _("%s:%u: %s: unexpected text after the closing quote"), file, line, key);
              return NULL;
            }
          while (*p != '\0' && *p != '\n')
            p++;
          if (q == '"')
            {
              if (!interpolate_value (file, key_line, s->str, lookup, vars, &value, error))
                return NULL;
            }
          else
            value = g_string_free (g_steal_pointer (&s), FALSE);
        }
      else
        {
          const char *end = p;
          g_autofree char *raw = NULL;

          while (*end != '\0' && *end != '\n')
            {
              if (*end == '#' && end > p && (end[-1] == ' ' || end[-1] == '\t'))
                break;
              end++;
            }
          raw = g_strndup (p, (gsize) (end - p));
          g_strstrip (raw);
          while (*end != '\0' && *end != '\n')
            end++;
          p = end;
          if (!interpolate_value (file, key_line, raw, lookup, vars, &value, error))
            return NULL;
        }
      if (!g_hash_table_contains (vars, key))
        g_ptr_array_add (order, g_strdup (key));
      g_hash_table_replace (vars, g_steal_pointer (&key), g_steal_pointer (&value));
    }
  if (ret_order != NULL)
    *ret_order = g_steal_pointer (&order);
  return g_steal_pointer (&vars);
}

GHashTable *
ctl_compose_dotenv_read (const char *file, GHashTable *lookup, GPtrArray **ret_order, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (file, &data, NULL, &local))
    {
      g_set_error (error, CARA_ERROR,
                   g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? CARA_ERROR_NOT_FOUND : CARA_ERROR_FAILED,
                   "%s", local->message);
      return NULL;
    }
  return ctl_compose_dotenv_parse (file, data, lookup, ret_order, error);
}
