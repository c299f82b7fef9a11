/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl events [-w] [--project P] [--node N] [--type T] [--since 1h]: the cluster's events,
 * oldest first, as LAST SEEN  TYPE  REASON  OBJECT  MESSAGE; and the last events of one project or
 * node for status and describe. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cara-error.h"
#include "cara-json.h"
#include "ctl.h"

/* "project/web" */
static char *
object_name (JsonObject *e)
{
  JsonObject *o = ctl_obj (e, "object");
  g_autofree char *kind = g_ascii_strdown (ctl_str (o, "kind"), -1);
  return g_strdup_printf ("%s/%s", kind, ctl_str (o, "name"));
}

static char **
event_row (JsonObject *e)
{
  char **row = g_new0 (char *, 6);
  row[0] = ctl_format_age (ctl_str (e, "time"));
  row[1] = g_strdup (ctl_str (e, "type"));
  row[2] = g_strdup (ctl_str (e, "reason"));
  row[3] = object_name (e);
  row[4] = g_strdup (ctl_str (e, "message"));
  return row;
}

static CtlTable *
events_table (void)
{
  /* TRANSLATORS: column headers of caractrl events */
  return ctl_table_new (_("LAST SEEN"), _("TYPE"), _("REASON"), _("OBJECT"), _("MESSAGE"), NULL);
}

static void
append_query (GString *path, const char *key, const char *value)
{
  if (value == NULL || *value == '\0')
    return;
  g_autofree char *v = cara_http_escape (value);
  g_string_append_printf (path, "%s%s=%s", strchr (path->str, '?') ? "&" : "?", key, v);
}

static char *
events_path (CtlArgs *args, gboolean watch)
{
  GString *path = g_string_new ("/api/v1/events");
  append_query (path, "project", ctl_opt_string (args, "project"));
  append_query (path, "node", ctl_opt_string (args, "node"));
  append_query (path, "type", ctl_opt_string (args, "type"));
  append_query (path, "since", ctl_opt_string (args, "since"));
  if (watch)
    append_query (path, "watch", "true");
  return g_string_free (path, FALSE);
}

typedef struct {
  Ctl *ctl;
  GArray *widths;
  GString *buf;
  gboolean header_done;
  char *error;
} EventWatch;

static void
watch_print (EventWatch *w, JsonObject *e)
{
  if (w->ctl->output == CTL_OUTPUT_JSON || w->ctl->output == CTL_OUTPUT_YAML)
    {
      g_autoptr (JsonNode) n = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (n, e);
      g_autofree char *text = cara_json_to_string (n, FALSE);
      printf ("%s\n", text);
    }
  else if (w->ctl->output == CTL_OUTPUT_NAME)
    {
      g_autofree char *name = object_name (e);
      printf ("%s\n", name);
    }
  else
    {
      if (!w->header_done && !w->ctl->no_legend)
        {
          char *header[] = { _("LAST SEEN"), _("TYPE"), _("REASON"), _("OBJECT"), _("MESSAGE"), NULL };
          g_autofree char *line = ctl_table_format_row (w->widths, header);
          printf ("%s\n", line);
        }
      w->header_done = TRUE;
      g_auto (GStrv) row = event_row (e);
      g_autofree char *line = ctl_table_format_row (w->widths, row);
      printf ("%s\n", line);
    }
  fflush (stdout);
}

static gboolean
watch_data (const char *data, gsize len, gpointer user_data)
{
  EventWatch *w = user_data;
  g_string_append_len (w->buf, data, (gssize) len);
  char *nl;
  while ((nl = memchr (w->buf->str, '\n', w->buf->len)) != NULL)
    {
      g_autofree char *line = g_strndup (w->buf->str, nl - w->buf->str);
      g_string_erase (w->buf, 0, nl - w->buf->str + 1);
      g_autoptr (JsonNode) root = *g_strstrip (line) ? cara_json_parse (line, -1, NULL) : NULL;
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        continue;
      JsonObject *ev = json_node_get_object (root);
      JsonObject *o = ctl_obj (ev, "object");
      if (o == NULL)
        continue;
      if (g_str_equal (ctl_str (ev, "type"), "ERROR"))
        {
          w->error = g_strdup (*ctl_str (o, "message") ? ctl_str (o, "message") : _("the watch ended with an error"));
          return FALSE;
        }
      if (g_str_equal (ctl_str (ev, "type"), "ADDED"))
        watch_print (w, o);
    }
  return TRUE;
}

static int
events_watch (Ctl *ctl, CtlArgs *args, GError **error)
{
  g_autofree char *path = events_path (args, TRUE);
  /* Fixed widths: the stream cannot know its longest row in advance. */
  static const guint widths[] = { 9, 7, 14, 28, 0 };
  EventWatch w = { ctl, g_array_new (FALSE, FALSE, sizeof (guint)), g_string_new (NULL), FALSE, NULL };
  g_array_append_vals (w.widths, widths, G_N_ELEMENTS (widths));
  gboolean ok = cara_http_client_stream (ctl_client (ctl), "GET", path, NULL, NULL, 0, watch_data, &w, NULL, error);
  g_array_unref (w.widths);
  g_string_free (w.buf, TRUE);
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
  return 0;
}

int
ctl_verb_events (Ctl *ctl, CtlArgs *args, GError **error)
{
  if (ctl_opt_bool (args, "watch"))
    return events_watch (ctl, args, error);
  g_autofree char *path = events_path (args, FALSE);
  g_autoptr (JsonNode) list = ctl_get (ctl, path, error);
  if (list == NULL)
    return -1;
  if (ctl->output == CTL_OUTPUT_JSON || ctl->output == CTL_OUTPUT_YAML)
    return ctl_print_json_or_yaml (ctl, list, error) ? 0 : -1;
  JsonArray *items = JSON_NODE_HOLDS_OBJECT (list) ? ctl_arr (json_node_get_object (list), "items") : NULL;
  guint n = items ? json_array_get_length (items) : 0;
  if (ctl->output == CTL_OUTPUT_NAME)
    {
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *name = object_name (json_node_get_object (json_array_get_element (items, i)));
          printf ("%s\n", name);
        }
      return 0;
    }
  if (n == 0)
    {
      if (!ctl->quiet)
        fprintf (stderr, "%s\n", _("No events found."));
      return 0;
    }
  ctl_pager_open (ctl);
  g_autoptr (CtlTable) table = events_table ();
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (items, i);
      if (!JSON_NODE_HOLDS_OBJECT (e))
        continue;
      g_auto (GStrv) row = event_row (json_node_get_object (e));
      ctl_table_add_rowv (table, row);
    }
  ctl_table_print (table, !ctl->no_legend);
  ctl_pager_close (ctl);
  return 0;
}

/* For status and describe: the last @limit events about @kind ("project"|"node") @name, as
 * journal-like lines ("Dec 03 13:01:02 Warning Killed: ...").  Nothing when there are none or the
 * server has no events API. */
void
ctl_print_recent_events (Ctl *ctl, const char *kind, const char *name, guint limit)
{
  g_autoptr (GString) path = g_string_new ("/api/v1/events");
  append_query (path, kind, name);
  g_string_append_printf (path, "&limit=%u", limit);
  g_autoptr (JsonNode) list = ctl_get (ctl, path->str, NULL);
  JsonArray *items = list && JSON_NODE_HOLDS_OBJECT (list) ? ctl_arr (json_node_get_object (list), "items") : NULL;
  if (items == NULL || json_array_get_length (items) == 0)
    return;
  printf ("\n%s%s%s\n", ctl_color (ctl, CTL_ANSI_BOLD), _("Events:"), ctl_color (ctl, CTL_ANSI_NORMAL));
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonNode *n = json_array_get_element (items, i);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        continue;
      JsonObject *e = json_node_get_object (n);
      g_autoptr (GDateTime) t = ctl_parse_time (ctl_str (e, "time"));
      g_autoptr (GDateTime) local = t ? g_date_time_to_local (t) : NULL;
      g_autofree char *ts = local ? g_date_time_format (local, "%b %d %H:%M:%S") : g_strdup ("-");
      gboolean warn = g_str_equal (ctl_str (e, "type"), "Warning");
      g_autofree char *object = object_name (e);
      printf ("%s%s%s %s%s%s", ctl_color (ctl, CTL_ANSI_GREY), ts, ctl_color (ctl, CTL_ANSI_NORMAL),
              warn ? ctl_color (ctl, CTL_ANSI_YELLOW) : "", ctl_str (e, "reason"),
              warn ? ctl_color (ctl, CTL_ANSI_NORMAL) : "");
      /* On a node's page, say what each one is about. */
      if (g_str_equal (kind, "node"))
        printf (" %s", object);
      printf (": %s\n", ctl_str (e, "message"));
    }
}

void
ctl_print_events_table (Ctl *ctl, const char *kind, const char *name, guint limit)
{
  g_autoptr (GString) path = g_string_new ("/api/v1/events");
  append_query (path, kind, name);
  g_string_append_printf (path, "&limit=%u", limit);
  g_autoptr (JsonNode) list = ctl_get (ctl, path->str, NULL);
  if (list == NULL || !JSON_NODE_HOLDS_OBJECT (list))
    return; /* a server without events */
  JsonArray *items = ctl_arr (json_node_get_object (list), "items");
  if (items == NULL || json_array_get_length (items) == 0)
    {
      printf ("%s\n", _("Events: <none>"));
      return;
    }
  printf ("%s\n", _("Events:"));
  g_autoptr (CtlTable) table = events_table ();
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonNode *e = json_array_get_element (items, i);
      if (JSON_NODE_HOLDS_OBJECT (e))
        {
          g_auto (GStrv) row = event_row (json_node_get_object (e));
          ctl_table_add_rowv (table, row);
        }
    }
  g_autoptr (GPtrArray) lines = ctl_table_lines (table, TRUE);
  for (guint i = 0; i < lines->len; i++)
    printf ("  %s\n", (char *) lines->pdata[i]);
}
