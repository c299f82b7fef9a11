/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl delete project|node NAME... [--force] [--wait] | delete -f FILE */
#include "config.h"

#include <stdio.h>

#include "cara-error.h"
#include "cara-json.h"
#include "cara-manifest.h"
#include "ctl.h"

typedef struct {
  char *kind; /* "nodes" | "projects" */
  char *name;
} Target;

static void
target_free (Target *t)
{
  if (t == NULL)
    return;
  g_free (t->kind);
  g_free (t->name);
  g_free (t);
}

static Target *
target_new (const char *kind, const char *name)
{
  Target *t = g_new0 (Target, 1);
  t->kind = g_strdup (kind);
  t->name = g_strdup (name);
  return t;
}

static GPtrArray *
targets_from_files (CtlArgs *args, GPtrArray *files, GError **error)
{
  g_autoptr (GPtrArray) targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  for (guint f = 0; f < files->len; f++)
    {
      g_autoptr (GPtrArray) docs = cara_manifest_read_path (files->pdata[f], error);
      /* A Compose file names what apply made of it: the same conversion, the same names. */
      if (docs == NULL || !ctl_compose_expand (args, docs, error))
        return NULL;
      for (guint i = 0; i < docs->len; i++)
        {
          CaraManifestDoc *d = docs->pdata[i];
          const char *kind = cara_json_get_kind (d->node);
          const char *k = g_str_equal (kind, "Node") ? "nodes" : g_str_equal (kind, "Project") ? "projects"
                        : g_str_equal (kind, "Secret") ? "secrets" : NULL;
          JsonObject *o = JSON_NODE_HOLDS_OBJECT (d->node) ? json_node_get_object (d->node) : NULL;
          const char *name = ctl_meta_name (o);
          if (k == NULL || *name == '\0')
            {
              if (k)
                g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, _("%s:%u: metadata.name is required"),
                             d->file, d->line);
              else
                g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, _("%s:%u: unsupported kind \"%s\""),
                             d->file, d->line, kind);
              return NULL;
            }
          g_ptr_array_add (targets, target_new (k, name));
        }
    }
  /* Secrets last: the projects of the same files that use them go first. */
  g_autoptr (GPtrArray) ordered = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < targets->len; i++)
      {
        Target *t = targets->pdata[i];
        if (t != NULL && g_str_equal (t->kind, "secrets") == (pass == 1))
          {
            g_ptr_array_add (ordered, t);
            targets->pdata[i] = NULL;
          }
      }
  return g_steal_pointer (&ordered);
}

int
ctl_verb_delete (Ctl *ctl, CtlArgs *args, GError **error)
{
  g_autoptr (GPtrArray) files = ctl_opt_strings (args, "filename");
  g_autoptr (GPtrArray) targets = NULL;
  gboolean force = ctl_opt_bool (args, "force");
  gboolean wait = ctl_opt_bool (args, "wait");
  gint64 timeout = 0;
  if (!ctl_wait_timeout (args, &timeout, error))
    return -1;

  if (files)
    {
      if (args->positional->len > 0)
        {
          g_set_error (error, CTL_USAGE_ERROR, 0, _("give either -f FILE or names, not both"));
          return -1;
        }
      targets = targets_from_files (args, files, error);
      if (targets == NULL)
        return -1;
    }
  else
    {
      g_autofree char *kind = NULL;
      g_autoptr (GPtrArray) names = NULL;
      if (!ctl_resolve_kind_names (args->positional, NULL, &kind, &names, error))
        return -1;
      if (names->len == 0)
        {
          g_set_error (error, CTL_USAGE_ERROR, 0, _("name at least one %s to delete"), ctl_kind_singular (kind));
          return -1;
        }
      targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
      for (guint i = 0; i < names->len; i++)
        g_ptr_array_add (targets, target_new (kind, names->pdata[i]));
    }

  int rc = 0;
  g_autoptr (GPtrArray) pending = g_ptr_array_new ();
  for (guint i = 0; i < targets->len; i++)
    {
      Target *t = targets->pdata[i];
      const char *singular = ctl_kind_singular (t->kind);
      g_autofree char *esc = cara_http_escape (t->name);
      g_autofree char *path = g_strdup_printf ("/api/v1/%s/%s%s", t->kind, esc, force ? "?force=true" : "");
      guint status = 0;
      g_autoptr (GError) local = NULL;
      if (!ctl_request (ctl, "DELETE", path, NULL, &status, NULL, &local))
        {
          if (!g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND) || targets->len == 1)
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return -1;
            }
          g_printerr ("caractrl: %s\n", local->message);
          rc = 1;
          continue;
        }
      if (status == 202 && wait)
        g_ptr_array_add (pending, t);
      else if (!ctl->quiet && status == 202)
        printf (_("%s \"%s\" is being deleted\n"), singular, t->name);
      else if (!ctl->quiet)
        printf (_("%s \"%s\" deleted\n"), singular, t->name);
      fflush (stdout);
    }

  gint64 deadline = g_get_monotonic_time () + timeout;
  for (guint i = 0; i < pending->len; i++)
    {
      Target *t = pending->pdata[i];
      if (!ctl_wait_gone (ctl, t->kind, t->name, deadline, error))
        return -1;
      if (!ctl->quiet)
        printf (_("%s \"%s\" deleted\n"), ctl_kind_singular (t->kind), t->name);
      fflush (stdout);
    }
  return rc;
}
