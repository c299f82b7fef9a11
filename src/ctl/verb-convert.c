/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl convert -f compose.yaml [-o yaml|json]: prints the Project manifest a Compose file
 * becomes (SPEC §10) and applies nothing.  Also the Compose options apply shares. */
#include "config.h"

#include <stdio.h>

#include "cara-error.h"
#include "cara-json.h"
#include "cara-manifest.h"
#include "cara-validate.h"
#include "compose.h"
#include "ctl.h"

gboolean
ctl_compose_expand (CtlArgs *args, GPtrArray *docs, GError **error)
{
  g_autoptr(GPtrArray) profiles = ctl_opt_strings (args, "profile");
  CtlComposeOptions opts = { 0 };

  if (profiles != NULL)
    g_ptr_array_add (profiles, NULL);
  opts.project_name = ctl_opt_string (args, "project-name");
  opts.env_file = ctl_opt_string (args, "env-file");
  opts.profiles = profiles != NULL ? (const char *const *) profiles->pdata : NULL;
  opts.strict = ctl_opt_bool (args, "strict");
  return ctl_compose_expand_docs (docs, &opts, error);
}

int
ctl_verb_convert (Ctl *ctl, CtlArgs *args, GError **error)
{
  g_autoptr(GPtrArray) files = ctl_opt_strings (args, "filename");
  g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_manifest_doc_free);

  if (files == NULL)
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("convert needs -f FILE (a Compose file, or - for stdin)"));
      return -1;
    }
  if (ctl->output != CTL_OUTPUT_TABLE && ctl->output != CTL_OUTPUT_YAML && ctl->output != CTL_OUTPUT_JSON)
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("convert prints yaml or json"));
      return -1;
    }
  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr(GPtrArray) d = cara_manifest_read_path (files->pdata[i], error);
      if (d == NULL)
        return -1;
      for (guint k = 0; k < d->len; k++)
        {
          CaraManifestDoc *doc = d->pdata[k];
          if (!ctl_compose_is_compose (doc->node))
            {
              g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                           _("%s:%u: not a Compose file (a Compose file has a top-level services: mapping and no kind:)"),
                           doc->file, doc->line);
              return -1;
            }
          g_ptr_array_add (docs, g_steal_pointer (&d->pdata[k]));
        }
      g_ptr_array_set_free_func (d, NULL);
    }
  if (docs->len == 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, _("no Compose document found"));
      return -1;
    }
  if (!ctl_compose_expand (args, docs, error))
    return -1;
  for (guint i = 0; i < docs->len; i++)
    {
      CaraManifestDoc *d = docs->pdata[i];
      g_autoptr(CaraProject) p = cara_project_from_json (d->node, error);
      if (p == NULL || !cara_validate_project (p, error))
        {
          g_prefix_error (error, "%s: ", d->file);
          return -1;
        }
    }
  if (ctl->output == CTL_OUTPUT_TABLE)
    ctl->output = CTL_OUTPUT_YAML;
  for (guint i = 0; i < docs->len; i++)
    {
      CaraManifestDoc *d = docs->pdata[i];
      if (ctl->output == CTL_OUTPUT_YAML && i > 0)
        printf ("---\n");
      if (!ctl_print_json_or_yaml (ctl, d->node, error))
        return -1;
    }
  return 0;
}
