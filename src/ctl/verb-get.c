/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl get nodes|projects [NAME...] [--phase P] [--node N] [-w] */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cara-error.h"
#include "cara-json.h"
#include "ctl.h"

char *
ctl_project_conditions_summary (JsonObject *project)
{
  /* The reason of the condition that changed last.  Not the last one in the list (as the Go
   * version does): the list keeps the order of first insertion, so a condition removed and added
   * again (Scheduled, after an eviction) would stay last and hide every later change. */
  JsonArray *conds = ctl_arr (ctl_obj (project, "status"), "conditions");
  guint n = conds ? json_array_get_length (conds) : 0;
  JsonObject *newest = NULL;
  g_autoptr (GDateTime) newest_time = NULL;
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (conds, i);
      if (!JSON_NODE_HOLDS_OBJECT (e))
        continue;
      JsonObject *c = json_node_get_object (e);
      g_autoptr (GDateTime) t = ctl_parse_time (ctl_str (c, "lastTransitionTime"));
      /* Ties and missing times: the later entry wins. */
      if (newest == NULL || newest_time == NULL || (t && g_date_time_compare (t, newest_time) >= 0))
        {
          newest = c;
          g_clear_pointer (&newest_time, g_date_time_unref);
          newest_time = g_steal_pointer (&t);
        }
    }
  if (newest == NULL)
    return g_strdup ("-");
  /* A Running project: whether its services are ready ("Ready", or why not: "CrashLoop"). */
  JsonObject *ready = ctl_project_ready_condition (project);
  if (ready && g_str_equal (ctl_str (ctl_obj (project, "status"), "phase"), "Running"))
    return g_strdup (g_str_equal (ctl_str (ready, "status"), "True") ? "Ready" : ctl_str (ready, "reason"));
  return g_strdup (ctl_str (newest, "reason"));
}

static void
builder_take (GStrvBuilder *b, char *s)
{
  g_strv_builder_add (b, s);
  g_free (s);
}

static const char *
or_placeholder (const char *s, const char *placeholder)
{
  return s && *s ? s : placeholder;
}

static char *
join_member (JsonArray *a, const char *member)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; a && i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_OBJECT (e))
        g_string_append_printf (s, "%s%s", s->len ? "," : "", ctl_str (json_node_get_object (e), member));
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static char **
node_row (JsonObject *n, gboolean wide)
{
  JsonObject *status = ctl_obj (n, "status");
  JsonObject *alloc = ctl_obj (status, "allocatable");
  JsonObject *cap = ctl_obj (status, "capacity");
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_strv_builder_add (b, ctl_meta_name (n));
  const char *state = or_placeholder (ctl_str (status, "state"), "<unknown>");
  if (ctl_bool (ctl_obj (n, "spec"), "unschedulable") && !g_str_equal (state, "Draining"))
    builder_take (b, g_strdup_printf ("%s,SchedulingDisabled", state));
  else
    g_strv_builder_add (b, state);
  g_strv_builder_add (b, or_placeholder (ctl_str (ctl_obj (status, "network"), "ip"), "<none>"));
  builder_take (b, ctl_format_age (ctl_str (ctl_obj (n, "metadata"), "createdAt")));
  if (wide)
    {
      const char *cpu = *ctl_str (alloc, "cpu") ? ctl_str (alloc, "cpu") : ctl_str (cap, "cpu");
      const char *mem = *ctl_str (alloc, "memory") ? ctl_str (alloc, "memory") : ctl_str (cap, "memory");
      JsonObject *info = ctl_obj (status, "info");
      g_strv_builder_add (b, or_placeholder (cpu, "<none>"));
      g_strv_builder_add (b, or_placeholder (mem, "<none>"));
      g_strv_builder_add (b, or_placeholder (ctl_str (info, "agentVersion"), "<none>"));
      g_strv_builder_add (b, or_placeholder (ctl_str (info, "kernelVersion"), "<none>"));
    }
  return g_strv_builder_end (b);
}

static char **
project_row (JsonObject *p, gboolean wide)
{
  JsonObject *status = ctl_obj (p, "status");
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_strv_builder_add (b, ctl_meta_name (p));
  g_strv_builder_add (b, or_placeholder (ctl_str (status, "phase"), "<unknown>"));
  g_strv_builder_add (b, or_placeholder (ctl_str (status, "nodeRef"), "<none>"));
  builder_take (b, ctl_project_conditions_summary (p));
  builder_take (b, ctl_format_age (ctl_str (ctl_obj (p, "metadata"), "createdAt")));
  if (wide)
    {
      JsonArray *services = ctl_arr (ctl_obj (p, "spec"), "services");
      g_autofree char *names = join_member (services, "name");
      g_autofree char *images = join_member (services, "image");
      g_strv_builder_add (b, or_placeholder (names, "<none>"));
      g_strv_builder_add (b, or_placeholder (images, "<none>"));
    }
  return g_strv_builder_end (b);
}

static CtlTable *
new_table (const char *kind, gboolean wide)
{
  if (g_str_equal (kind, "nodes"))
    return wide ? ctl_table_new ("NAME", "STATE", "IP", "AGE", "CPU", "MEMORY", "VERSION", "KERNEL", NULL)
                : ctl_table_new ("NAME", "STATE", "IP", "AGE", NULL);
  return wide ? ctl_table_new ("NAME", "PHASE", "NODE", "CONDITIONS", "AGE", "SERVICES", "IMAGES", NULL)
              : ctl_table_new ("NAME", "PHASE", "NODE", "CONDITIONS", "AGE", NULL);
}

static char **
resource_row (const char *kind, JsonObject *o, gboolean wide)
{
  return g_str_equal (kind, "nodes") ? node_row (o, wide) : project_row (o, wide);
}

static gint
by_name (gconstpointer a, gconstpointer b)
{
  JsonObject *x = json_node_get_object (*(JsonNode **) a);
  JsonObject *y = json_node_get_object (*(JsonNode **) b);
  return g_strcmp0 (ctl_meta_name (x), ctl_meta_name (y));
}

static gboolean
matches_filters (CtlArgs *args, JsonObject *o)
{
  g_autoptr (GPtrArray) phases = ctl_opt_strings (args, "phase");
  const char *node = ctl_opt_string (args, "node");
  JsonObject *status = ctl_obj (o, "status");
  if (phases)
    {
      gboolean any = FALSE;
      for (guint i = 0; i < phases->len; i++)
        any |= g_str_equal (phases->pdata[i], ctl_str (status, "phase"));
      if (!any)
        return FALSE;
    }
  if (node && !g_str_equal (node, ctl_str (status, "nodeRef")))
    return FALSE;
  return TRUE;
}

/* The items to show, sorted by name.  Missing names are reported on stderr and make the verb
 * fail after the others are shown, as kubectl does. */
static GPtrArray *
fetch (Ctl *ctl, CtlArgs *args, const char *kind, GPtrArray *names, guint *ret_missing, GError **error)
{
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  *ret_missing = 0;
  if (names->len == 0)
    {
      g_autoptr (GString) path = g_string_new ("/api/v1/");
      g_string_append (path, kind);
      g_autoptr (GPtrArray) phases = ctl_opt_strings (args, "phase");
      const char *node = ctl_opt_string (args, "node");
      char sep = '?';
      for (guint i = 0; phases && i < phases->len; i++, sep = '&')
        {
          g_autofree char *v = cara_http_escape (phases->pdata[i]);
          g_string_append_printf (path, "%cphase=%s", sep, v);
        }
      if (node)
        {
          g_autofree char *v = cara_http_escape (node);
          g_string_append_printf (path, "%cnodeRef=%s", sep, v);
        }
      g_autoptr (JsonNode) list = ctl_get (ctl, path->str, error);
      if (list == NULL)
        return NULL;
      JsonObject *lo = JSON_NODE_HOLDS_OBJECT (list) ? json_node_get_object (list) : NULL;
      JsonArray *a = ctl_arr (lo, "items");
      for (guint i = 0; a && i < json_array_get_length (a); i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          if (JSON_NODE_HOLDS_OBJECT (e) && matches_filters (args, json_node_get_object (e)))
            g_ptr_array_add (items, json_node_ref (e));
        }
      g_ptr_array_sort (items, by_name);
      return g_steal_pointer (&items);
    }

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *esc = cara_http_escape (names->pdata[i]);
      g_autofree char *path = g_strdup_printf ("/api/v1/%s/%s", kind, esc);
      g_autoptr (GError) local = NULL;
      g_autoptr (JsonNode) o = ctl_get (ctl, path, &local);
      if (o == NULL)
        {
          if (!g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return NULL;
            }
          g_printerr ("caractrl: %s\n", local->message);
          (*ret_missing)++;
          continue;
        }
      if (JSON_NODE_HOLDS_OBJECT (o) && matches_filters (args, json_node_get_object (o)))
        g_ptr_array_add (items, g_steal_pointer (&o));
    }
  return g_steal_pointer (&items);
}

static void
print_name (const char *kind, JsonObject *o)
{
  printf ("%s/%s\n", ctl_kind_singular (kind), ctl_meta_name (o));
}

JsonNode *
ctl_make_list (const char *kind, GPtrArray *items)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "apiVersion");
  json_builder_add_string_value (b, CARA_API_VERSION);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, g_str_equal (kind, "nodes") ? "NodeList" : "ProjectList");
  json_builder_set_member_name (b, "items");
  json_builder_begin_array (b);
  for (guint i = 0; i < items->len; i++)
    json_builder_add_value (b, json_node_copy (items->pdata[i]));
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

typedef struct {
  Ctl *ctl;
  CtlArgs *args;
  const char *kind;
  GArray *widths;
  GString *buf;
  gboolean wide;
  GHashTable *shown; /* name -> resourceVersion already printed by the list */
  GHashTable *last_row; /* name -> the row printed last, so identical updates print nothing */
  char *error;       /* an ERROR event ends the stream */
  GHashTable *containers; /* project -> (service -> containerId last seen); created on first use */
} Watch;

/* Remembers @o's containers; returns the lines announcing the ones replaced since last seen
 * (a new containerId for a service that had one), or NULL. */
static char *
note_containers (Watch *w, JsonObject *o)
{
  if (!g_str_equal (w->kind, "projects"))
    return NULL;
  if (w->containers == NULL)
    w->containers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
  GHashTable *ids = g_hash_table_lookup (w->containers, ctl_meta_name (o));
  if (ids == NULL)
    {
      ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_insert (w->containers, g_strdup (ctl_meta_name (o)), ids);
    }
  g_autoptr (GString) out = g_string_new (NULL);
  JsonArray *st = ctl_arr (ctl_obj (o, "status"), "services");
  for (guint i = 0; st && i < json_array_get_length (st); i++)
    {
      JsonNode *e = json_array_get_element (st, i);
      JsonObject *s = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      const char *id = ctl_str (s, "containerId");
      if (s == NULL || !*id)
        continue;
      const char *old = g_hash_table_lookup (ids, ctl_str (s, "name"));
      if (old && !g_str_equal (old, id))
        g_string_append_printf (out, _("  %s/%s: container %.12s replaced by %.12s\n"), ctl_meta_name (o),
                                ctl_str (s, "name"), old, id);
      g_hash_table_replace (ids, g_strdup (ctl_str (s, "name")), g_strdup (id));
    }
  return out->len ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}

static gboolean
watch_event (Watch *w, const char *line)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!cara_json_check_depth (line, -1, NULL) || !json_parser_load_from_data (parser, line, -1, NULL) || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return TRUE;
  JsonObject *ev = json_node_get_object (json_parser_get_root (parser));
  JsonNode *obj = json_object_get_member (ev, "object");
  const char *type = ctl_str (ev, "type");
  if (obj == NULL || !JSON_NODE_HOLDS_OBJECT (obj) || g_str_equal (type, "BOOKMARK"))
    return TRUE;
  JsonObject *o = json_node_get_object (obj);
  if (g_str_equal (type, "ERROR"))
    {
      w->error = g_strdup (*ctl_str (o, "message") ? ctl_str (o, "message") : _("the watch ended with an error"));
      return FALSE;
    }
  /* A watch without resourceVersion starts with every object as ADDED: skip what the list showed. */
  const char *rv = ctl_str (ctl_obj (o, "metadata"), "resourceVersion");
  const char *seen = g_hash_table_lookup (w->shown, ctl_meta_name (o));
  if (g_str_equal (type, "ADDED") && seen && g_str_equal (seen, rv))
    return TRUE;
  g_hash_table_remove (w->shown, ctl_meta_name (o));
  if (!matches_filters (w->args, o))
    return TRUE;
  switch (w->ctl->output)
    {
    case CTL_OUTPUT_NAME:
      print_name (w->kind, o);
      break;
    case CTL_OUTPUT_JSON:
    case CTL_OUTPUT_YAML:
      if (w->ctl->output == CTL_OUTPUT_YAML)
        printf ("---\n");
      ctl_print_json_or_yaml (w->ctl, obj, NULL);
      break;
    default:
      {
        g_auto (GStrv) row = resource_row (w->kind, o, w->wide);
        if (g_str_equal (ctl_str (ev, "type"), "DELETED") && g_strv_length (row) > 1)
          {
            g_free (row[1]);
            row[1] = g_strdup ("Deleted");
          }
        g_autofree char *s = ctl_table_format_row (w->widths, row);
        g_autofree char *replaced = note_containers (w, o);
        if (replaced == NULL && g_strcmp0 (g_hash_table_lookup (w->last_row, ctl_meta_name (o)), s) == 0)
          return TRUE;
        printf ("%s\n%s", s, replaced ? replaced : "");
        g_hash_table_replace (w->last_row, g_strdup (ctl_meta_name (o)), g_strdup (s));
      }
    }
  fflush (stdout);
  return TRUE;
}

static gboolean
watch_data (const char *data, gsize len, gpointer user_data)
{
  Watch *w = user_data;
  g_string_append_len (w->buf, data, (gssize) len);
  char *nl;
  while ((nl = memchr (w->buf->str, '\n', w->buf->len)) != NULL)
    {
      g_autofree char *line = g_strndup (w->buf->str, nl - w->buf->str);
      g_string_erase (w->buf, 0, nl - w->buf->str + 1);
      if (*g_strstrip (line) && !watch_event (w, line))
        return FALSE;
    }
  return TRUE;
}

int
ctl_verb_get (Ctl *ctl, CtlArgs *args, GError **error)
{
  g_autofree char *kind = NULL;
  g_autoptr (GPtrArray) names = NULL;
  if (!ctl_resolve_kind_names (args->positional, NULL, &kind, &names, error))
    return -1;
  if (g_str_equal (kind, "secrets"))
    return ctl_secrets_get (ctl, args, names, error);
  if (g_str_equal (kind, "nodes") && (ctl_opt_bool (args, "phase") || ctl_opt_string (args, "node")))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("--phase and --node apply to projects only"));
      return -1;
    }
  gboolean watch = ctl_opt_bool (args, "watch");
  if (watch && names->len > 0)
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("--watch lists every resource; do not name any"));
      return -1;
    }

  guint missing = 0;
  g_autoptr (GPtrArray) items = fetch (ctl, args, kind, names, &missing, error);
  if (items == NULL)
    return -1;

  gboolean wide = ctl->output == CTL_OUTPUT_WIDE;
  g_autoptr (CtlTable) table = new_table (kind, wide);
  if (!watch)
    ctl_pager_open (ctl);
  switch (ctl->output)
    {
    case CTL_OUTPUT_NAME:
      for (guint i = 0; i < items->len; i++)
        print_name (kind, json_node_get_object (items->pdata[i]));
      break;
    case CTL_OUTPUT_JSON:
    case CTL_OUTPUT_YAML:
      if (watch && ctl->output == CTL_OUTPUT_YAML && items->len > 0)
        printf ("---\n");
      if (names->len == 1 && items->len == 1 && !watch)
        {
          if (!ctl_print_json_or_yaml (ctl, items->pdata[0], error))
            return -1;
        }
      else if (watch)
        for (guint i = 0; i < items->len; i++)
          {
            if (i > 0 && ctl->output == CTL_OUTPUT_YAML)
              printf ("---\n");
            if (!ctl_print_json_or_yaml (ctl, items->pdata[i], error))
              return -1;
          }
      else
        {
          g_autoptr (JsonNode) list = ctl_make_list (kind, items);
          if (!ctl_print_json_or_yaml (ctl, list, error))
            return -1;
        }
      break;
    default:
      for (guint i = 0; i < items->len; i++)
        {
          g_auto (GStrv) row = resource_row (kind, json_node_get_object (items->pdata[i]), wide);
          ctl_table_add_rowv (table, row);
        }
      if (items->len == 0 && !watch)
        {
          if (!ctl->quiet && missing == 0)
            g_printerr (_("No resources found.\n"));
        }
      else
        {
          if (watch)
            {
              /* Room for the longest phase/state a change may bring, so the stream stays aligned. */
              GArray *widths = ctl_table_widths (table);
              g_array_index (widths, guint, 1) = MAX (g_array_index (widths, guint, 1), strlen ("Terminating"));
            }
          ctl_table_print (table, !ctl->no_legend);
        }
    }
  fflush (stdout);

  if (watch)
    {
      g_autoptr (GString) path = g_string_new (NULL);
      g_string_printf (path, "/api/v1/%s?watch=true", kind);
      if (ctl_opt_string (args, "node"))
        {
          g_autofree char *v = cara_http_escape (ctl_opt_string (args, "node"));
          g_string_append_printf (path, "&nodeRef=%s", v);
        }
      Watch w = { ctl, args, kind, ctl_table_widths (table), g_string_new (NULL), wide,
                  g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free),
                  g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free), NULL };
      for (guint i = 0; i < items->len; i++)
        {
          JsonObject *o = json_node_get_object (items->pdata[i]);
          g_hash_table_insert (w.shown, g_strdup (ctl_meta_name (o)),
                               g_strdup (ctl_str (ctl_obj (o, "metadata"), "resourceVersion")));
          g_free (note_containers (&w, o));
        }
      gboolean ok = cara_http_client_stream (ctl_client (ctl), "GET", path->str, NULL, NULL, 0, watch_data, &w,
                                             NULL, error);
      g_string_free (w.buf, TRUE);
      g_hash_table_unref (w.shown);
      g_hash_table_unref (w.last_row);
      g_clear_pointer (&w.containers, g_hash_table_unref);
      if (!ok)
        {
          g_free (w.error);
          ctl_explain_error (ctl, error);
          return -1;
        }
      if (w.error)
        {
          g_set_error_literal (error, CARA_ERROR, CARA_ERROR_FAILED, w.error);
          g_free (w.error);
          return -1;
        }
    }
  return missing ? 1 : 0;
}
