/* SPDX-License-Identifier: Apache-2.0 */
/* The mapping of a Compose file to a Project manifest (SPEC §10's table): the top-level keys,
 * profiles, x-caravanserai, and the whole document.  Every key of the Compose Specification is
 * either mapped, ignored with a warning, or an error ("not supported"); anything else is an
 * unknown key (an error, as Compose treats it).  The pieces are in compose-conv.h. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cara-validate.h"
#include "compose-conv.h"

static const KeyRule top_rules[] = {
  { "version", IGN (N_("obsolete, ignored (as Compose does)")) },
  { "name", KEY_MAPPED }, { "services", KEY_MAPPED }, { "volumes", KEY_MAPPED }, { "networks", KEY_MAPPED },
  { "x-caravanserai", KEY_MAPPED },
  { "secrets", KEY_MAPPED },
  { "configs", UNSUP (N_("not supported: no configs here; mount a HostPath volume")) },
  { "include", UNSUP (N_("not supported: merge the files first (docker compose config)")) },
  { "models", UNSUP (N_("not supported")) },
  { NULL }
};

/* ================================================================ profiles */

static gboolean
profile_enabled (Conv *c, JsonObject *svc, const char *path, const char *const *profiles)
{
  JsonNode *pn = json_object_get_member (svc, "profiles");
  JsonArray *a;
  g_autofree char *pp = conv_join (path, "profiles");

  if (pn == NULL || JSON_NODE_HOLDS_NULL (pn))
    return TRUE;
  if ((a = conv_want_list (c, pn, pp)) == NULL)
    return FALSE;
  if (json_array_get_length (a) == 0)
    return TRUE;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *ip = g_strdup_printf ("%s[%u]", pp, i);
      g_autofree char *name = NULL;
      if (!conv_want_string (c, json_array_get_element (a, i), ip, &name))
        return FALSE;
      for (guint k = 0; profiles != NULL && profiles[k] != NULL; k++)
        if (g_str_equal (profiles[k], name) || g_str_equal (profiles[k], "*"))
          return TRUE;
    }
  return FALSE;
}

/* ================================================================ the whole file */

gboolean
ctl_compose_is_compose (JsonNode *doc)
{
  JsonObject *o;
  JsonNode *s;

  if (doc == NULL || !JSON_NODE_HOLDS_OBJECT (doc))
    return FALSE;
  o = json_node_get_object (doc);
  s = json_object_get_member (o, "services");
  return s != NULL && JSON_NODE_HOLDS_OBJECT (s) && !json_object_has_member (o, "kind");
}

static const KeyRule x_cara_rules[] = {
  { "nodeSelector", KEY_MAPPED }, { "expireAt", KEY_MAPPED }, { NULL }
};

static void
map_x_caravanserai (Conv *c, JsonObject *spec)
{
  JsonNode *n = json_object_get_member (c->top, "x-caravanserai");
  JsonObject *o;
  JsonNode *m;

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return;
  if ((o = conv_want_mapping (c, n, "x-caravanserai")) == NULL || !conv_check_keys (c, o, x_cara_rules, "x-caravanserai"))
    return;
  if ((m = json_object_get_member (o, "nodeSelector")) != NULL)
    {
      JsonObject *sel = conv_want_mapping (c, m, "x-caravanserai.nodeSelector");
      JsonObject *res;
      CtlKeyIter it;
      const char *k;
      JsonNode *v;
      if (sel == NULL)
        return;
      res = json_object_new ();
      ctl_key_iter_init (&it, sel);
      while (ctl_key_iter_next (&it, &k, &v))
        {
          g_autofree char *kp = conv_join ("x-caravanserai.nodeSelector", k);
          g_autofree char *s = NULL;
          if (conv_want_string (c, v, kp, &s))
            json_object_set_string_member (res, k, s);
        }
      json_object_set_object_member (spec, "nodeSelector", res);
    }
  if ((m = json_object_get_member (o, "expireAt")) != NULL)
    {
      g_autofree char *s = NULL;
      g_autoptr(GDateTime) t = NULL;
      if (!conv_want_string (c, m, "x-caravanserai.expireAt", &s))
        return;
      t = g_date_time_new_from_iso8601 (s, NULL);
      if (t == NULL)
        ctl_compose_error (c->diag, "x-caravanserai.expireAt", _("must be an RFC 3339 time such as 2026-12-31T23:00:00Z"));
      else
        json_object_set_string_member (spec, "expireAt", s);
    }
}

static void
check_top_networks (Conv *c)
{
  JsonNode *n = json_object_get_member (c->top, "networks");
  JsonObject *o;
  CtlKeyIter it;
  const char *k;
  JsonNode *v;

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return;
  if ((o = conv_want_mapping (c, n, "networks")) == NULL)
    return;
  if (json_object_get_size (o) > 1)
    {
      ctl_compose_error (c->diag, "networks", _("not supported: a project has one network, not %u"), json_object_get_size (o));
      return;
    }
  ctl_key_iter_init (&it, o);
  while (ctl_key_iter_next (&it, &k, &v))
    {
      g_autofree char *np = conv_join ("networks", k);
      JsonNode *ext = JSON_NODE_HOLDS_OBJECT (v) ? json_object_get_member (json_node_get_object (v), "external") : NULL;
      if (ext != NULL && (JSON_NODE_HOLDS_OBJECT (ext) || (JSON_NODE_HOLDS_VALUE (ext) && json_node_get_boolean (ext))))
        ctl_compose_error (c->diag, np, _("not supported: external networks (every project has its own network)"));
      else
        ctl_compose_warn (c->diag, np, _("ignored: every project has its own network"));
    }
}

JsonNode *
ctl_compose_convert (CaraManifestDoc *doc, const CtlComposeOptions *opts, GHashTable *env, const char *dir,
                     CtlComposeDiag *diag)
{
  g_autoptr(GHashTable) enabled = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) healthy = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) volume_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(JsonArray) volumes = json_array_new ();
  g_autoptr(JsonArray) services = json_array_new ();
  g_autoptr(JsonObject) spec = json_object_new ();
  g_autoptr(JsonObject) meta = json_object_new ();
  g_autoptr(JsonObject) root = NULL;
  CtlKeyIter it;
  const char *name;
  JsonNode *v;
  Conv c = { .diag = diag, .env = env, .dir = dir, .project = opts->project_name, .enabled = enabled,
             .healthy = healthy, .volumes = volumes, .volume_names = volume_names };

  c.top = json_node_get_object (doc->node);
  c.services = json_node_get_object (json_object_get_member (c.top, "services"));
  conv_check_keys (&c, c.top, top_rules, "");
  conv_check_top_volumes (&c);
  check_top_networks (&c);

  /* Which services the profiles enable, and which have a healthcheck (for depends_on). */
  ctl_key_iter_init (&it, c.services);
  while (ctl_key_iter_next (&it, &name, &v))
    {
      g_autofree char *sp = conv_join ("services", name);
      JsonNode *h;
      if (!JSON_NODE_HOLDS_OBJECT (v))
        continue;
      if (profile_enabled (&c, json_node_get_object (v), sp, opts->profiles))
        g_hash_table_add (enabled, (gpointer) name);
      h = json_object_get_member (json_node_get_object (v), "healthcheck");
      if (h != NULL && JSON_NODE_HOLDS_OBJECT (h))
        {
          JsonObject *ho = json_node_get_object (h);
          JsonNode *dis = json_object_get_member (ho, "disable");
          JsonNode *test = json_object_get_member (ho, "test");
          gboolean none = test != NULL && JSON_NODE_HOLDS_ARRAY (test) && json_array_get_length (json_node_get_array (test)) > 0 &&
                          conv_is_string (json_array_get_element (json_node_get_array (test), 0)) &&
                          g_str_equal (json_array_get_string_element (json_node_get_array (test), 0), "NONE");
          if (!(dis != NULL && JSON_NODE_HOLDS_VALUE (dis) && json_node_get_value_type (dis) == G_TYPE_BOOLEAN &&
                json_node_get_boolean (dis)) && !none)
            g_hash_table_add (healthy, (gpointer) name);
        }
    }

  ctl_key_iter_init (&it, c.services);
  while (ctl_key_iter_next (&it, &name, &v))
    {
      g_autofree char *sp = conv_join ("services", name);
      g_autoptr(GError) error = NULL;
      JsonObject *svc;

      if (!JSON_NODE_HOLDS_OBJECT (v))
        {
          ctl_compose_error (diag, sp, _("must be a mapping"));
          continue;
        }
      if (!g_hash_table_contains (enabled, name))
        continue;
      if (!cara_validate_service_name (name, sp, &error))
        {
          ctl_compose_error (diag, sp,
                             _("service name \"%s\" is not valid here: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit (it is a DNS name and part of the container name)"),
                             name);
          continue;
        }
      svc = conv_map_service (&c, name, json_node_get_object (v), sp);
      json_array_add_object_element (services, svc);
    }
  if (json_object_get_size (c.services) == 0)
    ctl_compose_error (diag, "services", _("no services"));
  else if (g_hash_table_size (enabled) == 0)
    ctl_compose_error (diag, "services", _("no service is enabled: each has profiles, and no --profile names one of them"));

  conv_run_completed_once (services);
  json_object_set_array_member (spec, "services", g_steal_pointer (&services));
  if (json_array_get_length (volumes) > 0)
    json_object_set_array_member (spec, "volumes", g_steal_pointer (&volumes));
  map_x_caravanserai (&c, spec);
  ctl_compose_top_secrets (c.top, opts->project_name, env, dir, spec, diag);
  if (diag->errors->len > 0)
    return NULL;

  root = json_object_new ();
  json_object_set_string_member (root, "apiVersion", "caravanserai/v1");
  json_object_set_string_member (root, "kind", "Project");
  json_object_set_string_member (meta, "name", opts->project_name);
  json_object_set_object_member (root, "metadata", g_steal_pointer (&meta));
  json_object_set_object_member (root, "spec", g_steal_pointer (&spec));
  return json_node_init_object (json_node_alloc (), root); /* takes its own reference */
}
