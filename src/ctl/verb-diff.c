/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl diff -f FILE|DIR|-: for every object of the manifests, a unified diff of the live object
 * against what `apply` would make of it (both in their canonical form, as YAML), by diff(1) as
 * `kubectl diff` does.  Exit 0: no differences, 1: some, >1: trouble. */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cara-error.h"
#include "cara-json.h"
#include "ctl-manifests.h"
#include "ctl.h"

static char *
write_temp (const char *text, GError **error)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("caractrl-diff-XXXXXX.yaml", &path, error);

  if (fd < 0)
    return NULL;
  close (fd);
  if (!g_file_set_contents (path, text, -1, error))
    {
      g_unlink (path);
      return NULL;
    }
  return g_steal_pointer (&path);
}

/* Prints the unified diff; *ret_differ tells whether there was one. */
static gboolean
diff_texts (const char *live, const char *file, const char *label, gboolean *ret_differ, GError **error)
{
  g_autofree char *a = write_temp (live, error);
  g_autofree char *b = a ? write_temp (file, error) : NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *label_a = g_strdup_printf ("live/%s", label);
  g_autofree char *label_b = g_strdup_printf ("file/%s", label);
  int status = 0;
  gboolean ok;

  if (b == NULL)
    {
      if (a)
        g_unlink (a);
      return FALSE;
    }
  const char *argv[] = { "diff", "-u", "--label", label_a, "--label", label_b, a, b, NULL };
  ok = g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, error);
  g_unlink (a);
  g_unlink (b);
  if (!ok)
    {
      g_prefix_error (error, _("cannot run diff: "));
      return FALSE;
    }
  if (WIFEXITED (status) && WEXITSTATUS (status) <= 1)
    {
      fputs (out, stdout);
      *ret_differ = WEXITSTATUS (status) == 1;
      return TRUE;
    }
  g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("diff failed: %s"), g_strstrip (err));
  return FALSE;
}

int
ctl_verb_diff (Ctl *ctl, CtlArgs *args, GError **error)
{
  g_autoptr (GPtrArray) files = ctl_opt_strings (args, "filename");
  g_autoptr (GPtrArray) docs = NULL;
  g_autoptr (GPtrArray) items = NULL;
  gboolean any = FALSE;

  if (files == NULL)
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("diff needs -f FILE, a directory or - for stdin"));
      return -1;
    }
  if (!ctl_manifests_read_with_compose (files, args, &docs, &items, error))
    return -1;
  for (guint i = 0; i < items->len; i++)
    {
      CtlItem *it = items->pdata[i];
      g_autofree char *esc = cara_http_escape (it->name);
      g_autofree char *path = g_strdup_printf ("/api/v1/%s/%s", it->kind, esc);
      g_autofree char *label = g_strdup_printf ("%s/%s", ctl_kind_singular (it->kind), it->name);
      g_autoptr (GError) local = NULL;
      g_autoptr (JsonNode) live = ctl_get (ctl, path, &local);
      g_autoptr (JsonNode) live_normal = NULL;
      g_autofree char *live_text = NULL;
      g_autofree char *file_text = NULL;
      gboolean differ = FALSE;

      if (live == NULL && !g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return -1;
        }
      /* Not there yet: all of it is added. */
      if (live != NULL && (live_normal = ctl_comparable (it->kind, live, error)) == NULL)
        return -1;
      live_text = live_normal ? cara_yaml_from_json (live_normal, error) : g_strdup ("");
      file_text = live_text ? cara_yaml_from_json (it->normal, error) : NULL;
      if (file_text == NULL || !diff_texts (live_text, file_text, label, &differ, error))
        return -1;
      any |= differ;
    }
  fflush (stdout);
  return any ? 1 : 0;
}
