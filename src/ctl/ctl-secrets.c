/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets in caractrl (SPEC §12): get, describe, their comparable form for apply/diff, and apply.
 * Nothing here ever prints a value: the server's answers hold none. */
#include "config.h"

#include <stdio.h>

#include "cara-error.h"
#include "cara-json.h"
#include "cara-secret.h"
#include "ctl-manifests.h"
#include "ctl.h"

static char *
keys_summary (JsonObject *s)
{
  JsonArray *keys = ctl_arr (s, "keys");
  g_autoptr (GString) out = g_string_new (NULL);
  for (guint i = 0; keys && i < json_array_get_length (keys); i++)
    {
      JsonObject *k = json_array_get_object_element (keys, i);
      g_string_append_printf (out, "%s%s", out->len ? "," : "", ctl_str (k, "name"));
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static JsonNode *
make_list (GPtrArray *items)
{
  JsonObject *o = json_object_new ();
  JsonArray *a = json_array_new ();
  json_object_set_string_member (o, "apiVersion", CARA_API_VERSION);
  json_object_set_string_member (o, "kind", "SecretList");
  for (guint i = 0; i < items->len; i++)
    json_array_add_element (a, json_node_copy (items->pdata[i]));
  json_object_set_array_member (o, "items", a);
  JsonNode *n = json_node_init_object (json_node_alloc (), o);
  json_object_unref (o);
  return n;
}

/* The named Secrets (all when none is named); a missing one of several: on stderr, *ret_rc 1. */
static GPtrArray *
fetch (Ctl *ctl, GPtrArray *names, int *ret_rc, GError **error)
{
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  if (names->len == 0)
    {
      g_autoptr (JsonNode) list = ctl_get (ctl, "/api/v1/secrets", error);
      JsonArray *a = list && JSON_NODE_HOLDS_OBJECT (list) ? ctl_arr (json_node_get_object (list), "items") : NULL;
      if (list == NULL)
        return NULL;
      for (guint i = 0; a && i < json_array_get_length (a); i++)
        g_ptr_array_add (items, json_node_copy (json_array_get_element (a, i)));
      return g_steal_pointer (&items);
    }
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *esc = cara_http_escape (names->pdata[i]);
      g_autofree char *path = g_strdup_printf ("/api/v1/secrets/%s", esc);
      g_autoptr (GError) local = NULL;
      JsonNode *o = ctl_get (ctl, path, &local);
      if (o == NULL)
        {
          if (!g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND) || names->len == 1)
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return NULL;
            }
          g_printerr ("caractrl: %s\n", local->message);
          *ret_rc = 1;
          continue;
        }
      g_ptr_array_add (items, o);
    }
  return g_steal_pointer (&items);
}

static gboolean
print_machine (Ctl *ctl, GPtrArray *items, gboolean list, GError **error)
{
  if (ctl->output == CTL_OUTPUT_NAME)
    {
      for (guint i = 0; i < items->len; i++)
        printf ("secret/%s\n", ctl_meta_name (json_node_get_object (items->pdata[i])));
      return TRUE;
    }
  if (!list && items->len == 1)
    return ctl_print_json_or_yaml (ctl, items->pdata[0], error);
  g_autoptr (JsonNode) l = make_list (items);
  return ctl_print_json_or_yaml (ctl, l, error);
}

int
ctl_secrets_get (Ctl *ctl, CtlArgs *args, GPtrArray *names, GError **error)
{
  int rc = 0;
  if (ctl_opt_bool (args, "watch") || ctl_opt_strings (args, "phase") || ctl_opt_string (args, "node"))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("--watch, --phase and --node do not apply to secrets"));
      return -1;
    }
  g_autoptr (GPtrArray) items = fetch (ctl, names, &rc, error);
  if (items == NULL)
    return -1;
  ctl_pager_open (ctl);
  if (ctl->output != CTL_OUTPUT_TABLE && ctl->output != CTL_OUTPUT_WIDE)
    return print_machine (ctl, items, names->len == 0, error) ? rc : -1;
  g_autoptr (CtlTable) t = ctl_table_new ("NAME", "TYPE", "KEYS", "AGE", NULL);
  for (guint i = 0; i < items->len; i++)
    {
      JsonObject *s = json_node_get_object (items->pdata[i]);
      g_autofree char *keys = keys_summary (s);
      g_autofree char *age = ctl_format_age (ctl_str (ctl_obj (s, "metadata"), "createdAt"));
      ctl_table_add_row (t, ctl_meta_name (s), ctl_str (s, "type"), *keys ? keys : "<none>", age, NULL);
    }
  if (items->len == 0 && !ctl->quiet)
    g_printerr (_("No secrets found.\n"));
  else
    ctl_table_print (t, !ctl->no_legend);
  return rc;
}

int
ctl_secrets_describe (Ctl *ctl, GPtrArray *names, GError **error)
{
  int rc = 0;
  g_autoptr (GPtrArray) items = fetch (ctl, names, &rc, error);
  if (items == NULL)
    return -1;
  ctl_pager_open (ctl);
  if (ctl->output == CTL_OUTPUT_JSON || ctl->output == CTL_OUTPUT_YAML || ctl->output == CTL_OUTPUT_NAME)
    return print_machine (ctl, items, FALSE, error) ? rc : -1;
  for (guint i = 0; i < items->len; i++)
    {
      JsonObject *s = json_node_get_object (items->pdata[i]);
      JsonObject *m = ctl_obj (s, "metadata");
      g_autofree char *labels = ctl_map_string (ctl_obj (m, "labels"));
      g_autofree char *created = ctl_format_timestamp (ctl_str (m, "createdAt"));
      g_autofree char *updated = ctl_format_timestamp (ctl_str (m, "updatedAt"));
      JsonArray *keys = ctl_arr (s, "keys");
      if (i > 0)
        printf ("\n");
      printf ("%-18s%s\n", _("Name:"), ctl_meta_name (s));
      printf ("%-18s%s\n", _("Type:"), ctl_str (s, "type"));
      printf ("%-18s%s\n", _("Labels:"), labels ? labels : "<none>");
      printf ("%-18s%s\n", _("Created:"), created ? created : "<unknown>");
      printf ("%-18s%s\n", _("Updated:"), updated ? updated : "<unknown>");
      printf ("%-18s%s\n", _("Resource Version:"), ctl_str (m, "resourceVersion"));
      printf ("%s\n", _("Data:"));
      if (keys == NULL || json_array_get_length (keys) == 0)
        printf ("  <none>\n");
      for (guint k = 0; keys && k < json_array_get_length (keys); k++)
        {
          JsonObject *ko = json_array_get_object_element (keys, k);
          gint64 size = ctl_int (ko, "size");
          printf ("  %-16s", ctl_str (ko, "name"));
          g_autofree char *n = g_strdup_printf ("%" G_GINT64_FORMAT, size);
          printf (ngettext ("%s byte\n", "%s bytes\n", (gulong) size), n);
        }
    }
  return rc;
}

/* The listed size of @key in a document's keys[] (a read), or -1. */
static gint64
listed_size (JsonNode *resource, const char *key)
{
  JsonArray *keys = ctl_arr (json_node_get_object (resource), "keys");
  for (guint i = 0; keys && i < json_array_get_length (keys); i++)
    {
      JsonObject *k = json_array_get_object_element (keys, i);
      if (k && g_strcmp0 (ctl_str (k, "name"), key) == 0)
        return ctl_int (k, "size");
    }
  return -1;
}

JsonNode *
ctl_secret_comparable (JsonNode *resource, GError **error)
{
  g_autoptr (CaraSecret) s = cara_secret_from_json (resource, error);
  if (s == NULL)
    return NULL;
  /* Keys and sizes are what a read shows of the values (a manifest's values become sizes); the
   * values themselves are compared by the server. */
  for (guint i = 0; i < s->keep->len; i++)
    {
      const char *k = s->keep->pdata[i];
      gint64 size = MAX (listed_size (resource, k), 0);
      g_autofree char *fill = g_malloc0 ((gsize) size + 1);
      g_autoptr (GBytes) b = g_bytes_new_take (g_steal_pointer (&fill), (gsize) size);
      cara_secret_set (s, k, b);
    }
  g_autoptr (JsonBuilder) bld = json_builder_new ();
  json_builder_begin_object (bld);
  json_builder_set_member_name (bld, "metadata");
  json_builder_begin_object (bld);
  json_builder_set_member_name (bld, "name");
  json_builder_add_string_value (bld, s->metadata.name ? s->metadata.name : "");
  json_builder_set_member_name (bld, "labels");
  json_builder_add_value (bld, cara_string_map_to_json (s->metadata.labels));
  json_builder_end_object (bld);
  json_builder_set_member_name (bld, "type");
  json_builder_add_string_value (bld, cara_secret_type_to_string (s->type));
  json_builder_set_member_name (bld, "keys");
  json_builder_begin_array (bld);
  for (guint i = 0; i < s->keys->len; i++)
    {
      const CaraSecretKey *k = g_ptr_array_index (s->keys, i);
      json_builder_begin_object (bld);
      json_builder_set_member_name (bld, "name");
      json_builder_add_string_value (bld, k->name);
      json_builder_set_member_name (bld, "size");
      json_builder_add_int_value (bld, k->size);
      json_builder_end_object (bld);
    }
  json_builder_end_array (bld);
  json_builder_end_object (bld);
  return json_builder_get_root (bld);
}

const char *
ctl_secret_apply (Ctl *ctl, JsonNode *doc, const char *name, JsonNode **ret_obj, GError **error)
{
  g_autoptr (GError) local = NULL;
  JsonNode *obj = NULL;
  if (ctl_request (ctl, "POST", "/api/v1/secrets", doc, NULL, &obj, &local))
    {
      *ret_obj = obj;
      return "created";
    }
  if (!g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  g_autofree char *esc = cara_http_escape (name);
  g_autofree char *path = g_strdup_printf ("/api/v1/secrets/%s", esc);
  g_autoptr (JsonNode) before = ctl_get (ctl, path, error);
  if (before == NULL || !ctl_request (ctl, "PUT", path, doc, NULL, &obj, error))
    return NULL;
  *ret_obj = obj;
  /* The server writes nothing when the values are the same: the resourceVersion says. */
  const char *rv0 = ctl_str (ctl_obj (json_node_get_object (before), "metadata"), "resourceVersion");
  const char *rv1 = obj && JSON_NODE_HOLDS_OBJECT (obj) ? ctl_str (ctl_obj (json_node_get_object (obj), "metadata"),
                                                                   "resourceVersion") : "";
  return g_strcmp0 (rv0, rv1) == 0 ? "unchanged" : "configured";
}
