/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl status [project|node NAME...]: the shape of `systemctl status` — a coloured bullet,
 * right-aligned labels, the phase and for how long, services as a tree, conditions as events and
 * the last log lines.  Without arguments: a summary of the cluster. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cara-error.h"
#include "ctl.h"

static gboolean
utf8_term (void)
{
  return g_get_charset (NULL);
}

static const char *
bullet (void)
{
  return utf8_term () ? "●" : "*";
}

static const char *
branch (gboolean last)
{
  if (utf8_term ())
    return last ? "└─" : "├─";
  return last ? "`-" : "|-";
}

static const char *
phase_color (const char *phase)
{
  if (g_str_equal (phase, "Running") || g_str_equal (phase, "Ready"))
    return CTL_ANSI_GREEN;
  if (g_str_equal (phase, "Failed") || g_str_equal (phase, "NotReady"))
    return CTL_ANSI_RED;
  return CTL_ANSI_YELLOW;
}

static const char *
service_color (const char *state, const char *health)
{
  if (g_str_equal (health, "unhealthy") || g_str_equal (state, "exited") || g_str_equal (state, "dead"))
    return CTL_ANSI_RED;
  if (g_str_equal (state, "running"))
    return CTL_ANSI_GREEN;
  return CTL_ANSI_YELLOW;
}

/* Labels are right-aligned as systemctl does; the width adapts to translated labels. */
typedef struct {
  GPtrArray *labels; /* char* */
  GPtrArray *values; /* char* (may contain newlines: continuation lines) */
} Fields;

static void
field (Fields *f, const char *label, char *value_take)
{
  g_ptr_array_add (f->labels, g_strdup (label));
  g_ptr_array_add (f->values, value_take);
}

static void
fields_print (Fields *f)
{
  guint w = 0;
  for (guint i = 0; i < f->labels->len; i++)
    w = MAX (w, ctl_display_width (f->labels->pdata[i]) + 1);
  w = MAX (w, 10u);
  for (guint i = 0; i < f->labels->len; i++)
    {
      const char *label = f->labels->pdata[i];
      g_auto (GStrv) lines = g_strsplit (f->values->pdata[i], "\n", -1);
      for (guint l = 0; lines[l]; l++)
        {
          guint lw = l == 0 ? ctl_display_width (label) + 1 : 0;
          printf (" ");
          for (guint k = lw; k < w; k++)
            printf (" ");
          printf ("%s%s %s\n", l == 0 ? label : "", l == 0 ? ":" : "", lines[l]);
        }
    }
}

static void
fields_clear (Fields *f)
{
  g_ptr_array_unref (f->labels);
  g_ptr_array_unref (f->values);
}

static Fields
fields_new (void)
{
  return (Fields) { g_ptr_array_new_with_free_func (g_free), g_ptr_array_new_with_free_func (g_free) };
}

/* "since Wed 2026-11-25 06:20:01 UTC; 3min 2s ago" */
static char *
since (const char *rfc3339)
{
  g_autoptr (GDateTime) t = ctl_parse_time (rfc3339);
  if (t == NULL)
    return NULL;
  g_autoptr (GDateTime) local = g_date_time_to_local (t);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format (local, "%a %Y-%m-%d %H:%M:%S %Z");
  g_autofree char *ago = ctl_format_duration (g_date_time_difference (now, t));
  return g_strdup_printf (_("since %s; %s ago"), date, ago);
}

static const char *
condition_time (JsonObject *status, const char *type)
{
  JsonArray *conds = ctl_arr (status, "conditions");
  for (guint i = 0; conds && i < json_array_get_length (conds); i++)
    {
      JsonObject *c = json_node_get_object (json_array_get_element (conds, i));
      if (g_str_equal (ctl_str (c, "type"), type))
        return ctl_str (c, "lastTransitionTime");
    }
  return "";
}

/* The newest transition among the conditions: when the phase most likely last changed. */
static const char *
newest_condition_time (JsonObject *status)
{
  JsonArray *conds = ctl_arr (status, "conditions");
  const char *best = "";
  for (guint i = 0; conds && i < json_array_get_length (conds); i++)
    {
      const char *t = ctl_str (json_node_get_object (json_array_get_element (conds, i)), "lastTransitionTime");
      g_autoptr (GDateTime) a = ctl_parse_time (t);
      g_autoptr (GDateTime) b = ctl_parse_time (best);
      if (a && (b == NULL || g_date_time_compare (a, b) > 0))
        best = t;
    }
  return best;
}

static gint
by_transition (gconstpointer a, gconstpointer b)
{
  JsonObject *x = *(JsonObject **) a, *y = *(JsonObject **) b;
  return g_strcmp0 (ctl_str (x, "lastTransitionTime"), ctl_str (y, "lastTransitionTime"));
}

/* The conditions, oldest first, as journal-like event lines. */
static void
print_events (Ctl *ctl, JsonObject *status)
{
  JsonArray *conds = ctl_arr (status, "conditions");
  if (conds == NULL || json_array_get_length (conds) == 0)
    return;
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (conds); i++)
    {
      JsonNode *e = json_array_get_element (conds, i);
      if (JSON_NODE_HOLDS_OBJECT (e))
        g_ptr_array_add (sorted, json_node_get_object (e));
    }
  g_ptr_array_sort (sorted, by_transition);
  printf ("\n");
  for (guint i = 0; i < sorted->len; i++)
    {
      JsonObject *c = sorted->pdata[i];
      g_autoptr (GDateTime) t = ctl_parse_time (ctl_str (c, "lastTransitionTime"));
      g_autoptr (GDateTime) local = t ? g_date_time_to_local (t) : NULL;
      g_autofree char *ts = local ? g_date_time_format (local, "%b %d %H:%M:%S") : g_strdup ("-");
      const char *reason = ctl_str (c, "reason"), *message = ctl_str (c, "message");
      printf ("%s%s%s %s", ctl_color (ctl, CTL_ANSI_GREY), ts, ctl_color (ctl, CTL_ANSI_NORMAL), ctl_str (c, "type"));
      if (*reason && !g_str_equal (reason, ctl_str (c, "type")))
        printf ("/%s", reason);
      if (!g_str_equal (ctl_str (c, "status"), "True"))
        printf (" (%s)", ctl_str (c, "status"));
      if (*message)
        printf (": %s", message);
      printf ("\n");
    }
}

/* Last lines of the project's logs, if the server serves them (a later addition: a 404/501 from an
 * older server means there is nothing to show). */
static void
print_logs (Ctl *ctl, const char *name, guint lines)
{
  if (lines == 0)
    return;
  g_autofree char *esc = cara_http_escape (name);
  g_autofree char *path = g_strdup_printf ("/api/v1/projects/%s/logs?tail=%u", esc, lines);
  CaraHttpClient *c = ctl_client (ctl);
  cara_http_client_set_timeout (c, 5000);
  g_autoptr (CaraHttpResponse) r = cara_http_client_request (c, "GET", path, NULL, NULL, 0, NULL);
  cara_http_client_set_timeout (c, 0);
  if (r == NULL || r->status != 200)
    return;
  gsize len = 0;
  const char *data = g_bytes_get_data (r->body, &len);
  if (len == 0)
    return;
  printf ("\n");
  fwrite (data, 1, len, stdout);
  if (data[len - 1] != '\n')
    printf ("\n");
}

static void
status_project (Ctl *ctl, JsonObject *p, guint log_lines)
{
  JsonObject *spec = ctl_obj (p, "spec"), *status = ctl_obj (p, "status");
  const char *name = ctl_meta_name (p);
  const char *phase = *ctl_str (status, "phase") ? ctl_str (status, "phase") : "Unknown";
  const char *pc = phase_color (phase);
  /* Running is green only with every service ready: red while one crash-loops, yellow otherwise. */
  JsonObject *ready = ctl_project_ready_condition (p);
  gboolean is_ready = ready == NULL || g_str_equal (ctl_str (ready, "status"), "True");
  if (g_str_equal (phase, "Running") && !is_ready)
    pc = g_str_equal (ctl_str (ready, "reason"), "CrashLoop") ? CTL_ANSI_RED : CTL_ANSI_YELLOW;

  printf ("%s%s%s %s - %s\n", ctl_color (ctl, pc), bullet (), ctl_color (ctl, CTL_ANSI_NORMAL), name, _("Project"));
  Fields f = fields_new ();
  const char *t = condition_time (status, "Phase");
  if (!*t)
    t = newest_condition_time (status);
  if (!*t)
    t = g_str_equal (phase, "Pending") ? ctl_str (ctl_obj (p, "metadata"), "createdAt")
                                       : ctl_str (ctl_obj (p, "metadata"), "updatedAt");
  g_autofree char *lower = g_ascii_strdown (phase, -1);
  g_autofree char *when = since (t);
  field (&f, _("Active"), g_strdup_printf ("%s%s%s%s%s", ctl_color (ctl, pc), lower, ctl_color (ctl, CTL_ANSI_NORMAL),
                                           when ? " " : "", when ? when : ""));
  if (ready && g_str_equal (phase, "Running"))
    field (&f, _("Ready"), is_ready ? g_strdup_printf ("%s%s%s", ctl_color (ctl, CTL_ANSI_GREEN), _("yes"),
                                                       ctl_color (ctl, CTL_ANSI_NORMAL))
                                    : g_strdup_printf ("%s%s: %s%s", ctl_color (ctl, pc), ctl_str (ready, "reason"),
                                                       ctl_str (ready, "message"), ctl_color (ctl, CTL_ANSI_NORMAL)));
  field (&f, _("Node"), g_strdup (*ctl_str (status, "nodeRef") ? ctl_str (status, "nodeRef") : _("(not scheduled)")));

  /* Services: the spec's list, with what the agent reported about each. */
  JsonArray *svc = ctl_arr (spec, "services");
  JsonArray *st = ctl_arr (status, "services");
  guint n = svc ? json_array_get_length (svc) : 0;
  guint running = 0;
  g_autoptr (CtlTable) table = ctl_table_new ("", "", "", "", "", "", NULL);
  g_autoptr (GPtrArray) colors = g_ptr_array_new ();
  for (guint i = 0; i < n; i++)
    {
      JsonObject *s = json_node_get_object (json_array_get_element (svc, i));
      JsonObject *ss = NULL;
      for (guint k = 0; st && k < json_array_get_length (st); k++)
        {
          JsonObject *c = json_node_get_object (json_array_get_element (st, k));
          if (g_str_equal (ctl_str (c, "name"), ctl_str (s, "name")))
            ss = c;
        }
      const char *state = ss && *ctl_str (ss, "state") ? ctl_str (ss, "state") : "-";
      const char *health = ss ? ctl_str (ss, "health") : "";
      running += g_str_equal (state, "running");
      gint64 restarts = ss ? ctl_int (ss, "restartCount") : 0;
      g_autofree char *rs = g_strdup_printf (ngettext ("%d restart", "%d restarts", (gulong) restarts), (int) restarts);
      /* The container's short ID: a replacement shows as a new one. */
      g_autofree char *cid = ss && *ctl_str (ss, "containerId") ? g_strndup (ctl_str (ss, "containerId"), 12)
                                                                : g_strdup ("-");
      ctl_table_add_row (table, ctl_str (s, "name"), state, rs, *health ? health : "-", ctl_str (s, "image"), cid,
                         NULL);
      g_ptr_array_add (colors, (gpointer) service_color (state, health));
    }
  g_autoptr (GPtrArray) lines = ctl_table_lines (table, FALSE);
  g_autoptr (GString) sv = g_string_new (NULL);
  g_string_append_printf (sv, ngettext ("%u service (%u running)", "%u services (%u running)", n), n, running);
  for (guint i = 0; i < lines->len; i++)
    g_string_append_printf (sv, "\n%s %s%s%s %s", branch (i + 1 == lines->len), ctl_color (ctl, colors->pdata[i]),
                            bullet (), ctl_color (ctl, CTL_ANSI_NORMAL), (char *) lines->pdata[i]);
  field (&f, _("Services"), g_string_free (g_steal_pointer (&sv), FALSE));
  g_autofree char *labels = ctl_map_string (ctl_obj (ctl_obj (p, "metadata"), "labels"));
  if (labels)
    field (&f, _("Labels"), g_steal_pointer (&labels));
  fields_print (&f);
  fields_clear (&f);
  print_events (ctl, status);
  ctl_print_recent_events (ctl, "project", name, 10);
  print_logs (ctl, name, log_lines);
}

static void
status_node (Ctl *ctl, JsonObject *node, JsonNode *projects)
{
  JsonObject *spec = ctl_obj (node, "spec"), *status = ctl_obj (node, "status");
  JsonObject *net = ctl_obj (status, "network"), *info = ctl_obj (status, "info");
  const char *state = *ctl_str (status, "state") ? ctl_str (status, "state") : "Unknown";
  const char *sc = phase_color (state);
  printf ("%s%s%s %s - %s\n", ctl_color (ctl, sc), bullet (), ctl_color (ctl, CTL_ANSI_NORMAL), ctl_meta_name (node),
          _("Node"));
  Fields f = fields_new ();
  g_autofree char *lower = g_ascii_strdown (state, -1);
  g_autofree char *when = since (condition_time (status, "Ready"));
  field (&f, _("Active"), g_strdup_printf ("%s%s%s%s%s%s", ctl_color (ctl, sc), lower, ctl_color (ctl, CTL_ANSI_NORMAL),
                                           ctl_bool (spec, "unschedulable") ? _(" (unschedulable)") : "",
                                           when ? " " : "", when ? when : ""));
  g_autoptr (GDateTime) hb = ctl_parse_time (ctl_str (status, "lastHeartbeat"));
  if (hb)
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
      g_autofree char *ago = ctl_format_duration (g_date_time_difference (now, hb));
      field (&f, _("Heartbeat"), g_strdup_printf (_("%s ago"), ago));
    }
  else
    field (&f, _("Heartbeat"), g_strdup (_("never")));
  if (*ctl_str (net, "ip"))
    field (&f, _("Address"), ctl_int (net, "agentPort") ? g_strdup_printf ("%s:%" G_GINT64_FORMAT, ctl_str (net, "ip"),
                                                                            ctl_int (net, "agentPort"))
                                                         : g_strdup (ctl_str (net, "ip")));
  if (*ctl_str (info, "agentVersion") || *ctl_str (info, "osImage"))
    field (&f, _("Version"), g_strdup_printf ("%s%s%s%s%s", ctl_str (info, "agentVersion"),
                                              *ctl_str (info, "osImage") ? ", " : "", ctl_str (info, "osImage"),
                                              *ctl_str (info, "kernelVersion") ? ", Linux " : "",
                                              ctl_str (info, "kernelVersion")));
  g_autofree char *cap = ctl_map_string (ctl_obj (status, "capacity"));
  g_autofree char *alloc = ctl_map_string (ctl_obj (status, "allocatable"));
  if (cap)
    field (&f, _("Capacity"), g_steal_pointer (&cap));
  if (alloc)
    field (&f, _("Allocatable"), g_steal_pointer (&alloc));

  JsonArray *items = projects && JSON_NODE_HOLDS_OBJECT (projects) ? ctl_arr (json_node_get_object (projects), "items") : NULL;
  guint n = items ? json_array_get_length (items) : 0;
  g_autoptr (GString) ps = g_string_new (NULL);
  g_string_append_printf (ps, ngettext ("%u project", "%u projects", n), n);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *p = json_node_get_object (json_array_get_element (items, i));
      const char *ph = ctl_str (ctl_obj (p, "status"), "phase");
      g_string_append_printf (ps, "\n%s %s%s%s %s (%s)", branch (i + 1 == n), ctl_color (ctl, phase_color (ph)), bullet (),
                              ctl_color (ctl, CTL_ANSI_NORMAL), ctl_meta_name (p), ph);
    }
  field (&f, _("Projects"), g_string_free (g_steal_pointer (&ps), FALSE));
  fields_print (&f);
  fields_clear (&f);
  print_events (ctl, status);
  ctl_print_recent_events (ctl, "node", ctl_meta_name (node), 10);
}

/* Counts "Ready: 2, NotReady: 1" in a stable order: the known values first. */
static char *
count_by (JsonArray *items, const char *member, const char *const *order, guint *ret_total)
{
  g_autoptr (GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  guint total = items ? json_array_get_length (items) : 0;
  for (guint i = 0; i < total; i++)
    {
      const char *v = ctl_str (ctl_obj (json_node_get_object (json_array_get_element (items, i)), "status"), member);
      if (!*v)
        v = "Unknown";
      g_hash_table_insert (counts, (gpointer) v, GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts, v)) + 1));
    }
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; order[i]; i++)
    {
      guint c = GPOINTER_TO_UINT (g_hash_table_lookup (counts, order[i]));
      if (c)
        g_string_append_printf (s, "%s%u %s", s->len ? ", " : "", c, order[i]);
      g_hash_table_remove (counts, order[i]);
    }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, counts);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_string_append_printf (s, "%s%u %s", s->len ? ", " : "", GPOINTER_TO_UINT (v), (char *) k);
  *ret_total = total;
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* {"total": N, "Ready": n, ...}: the counts of -o json|yaml for the cluster summary. */
static JsonNode *
counts_json (JsonArray *items, const char *member)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  guint total = items ? json_array_get_length (items) : 0;
  for (guint i = 0; i < total; i++)
    {
      const char *v = ctl_str (ctl_obj (json_node_get_object (json_array_get_element (items, i)), "status"), member);
      if (!*v)
        v = "Unknown";
      g_hash_table_insert (counts, (gpointer) v, GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts, v)) + 1));
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "total");
  json_builder_add_int_value (b, total);
  g_autoptr (GList) keys = g_list_sort (g_hash_table_get_keys (counts), (GCompareFunc) g_strcmp0);
  for (GList *l = keys; l; l = l->next)
    {
      json_builder_set_member_name (b, l->data);
      json_builder_add_int_value (b, GPOINTER_TO_UINT (g_hash_table_lookup (counts, l->data)));
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* status -o json|yaml without arguments: {server, serverVersion, nodes{total, <state>: n},
 * projects{total, <phase>: n}, failed[names]}. */
static gboolean
print_cluster_object (Ctl *ctl, JsonObject *version, JsonArray *ni, JsonArray *pi, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "server");
  json_builder_add_string_value (b, ctl->server);
  json_builder_set_member_name (b, "serverVersion");
  json_builder_add_string_value (b, ctl_str (version, "version"));
  json_builder_set_member_name (b, "nodes");
  json_builder_add_value (b, counts_json (ni, "state"));
  json_builder_set_member_name (b, "projects");
  json_builder_add_value (b, counts_json (pi, "phase"));
  json_builder_set_member_name (b, "failed");
  json_builder_begin_array (b);
  for (guint i = 0; pi && i < json_array_get_length (pi); i++)
    {
      JsonObject *p = json_node_get_object (json_array_get_element (pi, i));
      if (g_str_equal (ctl_str (ctl_obj (p, "status"), "phase"), "Failed"))
        json_builder_add_string_value (b, ctl_meta_name (p));
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return ctl_print_json_or_yaml (ctl, root, error);
}

static int
status_cluster (Ctl *ctl, GError **error)
{
  static const char *const states[] = { "Ready", "NotReady", "Draining", NULL };
  static const char *const phases[] = { "Running", "Pending", "Scheduled", "Failed", "Terminating", "Terminated", NULL };
  g_autoptr (JsonNode) nodes = ctl_get (ctl, "/api/v1/nodes", error);
  if (nodes == NULL)
    return -1;
  g_autoptr (JsonNode) projects = ctl_get (ctl, "/api/v1/projects", error);
  if (projects == NULL)
    return -1;
  g_autoptr (JsonNode) version = ctl_get (ctl, "/api/v1/version", NULL);
  JsonArray *ni = JSON_NODE_HOLDS_OBJECT (nodes) ? ctl_arr (json_node_get_object (nodes), "items") : NULL;
  JsonArray *pi = JSON_NODE_HOLDS_OBJECT (projects) ? ctl_arr (json_node_get_object (projects), "items") : NULL;
  if (ctl->output == CTL_OUTPUT_JSON || ctl->output == CTL_OUTPUT_YAML)
    return print_cluster_object (ctl, version && JSON_NODE_HOLDS_OBJECT (version) ? json_node_get_object (version) : NULL,
                                 ni, pi, error) ? 0 : -1;
  guint n_nodes = 0, n_projects = 0;
  g_autofree char *by_state = count_by (ni, "state", states, &n_nodes);
  g_autofree char *by_phase = count_by (pi, "phase", phases, &n_projects);

  guint ready = 0, failed = 0;
  for (guint i = 0; ni && i < json_array_get_length (ni); i++)
    ready += g_str_equal (ctl_str (ctl_obj (json_node_get_object (json_array_get_element (ni, i)), "status"), "state"), "Ready");
  g_autoptr (GString) failed_names = g_string_new (NULL);
  for (guint i = 0; pi && i < json_array_get_length (pi); i++)
    {
      JsonObject *p = json_node_get_object (json_array_get_element (pi, i));
      if (g_str_equal (ctl_str (ctl_obj (p, "status"), "phase"), "Failed"))
        {
          failed++;
          g_string_append_printf (failed_names, "%s%s", failed_names->len ? ", " : "", ctl_meta_name (p));
        }
    }
  /* Red: something failed or nothing can run; green: every node ready; yellow otherwise
   * (including no nodes at all yet). */
  const char *color = failed > 0 || (n_nodes > 0 && ready == 0) ? CTL_ANSI_RED
                      : n_nodes > 0 && ready == n_nodes           ? CTL_ANSI_GREEN
                                                                  : CTL_ANSI_YELLOW;
  ctl_pager_open (ctl);
  JsonObject *vo = version && JSON_NODE_HOLDS_OBJECT (version) ? json_node_get_object (version) : NULL;
  printf ("%s%s%s %s", ctl_color (ctl, color), bullet (), ctl_color (ctl, CTL_ANSI_NORMAL), ctl->server);
  if (vo)
    printf (_(" (server %s)"), ctl_str (vo, "version"));
  printf ("\n");
  Fields f = fields_new ();
  field (&f, _("Nodes"), n_nodes ? g_strdup_printf ("%u: %s", n_nodes, by_state) : g_strdup ("0"));
  field (&f, _("Projects"), n_projects ? g_strdup_printf ("%u: %s", n_projects, by_phase) : g_strdup ("0"));
  if (failed)
    field (&f, _("Failed"), g_strdup (failed_names->str));
  fields_print (&f);
  fields_clear (&f);
  return 0;
}

int
ctl_verb_status (Ctl *ctl, CtlArgs *args, GError **error)
{
  guint64 lines = 10;
  const char *ls = ctl_opt_string (args, "lines");
  if (ls && !g_ascii_string_to_unsigned (ls, 10, 0, 100000, &lines, NULL))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("invalid number of lines '%s'"), ls);
      return -1;
    }
  if (args->positional->len == 0)
    return status_cluster (ctl, error);

  g_autofree char *kind = NULL;
  g_autoptr (GPtrArray) names = NULL;
  GPtrArray *pos = args->positional;
  gboolean bare = strchr (pos->pdata[0], '/') == NULL && ctl_kind_canonical (pos->pdata[0]) == NULL;
  if (bare)
    {
      /* "status web": a project name, as "systemctl status UNIT". */
      kind = g_strdup ("projects");
      names = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < pos->len; i++)
        g_ptr_array_add (names, g_strdup (pos->pdata[i]));
    }
  else if (!ctl_resolve_kind_names (pos, NULL, &kind, &names, error))
    return -1;
  if (names->len == 0)
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("name the %s to show"), ctl_kind_singular (kind));
      return -1;
    }

  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (GPtrArray) extra = NULL;
  int rc = 0;
  if (!ctl_fetch_named (ctl, kind, names, &found, &extra, &rc, error))
    return -1;
  ctl_pager_open (ctl);
  /* -o json|yaml: the objects themselves, as get and describe print them (the log lines are
   * left to `caractrl logs`). */
  if (ctl->output == CTL_OUTPUT_JSON || ctl->output == CTL_OUTPUT_YAML || ctl->output == CTL_OUTPUT_NAME)
    {
      if (found->len > 0 && !ctl_print_objects (ctl, kind, found, error))
        return -1;
      return rc;
    }
  for (guint i = 0; i < found->len; i++)
    {
      if (i > 0)
        printf ("\n");
      JsonObject *o = json_node_get_object (found->pdata[i]);
      if (g_str_equal (kind, "nodes"))
        status_node (ctl, o, extra->pdata[i]);
      else
        status_project (ctl, o, (guint) lines);
    }
  return rc;
}
