/* SPDX-License-Identifier: Apache-2.0 */
/* The Compose converter: One service: its keys checked, and each mapped (the larger ones by their own files). */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cara-error.h"
#include "compose-conv.h"

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
  { "expose", IGN (conv_ignored_why) }, { "container_name", IGN (N_("ignored: containers are named {project}-{service}")) },
  { "links", IGN (N_("ignored: services reach each other by service name")) },
  { "external_links", IGN (conv_ignored_why) },
  { "hostname", IGN (conv_ignored_why) }, { "domainname", IGN (conv_ignored_why) }, { "tty", IGN (conv_ignored_why) },
  { "stdin_open", IGN (conv_ignored_why) }, { "attach", IGN (conv_ignored_why) },
  { "logging", IGN (N_("ignored: logs go to the node's Docker default driver")) },
  { "pull_policy", IGN (N_("ignored: images are pulled only when missing on the node")) },
  { "platform", IGN (conv_ignored_why) }, { "develop", IGN (conv_ignored_why) }, { "annotations", IGN (conv_ignored_why) },
  { "cpu_shares", IGN (N_("ignored: only cpus limits are kept")) }, { "cpu_quota", IGN (N_("ignored: only cpus limits are kept")) },
  { "cpu_period", IGN (N_("ignored: only cpus limits are kept")) }, { "cpuset", IGN (N_("ignored: only cpus limits are kept")) },
  { "cpu_count", IGN (N_("ignored: only cpus limits are kept")) }, { "cpu_percent", IGN (N_("ignored: only cpus limits are kept")) },
  { "cpu_rt_period", IGN (N_("ignored: only cpus limits are kept")) }, { "cpu_rt_runtime", IGN (N_("ignored: only cpus limits are kept")) },
  { "mem_swappiness", IGN (N_("ignored: only memory limits are kept")) }, { "memswap_limit", IGN (N_("ignored: only memory limits are kept")) },
  { "oom_score_adj", IGN (conv_ignored_why) }, { "pids_limit", IGN (conv_ignored_why) }, { "shm_size", IGN (conv_ignored_why) },
  { "ulimits", IGN (conv_ignored_why) }, { "dns", IGN (N_("ignored: the node's DNS is used")) },
  { "dns_search", IGN (N_("ignored: the node's DNS is used")) }, { "dns_opt", IGN (N_("ignored: the node's DNS is used")) },
  { "extra_hosts", IGN (conv_ignored_why) }, { "mac_address", IGN (conv_ignored_why) },
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

static void
map_restart (Conv *c, JsonNode *n, const char *path, JsonObject *out)
{
  g_autofree char *s = NULL;
  const char *policy = NULL;

  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN && !json_node_get_boolean (n))
    s = g_strdup ("no");
  else if (!conv_want_string (c, n, path, &s))
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

static void
label_pair (Conv *c, const char *key, const char *value, const char *path, gpointer data)
{
  if (g_ascii_strncasecmp (key, "cara.", 5) == 0 || g_ascii_strcasecmp (key, "cara") == 0)
    ctl_compose_error (c->diag, path, _("label keys starting with \"cara.\" are reserved"));
  else
    json_object_set_string_member (data, key, value != NULL ? value : "");
}

static void
map_labels (Conv *c, JsonNode *n, const char *path, JsonObject *out)
{
  JsonObject *labels = json_object_new ();

  conv_each_pair (c, n, path, label_pair, labels);
  if (json_object_get_size (labels) > 0)
    json_object_set_object_member (out, "labels", labels);
  else
    json_object_unref (labels);
}

static void
map_string_list (Conv *c, JsonNode *n, const char *path, JsonObject *out, const char *out_key)
{
  JsonArray *a = conv_want_list (c, n, path);
  JsonArray *res;

  if (a == NULL)
    return;
  res = json_array_new ();
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *ip = g_strdup_printf ("%s[%u]", path, i);
      g_autofree char *s = NULL;
      if (conv_want_string (c, json_array_get_element (a, i), ip, &s))
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
  json_object_set_member (out, out_key, conv_string_array_node (argv));
}

static void
map_flag_refused (Conv *c, JsonObject *svc, const char *key, const char *path, const char *why)
{
  JsonNode *m = json_object_get_member (svc, key);
  g_autofree char *kp = conv_join (path, key);
  gboolean on;

  if (m == NULL || !conv_want_bool (c, m, kp, &on))
    return;
  if (on)
    ctl_compose_error (c->diag, kp, "%s", why);
  else
    ctl_compose_warn (c->diag, kp, "%s", _(conv_ignored_why));
}

JsonObject *
conv_map_service (Conv *c, const char *name, JsonObject *svc, const char *path)
{
  g_autoptr(JsonObject) out = json_object_new ();
  JsonNode *m;
  g_autofree char *kp = NULL;

#define KEY(k) (g_free (kp), kp = conv_join (path, k), json_object_get_member (svc, k))

  json_object_set_string_member (out, "name", name);
  /* Unknown and unsupported keys are reported; the mapped ones are still checked below, so
   * every error of the file is reported at once. */
  conv_check_keys (c, svc, service_rules, path);

  /* image, build */
  {
    JsonNode *image = KEY ("image");
    JsonNode *build = json_object_get_member (svc, "build");
    g_autofree char *img = NULL;

    if (image != NULL && !JSON_NODE_HOLDS_NULL (image))
      {
        if (conv_want_string (c, image, kp, &img))
          json_object_set_string_member (out, "image", img);
        if (build != NULL)
          {
            g_autofree char *bp = conv_join (path, "build");
            ctl_compose_warn (c->diag, bp, _("not built here: the image %s is used as it is"), img ? img : "");
          }
      }
    else if (build != NULL)
      {
        g_autofree char *bp = conv_join (path, "build");
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
  conv_map_environment (c, svc, path, out);
  if ((m = KEY ("ports")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    conv_map_ports (c, m, kp, out);
  if ((m = KEY ("volumes")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    conv_map_volumes (c, name, m, kp, out);
  conv_map_resources (c, svc, path, out);
  if ((m = KEY ("restart")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    map_restart (c, m, kp, out);
  if ((m = KEY ("healthcheck")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    conv_map_healthcheck (c, m, kp, out);
  if ((m = KEY ("depends_on")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    conv_map_depends_on (c, name, m, kp, out);
  conv_map_string (c, svc, path, "working_dir", out, "workingDir");
  conv_map_string (c, svc, path, "user", out, "user");
  if ((m = KEY ("labels")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    map_labels (c, m, kp, out);
  if ((m = KEY ("cap_add")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    map_string_list (c, m, kp, out, "capAdd");
  if ((m = KEY ("cap_drop")) != NULL && !JSON_NODE_HOLDS_NULL (m))
    map_string_list (c, m, kp, out, "capDrop");
  conv_add_seconds (c, svc, "stop_grace_period", path, out, "stopGracePeriodSeconds");
  conv_map_string (c, svc, path, "stop_signal", out, "stopSignal");
  if ((m = KEY ("scale")) != NULL)
    {
      gint64 n;
      if (conv_want_int (c, m, kp, &n) && n != 1)
        ctl_compose_error (c->diag, kp, _("%lld replicas are not supported: a service runs one container"), (long long) n);
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
