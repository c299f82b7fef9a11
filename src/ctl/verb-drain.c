/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl drain node NAME [--evict] / uncordon node NAME */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"

static char *
node_action (Ctl *ctl, CtlArgs *args, const char *action, const char *query, JsonNode **ret_node, GError **error)
{
  g_autofree char *name = ctl_one_name (args, "nodes", _("expected: node NAME"), error);
  if (name == NULL)
    return NULL;
  g_autofree char *esc = cara_http_escape (name);
  g_autofree char *path = g_strdup_printf ("/api/v1/nodes/%s/%s%s", esc, action, query);
  if (!ctl_request (ctl, "POST", path, NULL, NULL, ret_node, error))
    return NULL;
  return g_steal_pointer (&name);
}

/* The node's "Evicted" condition, which the server sets on drain --evict. */
static JsonObject *
evicted_condition (JsonNode *node)
{
  JsonObject *o = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonArray *conds = ctl_arr (ctl_obj (o, "status"), "conditions");
  for (guint i = 0; conds && i < json_array_get_length (conds); i++)
    {
      JsonNode *e = json_array_get_element (conds, i);
      if (JSON_NODE_HOLDS_OBJECT (e) && g_str_equal (ctl_str (json_node_get_object (e), "type"), "Evicted"))
        return json_node_get_object (e);
    }
  return NULL;
}

int
ctl_verb_drain (Ctl *ctl, CtlArgs *args, GError **error)
{
  gboolean evict = ctl_opt_bool (args, "evict");
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *name = node_action (ctl, args, "drain", evict ? "?evict=true" : "", &node, error);
  if (name == NULL)
    return -1;
  JsonObject *ev = evict ? evicted_condition (node) : NULL;
  if (!ctl->quiet && ev && g_str_equal (ctl_str (ev, "status"), "False"))
    /* The server kept projects that no other node can take: say so, and which. */
    printf (_("node/%s drained; not every project was moved: %s\n"), name, ctl_str (ev, "message"));
  else if (!ctl->quiet && evict)
    printf (_("node/%s drained; its projects are being moved to other nodes\n"), name);
  else if (!ctl->quiet)
    printf (_("node/%s drained\n"), name);
  return 0;
}

int
ctl_verb_uncordon (Ctl *ctl, CtlArgs *args, GError **error)
{
  g_autofree char *name = node_action (ctl, args, "uncordon", "", NULL, error);
  if (name == NULL)
    return -1;
  if (!ctl->quiet)
    printf (_("node/%s uncordoned\n"), name);
  return 0;
}
