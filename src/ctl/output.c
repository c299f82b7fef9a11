/* SPDX-License-Identifier: Apache-2.0 */
/* Output formats: aligned tables (as Go's tabwriter with padding 3), json, yaml, and the small
 * formatting helpers (ages, timestamps, maps) the verbs share. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cara-json.h"
#include "cara-manifest.h"
#include "ctl.h"

struct _CtlTable {
  guint n_columns;
  GPtrArray *rows; /* GStrv; rows->pdata[0] is the header */
  GArray *widths;
};

CtlTable *
ctl_table_new (const char *first_header, ...)
{
  CtlTable *t = g_new0 (CtlTable, 1);
  t->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  va_list ap;
  va_start (ap, first_header);
  for (const char *h = first_header; h; h = va_arg (ap, const char *))
    {
      g_strv_builder_add (b, h);
      t->n_columns++;
    }
  va_end (ap);
  g_ptr_array_add (t->rows, g_strv_builder_end (b));
  return t;
}

void
ctl_table_add_rowv (CtlTable *t, char **cells)
{
  char **row = g_new0 (char *, t->n_columns + 1);
  gboolean end = FALSE;
  for (guint i = 0; i < t->n_columns; i++)
    {
      if (!end && cells[i] == NULL)
        end = TRUE;
      row[i] = g_strdup (end ? "" : cells[i]);
    }
  g_ptr_array_add (t->rows, row);
}

void
ctl_table_add_row (CtlTable *t, const char *first, ...)
{
  g_autofree char **cells = g_new0 (char *, t->n_columns + 1);
  va_list ap;
  va_start (ap, first);
  const char *c = first;
  for (guint i = 0; i < t->n_columns && c; i++)
    {
      cells[i] = (char *) c;
      c = va_arg (ap, const char *);
    }
  va_end (ap);
  ctl_table_add_rowv (t, cells);
}

void
ctl_table_free (CtlTable *t)
{
  if (t == NULL)
    return;
  g_ptr_array_unref (t->rows);
  if (t->widths)
    g_array_unref (t->widths);
  g_free (t);
}

/* Terminal columns taken by @s: East Asian wide characters count two, so translated text lines up. */
guint
ctl_display_width (const char *s)
{
  guint w = 0;
  if (!g_utf8_validate (s, -1, NULL))
    return strlen (s);
  for (const char *p = s; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_iszerowidth (c))
        continue;
      w += g_unichar_iswide (c) ? 2 : 1;
    }
  return w;
}

char *
ctl_table_format_row (GArray *widths, char **cells)
{
  g_autoptr (GString) line = g_string_new (NULL);
  guint n = widths->len;
  for (guint i = 0; i < n && cells[i]; i++)
    {
      g_string_append (line, cells[i]);
      gboolean last = (i + 1 == n) || cells[i + 1] == NULL;
      if (!last)
        {
          guint w = ctl_display_width (cells[i]);
          guint want = MAX (g_array_index (widths, guint, i), w) + 3;
          for (guint k = w; k < want; k++)
            g_string_append_c (line, ' ');
        }
    }
  /* No trailing blanks when the last cells are empty. */
  while (line->len > 0 && line->str[line->len - 1] == ' ')
    g_string_truncate (line, line->len - 1);
  return g_string_free (g_steal_pointer (&line), FALSE);
}

GArray *
ctl_table_widths (CtlTable *t)
{
  if (t->widths == NULL)
    {
      t->widths = g_array_sized_new (FALSE, TRUE, sizeof (guint), t->n_columns);
      g_array_set_size (t->widths, t->n_columns);
      for (guint r = 0; r < t->rows->len; r++)
        {
          char **row = t->rows->pdata[r];
          for (guint i = 0; i < t->n_columns; i++)
            {
              guint w = ctl_display_width (row[i]);
              if (w > g_array_index (t->widths, guint, i))
                g_array_index (t->widths, guint, i) = w;
            }
        }
    }
  return t->widths;
}

GPtrArray *
ctl_table_lines (CtlTable *t, gboolean legend)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  GArray *widths = ctl_table_widths (t);
  for (guint r = legend ? 0 : 1; r < t->rows->len; r++)
    g_ptr_array_add (lines, ctl_table_format_row (widths, t->rows->pdata[r]));
  return lines;
}

void
ctl_table_print (CtlTable *t, gboolean legend)
{
  GArray *widths = ctl_table_widths (t);
  for (guint r = legend ? 0 : 1; r < t->rows->len; r++)
    {
      g_autofree char *line = ctl_table_format_row (widths, t->rows->pdata[r]);
      printf ("%s\n", line);
    }
}

gboolean
ctl_output_parse (const char *s, CtlOutput *ret)
{
  static const char *const names[] = { "table", "wide", "json", "yaml", "name", NULL };
  for (guint i = 0; names[i]; i++)
    if (g_str_equal (s, names[i]))
      {
        *ret = (CtlOutput) i;
        return TRUE;
      }
  return FALSE;
}

gboolean
ctl_print_json_or_yaml (Ctl *ctl, JsonNode *node, GError **error)
{
  if (ctl->output == CTL_OUTPUT_YAML)
    {
      g_autofree char *y = cara_yaml_from_json (node, error);
      if (y == NULL)
        return FALSE;
      fputs (y, stdout);
      if (*y && y[strlen (y) - 1] != '\n')
        fputc ('\n', stdout);
      return TRUE;
    }
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, node);
  g_autofree char *s = json_generator_to_data (gen, NULL);
  printf ("%s\n", s);
  return TRUE;
}

gboolean
ctl_print_objects (Ctl *ctl, const char *kind, GPtrArray *found, GError **error)
{
  if (ctl->output == CTL_OUTPUT_NAME)
    {
      for (guint i = 0; i < found->len; i++)
        printf ("%s/%s\n", ctl_kind_singular (kind), ctl_meta_name (json_node_get_object (found->pdata[i])));
      return TRUE;
    }
  if (found->len == 1)
    return ctl_print_json_or_yaml (ctl, found->pdata[0], error);
  g_autoptr (JsonNode) list = ctl_make_list (kind, found);
  return ctl_print_json_or_yaml (ctl, list, error);
}

GDateTime *
ctl_parse_time (const char *rfc3339)
{
  if (rfc3339 == NULL || *rfc3339 == '\0' || g_str_has_prefix (rfc3339, "0001-01-01"))
    return NULL;
  return g_date_time_new_from_iso8601 (rfc3339, NULL);
}

char *
ctl_format_age (const char *rfc3339)
{
  g_autoptr (GDateTime) t = ctl_parse_time (rfc3339);
  if (t == NULL)
    return g_strdup ("<unknown>");
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  GTimeSpan d = g_date_time_difference (now, t) / G_TIME_SPAN_SECOND;
  if (d < 0)
    d = 0;
  if (d < 60)
    return g_strdup_printf ("%ds", (int) d);
  if (d < 3600)
    return g_strdup_printf ("%dm", (int) (d / 60));
  if (d < 86400)
    return g_strdup_printf ("%dh", (int) (d / 3600));
  return g_strdup_printf ("%dd", (int) (d / 86400));
}

/* systemd's style: "3min 2s", "2h 5min", "4 days 2h". */
char *
ctl_format_duration (GTimeSpan span)
{
  gint64 s = span / G_TIME_SPAN_SECOND;
  if (s < 0)
    s = 0;
  if (s < 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT "s", s);
  if (s < 3600)
    return s % 60 ? g_strdup_printf ("%" G_GINT64_FORMAT "min %" G_GINT64_FORMAT "s", s / 60, s % 60)
                  : g_strdup_printf ("%" G_GINT64_FORMAT "min", s / 60);
  if (s < 86400)
    return g_strdup_printf ("%" G_GINT64_FORMAT "h %" G_GINT64_FORMAT "min", s / 3600, (s % 3600) / 60);
  int days = (int) (s / 86400), hours = (int) ((s % 86400) / 3600);
  return g_strdup_printf (ngettext ("%d day %dh", "%d days %dh", days), days, hours);
}

char *
ctl_format_timestamp (const char *rfc3339)
{
  g_autoptr (GDateTime) t = ctl_parse_time (rfc3339);
  if (t == NULL)
    return NULL;
  g_autoptr (GDateTime) utc = g_date_time_to_utc (t);
  return g_date_time_format (utc, "%Y-%m-%d %H:%M:%S UTC");
}

JsonObject *
ctl_obj (JsonObject *o, const char *member)
{
  if (o == NULL)
    return NULL;
  JsonNode *n = json_object_get_member (o, member);
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

JsonArray *
ctl_arr (JsonObject *o, const char *member)
{
  if (o == NULL)
    return NULL;
  JsonNode *n = json_object_get_member (o, member);
  return n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

const char *
ctl_str (JsonObject *o, const char *member)
{
  if (o == NULL)
    return "";
  JsonNode *n = json_object_get_member (o, member);
  if (n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    return json_node_get_string (n);
  return "";
}

gint64
ctl_int (JsonObject *o, const char *member)
{
  if (o == NULL)
    return 0;
  JsonNode *n = json_object_get_member (o, member);
  if (n && JSON_NODE_HOLDS_VALUE (n) && (json_node_get_value_type (n) == G_TYPE_INT64
                                         || json_node_get_value_type (n) == G_TYPE_DOUBLE))
    return json_node_get_int (n);
  return 0;
}

gboolean
ctl_bool (JsonObject *o, const char *member)
{
  if (o == NULL)
    return FALSE;
  JsonNode *n = json_object_get_member (o, member);
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN
         && json_node_get_boolean (n);
}

const char *
ctl_meta_name (JsonObject *resource)
{
  return ctl_str (ctl_obj (resource, "metadata"), "name");
}

char *
ctl_map_string (JsonObject *map)
{
  if (map == NULL || json_object_get_size (map) == 0)
    return NULL;
  g_autoptr (GList) keys = g_list_sort (json_object_get_members (map), (GCompareFunc) g_strcmp0);
  g_autoptr (GString) s = g_string_new (NULL);
  for (GList *l = keys; l; l = l->next)
    g_string_append_printf (s, "%s%s=%s", s->len ? ", " : "", (char *) l->data, ctl_str (map, l->data));
  return g_string_free (g_steal_pointer (&s), FALSE);
}
