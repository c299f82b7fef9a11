/* SPDX-License-Identifier: Apache-2.0 */
/* A Compose document from start to end: the interpolation environment (caractrl's environment
 * over .env or --env-file), interpolation, profiles, the project name, the conversion; and the
 * hook apply and convert call. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cara-error.h"
#include "compose.h"

static char *
file_dir (const char *file)
{
  g_autofree char *dir = NULL;

  if (g_str_equal (file, "-"))
    return g_get_current_dir ();
  dir = g_path_get_dirname (file);
  if (g_path_is_absolute (dir))
    return g_steal_pointer (&dir);
  {
    g_autofree char *cwd = g_get_current_dir ();
    g_autofree char *full = g_build_filename (cwd, dir, NULL);
    g_autoptr(GFile) f = g_file_new_for_path (full); /* canonicalises "." and ".." */
    return g_file_get_path (f);
  }
}

/* caractrl's environment over the .env file (or --env-file). */
static GHashTable *
build_env (const CtlComposeOptions *opts, const char *dir, CtlComposeDiag *diag)
{
  g_auto(GStrv) own_environ = opts->environ == NULL ? g_get_environ () : NULL;
  char **environ_ = opts->environ != NULL ? opts->environ : own_environ;
  g_autoptr(GHashTable) process = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) env = NULL;
  g_autofree char *dotenv = NULL;
  g_autoptr(GError) error = NULL;
  GHashTableIter it;
  gpointer k, v;

  for (guint i = 0; environ_ != NULL && environ_[i] != NULL; i++)
    {
      const char *eq = strchr (environ_[i], '=');
      if (eq != NULL)
        g_hash_table_replace (process, g_strndup (environ_[i], (gsize) (eq - environ_[i])), g_strdup (eq + 1));
    }
  dotenv = opts->env_file != NULL ? g_strdup (opts->env_file) : g_build_filename (dir, ".env", NULL);
  env = ctl_compose_dotenv_read (dotenv, process, NULL, &error);
  if (env == NULL)
    {
      if (opts->env_file != NULL || !g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        ctl_compose_error (diag, "", _("cannot read the env file: %s"), error->message);
      env = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    }
  g_hash_table_iter_init (&it, process);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_hash_table_replace (env, g_strdup (k), g_strdup (v));
  return g_steal_pointer (&env);
}

static char *
project_name (JsonObject *top, const CtlComposeOptions *opts, const char *dir, CtlComposeDiag *diag)
{
  JsonNode *n = json_object_get_member (top, "name");
  g_autofree char *given = NULL;
  const char *what = NULL;
  char *name;

  if (opts->project_name != NULL)
    given = g_strdup (opts->project_name), what = "--project-name";
  else if (n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    given = g_strdup (json_node_get_string (n)), what = "name";
  else if (n != NULL && !JSON_NODE_HOLDS_NULL (n))
    {
      ctl_compose_error (diag, "name", _("must be a string"));
      return NULL;
    }
  if (given == NULL)
    {
      g_autofree char *base = g_path_get_basename (dir);
      name = ctl_compose_normalize_name (base);
      if (*name == '\0')
        ctl_compose_error (diag, "", _("no project name: the directory name \"%s\" has no letter or digit; give -p NAME or name:"),
                           base);
      return name;
    }
  name = ctl_compose_normalize_name (given);
  if (*name == '\0')
    {
      ctl_compose_error (diag, g_str_equal (what, "name") ? "name" : "",
                         _("project name \"%s\" has no letter or digit"), given);
      g_free (name);
      return NULL;
    }
  if (!g_str_equal (name, given))
    ctl_compose_warn (diag, g_str_equal (what, "name") ? "name" : "",
                      _("project name \"%s\" becomes \"%s\""), given, name);
  return name;
}

/* Diagnostics in the order of the file: by line (stable for one line). */
static gint
by_line (gconstpointer a, gconstpointer b, gpointer user_data)
{
  gsize skip = strlen (user_data) + 1;
  const char *sa = *(const char *const *) a, *sb = *(const char *const *) b;
  guint64 la = g_ascii_strtoull (sa + skip, NULL, 10), lb = g_ascii_strtoull (sb + skip, NULL, 10);

  if (la != lb)
    return la < lb ? -1 : 1;
  return a < b ? -1 : a > b;
}

static void
sort_diag (CtlComposeDiag *diag)
{
  g_ptr_array_sort_with_data (diag->errors, by_line, (gpointer) diag->doc->file);
  g_ptr_array_sort_with_data (diag->warnings, by_line, (gpointer) diag->doc->file);
}

static JsonNode *load (CaraManifestDoc *doc, const CtlComposeOptions *opts, CtlComposeDiag *diag);

JsonNode *
ctl_compose_load (CaraManifestDoc *doc, const CtlComposeOptions *opts, CtlComposeDiag *diag)
{
  JsonNode *result = load (doc, opts, diag);

  sort_diag (diag);
  if (result != NULL && opts->strict && diag->warnings->len > 0)
    {
      for (guint i = 0; i < diag->warnings->len; i++)
        g_ptr_array_add (diag->errors, g_strdup_printf ("%s (--strict)", (const char *) diag->warnings->pdata[i]));
      g_ptr_array_set_size (diag->warnings, 0);
      json_node_unref (result);
      return NULL;
    }
  return result;
}

static JsonNode *
load (CaraManifestDoc *doc, const CtlComposeOptions *opts, CtlComposeDiag *diag)
{
  g_autofree char *dir = file_dir (doc->file);
  g_autoptr(GHashTable) env = build_env (opts, dir, diag);
  g_autoptr(JsonNode) node = json_node_copy (doc->node);
  g_auto(GStrv) env_profiles = NULL;
  g_autofree char *name = NULL;
  CaraManifestDoc interpolated = *doc;
  CtlComposeOptions o = *opts;

  ctl_compose_interpolate_tree (node, "", env, diag);
  if (diag->errors->len > 0)
    return NULL;
  interpolated.node = node;
  if (o.profiles == NULL || o.profiles[0] == NULL)
    {
      const char *cp = g_hash_table_lookup (env, "COMPOSE_PROFILES");
      if (cp != NULL && *cp != '\0')
        o.profiles = (const char *const *) (env_profiles = g_strsplit (cp, ",", 0));
    }
  name = project_name (json_node_get_object (node), opts, dir, diag);
  if (name == NULL)
    return NULL;
  o.project_name = name;
  return ctl_compose_convert (&interpolated, &o, env, dir, diag);
}

gboolean
ctl_compose_expand_docs (GPtrArray *docs, const CtlComposeOptions *opts, GError **error)
{
  guint errors = 0;
  const char *first_file = NULL;

  for (guint i = 0; i < docs->len; i++)
    {
      CaraManifestDoc *d = docs->pdata[i];
      g_autoptr(CtlComposeDiag) diag = NULL;
      JsonNode *manifest;

      if (!ctl_compose_is_compose (d->node))
        continue;
      diag = ctl_compose_diag_new (d);
      manifest = ctl_compose_load (d, opts, diag);
      for (guint k = 0; k < diag->warnings->len; k++)
        g_printerr (_("caractrl: warning: %s\n"), (const char *) diag->warnings->pdata[k]);
      for (guint k = 0; k < diag->errors->len; k++)
        g_printerr ("caractrl: %s\n", (const char *) diag->errors->pdata[k]);
      if (manifest == NULL)
        {
          errors += MAX (diag->errors->len, 1);
          first_file = first_file ? first_file : d->file;
          continue;
        }
      json_node_unref (d->node);
      d->node = manifest;
      /* Later errors (validation of the result) point at the document, not at Compose paths. */
      g_hash_table_remove_all (d->lines);
      /* The Secrets of its secrets: follow it as documents of their own. */
      g_autoptr (GPtrArray) secret_docs = ctl_compose_split_secrets (d);
      for (guint k = 0; k < secret_docs->len; k++)
        g_ptr_array_insert (docs, (gint) ++i, secret_docs->pdata[k]);
    }
  if (errors > 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   ngettext ("%s: %u error in the Compose file; nothing was applied",
                             "%s: %u errors in the Compose file; nothing was applied", errors),
                   first_file, errors);
      return FALSE;
    }
  return TRUE;
}
