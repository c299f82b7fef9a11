/* SPDX-License-Identifier: Apache-2.0 */
/* The Compose converter: deploy (replicas, mode, resources) and cpus/mem_limit/mem_reservation, as resources{}. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cara-error.h"
#include "compose-conv.h"

static const KeyRule deploy_rules[] = {
  { "resources", KEY_MAPPED }, { "replicas", KEY_MAPPED }, { "mode", KEY_MAPPED },
  { "restart_policy", IGN (N_("ignored: use restart")) }, { "placement", IGN (N_("ignored: use x-caravanserai.nodeSelector")) },
  { "update_config", IGN (conv_ignored_why) }, { "rollback_config", IGN (conv_ignored_why) }, { "labels", IGN (conv_ignored_why) },
  { "endpoint_mode", IGN (conv_ignored_why) },
  { NULL }
};

static const KeyRule resources_rules[] = {
  { "limits", KEY_MAPPED }, { "reservations", KEY_MAPPED }, { NULL }
};

static const KeyRule resource_rules[] = {
  { "cpus", KEY_MAPPED }, { "memory", KEY_MAPPED },
  { "pids", IGN (conv_ignored_why) },
  { "devices", UNSUP (N_("not supported: devices of one machine cannot follow a project to another node")) },
  { "generic_resources", UNSUP (N_("not supported")) },
  { NULL }
};

typedef struct {
  JsonNode *cpus;   /* borrowed, with its path */
  char *cpus_path;
  JsonNode *memory;
  char *memory_path;
} ResPick;

static void
pick (ResPick *p, JsonObject *o, const char *path, const char *cpus_key, const char *mem_key)
{
  JsonNode *m;
  if (o == NULL)
    return;
  if (p->cpus == NULL && (m = json_object_get_member (o, cpus_key)) != NULL && !JSON_NODE_HOLDS_NULL (m))
    p->cpus = m, p->cpus_path = conv_join (path, cpus_key);
  if (p->memory == NULL && (m = json_object_get_member (o, mem_key)) != NULL && !JSON_NODE_HOLDS_NULL (m))
    p->memory = m, p->memory_path = conv_join (path, mem_key);
}

/* @v (when given) converted by @convert into @key of @res, or its error at @path. */
static void
put_quantity (Conv *c, JsonObject *res, const char *key, JsonNode *v, const char *path,
              char *(*convert) (JsonNode *, char **))
{
  g_autofree char *msg = NULL;
  g_autofree char *q = NULL;

  if (v == NULL)
    return;
  if ((q = convert (v, &msg)) == NULL)
    ctl_compose_error (c->diag, path, "%s", msg);
  else
    json_object_set_string_member (res, key, q);
}

void
conv_map_resources (Conv *c, JsonObject *svc, const char *path, JsonObject *out)
{
  ResPick p = { 0 };
  JsonObject *limits = NULL, *reservations = NULL;
  JsonNode *dn = json_object_get_member (svc, "deploy");
  g_autofree char *dp = conv_join (path, "deploy");
  g_autofree char *rp = conv_join (dp, "resources");
  g_autofree char *lp = conv_join (rp, "limits");
  g_autofree char *sp = conv_join (rp, "reservations");
  JsonObject *res;

  if (dn != NULL && !JSON_NODE_HOLDS_NULL (dn))
    {
      JsonObject *d = conv_want_mapping (c, dn, dp);
      JsonNode *m;
      if (d == NULL || !conv_check_keys (c, d, deploy_rules, dp))
        return;
      if ((m = json_object_get_member (d, "replicas")) != NULL)
        {
          g_autofree char *pp = conv_join (dp, "replicas");
          gint64 r;
          if (conv_want_int (c, m, pp, &r) && r != 1)
            ctl_compose_error (c->diag, pp, _("%lld replicas are not supported: a service runs one container"), (long long) r);
        }
      if ((m = json_object_get_member (d, "mode")) != NULL)
        {
          g_autofree char *pp = conv_join (dp, "mode");
          g_autofree char *mode = NULL;
          if (conv_want_string (c, m, pp, &mode) && !g_str_equal (mode, "replicated"))
            ctl_compose_error (c->diag, pp, _("mode \"%s\" is not supported: a service runs one container"), mode);
        }
      if ((m = json_object_get_member (d, "resources")) != NULL)
        {
          /* Bad keys are reported; cpus and memory are still read, so every error shows at once. */
          JsonObject *r = conv_want_mapping (c, m, rp);
          if (r == NULL)
            return;
          conv_check_keys (c, r, resources_rules, rp);
          if ((m = json_object_get_member (r, "limits")) != NULL && (limits = conv_want_mapping (c, m, lp)) != NULL)
            conv_check_keys (c, limits, resource_rules, lp);
          if ((m = json_object_get_member (r, "reservations")) != NULL &&
              (reservations = conv_want_mapping (c, m, sp)) != NULL)
            conv_check_keys (c, reservations, resource_rules, sp);
        }
    }
  pick (&p, limits, lp, "cpus", "memory");
  pick (&p, svc, path, "cpus", "mem_limit");
  pick (&p, reservations, sp, "cpus", "memory");
  pick (&p, svc, path, "cpus", "mem_reservation");
  res = json_object_new ();
  put_quantity (c, res, "cpu", p.cpus, p.cpus_path, ctl_compose_cpus);
  put_quantity (c, res, "memory", p.memory, p.memory_path, ctl_compose_memory);
  g_free (p.cpus_path);
  g_free (p.memory_path);
  if (json_object_get_size (res) > 0)
    json_object_set_object_member (out, "resources", res);
  else
    json_object_unref (res);
}
