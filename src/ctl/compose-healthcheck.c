/* SPDX-License-Identifier: Apache-2.0 */
/* The Compose converter: healthcheck of a service, as healthcheck{}. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cara-error.h"
#include "compose-conv.h"

static const KeyRule healthcheck_rules[] = {
  { "test", KEY_MAPPED }, { "interval", KEY_MAPPED }, { "timeout", KEY_MAPPED }, { "retries", KEY_MAPPED },
  { "start_period", KEY_MAPPED }, { "disable", KEY_MAPPED },
  { "start_interval", IGN (N_("ignored: checks run every interval from the start")) },
  { NULL }
};

/* TRUE when the service ends up with a healthcheck. */
gboolean
conv_map_healthcheck (Conv *c, JsonNode *n, const char *path, JsonObject *out)
{
  JsonObject *o = conv_want_mapping (c, n, path);
  JsonNode *m;
  g_autoptr(JsonArray) cmd = NULL;
  JsonObject *h;
  gboolean disable = FALSE;

  if (o == NULL || !conv_check_keys (c, o, healthcheck_rules, path))
    return FALSE;
  if ((m = json_object_get_member (o, "disable")) != NULL)
    {
      g_autofree char *dp = conv_join (path, "disable");
      if (!conv_want_bool (c, m, dp, &disable) || disable)
        return FALSE;
    }
  m = json_object_get_member (o, "test");
  if (m == NULL)
    {
      ctl_compose_error (c->diag, path, _("test is required (the image's own HEALTHCHECK is not read here)"));
      return FALSE;
    }
  {
    g_autofree char *tp = conv_join (path, "test");
    g_autofree char *msg = NULL;
    g_auto(GStrv) argv = NULL;

    cmd = json_array_new ();
    if (conv_is_string (m))
      {
        json_array_add_string_element (cmd, "CMD-SHELL");
        json_array_add_string_element (cmd, json_node_get_string (m));
      }
    else if ((argv = ctl_compose_argv (m, &msg)) == NULL)
      {
        ctl_compose_error (c->diag, tp, "%s", msg);
        return FALSE;
      }
    else if (argv[0] != NULL && g_str_equal (argv[0], "NONE"))
      return FALSE;
    else if (argv[0] != NULL && g_str_equal (argv[0], "CMD") && argv[1] != NULL)
      for (guint i = 1; argv[i] != NULL; i++)
        json_array_add_string_element (cmd, argv[i]);
    else if (argv[0] != NULL && g_str_equal (argv[0], "CMD-SHELL") && argv[1] != NULL)
      {
        g_autofree char *joined = g_strjoinv (" ", argv + 1);
        json_array_add_string_element (cmd, "CMD-SHELL");
        json_array_add_string_element (cmd, joined);
      }
    else
      {
        ctl_compose_error (c->diag, tp, _("must start with CMD, CMD-SHELL or NONE, followed by the command"));
        return FALSE;
      }
  }
  h = json_object_new ();
  json_object_set_array_member (h, "command", g_steal_pointer (&cmd));
  conv_add_seconds (c, o, "interval", path, h, "intervalSeconds");
  conv_add_seconds (c, o, "timeout", path, h, "timeoutSeconds");
  if ((m = json_object_get_member (o, "retries")) != NULL)
    {
      g_autofree char *rp = conv_join (path, "retries");
      gint64 r;
      if (conv_want_int (c, m, rp, &r))
        json_object_set_int_member (h, "retries", r);
    }
  conv_add_seconds (c, o, "start_period", path, h, "startPeriodSeconds");
  json_object_set_object_member (out, "healthcheck", h);
  return TRUE;
}
