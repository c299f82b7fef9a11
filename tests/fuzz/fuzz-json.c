/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the JSON codec: decoding never crashes, and what decodes re-encodes to a
 * fixed point (encode (decode (encode (x))) == encode (x)). */
#include "config.h"

#include <stdlib.h>

#include "cara-json.h"
#include "cara-validate.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check_project (JsonNode *node)
{
  g_autoptr(CaraProject) p = cara_project_from_json (node, NULL);
  g_autoptr(CaraProject) copy = NULL;
  g_autoptr(CaraProject) again = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;

  if (p == NULL)
    return;
  cara_validate_project (p, NULL);
  a = cara_project_to_data (p);
  again = cara_project_from_data (a, -1, NULL);
  if (again == NULL)
    abort ();
  b = cara_project_to_data (again);
  copy = cara_project_copy (again);
  c = cara_project_to_data (copy);
  if (g_strcmp0 (a, b) != 0 || g_strcmp0 (b, c) != 0)
    abort ();
}

static void
check_node (JsonNode *node)
{
  g_autoptr(CaraNode) n = cara_node_from_json (node, NULL);
  g_autoptr(CaraNode) again = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  if (n == NULL)
    return;
  cara_validate_node (n, NULL);
  a = cara_node_to_data (n);
  again = cara_node_from_data (a, -1, NULL);
  if (again == NULL)
    abort ();
  b = cara_node_to_data (again);
  if (g_strcmp0 (a, b) != 0)
    abort ();
}

static void
check_bodies (JsonNode *node)
{
  g_autoptr(CaraHeartbeat) h = cara_heartbeat_from_json (node, NULL);
  g_autoptr(CaraStatusReport) r = cara_status_report_from_json (node, NULL);
  g_autoptr(GPtrArray) nodes = cara_node_list_from_json (node, NULL);
  g_autoptr(GPtrArray) projects = cara_project_list_from_json (node, NULL);

  if (h != NULL)
    {
      g_autoptr(JsonNode) j = cara_heartbeat_to_json (h);
      g_autoptr(CaraHeartbeat) h2 = cara_heartbeat_from_json (j, NULL);
      if (h2 == NULL)
        abort ();
    }
  if (r != NULL)
    {
      g_autoptr(JsonNode) j = cara_status_report_to_json (r);
      g_autoptr(CaraStatusReport) r2 = cara_status_report_from_json (j, NULL);
      if (r2 == NULL)
        abort ();
    }
  if (projects != NULL)
    {
      g_autoptr(JsonNode) j = cara_project_list_to_json (projects);
      g_autofree char *s = cara_json_to_string (j, TRUE);
      if (s == NULL)
        abort ();
    }
  if (nodes != NULL)
    {
      g_autoptr(JsonNode) j = cara_node_list_to_json (nodes);
      g_autofree char *s = cara_json_to_string (j, FALSE);
      if (s == NULL)
        abort ();
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr(JsonNode) node = NULL;

  if (size > 65536)
    return 0;
  node = cara_json_parse ((const char *) data, (gssize) size, NULL);
  if (node == NULL)
    return 0;
  check_project (node);
  check_node (node);
  check_bodies (node);
  return 0;
}
