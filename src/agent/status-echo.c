/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "cara-json.h"
#include "status-echo.h"

/* The project as JSON without what a status report of ours changes. */
static char *
without_report (const CaraProject *p)
{
  g_autoptr (JsonNode) node = cara_project_to_json (p);
  JsonObject *o = json_node_get_object (node);
  JsonObject *meta = cara_json_object_object (o, "metadata");
  JsonObject *status = cara_json_object_object (o, "status");
  if (meta != NULL)
    {
      json_object_remove_member (meta, "resourceVersion");
      json_object_remove_member (meta, "updatedAt");
    }
  if (status != NULL)
    {
      json_object_remove_member (status, "phase");
      json_object_remove_member (status, "services");
      json_object_remove_member (status, "conditions");
      json_object_remove_member (status, "observedGeneration");
    }
  return cara_json_to_string (node, FALSE);
}

gboolean
status_echo (const CaraProject *before, const CaraProject *now, CaraProjectPhase reported)
{
  if (before == NULL || now == NULL)
    return FALSE;
  if (now->status.phase != before->status.phase && now->status.phase != reported)
    return FALSE;
  g_autofree char *a = without_report (before);
  g_autofree char *b = without_report (now);
  return g_strcmp0 (a, b) == 0;
}
