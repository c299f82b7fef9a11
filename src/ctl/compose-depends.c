/* SPDX-License-Identifier: Apache-2.0 */
/* The Compose converter: depends_on of a service, as dependsOn[] (a name, or {name, condition}). */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cara-error.h"
#include "compose-conv.h"

static const KeyRule depends_rules[] = {
  { "condition", KEY_MAPPED }, { "required", KEY_MAPPED },
  { "restart", IGN (N_("ignored: a dependency's restart does not restart this service")) },
  { NULL }
};

void
conv_map_depends_on (Conv *c, const char *service, JsonNode *n, const char *path, JsonObject *out)
{
  JsonArray *res = json_array_new ();

  if (JSON_NODE_HOLDS_ARRAY (n))
    {
      JsonArray *a = json_node_get_array (n);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          g_autofree char *ip = g_strdup_printf ("%s[%u]", path, i);
          g_autofree char *dep = NULL;
          if (!conv_want_string (c, json_array_get_element (a, i), ip, &dep))
            continue;
          if (!json_object_has_member (c->services, dep))
            ctl_compose_error (c->diag, ip, _("service \"%s\" depends on the undefined service \"%s\""), service, dep);
          else if (!g_hash_table_contains (c->enabled, dep))
            ctl_compose_error (c->diag, ip, _("service \"%s\" depends on \"%s\", which no --profile enables"), service, dep);
          else
            json_array_add_string_element (res, dep);
        }
    }
  else if (JSON_NODE_HOLDS_OBJECT (n))
    {
      CtlKeyIter it;
      const char *dep;
      JsonNode *v;
      ctl_key_iter_init (&it, json_node_get_object (n));
      while (ctl_key_iter_next (&it, &dep, &v))
        {
          g_autofree char *dp = conv_join (path, dep);
          g_autofree char *cond = NULL;
          gboolean required = TRUE;
          JsonObject *o = NULL;
          JsonNode *m;

          if (!JSON_NODE_HOLDS_NULL (v) && ((o = conv_want_mapping (c, v, dp)) == NULL || !conv_check_keys (c, o, depends_rules, dp)))
            continue;
          if (o != NULL && (m = json_object_get_member (o, "required")) != NULL)
            {
              g_autofree char *rp = conv_join (dp, "required");
              if (!conv_want_bool (c, m, rp, &required))
                continue;
            }
          if (o != NULL && (m = json_object_get_member (o, "condition")) != NULL)
            {
              g_autofree char *cp = conv_join (dp, "condition");
              if (!conv_want_string (c, m, cp, &cond))
                continue;
              if (!g_str_equal (cond, "service_started") && !g_str_equal (cond, "service_healthy") &&
                  !g_str_equal (cond, "service_completed_successfully"))
                {
                  ctl_compose_error (c->diag, cp,
                                     _("unknown condition \"%s\" (service_started, service_healthy or service_completed_successfully)"),
                                     cond);
                  continue;
                }
            }
          if (!json_object_has_member (c->services, dep) || !g_hash_table_contains (c->enabled, dep))
            {
              if (!required)
                continue;
              if (!json_object_has_member (c->services, dep))
                ctl_compose_error (c->diag, dp, _("service \"%s\" depends on the undefined service \"%s\""), service, dep);
              else
                ctl_compose_error (c->diag, dp, _("service \"%s\" depends on \"%s\", which no --profile enables"), service, dep);
              continue;
            }
          if (cond == NULL || g_str_equal (cond, "service_started"))
            json_array_add_string_element (res, dep);
          else
            {
              JsonObject *item = json_object_new ();
              gboolean healthy = g_str_equal (cond, "service_healthy");
              if (healthy && !g_hash_table_contains (c->healthy, dep))
                {
                  g_autofree char *cp = conv_join (dp, "condition");
                  ctl_compose_error (c->diag, cp, _("service \"%s\" has no healthcheck, so it can never be service_healthy"), dep);
                }
              json_object_set_string_member (item, "name", dep);
              json_object_set_string_member (item, "condition", healthy ? "Healthy" : "Completed");
              json_array_add_object_element (res, item);
            }
        }
    }
  else
    ctl_compose_error (c->diag, path, _("must be a list of service names or a mapping"));
  if (json_array_get_length (res) > 0)
    json_object_set_array_member (out, "dependsOn", res);
  else
    json_array_unref (res);
}

/* A service another waits for with service_completed_successfully runs once, as Compose's
 * default "restart: no" has it: without a restart key it gets restartPolicy Never (Always would
 * start it again each time it completes). */
void
conv_run_completed_once (JsonArray *services)
{
  for (guint i = 0; i < json_array_get_length (services); i++)
    {
      JsonArray *deps = NULL;
      JsonObject *s = json_array_get_object_element (services, i);
      if (json_object_has_member (s, "dependsOn"))
        deps = json_object_get_array_member (s, "dependsOn");
      for (guint j = 0; deps != NULL && j < json_array_get_length (deps); j++)
        {
          JsonNode *d = json_array_get_element (deps, j);
          JsonObject *item = JSON_NODE_HOLDS_OBJECT (d) ? json_node_get_object (d) : NULL;
          if (item == NULL || g_strcmp0 (json_object_get_string_member (item, "condition"), "Completed") != 0)
            continue;
          for (guint k = 0; k < json_array_get_length (services); k++)
            {
              JsonObject *t = json_array_get_object_element (services, k);
              if (g_strcmp0 (json_object_get_string_member (t, "name"), json_object_get_string_member (item, "name")) == 0 &&
                  !json_object_has_member (t, "restartPolicy"))
                json_object_set_string_member (t, "restartPolicy", "Never");
            }
        }
    }
}
