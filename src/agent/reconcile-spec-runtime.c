/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "reconcile-spec-runtime.h"

static void
add_strv (JsonBuilder *b, const char *member, char **strv)
{
  if (strv == NULL || strv[0] == NULL)
    return;
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (char **s = strv; *s; s++)
    json_builder_add_string_value (b, *s);
  json_builder_end_array (b);
}

static void
add_string (JsonBuilder *b, const char *member, const char *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (b, member);
  json_builder_add_string_value (b, value);
}

void
reconcile_spec_add_runtime (JsonBuilder *b, const CaraService *svc)
{
  add_strv (b, "Entrypoint", svc->entrypoint);
  add_string (b, "WorkingDir", svc->working_dir);
  add_string (b, "User", svc->user);
  add_string (b, "StopSignal", svc->stop_signal);
  if (svc->stop_grace_period_seconds >= 0)
    {
      json_builder_set_member_name (b, "StopTimeout");
      json_builder_add_int_value (b, svc->stop_grace_period_seconds);
    }
}

void
reconcile_spec_add_host_runtime (JsonBuilder *b, const CaraService *svc)
{
  add_strv (b, "CapAdd", svc->cap_add);
  add_strv (b, "CapDrop", svc->cap_drop);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void
reconcile_spec_add_labels (JsonBuilder *b, GHashTable *labels)
{
  g_autofree gpointer *keys = NULL;
  guint n = 0;

  if (labels == NULL)
    return;
  keys = g_hash_table_get_keys_as_array (labels, &n);
  qsort (keys, n, sizeof (gpointer), compare_strings);
  for (guint i = 0; i < n; i++)
    {
      json_builder_set_member_name (b, keys[i]);
      json_builder_add_string_value (b, g_hash_table_lookup (labels, keys[i]));
    }
}
