/* SPDX-License-Identifier: Apache-2.0 */
/* The Compose converter: environment and env_file of a service, as env[] (environment wins over
 * env_file, a later env_file over an earlier one). */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cara-error.h"
#include "compose-conv.h"

/* Variables in the order they were first set, with their last value. */
typedef struct {
  GPtrArray *order;   /* char* */
  GHashTable *values; /* char* -> char* */
} Env;

static void
env_set (Env *e, const char *key, const char *value)
{
  if (!g_hash_table_contains (e->values, key))
    g_ptr_array_add (e->order, g_strdup (key));
  g_hash_table_replace (e->values, g_strdup (key), g_strdup (value));
}

/* One env_file entry: a name, or {path, required}. */
static void
read_env_file (Conv *c, JsonNode *f, const char *fp, Env *e)
{
  g_autofree char *file = NULL;
  g_autofree char *full = NULL;
  gboolean required = TRUE;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) file_order = NULL;
  g_autoptr(GHashTable) vars = NULL;

  if (JSON_NODE_HOLDS_OBJECT (f))
    {
      JsonObject *fo = json_node_get_object (f);
      JsonNode *rn = json_object_get_member (fo, "required");
      g_autofree char *rp = conv_join (fp, "required");
      if (json_object_get_member (fo, "path") == NULL)
        {
          ctl_compose_error (c->diag, fp, _("path is required"));
          return;
        }
      if (!conv_member_string (c, fo, fp, "path", &file) || (rn != NULL && !conv_want_bool (c, rn, rp, &required)))
        return;
    }
  else if (!conv_want_string (c, f, fp, &file))
    return;
  full = g_path_is_absolute (file) ? g_strdup (file) : g_build_filename (c->dir, file, NULL);
  vars = ctl_compose_dotenv_read (full, c->env, &file_order, &error);
  if (vars == NULL)
    {
      if (!required && g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        return;
      if (g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        ctl_compose_error (c->diag, fp, _("cannot read env_file %s: no such file"), file);
      else
        ctl_compose_error (c->diag, fp, _("cannot read env_file %s: %s"), file, error->message);
      return;
    }
  for (guint k = 0; k < file_order->len; k++)
    env_set (e, file_order->pdata[k], g_hash_table_lookup (vars, file_order->pdata[k]));
}

static void
map_env_files (Conv *c, JsonNode *n, const char *ep, Env *e)
{
  if (conv_is_string (n))
    {
      read_env_file (c, n, ep, e);
      return;
    }
  if (!JSON_NODE_HOLDS_ARRAY (n))
    {
      ctl_compose_error (c->diag, ep, _("must be a file name or a list of them"));
      return;
    }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (n)); i++)
    {
      g_autofree char *fp = g_strdup_printf ("%s[%u]", ep, i);
      read_env_file (c, json_array_get_element (json_node_get_array (n), i), fp, e);
    }
}

/* environment: KEY=VALUE, or a bare KEY (or KEY: null) taken from caractrl's environment. */
static void
env_pair (Conv *c, const char *key, const char *value, const char *path, gpointer data)
{
  if (*key == '\0')
    {
      ctl_compose_error (c->diag, path, _("variable name is empty"));
      return;
    }
  if (value == NULL && !g_hash_table_contains (c->env, key))
    {
      ctl_compose_warn (c->diag, path, _("\"%s\" is not set in the environment of caractrl; left out"), key);
      return;
    }
  env_set (data, key, value != NULL ? value : g_hash_table_lookup (c->env, key));
}

void
conv_map_environment (Conv *c, JsonObject *svc, const char *path, JsonObject *out)
{
  g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  Env e = { order, values };
  JsonNode *n;
  JsonArray *env;

  if ((n = json_object_get_member (svc, "env_file")) != NULL && !JSON_NODE_HOLDS_NULL (n))
    {
      g_autofree char *ep = conv_join (path, "env_file");
      map_env_files (c, n, ep, &e);
    }
  if ((n = json_object_get_member (svc, "environment")) != NULL && !JSON_NODE_HOLDS_NULL (n))
    {
      g_autofree char *ep = conv_join (path, "environment");
      conv_each_pair (c, n, ep, env_pair, &e);
    }
  if (order->len == 0)
    return;
  env = json_array_new ();
  for (guint i = 0; i < order->len; i++)
    {
      JsonObject *o = json_object_new ();
      json_object_set_string_member (o, "name", order->pdata[i]);
      json_object_set_string_member (o, "value", g_hash_table_lookup (values, order->pdata[i]));
      json_array_add_object_element (env, o);
    }
  json_object_set_array_member (out, "env", env);
}
