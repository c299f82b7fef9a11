/* SPDX-License-Identifier: Apache-2.0 */
/* The mapping of a Compose file to a Project manifest (SPEC §10's table): top-level keys,
 * profiles, project volumes, and each service's keys.  Every key of the Compose Specification is
 * either mapped, ignored with a warning, or an error ("not supported"); anything else is an
 * unknown key (an error, as Compose treats it). */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cara-error.h"
#include "cara-validate.h"
#include "compose.h"

typedef struct {
  CtlComposeDiag *diag;
  GHashTable *env;
  const char *dir;
  const char *project;
  JsonObject *top;
  JsonObject *services;     /* the Compose services: mapping */
  GHashTable *enabled;      /* service names enabled by the profiles */
  GHashTable *healthy;      /* service names that have a healthcheck */
  JsonObject *declared;     /* top-level volumes: (may be NULL) */
  JsonArray *volumes;       /* project volumes, in order of first use */
  GHashTable *volume_names; /* name -> "" */
} Conv;

/* ================================================================ small helpers */

static char *
join (const char *path, const char *key)
{
  return *path ? g_strconcat (path, ".", key, NULL) : g_strdup (key);
}

static gboolean
is_string (JsonNode *v)
{
  return JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING;
}

/* Scalars as text, as Compose casts them. NULL for null, lists and mappings. */
static char *
scalar_text (JsonNode *v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!JSON_NODE_HOLDS_VALUE (v))
    return NULL;
  switch (json_node_get_value_type (v))
    {
    case G_TYPE_STRING:
      return g_strdup (json_node_get_string (v));
    case G_TYPE_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (v));
    case G_TYPE_BOOLEAN:
      return g_strdup (json_node_get_boolean (v) ? "true" : "false");
    default:
      return g_strdup (g_ascii_dtostr (buf, sizeof buf, json_node_get_double (v)));
    }
}

static gboolean
want_string (Conv *c, JsonNode *v, const char *path, char **ret)
{
  char *s = scalar_text (v);
  if (s == NULL)
    {
      ctl_compose_error (c->diag, path, _("must be a string"));
      return FALSE;
    }
  *ret = s;
  return TRUE;
}

static gboolean
want_int (Conv *c, JsonNode *v, const char *path, gint64 *ret)
{
  g_autofree char *s = scalar_text (v);
  gint64 n;

  if (s == NULL || !g_ascii_string_to_signed (s, 10, 0, G_MAXINT32, &n, NULL))
    {
      ctl_compose_error (c->diag, path, _("must be a whole number"));
      return FALSE;
    }
  *ret = n;
  return TRUE;
}

static gboolean
want_bool (Conv *c, JsonNode *v, const char *path, gboolean *ret)
{
  g_autofree char *s = scalar_text (v);

  if (s != NULL && (g_str_equal (s, "true") || g_str_equal (s, "false")))
    {
      *ret = g_str_equal (s, "true");
      return TRUE;
    }
  ctl_compose_error (c->diag, path, _("must be true or false"));
  return FALSE;
}

static JsonObject *
want_mapping (Conv *c, JsonNode *v, const char *path)
{
  if (v != NULL && JSON_NODE_HOLDS_OBJECT (v))
    return json_node_get_object (v);
  ctl_compose_error (c->diag, path, _("must be a mapping"));
  return NULL;
}

static JsonArray *
want_list (Conv *c, JsonNode *v, const char *path)
{
  if (v != NULL && JSON_NODE_HOLDS_ARRAY (v))
    return json_node_get_array (v);
  ctl_compose_error (c->diag, path, _("must be a list"));
  return NULL;
}

static JsonNode *
string_array_node (char **strv)
{
  g_autoptr(JsonArray) a = json_array_new ();
  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    json_array_add_string_element (a, strv[i]);
  return json_node_init_array (json_node_alloc (), a); /* takes its own reference */
}

static guint
edit_distance (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *row = g_new (guint, lb + 1);

  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint) j;
  for (gsize i = 1; i <= la; i++)
    {
      guint diag = row[0];
      row[0] = (guint) i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint up = row[j];
          guint cost = a[i - 1] == b[j - 1] ? 0 : 1;
          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diag + cost);
          diag = up;
        }
    }
  return row[lb];
}

typedef enum { KEY_MAPPED, KEY_IGNORED, KEY_UNSUPPORTED } KeyAction;

typedef struct {
  const char *key;
  KeyAction action;
  const char *why; /* for KEY_IGNORED/KEY_UNSUPPORTED: N_() */
} KeyRule;

static const KeyRule *
find_rule (const KeyRule *rules, const char *key)
{
  for (const KeyRule *r = rules; r->key != NULL; r++)
    if (g_str_equal (r->key, key))
      return r;
  return NULL;
}

static void
unknown_key (Conv *c, const KeyRule *rules, const char *path, const char *key)
{
  const char *best = NULL;
  guint best_d = G_MAXUINT;

  for (const KeyRule *r = rules; r->key != NULL; r++)
    {
      guint d = edit_distance (key, r->key);
      if (d < best_d)
        best_d = d, best = r->key;
    }
  if (best != NULL && best_d <= MAX (2u, (guint) strlen (key) / 3))
    ctl_compose_error (c->diag, path, _("unknown key (did you mean \"%s\"?)"), best);
  else
    ctl_compose_error (c->diag, path, _("unknown key"));
}

/* Checks every key of @o against @rules: unknown keys and unsupported ones are errors, ignored
 * ones warnings.  Returns FALSE when any was an error. */
static gboolean
check_keys (Conv *c, JsonObject *o, const KeyRule *rules, const char *path)
{
  CtlKeyIter it;
  const char *k;
  JsonNode *v;
  gboolean ok = TRUE;

  ctl_key_iter_init (&it, o);
  while (ctl_key_iter_next (&it, &k, &v))
    {
      g_autofree char *kp = join (path, k);
      const KeyRule *r = find_rule (rules, k);

      if (r == NULL && g_str_has_prefix (k, "x-"))
        ctl_compose_warn (c->diag, kp, _("extension field ignored"));
      else if (r == NULL)
        {
          unknown_key (c, rules, kp, k);
          ok = FALSE;
        }
      else if (r->action == KEY_IGNORED)
        ctl_compose_warn (c->diag, kp, "%s", _(r->why));
      else if (r->action == KEY_UNSUPPORTED)
        {
          ctl_compose_error (c->diag, kp, "%s", _(r->why));
          ok = FALSE;
        }
    }
  return ok;
}

#define IGN(why) KEY_IGNORED, why
#define UNSUP(why) KEY_UNSUPPORTED, why

static const char ignored_why[] = N_("ignored: it changes nothing here");

static const KeyRule service_rules[] = {
  { "image", KEY_MAPPED }, { "build", KEY_MAPPED }, { "command", KEY_MAPPED },
  { "entrypoint", KEY_MAPPED }, { "environment", KEY_MAPPED }, { "env_file", KEY_MAPPED },
  { "ports", KEY_MAPPED }, { "volumes", KEY_MAPPED }, { "depends_on", KEY_MAPPED },
  { "healthcheck", KEY_MAPPED }, { "restart", KEY_MAPPED }, { "deploy", KEY_MAPPED },
  { "cpus", KEY_MAPPED }, { "mem_limit", KEY_MAPPED }, { "mem_reservation", KEY_MAPPED },
  { "working_dir", KEY_MAPPED }, { "user", KEY_MAPPED }, { "labels", KEY_MAPPED },
  { "cap_add", KEY_MAPPED }, { "cap_drop", KEY_MAPPED }, { "stop_grace_period", KEY_MAPPED },
  { "stop_signal", KEY_MAPPED }, { "profiles", KEY_MAPPED }, { "networks", KEY_MAPPED },
  { "scale", KEY_MAPPED }, { "privileged", KEY_MAPPED }, { "read_only", KEY_MAPPED },
  { "init", IGN (N_("ignored: no init process is added; the container's command is PID 1")) },
  { "secrets", KEY_MAPPED },
  { "expose", IGN (ignored_why) }, { "container_name", IGN (N_("ignored: containers are named {project}-{service}")) },
  { "links", IGN (N_("ignored: services reach each other by service name")) },
  { "external_links", IGN (ignored_why) },
  { "hostname", IGN (ignored_why) }, { "domainname", IGN (ignored_why) }, { "tty", IGN (ignored_why) },
  { "stdin_open", IGN (ignored_why) }, { "attach", IGN (ignored_why) },
  { "logging", IGN (N_("ignored: logs go to the node's Docker default driver")) },
  { "pull_policy", IGN (N_("ignored: images are pulled only when missing on the node")) },
  { "platform", IGN (ignored_why) }, { "develop", IGN (ignored_why) }, { "annotations", IGN (ignored_why) },
  { "cpu_shares", IGN (N_("ignored: only cpus limits are kept")) }, { "cpu_quota", IGN (N_("ignored: only cpus limits are kept")) },
  { "cpu_period", IGN (N_("ignored: only cpus limits are kept")) }, { "cpuset", IGN (N_("ignored: only cpus limits are kept")) },
  { "cpu_count", IGN (N_("ignored: only cpus limits are kept")) }, { "cpu_percent", IGN (N_("ignored: only cpus limits are kept")) },
  { "cpu_rt_period", IGN (N_("ignored: only cpus limits are kept")) }, { "cpu_rt_runtime", IGN (N_("ignored: only cpus limits are kept")) },
  { "mem_swappiness", IGN (N_("ignored: only memory limits are kept")) }, { "memswap_limit", IGN (N_("ignored: only memory limits are kept")) },
  { "oom_score_adj", IGN (ignored_why) }, { "pids_limit", IGN (ignored_why) }, { "shm_size", IGN (ignored_why) },
  { "ulimits", IGN (ignored_why) }, { "dns", IGN (N_("ignored: the node's DNS is used")) },
  { "dns_search", IGN (N_("ignored: the node's DNS is used")) }, { "dns_opt", IGN (N_("ignored: the node's DNS is used")) },
  { "extra_hosts", IGN (ignored_why) }, { "mac_address", IGN (ignored_why) },
  { "network_mode", UNSUP (N_("not supported: every project has its own network")) },
  { "pid", UNSUP (N_("not supported: containers do not share a PID namespace here")) },
  { "ipc", UNSUP (N_("not supported: containers do not share an IPC namespace here")) },
  { "uts", UNSUP (N_("not supported")) }, { "userns_mode", UNSUP (N_("not supported")) },
  { "cgroup", UNSUP (N_("not supported")) }, { "cgroup_parent", UNSUP (N_("not supported")) },
  { "devices", UNSUP (N_("not supported: devices of one machine cannot follow a project to another node")) },
  { "device_cgroup_rules", UNSUP (N_("not supported")) }, { "gpus", UNSUP (N_("not supported")) },
  { "extends", UNSUP (N_("not supported: merge the files first (docker compose config)")) },
  { "configs", UNSUP (N_("not supported: no configs here; mount a HostPath volume")) },
  { "volumes_from", UNSUP (N_("not supported: share a named volume instead")) },
  { "security_opt", UNSUP (N_("not supported")) }, { "sysctls", UNSUP (N_("not supported")) },
  { "tmpfs", UNSUP (N_("not supported")) }, { "runtime", UNSUP (N_("not supported")) },
  { "isolation", UNSUP (N_("not supported")) }, { "credential_spec", UNSUP (N_("not supported")) },
  { "storage_opt", UNSUP (N_("not supported")) }, { "blkio_config", UNSUP (N_("not supported")) },
  { "oom_kill_disable", UNSUP (N_("not supported")) }, { "group_add", UNSUP (N_("not supported")) },
  { "label_file", UNSUP (N_("not supported: give labels")) }, { "use_api_socket", UNSUP (N_("not supported")) },
  { "post_start", UNSUP (N_("not supported")) }, { "pre_stop", UNSUP (N_("not supported")) },
  { "provider", UNSUP (N_("not supported")) }, { "models", UNSUP (N_("not supported")) },
  { NULL }
};

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
  g_autofree char *pp = join (path, "profiles");

  if (pn == NULL || JSON_NODE_HOLDS_NULL (pn))
    return TRUE;
  if ((a = want_list (c, pn, pp)) == NULL)
    return FALSE;
  if (json_array_get_length (a) == 0)
    return TRUE;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *ip = g_strdup_printf ("%s[%u]", pp, i);
      g_autofree char *name = NULL;
      if (!want_string (c, json_array_get_element (a, i), ip, &name))
        return FALSE;
      for (guint k = 0; profiles != NULL && profiles[k] != NULL; k++)
        if (g_str_equal (profiles[k], name) || g_str_equal (profiles[k], "*"))
          return TRUE;
    }
  return FALSE;
}

/* ================================================================ volumes */

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

static gboolean
check_top_volumes (Conv *c)
{
  JsonNode *vn = json_object_get_member (c->top, "volumes");
  CtlKeyIter it;
  const char *k;
  JsonNode *v;
  gboolean ok = TRUE;

  if (vn == NULL || JSON_NODE_HOLDS_NULL (vn))
    return TRUE;
  if ((c->declared = want_mapping (c, vn, "volumes")) == NULL)
    return FALSE;
  ctl_key_iter_init (&it, c->declared);
  while (ctl_key_iter_next (&it, &k, &v))
    {
      g_autofree char *vp = join ("volumes", k);
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
      if ((o = want_mapping (c, v, vp)) == NULL || !check_keys (c, o, top_volume_rules, vp))
        {
          ok = FALSE;
          continue;
        }
      if ((m = json_object_get_member (o, "external")) != NULL)
        {
          g_autofree char *ep = join (vp, "external");
          gboolean ext = TRUE;
          if (JSON_NODE_HOLDS_OBJECT (m) || (want_bool (c, m, ep, &ext) && ext))
            {
              ctl_compose_error (c->diag, ep, _("not supported: external volumes are not managed by the project"));
              ok = FALSE;
            }
        }
      if ((m = json_object_get_member (o, "driver")) != NULL)
        {
          g_autofree char *dp = join (vp, "driver");
          g_autofree char *driver = NULL;
          if (!want_string (c, m, dp, &driver))
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
  { "consistency", IGN (ignored_why) },
  { "tmpfs", UNSUP (N_("not supported")) }, { "image", UNSUP (N_("not supported")) },
  { NULL }
};

static void
long_volume (Conv *c, const char *service, JsonObject *o, const char *path, guint *anon, JsonArray *mounts)
{
  g_autofree char *type = NULL, *source = NULL, *target = NULL;
  gboolean ro = FALSE;
  JsonNode *m;
  g_autofree char *tp = join (path, "type");

  if (!check_keys (c, o, long_volume_rules, path))
    return;
  if ((m = json_object_get_member (o, "type")) == NULL)
    {
      ctl_compose_error (c->diag, path, _("type is required (volume or bind)"));
      return;
    }
  if (!want_string (c, m, tp, &type))
    return;
  if (!g_str_equal (type, "volume") && !g_str_equal (type, "bind"))
    {
      ctl_compose_error (c->diag, tp, _("volume type \"%s\" is not supported (volume or bind)"), type);
      return;
    }
  if ((m = json_object_get_member (o, "source")) != NULL)
    {
      g_autofree char *sp = join (path, "source");
      if (!want_string (c, m, sp, &source))
        return;
    }
  if ((m = json_object_get_member (o, "target")) != NULL)
    {
      g_autofree char *p2 = join (path, "target");
      if (!want_string (c, m, p2, &target))
        return;
    }
  if ((m = json_object_get_member (o, "read_only")) != NULL)
    {
      g_autofree char *p2 = join (path, "read_only");
      if (!want_bool (c, m, p2, &ro))
        return;
    }
  mount_volume (c, service, type, source, target, ro, path, anon, mounts);
}

/* ================================================================ service keys */

static void
map_environment (Conv *c, JsonObject *svc, const char *path, JsonObject *out)
{
  g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  JsonNode *n;
  JsonArray *env;

  if ((n = json_object_get_member (svc, "env_file")) != NULL && !JSON_NODE_HOLDS_NULL (n))
    {
      g_autofree char *ep = join (path, "env_file");
      g_autoptr(JsonArray) files = NULL;

      if (is_string (n))
        {
          files = json_array_new ();
          json_array_add_element (files, json_node_copy (n));
        }
      else if (JSON_NODE_HOLDS_ARRAY (n))
        files = json_array_ref (json_node_get_array (n));
      else
        {
          ctl_compose_error (c->diag, ep, _("must be a file name or a list of them"));
          return;
        }
      for (guint i = 0; i < json_array_get_length (files); i++)
        {
          JsonNode *f = json_array_get_element (files, i);
          g_autofree char *fp = is_string (n) ? g_strdup (ep) : g_strdup_printf ("%s[%u]", ep, i);
          g_autofree char *file = NULL;
          g_autofree char *full = NULL;
          gboolean required = TRUE;
          g_autoptr(GError) error = NULL;
          g_autoptr(GPtrArray) file_order = NULL;
          g_autoptr(GHashTable) vars = NULL;

          if (JSON_NODE_HOLDS_OBJECT (f))
            {
              JsonObject *fo = json_node_get_object (f);
              JsonNode *pn = json_object_get_member (fo, "path");
              JsonNode *rn = json_object_get_member (fo, "required");
              g_autofree char *pp = join (fp, "path");
              g_autofree char *rp = join (fp, "required");
              if (pn == NULL)
                {
                  ctl_compose_error (c->diag, fp, _("path is required"));
                  continue;
                }
              if (!want_string (c, pn, pp, &file) || (rn != NULL && !want_bool (c, rn, rp, &required)))
                continue;
            }
          else if (!want_string (c, f, fp, &file))
            continue;
          full = g_path_is_absolute (file) ? g_strdup (file) : g_build_filename (c->dir, file, NULL);
          vars = ctl_compose_dotenv_read (full, c->env, &file_order, &error);
          if (vars == NULL)
            {
              if (!required && g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND))
                continue;
              if (g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND))
                ctl_compose_error (c->diag, fp, _("cannot read env_file %s: no such file"), file);
              else
                ctl_compose_error (c->diag, fp, _("cannot read env_file %s: %s"), file, error->message);
              continue;
            }
          for (guint k = 0; k < file_order->len; k++)
            {
              const char *key = file_order->pdata[k];
              if (!g_hash_table_contains (values, key))
                g_ptr_array_add (order, g_strdup (key));
              g_hash_table_replace (values, g_strdup (key), g_strdup (g_hash_table_lookup (vars, key)));
            }
        }
    }

  if ((n = json_object_get_member (svc, "environment")) != NULL && !JSON_NODE_HOLDS_NULL (n))
    {
      g_autofree char *ep = join (path, "environment");
      if (JSON_NODE_HOLDS_ARRAY (n))
        {
          JsonArray *a = json_node_get_array (n);
          for (guint i = 0; i < json_array_get_length (a); i++)
            {
              g_autofree char *ip = g_strdup_printf ("%s[%u]", ep, i);
              g_autofree char *item = NULL;
              char *eq;
              if (!want_string (c, json_array_get_element (a, i), ip, &item))
                continue;
              eq = strchr (item, '=');
              if (eq != NULL)
                *eq = '\0';
              if (*item == '\0')
                {
                  ctl_compose_error (c->diag, ip, _("variable name is empty"));
                  continue;
                }
              if (eq == NULL && !g_hash_table_contains (c->env, item))
                {
                  ctl_compose_warn (c->diag, ip, _("\"%s\" is not set in the environment of caractrl; left out"), item);
                  continue;
                }
              if (!g_hash_table_contains (values, item))
                g_ptr_array_add (order, g_strdup (item));
              g_hash_table_replace (values, g_strdup (item),
                                    g_strdup (eq != NULL ? eq + 1 : g_hash_table_lookup (c->env, item)));
            }
        }
      else if (JSON_NODE_HOLDS_OBJECT (n))
        {
          CtlKeyIter it;
          const char *k;
          JsonNode *v;
          ctl_key_iter_init (&it, json_node_get_object (n));
          while (ctl_key_iter_next (&it, &k, &v))
            {
              g_autofree char *kp = join (ep, k);
              g_autofree char *value = NULL;
              if (JSON_NODE_HOLDS_NULL (v))
                {
                  if (!g_hash_table_contains (c->env, k))
                    {
                      ctl_compose_warn (c->diag, kp, _("\"%s\" is not set in the environment of caractrl; left out"), k);
                      continue;
                    }
                  value = g_strdup (g_hash_table_lookup (c->env, k));
                }
              else if (!want_string (c, v, kp, &value))
                continue;
              if (!g_hash_table_contains (values, k))
                g_ptr_array_add (order, g_strdup (k));
              g_hash_table_replace (values, g_strdup (k), g_steal_pointer (&value));
            }
        }
      else
        ctl_compose_error (c->diag, ep, _("must be a list of KEY=VALUE or a mapping"));
    }
  if (order->len == 0)
    return;
  env = json_array_new ();
  for (guint i = 0; i < order->len; i++)
    {
      JsonObject *e = json_object_new ();
      json_object_set_string_member (e, "name", order->pdata[i]);
      json_object_set_string_member (e, "value", g_hash_table_lookup (values, order->pdata[i]));
      json_array_add_object_element (env, e);
    }
  json_object_set_array_member (out, "env", env);
}

static const KeyRule long_port_rules[] = {
  { "target", KEY_MAPPED }, { "published", KEY_MAPPED }, { "host_ip", KEY_MAPPED }, { "protocol", KEY_MAPPED },
  { "mode", IGN (ignored_why) }, { "name", IGN (ignored_why) }, { "app_protocol", IGN (ignored_why) },
  { NULL }
};

static void
map_ports (Conv *c, JsonNode *n, const char *path, JsonObject *out)
{
  JsonArray *a = want_list (c, n, path);
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
          g_autofree char *tp = join (ip, "target");

          if (!check_keys (c, o, long_port_rules, ip))
            continue;
          if ((m = json_object_get_member (o, "target")) == NULL)
            {
              ctl_compose_error (c->diag, ip, _("target is required"));
              continue;
            }
          if (!want_string (c, m, tp, &target))
            continue;
          if ((m = json_object_get_member (o, "published")) != NULL)
            {
              g_autofree char *pp = join (ip, "published");
              if (!want_string (c, m, pp, &published))
                continue;
            }
          if ((m = json_object_get_member (o, "host_ip")) != NULL)
            {
              g_autofree char *hp = join (ip, "host_ip");
              if (!want_string (c, m, hp, &host_ip))
                continue;
            }
          if ((m = json_object_get_member (o, "protocol")) != NULL)
            {
              g_autofree char *pp = join (ip, "protocol");
              if (!want_string (c, m, pp, &protocol))
                continue;
            }
          spec = g_strdup_printf ("%s%s%s%s%s%s%s%s", host_ip ? (strchr (host_ip, ':') ? "[" : "") : "",
                                  host_ip ? host_ip : "", host_ip ? (strchr (host_ip, ':') ? "]:" : ":") : "",
                                  published ? published : "", (published || host_ip) ? ":" : "", target,
                                  protocol ? "/" : "", protocol ? protocol : "");
          if (!ctl_compose_parse_port (spec, ports, &msg))
            ctl_compose_error (c->diag, ip, "%s", msg);
          continue;
        }
      {
        g_autofree char *s = scalar_text (e);
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

static void
map_volumes (Conv *c, const char *service, JsonNode *n, const char *path, JsonObject *out)
{
  JsonArray *a = want_list (c, n, path);
  JsonArray *mounts;
  guint anon = 0;

  if (a == NULL)
    return;
  mounts = json_array_new ();
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      g_autofree char *ip = g_strdup_printf ("%s[%u]", path, i);

      if (is_string (e))
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

static void
add_seconds (Conv *c, JsonObject *from, const char *key, const char *path, JsonObject *out, const char *out_key)
{
  JsonNode *m = json_object_get_member (from, key);
  g_autofree char *kp = join (path, key);
  g_autofree char *s = NULL;
  g_autofree char *msg = NULL;
  gint64 secs;
  gboolean rounded;

  if (m == NULL || JSON_NODE_HOLDS_NULL (m))
    return;
  if (!want_string (c, m, kp, &s))
    return;
  if (!ctl_compose_parse_seconds (s, &secs, &rounded, &msg))
    {
      ctl_compose_error (c->diag, kp, "%s", msg);
      return;
    }
  if (rounded)
    ctl_compose_warn (c->diag, kp, _("%s rounded up to %" G_GINT64_FORMAT "s (whole seconds here)"), s, secs);
  json_object_set_int_member (out, out_key, secs);
}

static const KeyRule healthcheck_rules[] = {
  { "test", KEY_MAPPED }, { "interval", KEY_MAPPED }, { "timeout", KEY_MAPPED }, { "retries", KEY_MAPPED },
  { "start_period", KEY_MAPPED }, { "disable", KEY_MAPPED },
  { "start_interval", IGN (N_("ignored: checks run every interval from the start")) },
  { NULL }
};

/* TRUE when the service ends up with a healthcheck. */
static gboolean
map_healthcheck (Conv *c, JsonNode *n, const char *path, JsonObject *out)
{
  JsonObject *o = want_mapping (c, n, path);
  JsonNode *m;
  g_autoptr(JsonArray) cmd = NULL;
  JsonObject *h;
  gboolean disable = FALSE;

  if (o == NULL || !check_keys (c, o, healthcheck_rules, path))
    return FALSE;
  if ((m = json_object_get_member (o, "disable")) != NULL)
    {
      g_autofree char *dp = join (path, "disable");
      if (!want_bool (c, m, dp, &disable) || disable)
        return FALSE;
    }
  m = json_object_get_member (o, "test");
  if (m == NULL)
    {
      ctl_compose_error (c->diag, path, _("test is required (the image's own HEALTHCHECK is not read here)"));
      return FALSE;
    }
  {
    g_autofree char *tp = join (path, "test");
    g_autofree char *msg = NULL;
    g_auto(GStrv) argv = NULL;

    cmd = json_array_new ();
    if (is_string (m))
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
  add_seconds (c, o, "interval", path, h, "intervalSeconds");
  add_seconds (c, o, "timeout", path, h, "timeoutSeconds");
  if ((m = json_object_get_member (o, "retries")) != NULL)
    {
      g_autofree char *rp = join (path, "retries");
      gint64 r;
      if (want_int (c, m, rp, &r))
        json_object_set_int_member (h, "retries", r);
    }
  add_seconds (c, o, "start_period", path, h, "startPeriodSeconds");
  json_object_set_object_member (out, "healthcheck", h);
  return TRUE;
}

static void
map_restart (Conv *c, JsonNode *n, const char *path, JsonObject *out)
{
  g_autofree char *s = NULL;
  const char *policy = NULL;

  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN && !json_node_get_boolean (n))
    s = g_strdup ("no");
  else if (!want_string (c, n, path, &s))
    return;
  if (g_str_equal (s, "no"))
    policy = "Never";
  else if (g_str_equal (s, "always"))
    policy = "Always";
  else if (g_str_equal (s, "unless-stopped"))
    {
      policy = "Always";
      ctl_compose_warn (c->diag, path, _("unless-stopped becomes Always (a stopped container is restarted by the agent)"));
    }
  else if (g_str_equal (s, "on-failure"))
    policy = "OnFailure";
  else if (g_str_has_prefix (s, "on-failure:"))
    {
      guint64 n_retries;
      if (!g_ascii_string_to_unsigned (s + 11, 10, 0, G_MAXINT32, &n_retries, NULL))
        {
          ctl_compose_error (c->diag, path, _("invalid retry count in \"%s\""), s);
          return;
        }
      policy = "OnFailure";
      ctl_compose_warn (c->diag, path, _("the limit of %s restarts is not kept: OnFailure restarts without limit"), s + 11);
    }
  else
    {
      ctl_compose_error (c->diag, path, _("unknown restart policy \"%s\" (no, always, on-failure[:N] or unless-stopped)"), s);
      return;
    }
  json_object_set_string_member (out, "restartPolicy", policy);
}

static const KeyRule deploy_rules[] = {
  { "resources", KEY_MAPPED }, { "replicas", KEY_MAPPED }, { "mode", KEY_MAPPED },
  { "restart_policy", IGN (N_("ignored: use restart")) }, { "placement", IGN (N_("ignored: use x-caravanserai.nodeSelector")) },
  { "update_config", IGN (ignored_why) }, { "rollback_config", IGN (ignored_why) }, { "labels", IGN (ignored_why) },
  { "endpoint_mode", IGN (ignored_why) },
  { NULL }
};

static const KeyRule resources_rules[] = {
  { "limits", KEY_MAPPED }, { "reservations", KEY_MAPPED }, { NULL }
};

static const KeyRule resource_rules[] = {
  { "cpus", KEY_MAPPED }, { "memory", KEY_MAPPED },
  { "pids", IGN (ignored_why) },
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
    p->cpus = m, p->cpus_path = join (path, cpus_key);
  if (p->memory == NULL && (m = json_object_get_member (o, mem_key)) != NULL && !JSON_NODE_HOLDS_NULL (m))
    p->memory = m, p->memory_path = join (path, mem_key);
}

static void
map_resources (Conv *c, JsonObject *svc, const char *path, JsonObject *out)
{
  ResPick p = { 0 };
  JsonObject *limits = NULL, *reservations = NULL;
  JsonNode *dn = json_object_get_member (svc, "deploy");
  g_autofree char *dp = join (path, "deploy");
  g_autofree char *rp = join (dp, "resources");
  g_autofree char *lp = join (rp, "limits");
  g_autofree char *sp = join (rp, "reservations");
  JsonObject *res;

  if (dn != NULL && !JSON_NODE_HOLDS_NULL (dn))
    {
      JsonObject *d = want_mapping (c, dn, dp);
      JsonNode *m;
      if (d == NULL || !check_keys (c, d, deploy_rules, dp))
        return;
      if ((m = json_object_get_member (d, "replicas")) != NULL)
        {
          g_autofree char *pp = join (dp, "replicas");
          gint64 r;
          if (want_int (c, m, pp, &r) && r != 1)
            ctl_compose_error (c->diag, pp, _("%" G_GINT64_FORMAT " replicas are not supported: a service runs one container"), r);
        }
      if ((m = json_object_get_member (d, "mode")) != NULL)
        {
          g_autofree char *pp = join (dp, "mode");
          g_autofree char *mode = NULL;
          if (want_string (c, m, pp, &mode) && !g_str_equal (mode, "replicated"))
            ctl_compose_error (c->diag, pp, _("mode \"%s\" is not supported: a service runs one container"), mode);
        }
      if ((m = json_object_get_member (d, "resources")) != NULL)
        {
          /* Bad keys are reported; cpus and memory are still read, so every error shows at once. */
          JsonObject *r = want_mapping (c, m, rp);
          if (r == NULL)
            return;
          check_keys (c, r, resources_rules, rp);
          if ((m = json_object_get_member (r, "limits")) != NULL && (limits = want_mapping (c, m, lp)) != NULL)
            check_keys (c, limits, resource_rules, lp);
          if ((m = json_object_get_member (r, "reservations")) != NULL &&
              (reservations = want_mapping (c, m, sp)) != NULL)
            check_keys (c, reservations, resource_rules, sp);
        }
    }
  pick (&p, limits, lp, "cpus", "memory");
  pick (&p, svc, path, "cpus", "mem_limit");
  pick (&p, reservations, sp, "cpus", "memory");
  pick (&p, svc, path, "cpus", "mem_reservation");
  res = json_object_new ();
  if (p.cpus != NULL)
    {
      g_autofree char *msg = NULL;
      g_autofree char *v = ctl_compose_cpus (p.cpus, &msg);
      if (v == NULL)
        ctl_compose_error (c->diag, p.cpus_path, "%s", msg);
      else
        json_object_set_string_member (res, "cpu", v);
    }
  if (p.memory != NULL)
    {
      g_autofree char *msg = NULL;
      g_autofree char *v = ctl_compose_memory (p.memory, &msg);
      if (v == NULL)
        ctl_compose_error (c->diag, p.memory_path, "%s", msg);
      else
        json_object_set_string_member (res, "memory", v);
    }
  g_free (p.cpus_path);
  g_free (p.memory_path);
  if (json_object_get_size (res) > 0)
    json_object_set_object_member (out, "resources", res);
  else
    json_object_unref (res);
}

static const KeyRule depends_rules[] = {
  { "condition", KEY_MAPPED }, { "required", KEY_MAPPED },
  { "restart", IGN (N_("ignored: a dependency's restart does not restart this service")) },
  { NULL }
};

static void
map_depends_on (Conv *c, const char *service, JsonNode *n, const char *path, JsonObject *out)
{
  JsonArray *res = json_array_new ();

  if (JSON_NODE_HOLDS_ARRAY (n))
    {
      JsonArray *a = json_node_get_array (n);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          g_autofree char *ip = g_strdup_printf ("%s[%u]", path, i);
          g_autofree char *dep = NULL;
          if (!want_string (c, json_array_get_element (a, i), ip, &dep))
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
          g_autofree char *dp = join (path, dep);
          g_autofree char *cond = NULL;
          gboolean required = TRUE;
          JsonObject *o = NULL;
          JsonNode *m;

          if (!JSON_NODE_HOLDS_NULL (v) && ((o = want_mapping (c, v, dp)) == NULL || !check_keys (c, o, depends_rules, dp)))
            continue;
          if (o != NULL && (m = json_object_get_member (o, "required")) != NULL)
            {
              g_autofree char *rp = join (dp, "required");
              if (!want_bool (c, m, rp, &required))
                continue;
            }
          if (o != NULL && (m = json_object_get_member (o, "condition")) != NULL)
            {
              g_autofree char *cp = join (dp, "condition");
              if (!want_string (c, m, cp, &cond))
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
                  g_autofree char *cp = join (dp, "condition");
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

static void
map_labels (Conv *c, JsonNode *n, const char *path, JsonObject *out)
{
  JsonObject *labels = json_object_new ();

  if (JSON_NODE_HOLDS_ARRAY (n))
    {
      JsonArray *a = json_node_get_array (n);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          g_autofree char *ip = g_strdup_printf ("%s[%u]", path, i);
          g_autofree char *item = NULL;
          char *eq;
          if (!want_string (c, json_array_get_element (a, i), ip, &item))
            continue;
          eq = strchr (item, '=');
          if (eq != NULL)
            *eq = '\0';
          if (g_str_has_prefix (item, "cara."))
            ctl_compose_error (c->diag, ip, _("label keys starting with \"cara.\" are reserved"));
          else
            json_object_set_string_member (labels, item, eq != NULL ? eq + 1 : "");
        }
    }
  else if (JSON_NODE_HOLDS_OBJECT (n))
    {
      CtlKeyIter it;
      const char *k;
      JsonNode *v;
      ctl_key_iter_init (&it, json_node_get_object (n));
      while (ctl_key_iter_next (&it, &k, &v))
        {
          g_autofree char *kp = join (path, k);
          g_autofree char *value = NULL;
          if (g_str_has_prefix (k, "cara."))
            ctl_compose_error (c->diag, kp, _("label keys starting with \"cara.\" are reserved"));
          else if (JSON_NODE_HOLDS_NULL (v))
            json_object_set_string_member (labels, k, "");
          else if (want_string (c, v, kp, &value))
            json_object_set_string_member (labels, k, value);
        }
    }
  else
    ctl_compose_error (c->diag, path, _("must be a list of KEY=VALUE or a mapping"));
  if (json_object_get_size (labels) > 0)
    json_object_set_object_member (out, "labels", labels);
  else
    json_object_unref (labels);
}

static void
map_string_list (Conv *c, JsonNode *n, const char *path, JsonObject *out, const char *out_key)
{
  JsonArray *a = want_list (c, n, path);
  JsonArray *res;

  if (a == NULL)
    return;
  res = json_array_new ();
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *ip = g_strdup_printf ("%s[%u]", path, i);
      g_autofree char *s = NULL;
      if (want_string (c, json_array_get_element (a, i), ip, &s))
        json_array_add_string_element (res, s);
    }
  json_object_set_array_member (out, out_key, res);
}

static void
map_argv (Conv *c, JsonNode *n, const char *path, JsonObject *out, const char *out_key)
{
  g_autofree char *msg = NULL;
  g_auto(GStrv) argv = NULL;

  if (JSON_NODE_HOLDS_NULL (n))
    return;
  if ((argv = ctl_compose_argv (n, &msg)) == NULL)
    {
      ctl_compose_error (c->diag, path, "%s", msg);
      return;
    }
  json_object_set_member (out, out_key, string_array_node (argv));
}

static void
map_flag_refused (Conv *c, JsonObject *svc, const char *key, const char *path, const char *why)
{
  JsonNode *m = json_object_get_member (svc, key);
  g_autofree char *kp = join (path, key);
  gboolean on;

  if (m == NULL || !want_bool (c, m, kp, &on))
    return;
  if (on)
    ctl_compose_error (c->diag, kp, "%s", why);
  else
    ctl_compose_warn (c->diag, kp, "%s", _(ignored_why));
}

static JsonObject *
map_service (Conv *c, const char *name, JsonObject *svc, const char *path)
{
  g_autoptr(JsonObject) out = json_object_new ();
  JsonNode *m;
  g_autofree char *kp = NULL;

#define KEY(k) (g_free (kp), kp = join (path, k), json_object_get_member (svc, k))

  json_object_set_string_member (out, "name", name);
  /* Unknown and unsupported keys are reported; the mapped ones are still checked below, so
   * every error of the file is reported at once. */
  check_keys (c, svc, service_rules, path);

  /* image, build */
  {
    JsonNode *image = KEY ("image");
    JsonNode *build = json_object_get_member (svc, "build");
    g_autofree char *img = NULL;

    if (image != NULL && !JSON_NODE_HOLDS_NULL (image))
      {
        if (want_string (c, image, kp, &img))
          json_object_set_string_member (out, "image", img);
        if (build != NULL)
          {
            g_autofree char *bp = join (path, "build");
            ctl_compose_warn (c->diag, bp, _("not built here: the image %s is used as it is"), img ? img : "");
          }
      }
    else if (build != NULL)
      {
        g_autofree char *bp = join (path, "build");
        img = g_strdup_printf ("%s-%s", c->project, name);
        ctl_compose_warn (c->diag, bp, _("not built here: the image %s (the name docker compose build gives it) must be on the node or in a registry"),
                          img);
        json_object_set_string_member (out, "image", img);
      }
    else
      ctl_compose_error (c->diag, path, _("service \"%s\" has neither an image nor a build"), name);
  }
  if ((m = KEY ("entrypoint")) != NULL)
    map_argv (c, m, kp, out, "entrypoint");
  if ((m = KEY ("command")) != NULL)
    map_argv (c, m, kp, out, "command");
  map_environment (c, svc, path, out);
  if ((m = KEY ("ports")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    map_ports (c, m, kp, out);
  if ((m = KEY ("volumes")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    map_volumes (c, name, m, kp, out);
  map_resources (c, svc, path, out);
  if ((m = KEY ("restart")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    map_restart (c, m, kp, out);
  if ((m = KEY ("healthcheck")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    map_healthcheck (c, m, kp, out);
  if ((m = KEY ("depends_on")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    map_depends_on (c, name, m, kp, out);
  if ((m = KEY ("working_dir")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    {
      g_autofree char *s = NULL;
      if (want_string (c, m, kp, &s))
        json_object_set_string_member (out, "workingDir", s);
    }
  if ((m = KEY ("user")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    {
      g_autofree char *s = NULL;
      if (want_string (c, m, kp, &s))
        json_object_set_string_member (out, "user", s);
    }
  if ((m = KEY ("labels")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    map_labels (c, m, kp, out);
  if ((m = KEY ("cap_add")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    map_string_list (c, m, kp, out, "capAdd");
  if ((m = KEY ("cap_drop")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    map_string_list (c, m, kp, out, "capDrop");
  add_seconds (c, svc, "stop_grace_period", path, out, "stopGracePeriodSeconds");
  if ((m = KEY ("stop_signal")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    {
      g_autofree char *s = NULL;
      if (want_string (c, m, kp, &s))
        json_object_set_string_member (out, "stopSignal", s);
    }
  if ((m = KEY ("scale")) != NULL)
    {
      gint64 n;
      if (want_int (c, m, kp, &n) && n != 1)
        ctl_compose_error (c->diag, kp, _("%" G_GINT64_FORMAT " replicas are not supported: a service runs one container"), n);
    }
  if ((m = KEY ("networks")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    {
      guint count = JSON_NODE_HOLDS_ARRAY (m) ? json_array_get_length (json_node_get_array (m))
                    : JSON_NODE_HOLDS_OBJECT (m) ? json_object_get_size (json_node_get_object (m)) : 0;
      if (count > 1)
        ctl_compose_error (c->diag, kp, _("not supported: a service is on its project's one network, not on %u"), count);
      else
        ctl_compose_warn (c->diag, kp, _("ignored: every service is on its project's network"));
    }
  map_flag_refused (c, svc, "privileged", path, _("not supported: containers never run privileged here"));
  map_flag_refused (c, svc, "read_only", path, _("not supported: the root filesystem stays writable here"));
  ctl_compose_service_secrets (c->top, c->project, svc, path, out, c->diag);
#undef KEY
  return g_steal_pointer (&out);
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
  if ((o = want_mapping (c, n, "x-caravanserai")) == NULL || !check_keys (c, o, x_cara_rules, "x-caravanserai"))
    return;
  if ((m = json_object_get_member (o, "nodeSelector")) != NULL)
    {
      JsonObject *sel = want_mapping (c, m, "x-caravanserai.nodeSelector");
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
          g_autofree char *kp = join ("x-caravanserai.nodeSelector", k);
          g_autofree char *s = NULL;
          if (want_string (c, v, kp, &s))
            json_object_set_string_member (res, k, s);
        }
      json_object_set_object_member (spec, "nodeSelector", res);
    }
  if ((m = json_object_get_member (o, "expireAt")) != NULL)
    {
      g_autofree char *s = NULL;
      g_autoptr(GDateTime) t = NULL;
      if (!want_string (c, m, "x-caravanserai.expireAt", &s))
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
  if ((o = want_mapping (c, n, "networks")) == NULL)
    return;
  if (json_object_get_size (o) > 1)
    {
      ctl_compose_error (c->diag, "networks", _("not supported: a project has one network, not %u"), json_object_get_size (o));
      return;
    }
  ctl_key_iter_init (&it, o);
  while (ctl_key_iter_next (&it, &k, &v))
    {
      g_autofree char *np = join ("networks", k);
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
  check_keys (&c, c.top, top_rules, "");
  check_top_volumes (&c);
  check_top_networks (&c);

  /* Which services the profiles enable, and which have a healthcheck (for depends_on). */
  ctl_key_iter_init (&it, c.services);
  while (ctl_key_iter_next (&it, &name, &v))
    {
      g_autofree char *sp = join ("services", name);
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
                          is_string (json_array_get_element (json_node_get_array (test), 0)) &&
                          g_str_equal (json_array_get_string_element (json_node_get_array (test), 0), "NONE");
          if (!(dis != NULL && JSON_NODE_HOLDS_VALUE (dis) && json_node_get_value_type (dis) == G_TYPE_BOOLEAN &&
                json_node_get_boolean (dis)) && !none)
            g_hash_table_add (healthy, (gpointer) name);
        }
    }

  ctl_key_iter_init (&it, c.services);
  while (ctl_key_iter_next (&it, &name, &v))
    {
      g_autofree char *sp = join ("services", name);
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
      svc = map_service (&c, name, json_node_get_object (v), sp);
      json_array_add_object_element (services, svc);
    }
  if (json_object_get_size (c.services) == 0)
    ctl_compose_error (diag, "services", _("no services"));
  else if (g_hash_table_size (enabled) == 0)
    ctl_compose_error (diag, "services", _("no service is enabled: each has profiles, and no --profile names one of them"));

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
