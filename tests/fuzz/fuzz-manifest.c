/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the manifest reader and the YAML emitter: reading never crashes or
 * explodes, and every document read survives YAML output and reading back unchanged. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cara-error.h"
#include "cara-json.h"
#include "cara-manifest.h"
#include "cara-validate.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check_doc (CaraManifestDoc *d)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *yaml = cara_yaml_from_json (d->node, &error);
  g_autoptr(GPtrArray) back = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autoptr(CaraProject) p = NULL;

  if (yaml == NULL)
    abort ();
  back = cara_manifest_read_data ("emitted.yaml", yaml, strlen (yaml), &error);
  if (back == NULL || back->len != 1)
    {
      fprintf (stderr, "emitted YAML does not read back: %s\n---\n%s\n", error ? error->message : "", yaml);
      abort ();
    }
  a = cara_json_to_string (d->node, FALSE);
  b = cara_json_to_string (((CaraManifestDoc *) back->pdata[0])->node, FALSE);
  if (g_strcmp0 (a, b) != 0)
    {
      fprintf (stderr, "round trip differs:\n%s\n%s\n---\n%s\n", a, b, yaml);
      abort ();
    }

  p = cara_project_from_json (d->node, &error);
  if (p != NULL)
    cara_validate_project (p, &error);
  if (error != NULL)
    cara_manifest_doc_locate_error (d, &error);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr(GPtrArray) docs = NULL;

  if (size > 65536)
    return 0;
  docs = cara_manifest_read_data ("fuzz.yaml", (const char *) data, size, NULL);
  for (guint i = 0; docs != NULL && i < docs->len; i++)
    check_doc (g_ptr_array_index (docs, i));
  return 0;
}
