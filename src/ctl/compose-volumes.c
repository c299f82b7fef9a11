/* SPDX-License-Identifier: Apache-2.0 */
/* The Compose converter: Volumes: the top-level volumes: (named, Persistent), and a service's volumes in short and long
 * syntax (named, anonymous Ephemeral, absolute binds as HostPath volumes). */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cara-error.h"
#include "compose-conv.h"

static void
add_project_volume (Conv *c, const char *name, const char *type, const char *host_path)
{
  JsonObject *v;

  if (g_hash_table_contains (c->volume_names, name))
    return;
  g_hash_table_add (c->volume_names, g_strdup (name));
  v = json_object_new ();
  json_object_set_string_member (v, "name", name);
  json_object_set_string_member (v, "type", type);
  if (host_path != NULL)
    json_object_set_string_member (v, "hostPath", host_path);
  json_array_add_object_element (c->volumes, v);
}

static const KeyRule top_volume_rules[] = {
  { "driver", KEY_MAPPED }, { "external", KEY_MAPPED },
  { "driver_opts", UNSUP (N_("not supported: volumes are local Docker volumes on the node")) },
  { "labels", IGN (N_("ignored: volumes carry the project's labels")) },
  { "name", IGN (N_("ignored: the Docker volume is named cara-{project}-{volume}")) },
  { NULL }
};

/* A named volume used by a service: must be declared at the top level, locally. */
static gboolean
named_volume (Conv *c, const char *name, const char *path)
{
  JsonNode *decl = c->declared != NULL ? json_object_get_member (c->declared, name) : NULL;

  if (decl == NULL)
    {
      ctl_compose_error (c->diag, path, _("refers to the undefined volume \"%s\" (declare it under the top-level volumes:)"),
                         name);
      return FALSE;
    }
  if (!g_hash_table_contains (c->volume_names, name))
    add_project_volume (c, name, "Persistent", NULL);
  return TRUE;
}

gboolean
conv_check_top_volumes (Conv *c)
{
  JsonNode *vn = json_object_get_member (c->top, "volumes");
  CtlKeyIter it;
  const char *k;
  JsonNode *v;
  gboolean ok = TRUE;

  if (vn == NULL || JSON_NODE_HOLDS_NULL (vn))
    return TRUE;
  if ((c->declared = conv_want_mapping (c, vn, "volumes")) == NULL)
    return FALSE;
  ctl_key_iter_init (&it, c->declared);
  while (ctl_key_iter_next (&it, &k, &v))
    {
      g_autofree char *vp = conv_join ("volumes", k);
      JsonObject *o;
      JsonNode *m;
      if (strlen (k) > 63 || !g_regex_match_simple ("^[a-z0-9]([a-z0-9_.-]*[a-z0-9])?$", k, 0, 0))
        {
          ctl_compose_error (c->diag, vp, _("volume name \"%s\" is not valid here: at most 63 lower-case letters, digits, '-', '_' or '.', starting and ending with a letter or digit"),
                             k);
          ok = FALSE;
          continue;
        }
      if (JSON_NODE_HOLDS_NULL (v))
        continue;
      if ((o = conv_want_mapping (c, v, vp)) == NULL || !conv_check_keys (c, o, top_volume_rules, vp))
        {
          ok = FALSE;
          continue;
        }
      if ((m = json_object_get_member (o, "external")) != NULL)
        {
          g_autofree char *ep = conv_join (vp, "external");
          gboolean ext = TRUE;
          if (JSON_NODE_HOLDS_OBJECT (m) || (conv_want_bool (c, m, ep, &ext) && ext))
            {
              ctl_compose_error (c->diag, ep, _("not supported: external volumes are not managed by the project"));
              ok = FALSE;
            }
        }
      if ((m = json_object_get_member (o, "driver")) != NULL)
        {
          g_autofree char *dp = conv_join (vp, "driver");
          g_autofree char *driver = NULL;
          if (!conv_want_string (c, m, dp, &driver))
            ok = FALSE;
          else if (!g_str_equal (driver, "local"))
            {
              ctl_compose_error (c->diag, dp, _("not supported: only the local volume driver"));
              ok = FALSE;
            }
        }
    }
  return ok;
}

static char *
host_volume_name (const char *host_path)
{
  g_autofree char *n = ctl_compose_normalize_name (host_path);
  g_autofree char *full = g_strconcat ("host-", *n ? n : "root", NULL);
  return ctl_compose_normalize_name (full);
}

static void
add_mount (JsonArray *mounts, const char *name, const char *target, gboolean ro)
{
  JsonObject *m = json_object_new ();
  json_object_set_string_member (m, "name", name);
  json_object_set_string_member (m, "mountPath", target);
  if (ro)
    json_object_set_boolean_member (m, "readOnly", TRUE);
  json_array_add_object_element (mounts, m);
}

/* One mount, whichever syntax it came in. */
static void
mount_volume (Conv *c, const char *service, const char *type, const char *source, const char *target,
              gboolean ro, const char *path, guint *anon, JsonArray *mounts)
{
  if (target == NULL || target[0] != '/')
    {
      ctl_compose_error (c->diag, path, _("the container path must be absolute"));
      return;
    }
  if (g_str_equal (type, "bind"))
    {
      g_autofree char *name = NULL;
      if (source == NULL || source[0] != '/')
        {
          ctl_compose_error (c->diag, path,
                             _("relative bind mount \"%s\" is not supported: that path is on this machine, not on the node (use an absolute path on the node or a named volume)"),
                             source ? source : "");
          return;
        }
      name = host_volume_name (source);
      ctl_compose_warn (c->diag, path, _("%s is a path on the node the project runs on, not on this machine"), source);
      add_project_volume (c, name, "HostPath", source);
      add_mount (mounts, name, target, ro);
      return;
    }
  if (source == NULL || *source == '\0')
    {
      g_autofree char *name = g_strdup_printf ("%s-anon-%u", service, ++*anon);
      add_project_volume (c, name, "Ephemeral", NULL);
      add_mount (mounts, name, target, ro);
      return;
    }
  if (named_volume (c, source, path))
    add_mount (mounts, source, target, ro);
}

static void
short_volume (Conv *c, const char *service, const char *s, const char *path, guint *anon, JsonArray *mounts)
{
  g_auto(GStrv) parts = g_strsplit (s, ":", 0);
  guint n = g_strv_length (parts);
  gboolean ro = FALSE;
  const char *source = NULL, *target;

  if (n == 1)
    {
      mount_volume (c, service, "volume", NULL, parts[0], FALSE, path, anon, mounts);
      return;
    }
  if (n > 3)
    {
      ctl_compose_error (c->diag, path, _("invalid volume \"%s\" (expected [SOURCE:]TARGET[:MODE])"), s);
      return;
    }
  source = parts[0];
  target = parts[1];
  if (n == 3)
    {
      g_auto(GStrv) modes = g_strsplit (parts[2], ",", 0);
      for (guint i = 0; modes[i] != NULL; i++)
        {
          if (g_str_equal (modes[i], "ro"))
            ro = TRUE;
          else if (g_str_equal (modes[i], "rw"))
            ro = FALSE;
          else if (g_strv_contains ((const char *const[]){ "z", "Z", "cached", "delegated", "consistent", "nocopy",
                                                           "shared", "slave", "private", "rshared", "rslave",
                                                           "rprivate", NULL }, modes[i]))
            ctl_compose_warn (c->diag, path, _("mode \"%s\" ignored"), modes[i]);
          else
            {
              ctl_compose_error (c->diag, path, _("unknown volume mode \"%s\" (ro or rw)"), modes[i]);
              return;
            }
        }
    }
  if (source[0] == '/' || source[0] == '.' || source[0] == '~')
    mount_volume (c, service, "bind", source, target, ro, path, anon, mounts);
  else
    mount_volume (c, service, "volume", source, target, ro, path, anon, mounts);
}

static const KeyRule long_volume_rules[] = {
  { "type", KEY_MAPPED }, { "source", KEY_MAPPED }, { "target", KEY_MAPPED }, { "read_only", KEY_MAPPED },
  { "bind", IGN (N_("ignored: bind options are not kept")) }, { "volume", IGN (N_("ignored: volume options are not kept")) },
  { "consistency", IGN (conv_ignored_why) },
  { "tmpfs", UNSUP (N_("not supported")) }, { "image", UNSUP (N_("not supported")) },
  { NULL }
};

static void
long_volume (Conv *c, const char *service, JsonObject *o, const char *path, guint *anon, JsonArray *mounts)
{
  g_autofree char *type = NULL, *source = NULL, *target = NULL;
  gboolean ro = FALSE;
  JsonNode *m;
  g_autofree char *tp = conv_join (path, "type");

  if (!conv_check_keys (c, o, long_volume_rules, path))
    return;
  if ((m = json_object_get_member (o, "type")) == NULL)
    {
      ctl_compose_error (c->diag, path, _("type is required (volume or bind)"));
      return;
    }
  if (!conv_want_string (c, m, tp, &type))
    return;
  if (!g_str_equal (type, "volume") && !g_str_equal (type, "bind"))
    {
      ctl_compose_error (c->diag, tp, _("volume type \"%s\" is not supported (volume or bind)"), type);
      return;
    }
  if (!conv_member_string (c, o, path, "source", &source) || !conv_member_string (c, o, path, "target", &target))
    return;
  if ((m = json_object_get_member (o, "read_only")) != NULL)
    {
      g_autofree char *p2 = conv_join (path, "read_only");
      if (!conv_want_bool (c, m, p2, &ro))
        return;
    }
  mount_volume (c, service, type, source, target, ro, path, anon, mounts);
}

void
conv_map_volumes (Conv *c, const char *service, JsonNode *n, const char *path, JsonObject *out)
{
  JsonArray *a = conv_want_list (c, n, path);
  JsonArray *mounts;
  guint anon = 0;

  if (a == NULL)
    return;
  mounts = json_array_new ();
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      g_autofree char *ip = g_strdup_printf ("%s[%u]", path, i);

      if (conv_is_string (e))
        short_volume (c, service, json_node_get_string (e), ip, &anon, mounts);
      else if (JSON_NODE_HOLDS_OBJECT (e))
        long_volume (c, service, json_node_get_object (e), ip, &anon, mounts);
      else
        ctl_compose_error (c->diag, ip, _("must be a volume string or a mapping"));
    }
  if (json_array_get_length (mounts) > 0)
    json_object_set_array_member (out, "volumeMounts", mounts);
  else
    json_array_unref (mounts);
}
