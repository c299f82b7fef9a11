/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cara-error.h"
#include "cara-fields.h"
#include "cara-json.h"
#include "cara-validate.h"
#include "ctl-manifests.h"

void
ctl_item_free (CtlItem *it)
{
  if (it == NULL)
    return;
  if (it->normal)
    json_node_unref (it->normal);
  g_free (it);
}

JsonNode *
ctl_comparable (const char *kind, JsonNode *resource, GError **error)
{
  g_autoptr (CaraProject) p = NULL;
  g_autoptr (CaraNode) n = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GHashTable) annotations = NULL;
  CaraObjectMeta *meta;
  JsonNode *spec;

  if (g_str_equal (kind, "secrets"))
    return ctl_secret_comparable (resource, error);
  if (g_str_equal (kind, "projects"))
    {
      if ((p = cara_project_from_json (resource, error)) == NULL)
        return NULL;
      spec = cara_project_spec_to_json (p);
      meta = &p->metadata;
    }
  else
    {
      if ((n = cara_node_from_json (resource, error)) == NULL)
        return NULL;
      spec = cara_node_spec_to_json (n);
      meta = &n->metadata;
    }
  annotations = g_hash_table_new (g_str_hash, g_str_equal);
  if (meta->annotations)
    {
      GHashTableIter iter;
      gpointer k, v;
      g_hash_table_iter_init (&iter, meta->annotations);
      while (g_hash_table_iter_next (&iter, &k, &v))
        if (!g_str_equal (k, CTL_LAST_APPLIED) && !g_str_equal (k, CARA_CHANGE_CAUSE_ANNOTATION)
            && !g_str_equal (k, CARA_RESTARTED_AT_ANNOTATION))
          g_hash_table_insert (annotations, k, v);
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "metadata");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, meta->name ? meta->name : "");
  json_builder_set_member_name (b, "labels");
  json_builder_add_value (b, cara_string_map_to_json (meta->labels));
  json_builder_set_member_name (b, "annotations");
  json_builder_add_value (b, cara_string_map_to_json (annotations));
  json_builder_end_object (b);
  json_builder_set_member_name (b, "spec");
  json_builder_add_value (b, spec);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

char *
ctl_last_applied_text (const char *kind, JsonNode *doc, GError **error)
{
  g_autoptr (JsonNode) normal = ctl_comparable (kind, doc, error);
  return normal ? cara_json_to_string (normal, FALSE) : NULL;
}

JsonNode *
ctl_last_applied (JsonNode *live)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (live) ? json_node_get_object (live) : NULL;
  JsonObject *ann = ctl_obj (ctl_obj (o, "metadata"), "annotations");
  const char *text = ctl_str (ann, CTL_LAST_APPLIED);

  if (*text == '\0')
    return NULL;
  return cara_json_parse (text, -1, NULL);
}

static char *
scalar_text (JsonNode *n)
{
  if (n == NULL)
    return g_strdup ("(none)");
  return cara_json_to_string (n, FALSE);
}

void
ctl_json_changes (JsonNode *a, JsonNode *b, const char *path, GPtrArray *out)
{
  gboolean objs = a && b && JSON_NODE_HOLDS_OBJECT (a) && JSON_NODE_HOLDS_OBJECT (b);
  gboolean arrays = a && b && JSON_NODE_HOLDS_ARRAY (a) && JSON_NODE_HOLDS_ARRAY (b);

  if (a && b && json_node_equal (a, b))
    return;
  if (objs)
    {
      JsonObject *oa = json_node_get_object (a), *ob = json_node_get_object (b);
      g_autoptr (GList) keys = json_object_get_members (oa);
      g_autoptr (GList) keys_b = json_object_get_members (ob);
      for (GList *l = keys; l; l = l->next)
        {
          g_autofree char *p = *path ? g_strdup_printf ("%s.%s", path, (char *) l->data) : g_strdup (l->data);
          ctl_json_changes (json_object_get_member (oa, l->data), json_object_get_member (ob, l->data), p, out);
        }
      for (GList *l = keys_b; l; l = l->next)
        if (!json_object_has_member (oa, l->data))
          {
            g_autofree char *p = *path ? g_strdup_printf ("%s.%s", path, (char *) l->data) : g_strdup (l->data);
            ctl_json_changes (NULL, json_object_get_member (ob, l->data), p, out);
          }
      return;
    }
  if (arrays && json_array_get_length (json_node_get_array (a)) == json_array_get_length (json_node_get_array (b)))
    {
      JsonArray *xa = json_node_get_array (a), *xb = json_node_get_array (b);
      for (guint i = 0; i < json_array_get_length (xa); i++)
        {
          g_autofree char *p = g_strdup_printf ("%s[%u]", path, i);
          ctl_json_changes (json_array_get_element (xa, i), json_array_get_element (xb, i), p, out);
        }
      return;
    }
  g_autofree char *ta = scalar_text (a);
  g_autofree char *tb = scalar_text (b);
  g_ptr_array_add (out, g_strdup_printf ("%s: %s -> %s", path, ta, tb));
}

/* One "caractrl: " line per problem of a document. */
static void
print_problems (const GError *e)
{
  g_auto (GStrv) lines = g_strsplit (e->message, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    g_printerr ("caractrl: %s\n", lines[i]);
}

static CtlItem *
check_doc (CaraManifestDoc *d, GError **error)
{
  const char *kind = JSON_NODE_HOLDS_OBJECT (d->node) ? cara_json_get_kind (d->node) : "";
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (d->node) ? json_node_get_object (d->node) : NULL;
  const char *api = ctl_str (o, "apiVersion");
  g_autoptr (CtlItem) it = g_new0 (CtlItem, 1);

  it->doc = d;
  if (cara_fields_looks_like_compose (d->node))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   _("%s: this looks like a Compose file; Compose files are not supported yet: write a Project "
                     "manifest (apiVersion: %s, kind: Project, spec.services[] with name and image)"),
                   d->file, CARA_API_VERSION);
      return NULL;
    }
  if (g_str_equal (kind, "Project"))
    it->kind = "projects";
  else if (g_str_equal (kind, "Node"))
    it->kind = "nodes";
  else if (g_str_equal (kind, "Secret"))
    it->kind = "secrets";
  else
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, _("%s:%u: kind: unsupported kind \"%s\" (expected Project or Node)"),
                   d->file, d->line, kind);
      return NULL;
    }
  if (*api && !g_str_equal (api, CARA_API_VERSION))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, _("%s:%u: apiVersion: unsupported apiVersion \"%s\" (expected %s)"),
                   d->file, d->line, api, CARA_API_VERSION);
      return NULL;
    }
  /* Every unknown field and the decoder's and validation's findings, each with file:line. */
  if (!cara_manifest_doc_check (d, error))
    return NULL;
  it->normal = ctl_comparable (it->kind, d->node, error);
  if (it->normal == NULL)
    {
      cara_manifest_doc_locate_error (d, error);
      return NULL;
    }
  it->name = ctl_meta_name (o);
  return g_steal_pointer (&it);
}

static gint
secrets_first (gconstpointer a, gconstpointer b)
{
  gboolean sa = g_str_equal ((*(CtlItem **) a)->kind, "secrets"), sb = g_str_equal ((*(CtlItem **) b)->kind, "secrets");
  return sb - sa;
}

gboolean
ctl_manifests_read_with_compose (GPtrArray *files, CtlArgs *compose_args, GPtrArray **ret_docs, GPtrArray **ret_items,
                                 GError **error)
{
  g_autoptr (GPtrArray) docs = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_manifest_doc_free);
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) ctl_item_free);
  GError *last = NULL;
  guint invalid = 0;

  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr (GPtrArray) d = cara_manifest_read_path (files->pdata[i], error);
      if (d == NULL)
        return FALSE;
      for (guint k = 0; k < d->len; k++)
        g_ptr_array_add (docs, g_steal_pointer (&d->pdata[k]));
      g_ptr_array_set_free_func (d, NULL);
    }
  if (docs->len == 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, _("no resources found in the given manifests"));
      return FALSE;
    }
  if (compose_args != NULL && !ctl_compose_expand (compose_args, docs, error))
    return FALSE;
  for (guint i = 0; i < docs->len; i++)
    {
      GError *e = NULL;
      CtlItem *it = check_doc (docs->pdata[i], &e);
      if (it)
        {
          g_ptr_array_add (items, it);
          continue;
        }
      invalid++;
      if (last)
        {
          print_problems (last);
          g_error_free (last);
        }
      last = e;
    }
  if (last)
    {
      /* Every problem is reported; the exit code says "invalid manifest" (2). */
      if (invalid > 1)
        {
          print_problems (last);
          g_error_free (last);
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                       ngettext ("%u invalid document; nothing was applied", "%u invalid documents; nothing was applied",
                                 invalid), invalid);
          return FALSE;
        }
      if (docs->len > 1)
        g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, _("%s (nothing was applied)"), last->message);
      else
        g_set_error_literal (error, CARA_ERROR, CARA_ERROR_INVALID, last->message);
      g_error_free (last);
      return FALSE;
    }
  /* Secrets first: the projects after them may use them (stable: the rest keep their order). */
  g_ptr_array_sort (items, secrets_first);
  *ret_docs = g_steal_pointer (&docs);
  *ret_items = g_steal_pointer (&items);
  return TRUE;
}
