/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl node reset-token NAME: binds a new node token to a node (admin) and prints it once. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cara-error.h"
#include "ctl.h"

int
ctl_verb_node (Ctl *ctl, CtlArgs *args, GError **error)
{
  GPtrArray *pos = args->positional;
  if (pos->len != 2 || !g_str_equal (pos->pdata[0], "reset-token"))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("expected: node reset-token NAME"));
      return -1;
    }
  const char *name = pos->pdata[1];
  g_autofree char *esc = cara_http_escape (name);
  g_autofree char *path = g_strdup_printf ("/api/v1/nodes/%s/reset-token", esc);
  g_autoptr (JsonNode) json = NULL;
  if (!ctl_request (ctl, "POST", path, NULL, NULL, &json, error))
    return -1;
  const char *token = json && JSON_NODE_HOLDS_OBJECT (json)
                          ? json_object_get_string_member_with_default (json_node_get_object (json), "token", NULL)
                          : NULL;
  if (token == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("the server's answer holds no token"));
      return -1;
    }
  printf ("%s\n", token);
  if (!ctl->quiet)
    fprintf (stderr,
             _("node/%s: new node token bound; the old one no longer works. Write it to the agent's "
               "node-%s.token (mode 0600, in its state directory) or set CARA_NODE_TOKEN, then restart the agent.\n"),
             name, name);
  return 0;
}
