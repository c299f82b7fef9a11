/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl version: the client's version always, the server's when it answers. */
#include "config.h"

#include <stdio.h>

#include "ctl.h"

int
ctl_verb_version (Ctl *ctl, CtlArgs *args, GError **error)
{
  g_autoptr (JsonNode) v = ctl_get (ctl, "/api/v1/version", error);
  JsonObject *o = v && JSON_NODE_HOLDS_OBJECT (v) ? json_node_get_object (v) : NULL;

  if (ctl->output == CTL_OUTPUT_JSON || ctl->output == CTL_OUTPUT_YAML)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "clientVersion");
      json_builder_add_string_value (b, PACKAGE_VERSION);
      if (o)
        {
          json_builder_set_member_name (b, "serverVersion");
          json_builder_add_string_value (b, ctl_str (o, "version"));
          json_builder_set_member_name (b, "apiVersion");
          json_builder_add_string_value (b, ctl_str (o, "apiVersion"));
        }
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      g_autoptr (GError) local = NULL;
      if (!ctl_print_json_or_yaml (ctl, root, o ? error : &local))
        return -1;
    }
  else
    {
      printf (_("Client Version: %s\n"), PACKAGE_VERSION);
      if (o)
        printf (_("Server Version: %s (API %s)\n"), ctl_str (o, "version"), ctl_str (o, "apiVersion"));
    }
  fflush (stdout);
  return o ? 0 : -1;
}
