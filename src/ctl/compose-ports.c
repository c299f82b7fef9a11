/* SPDX-License-Identifier: Apache-2.0 */
/* The Compose converter: ports of a service, short and long syntax, as ports[]. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cara-error.h"
#include "compose-conv.h"

static const KeyRule long_port_rules[] = {
  { "target", KEY_MAPPED }, { "published", KEY_MAPPED }, { "host_ip", KEY_MAPPED }, { "protocol", KEY_MAPPED },
  { "mode", IGN (conv_ignored_why) }, { "name", IGN (conv_ignored_why) }, { "app_protocol", IGN (conv_ignored_why) },
  { NULL }
};

void
conv_map_ports (Conv *c, JsonNode *n, const char *path, JsonObject *out)
{
  JsonArray *a = conv_want_list (c, n, path);
  g_autoptr(GPtrArray) ports = g_ptr_array_new_with_free_func ((GDestroyNotify) ctl_compose_port_free);
  JsonArray *res;

  if (a == NULL)
    return;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      g_autofree char *ip = g_strdup_printf ("%s[%u]", path, i);
      g_autofree char *msg = NULL;

      if (JSON_NODE_HOLDS_OBJECT (e))
        {
          JsonObject *o = json_node_get_object (e);
          JsonNode *m;
          g_autofree char *spec = NULL, *target = NULL, *published = NULL, *host_ip = NULL, *protocol = NULL;
          g_autofree char *tp = conv_join (ip, "target");

          if (!conv_check_keys (c, o, long_port_rules, ip))
            continue;
          if ((m = json_object_get_member (o, "target")) == NULL)
            {
              ctl_compose_error (c->diag, ip, _("target is required"));
              continue;
            }
          if (!conv_want_string (c, m, tp, &target))
            continue;
          if (!conv_member_string (c, o, ip, "published", &published) ||
              !conv_member_string (c, o, ip, "host_ip", &host_ip) ||
              !conv_member_string (c, o, ip, "protocol", &protocol))
            continue;
          spec = g_strdup_printf ("%s%s%s%s%s%s%s%s", host_ip ? (strchr (host_ip, ':') ? "[" : "") : "",
                                  host_ip ? host_ip : "", host_ip ? (strchr (host_ip, ':') ? "]:" : ":") : "",
                                  published ? published : "", (published || host_ip) ? ":" : "", target,
                                  protocol ? "/" : "", protocol ? protocol : "");
          if (!ctl_compose_parse_port (spec, ports, &msg))
            ctl_compose_error (c->diag, ip, "%s", msg);
          continue;
        }
      {
        g_autofree char *s = conv_scalar_text (e);
        if (s == NULL)
          {
            ctl_compose_error (c->diag, ip, _("must be a port string or a mapping"));
            continue;
          }
        if (!ctl_compose_parse_port (s, ports, &msg))
          ctl_compose_error (c->diag, ip, "%s", msg);
      }
    }
  if (ports->len == 0)
    return;
  res = json_array_new ();
  for (guint i = 0; i < ports->len; i++)
    {
      CtlComposePort *p = ports->pdata[i];
      JsonObject *o = json_object_new ();
      json_object_set_int_member (o, "containerPort", p->container_port);
      if (p->host_port != 0)
        json_object_set_int_member (o, "hostPort", p->host_port);
      json_object_set_string_member (o, "protocol", p->protocol);
      if (p->host_ip != NULL)
        json_object_set_string_member (o, "hostIP", p->host_ip);
      json_array_add_object_element (res, o);
    }
  json_object_set_array_member (out, "ports", res);
}
