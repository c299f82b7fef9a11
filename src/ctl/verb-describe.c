/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl describe node|project NAME...: the reference's layout (§6.3) with values aligned, plus
 * the fields the reference API does not have (resourceVersion, ports, resources, service status...). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cara-error.h"
#include "ctl.h"

typedef struct {
  guint indent;
  char *key;   /* NULL: raw line */
  char *value; /* NULL: section header "Key:" */
} Line;

static void
line_free (Line *l)
{
  g_free (l->key);
  g_free (l->value);
  g_free (l);
}

typedef GPtrArray Desc;

static void
kv (Desc *d, guint indent, const char *key, const char *value)
{
  Line *l = g_new0 (Line, 1);
  l->indent = indent;
  l->key = g_strdup (key);
  l->value = g_strdup (value && *value ? value : "<none>");
  g_ptr_array_add (d, l);
}

static void
kv_take (Desc *d, guint indent, const char *key, char *value)
{
  kv (d, indent, key, value);
  g_free (value);
}

static void
section (Desc *d, guint indent, const char *key)
{
  Line *l = g_new0 (Line, 1);
  l->indent = indent;
  l->key = g_strdup (key);
  g_ptr_array_add (d, l);
}

static void
raw (Desc *d, guint indent, const char *text)
{
  Line *l = g_new0 (Line, 1);
  l->indent = indent;
  l->value = g_strdup (text);
  g_ptr_array_add (d, l);
}

static void
blank (Desc *d)
{
  raw (d, 0, "");
}

static void
desc_print (Desc *d)
{
  guint col = 0;
  for (guint i = 0; i < d->len; i++)
    {
      Line *l = d->pdata[i];
      if (l->key && l->value)
        col = MAX (col, l->indent + ctl_display_width (l->key) + 2);
    }
  for (guint i = 0; i < d->len; i++)
    {
      Line *l = d->pdata[i];
      g_autoptr (GString) s = g_string_new (NULL);
      for (guint k = 0; k < l->indent; k++)
        g_string_append_c (s, ' ');
      if (l->key)
        {
          g_string_append_printf (s, "%s:", l->key);
          if (l->value)
            {
              guint w = l->indent + ctl_display_width (l->key) + 1;
              for (; w < col; w++)
                g_string_append_c (s, ' ');
              g_string_append (s, l->value);
            }
        }
      else
        g_string_append (s, l->value);
      printf ("%s\n", s->str);
    }
}

/* "<RFC3339 UTC> (<age> ago)" or <none>. */
static char *
when (const char *rfc3339)
{
  g_autoptr (GDateTime) t = ctl_parse_time (rfc3339);
  if (t == NULL)
    return NULL;
  g_autoptr (GDateTime) utc = g_date_time_to_utc (t);
  g_autofree char *iso = g_date_time_format (utc, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *age = ctl_format_age (rfc3339);
  return g_strdup_printf (_("%s (%s ago)"), iso, age);
}

static void
metadata (Desc *d, JsonObject *o)
{
  JsonObject *m = ctl_obj (o, "metadata");
  kv (d, 0, "Name", ctl_str (m, "name"));
  kv (d, 0, "Kind", ctl_str (o, "kind"));
  kv_take (d, 0, "Created", when (ctl_str (m, "createdAt")));
  kv_take (d, 0, "Updated", when (ctl_str (m, "updatedAt")));
  kv (d, 0, "Resource Version", ctl_str (m, "resourceVersion"));
  kv_take (d, 0, "Labels", ctl_map_string (ctl_obj (m, "labels")));
  kv_take (d, 0, "Annotations", ctl_map_string (ctl_obj (m, "annotations")));
}

static void
resource_list (Desc *d, const char *title, JsonObject *map)
{
  section (d, 0, title);
  if (map == NULL || json_object_get_size (map) == 0)
    {
      raw (d, 2, "<none>");
      return;
    }
  g_autoptr (GList) keys = g_list_sort (json_object_get_members (map), (GCompareFunc) g_strcmp0);
  for (GList *l = keys; l; l = l->next)
    kv (d, 2, l->data, ctl_str (map, l->data));
}

static void
conditions (Desc *d, JsonArray *conds)
{
  section (d, 0, "Conditions");
  if (conds == NULL || json_array_get_length (conds) == 0)
    {
      raw (d, 2, "<none>");
      return;
    }
  g_autoptr (CtlTable) t = ctl_table_new ("TYPE", "STATUS", "LAST HEARTBEAT", "LAST TRANSITION", "REASON", "MESSAGE", NULL);
  ctl_table_add_row (t, "----", "------", "--------------", "---------------", "------", "-------", NULL);
  for (guint i = 0; i < json_array_get_length (conds); i++)
    {
      JsonNode *e = json_array_get_element (conds, i);
      if (!JSON_NODE_HOLDS_OBJECT (e))
        continue;
      JsonObject *c = json_node_get_object (e);
      g_autoptr (GDateTime) hb = ctl_parse_time (ctl_str (c, "lastHeartbeatTime"));
      g_autoptr (GDateTime) tr = ctl_parse_time (ctl_str (c, "lastTransitionTime"));
      g_autofree char *hbs = hb ? g_date_time_format (hb, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("<none>");
      g_autofree char *trs = tr ? g_date_time_format (tr, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("<none>");
      const char *reason = ctl_str (c, "reason"), *message = ctl_str (c, "message");
      ctl_table_add_row (t, ctl_str (c, "type"), ctl_str (c, "status"), hbs, trs, *reason ? reason : "<none>",
                         *message ? message : "<none>", NULL);
    }
  g_autoptr (GPtrArray) lines = ctl_table_lines (t, TRUE);
  for (guint i = 0; i < lines->len; i++)
    raw (d, 2, lines->pdata[i]);
}

static void
describe_node (Desc *d, JsonObject *n, JsonNode *projects)
{
  JsonObject *spec = ctl_obj (n, "spec"), *status = ctl_obj (n, "status");
  JsonObject *info = ctl_obj (status, "info"), *net = ctl_obj (status, "network");
  JsonObject *tp = ctl_obj (net, "throughput");
  metadata (d, n);
  blank (d);
  section (d, 0, "Spec");
  kv (d, 2, "Hostname", ctl_str (spec, "hostname"));
  kv (d, 2, "Unschedulable", ctl_bool (spec, "unschedulable") ? "true" : "false");
  blank (d);
  section (d, 0, "Status");
  kv (d, 2, "State", ctl_str (status, "state"));
  kv_take (d, 2, "Last Heartbeat", when (ctl_str (status, "lastHeartbeat")));
  blank (d);
  section (d, 0, "Info");
  kv (d, 2, "Kernel Version", ctl_str (info, "kernelVersion"));
  kv (d, 2, "OS Image", ctl_str (info, "osImage"));
  kv (d, 2, "Agent Version", ctl_str (info, "agentVersion"));
  blank (d);
  section (d, 0, "Network");
  kv (d, 2, "IP", ctl_str (net, "ip"));
  kv (d, 2, "DNS Name", ctl_str (net, "dnsName"));
  kv (d, 2, "Mode", ctl_str (net, "mode"));
  gint64 port = ctl_int (net, "agentPort");
  kv_take (d, 2, "Agent Port", port ? g_strdup_printf ("%" G_GINT64_FORMAT, port) : NULL);
  section (d, 2, "Throughput");
  kv (d, 4, "Download", ctl_str (tp, "download"));
  kv (d, 4, "Upload", ctl_str (tp, "upload"));
  kv_take (d, 4, "Last Test", when (ctl_str (tp, "lastTestTime")));
  blank (d);
  resource_list (d, "Capacity", ctl_obj (status, "capacity"));
  resource_list (d, "Allocatable", ctl_obj (status, "allocatable"));
  blank (d);
  section (d, 0, "Projects");
  JsonArray *items = projects && JSON_NODE_HOLDS_OBJECT (projects) ? ctl_arr (json_node_get_object (projects), "items") : NULL;
  if (items == NULL || json_array_get_length (items) == 0)
    raw (d, 2, "<none>");
  for (guint i = 0; items && i < json_array_get_length (items); i++)
    {
      JsonObject *p = json_node_get_object (json_array_get_element (items, i));
      g_autofree char *line = g_strdup_printf ("%s (%s)", ctl_meta_name (p), ctl_str (ctl_obj (p, "status"), "phase"));
      raw (d, 2, line);
    }
  blank (d);
  conditions (d, ctl_arr (status, "conditions"));
}

static char *
strv_member (JsonObject *o, const char *member, const char *sep)
{
  JsonArray *a = ctl_arr (o, member);
  if (a == NULL || json_array_get_length (a) == 0)
    return NULL;
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        continue;
      /* Commands are shown as a shell would take them back. */
      const char *w = json_node_get_string (e);
      gboolean quote = g_str_equal (sep, " ") && (*w == '\0' || strpbrk (w, " \t\n'\"\\$;&|<>*?()`") != NULL);
      g_autofree char *q = quote ? g_shell_quote (w) : NULL;
      g_string_append_printf (s, "%s%s", s->len ? sep : "", quote ? q : w);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* dependsOn items as given: "db (Healthy), cache". */
static char *
depends_on_text (JsonObject *s)
{
  JsonArray *a = ctl_arr (s, "dependsOn");
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_OBJECT (e))
        g_string_append_printf (out, "%s%s (%s)", out->len ? ", " : "", ctl_str (json_node_get_object (e), "name"),
                                ctl_str (json_node_get_object (e), "condition"));
      else if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING)
        g_string_append_printf (out, "%s%s", out->len ? ", " : "", json_node_get_string (e));
    }
  return out->len ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}

static void
describe_service (Desc *d, JsonObject *s)
{
  kv (d, 4, "- Name", ctl_str (s, "name"));
  kv (d, 6, "Image", ctl_str (s, "image"));
  g_autofree char *entrypoint = strv_member (s, "entrypoint", " ");
  if (entrypoint)
    kv (d, 6, "Entrypoint", entrypoint);
  g_autofree char *cmd = strv_member (s, "command", " ");
  if (cmd)
    kv (d, 6, "Command", cmd);
  if (*ctl_str (s, "workingDir"))
    kv (d, 6, "Working Dir", ctl_str (s, "workingDir"));
  if (*ctl_str (s, "user"))
    kv (d, 6, "User", ctl_str (s, "user"));
  JsonObject *labels = ctl_obj (s, "labels");
  if (labels && json_object_get_size (labels) > 0)
    kv_take (d, 6, "Labels", ctl_map_string (labels));
  g_autofree char *cap_add = strv_member (s, "capAdd", ", ");
  if (cap_add)
    kv (d, 6, "Cap Add", cap_add);
  g_autofree char *cap_drop = strv_member (s, "capDrop", ", ");
  if (cap_drop)
    kv (d, 6, "Cap Drop", cap_drop);
  if (*ctl_str (s, "stopSignal") || json_object_has_member (s, "stopGracePeriodSeconds"))
    {
      const char *sig = *ctl_str (s, "stopSignal") ? ctl_str (s, "stopSignal") : "SIGTERM";
      if (json_object_has_member (s, "stopGracePeriodSeconds"))
        kv_take (d, 6, "Stop", g_strdup_printf ("%s, SIGKILL after %" G_GINT64_FORMAT "s", sig,
                                                ctl_int (s, "stopGracePeriodSeconds")));
      else
        kv (d, 6, "Stop", sig);
    }
  JsonArray *ports = ctl_arr (s, "ports");
  if (ports && json_array_get_length (ports) > 0)
    {
      g_autoptr (GString) p = g_string_new (NULL);
      for (guint i = 0; i < json_array_get_length (ports); i++)
        {
          JsonObject *po = json_node_get_object (json_array_get_element (ports, i));
          const char *proto = *ctl_str (po, "protocol") ? ctl_str (po, "protocol") : "tcp";
          if (ctl_int (po, "hostPort"))
            g_string_append_printf (p, "%s%" G_GINT64_FORMAT "->%" G_GINT64_FORMAT "/%s", p->len ? ", " : "",
                                    ctl_int (po, "hostPort"), ctl_int (po, "containerPort"), proto);
          else
            g_string_append_printf (p, "%s%" G_GINT64_FORMAT "/%s", p->len ? ", " : "", ctl_int (po, "containerPort"), proto);
        }
      kv (d, 6, "Ports", p->str);
    }
  JsonObject *res = ctl_obj (s, "resources");
  if (res && json_object_get_size (res) > 0)
    kv_take (d, 6, "Resources", ctl_map_string (res));
  if (*ctl_str (s, "restartPolicy"))
    kv (d, 6, "Restart Policy", ctl_str (s, "restartPolicy"));
  JsonObject *hc = ctl_obj (s, "healthcheck");
  if (hc)
    {
      g_autofree char *hcmd = strv_member (hc, "command", " ");
      g_autofree char *start = ctl_int (hc, "startPeriodSeconds")
                                 ? g_strdup_printf (", start period %" G_GINT64_FORMAT "s", ctl_int (hc, "startPeriodSeconds"))
                                 : NULL;
      kv_take (d, 6, "Healthcheck",
               g_strdup_printf ("%s (every %" G_GINT64_FORMAT "s, timeout %" G_GINT64_FORMAT "s, %" G_GINT64_FORMAT " retries%s)",
                                hcmd ? hcmd : "", ctl_int (hc, "intervalSeconds"), ctl_int (hc, "timeoutSeconds"),
                                ctl_int (hc, "retries"), start ? start : ""));
    }
  g_autofree char *deps = depends_on_text (s);
  if (deps)
    kv (d, 6, "Depends On", deps);
  JsonArray *env = ctl_arr (s, "env");
  if (env && json_array_get_length (env) > 0)
    {
      section (d, 6, "Env");
      for (guint i = 0; i < json_array_get_length (env); i++)
        {
          JsonObject *e = json_node_get_object (json_array_get_element (env, i));
          JsonObject *vf = ctl_obj (e, "valueFrom");
          g_autofree char *line = vf ? g_strdup_printf ("%s=<secret %s, key %s>", ctl_str (e, "name"), ctl_str (vf, "secret"),
                                                        ctl_str (vf, "key"))
                                     : g_strdup_printf ("%s=%s", ctl_str (e, "name"), ctl_str (e, "value"));
          raw (d, 8, line);
        }
    }
  JsonArray *mounts = ctl_arr (s, "volumeMounts");
  if (mounts && json_array_get_length (mounts) > 0)
    {
      section (d, 6, "Volume Mounts");
      for (guint i = 0; i < json_array_get_length (mounts); i++)
        {
          JsonObject *m = json_node_get_object (json_array_get_element (mounts, i));
          g_autofree char *line = g_strdup_printf ("%s -> %s%s", ctl_str (m, "name"), ctl_str (m, "mountPath"),
                                                   ctl_bool (m, "readOnly") ? " (ro)" : "");
          raw (d, 8, line);
        }
    }
}

static void
describe_project (Desc *d, JsonObject *p)
{
  JsonObject *spec = ctl_obj (p, "spec"), *status = ctl_obj (p, "status");
  metadata (d, p);
  blank (d);
  section (d, 0, "Spec");
  section (d, 2, "Services");
  JsonArray *services = ctl_arr (spec, "services");
  if (services == NULL || json_array_get_length (services) == 0)
    raw (d, 4, "<none>");
  for (guint i = 0; services && i < json_array_get_length (services); i++)
    describe_service (d, json_node_get_object (json_array_get_element (services, i)));
  blank (d);
  section (d, 2, "Volumes");
  JsonArray *vols = ctl_arr (spec, "volumes");
  if (vols == NULL || json_array_get_length (vols) == 0)
    raw (d, 4, "<none>");
  for (guint i = 0; vols && i < json_array_get_length (vols); i++)
    {
      JsonObject *v = json_node_get_object (json_array_get_element (vols, i));
      kv (d, 4, "- Name", ctl_str (v, "name"));
      kv (d, 6, "Type", ctl_str (v, "type"));
    }
  blank (d);
  section (d, 2, "Ingress");
  JsonArray *ing = ctl_arr (spec, "ingress");
  if (ing == NULL || json_array_get_length (ing) == 0)
    raw (d, 4, "<none>");
  for (guint i = 0; ing && i < json_array_get_length (ing); i++)
    {
      JsonObject *g = json_node_get_object (json_array_get_element (ing, i));
      JsonObject *target = ctl_obj (g, "target");
      kv (d, 4, "- Name", ctl_str (g, "name"));
      kv (d, 6, "Host", ctl_str (g, "host"));
      kv_take (d, 6, "Target", g_strdup_printf ("%s:%" G_GINT64_FORMAT, ctl_str (target, "service"), ctl_int (target, "port")));
      kv (d, 6, "Scope", ctl_str (ctl_obj (g, "access"), "scope"));
    }
  blank (d);
  kv_take (d, 2, "Node Selector", ctl_map_string (ctl_obj (spec, "nodeSelector")));
  kv_take (d, 2, "Expire At", when (ctl_str (spec, "expireAt")));
  blank (d);
  section (d, 0, "Status");
  kv (d, 2, "Phase", ctl_str (status, "phase"));
  kv (d, 2, "Node", ctl_str (status, "nodeRef"));
  JsonObject *mig = ctl_obj (status, "migration");
  if (mig != NULL)
    {
      g_autofree char *copied = g_format_size_full ((guint64) MAX (ctl_int (mig, "bytesCopied"), 0), G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *total = g_format_size_full ((guint64) MAX (ctl_int (mig, "bytesTotal"), 0), G_FORMAT_SIZE_IEC_UNITS);
      kv_take (d, 2, "Move", g_strdup_printf ("%s, %s -> %s, %s of %s%s", ctl_str (mig, "phase"), ctl_str (mig, "from"),
                                              ctl_str (mig, "to"), copied, total,
                                              ctl_bool (mig, "discardData") ? ", data discarded" : ""));
      kv (d, 4, "Message", ctl_str (mig, "message"));
    }
  section (d, 2, "Services");
  JsonArray *ss = ctl_arr (status, "services");
  if (ss == NULL || json_array_get_length (ss) == 0)
    raw (d, 4, "<none>");
  else
    {
      g_autoptr (CtlTable) t = ctl_table_new ("NAME", "STATE", "RESTARTS", "HEALTH", "CONTAINER", NULL);
      for (guint i = 0; i < json_array_get_length (ss); i++)
        {
          JsonObject *s = json_node_get_object (json_array_get_element (ss, i));
          g_autofree char *restarts = g_strdup_printf ("%" G_GINT64_FORMAT, ctl_int (s, "restartCount"));
          g_autofree char *cid = g_strndup (ctl_str (s, "containerId"), 12);
          const char *health = ctl_str (s, "health");
          ctl_table_add_row (t, ctl_str (s, "name"), *ctl_str (s, "state") ? ctl_str (s, "state") : "<unknown>",
                             restarts, *health ? health : "-", *cid ? cid : "<none>", NULL);
        }
      g_autoptr (GPtrArray) lines = ctl_table_lines (t, TRUE);
      for (guint i = 0; i < lines->len; i++)
        raw (d, 4, lines->pdata[i]);
    }
  blank (d);
  conditions (d, ctl_arr (status, "conditions"));
}

int
ctl_verb_describe (Ctl *ctl, CtlArgs *args, GError **error)
{
  g_autofree char *kind = NULL;
  g_autoptr (GPtrArray) names = NULL;
  if (!ctl_resolve_kind_names (args->positional, NULL, &kind, &names, error))
    return -1;
  if (names->len == 0)
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("name the %s to describe"), ctl_kind_singular (kind));
      return -1;
    }
  if (g_str_equal (kind, "secrets"))
    return ctl_secrets_describe (ctl, names, error);
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (GPtrArray) extra = NULL;
  int rc = 0;
  if (!ctl_fetch_named (ctl, kind, names, &found, &extra, &rc, error))
    return -1;

  ctl_pager_open (ctl);
  if (ctl->output == CTL_OUTPUT_JSON || ctl->output == CTL_OUTPUT_YAML || ctl->output == CTL_OUTPUT_NAME)
    {
      if (found->len > 0 && !ctl_print_objects (ctl, kind, found, error))
        return -1;
      return rc;
    }
  for (guint i = 0; i < found->len; i++)
    {
      g_autoptr (GPtrArray) d = g_ptr_array_new_with_free_func ((GDestroyNotify) line_free);
      JsonObject *o = json_node_get_object (found->pdata[i]);
      if (i > 0)
        printf ("\n\n");
      if (g_str_equal (kind, "nodes"))
        describe_node (d, o, extra->pdata[i]);
      else
        describe_project (d, o);
      desc_print (d);
      ctl_print_events_table (ctl, g_str_equal (kind, "nodes") ? "node" : "project", ctl_meta_name (o), 20);
    }
  return rc;
}
