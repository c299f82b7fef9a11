/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl apply -f FILE|DIR|- [--wait]: every document of every file is read and checked first
 * (nothing is sent when one is invalid), then each is created, or updated with the stored
 * resourceVersion so a concurrent edit gets 409 instead of being overwritten. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cara-error.h"
#include "cara-fields.h"
#include "cara-json.h"
#include "cara-manifest.h"
#include "cara-validate.h"
#include "ctl.h"

typedef struct {
  CaraManifestDoc *doc; /* borrowed */
  const char *kind;     /* "nodes" | "projects" */
  const char *name;
  JsonNode *normal;     /* spec + labels + annotations as the codec writes them, to compare */
} Item;

static void
item_free (Item *it)
{
  if (it->normal)
    json_node_unref (it->normal);
  g_free (it);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Item, item_free)

/* {"spec":..., "labels":..., "annotations":...} of a decoded resource, in the codec's canonical
 * form, so "unchanged" does not depend on how the manifest spelled defaults. */
static JsonNode *
comparable (const char *kind, JsonNode *resource, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "spec");
  CaraObjectMeta *meta;
  g_autoptr (CaraProject) p = NULL;
  g_autoptr (CaraNode) n = NULL;
  if (g_str_equal (kind, "projects"))
    {
      p = cara_project_from_json (resource, error);
      if (p == NULL)
        return NULL;
      json_builder_add_value (b, cara_project_spec_to_json (p));
      meta = &p->metadata;
    }
  else
    {
      n = cara_node_from_json (resource, error);
      if (n == NULL)
        return NULL;
      json_builder_add_value (b, cara_node_spec_to_json (n));
      meta = &n->metadata;
    }
  json_builder_set_member_name (b, "labels");
  json_builder_add_value (b, cara_string_map_to_json (meta->labels));
  json_builder_set_member_name (b, "annotations");
  json_builder_add_value (b, cara_string_map_to_json (meta->annotations));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* One "caractrl: " line per problem of a document. */
static void
print_problems (const GError *e)
{
  g_auto (GStrv) lines = g_strsplit (e->message, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    g_printerr ("caractrl: %s\n", lines[i]);
}

static Item *
check_doc (CaraManifestDoc *d, GError **error)
{
  const char *kind = JSON_NODE_HOLDS_OBJECT (d->node) ? cara_json_get_kind (d->node) : "";
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (d->node) ? json_node_get_object (d->node) : NULL;
  const char *api = ctl_str (o, "apiVersion");
  g_autoptr (Item) it = g_new0 (Item, 1);
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
  it->normal = comparable (it->kind, d->node, error);
  if (it->normal == NULL)
    {
      cara_manifest_doc_locate_error (d, error);
      return NULL;
    }
  it->name = ctl_meta_name (o);
  return g_steal_pointer (&it);
}

static void
set_resource_version (JsonNode *resource, const char *rv)
{
  JsonObject *o = json_node_get_object (resource);
  JsonObject *m = ctl_obj (o, "metadata");
  if (m && rv && *rv && !*ctl_str (m, "resourceVersion"))
    json_object_set_string_member (m, "resourceVersion", rv);
}

/* Returns "created", "configured" or "unchanged" (untranslated keys), and the stored object. */
static const char *
apply_one (Ctl *ctl, Item *it, JsonNode **ret_obj, GError **error)
{
  g_autofree char *list_path = g_strdup_printf ("/api/v1/%s", it->kind);
  g_autoptr (GError) local = NULL;
  JsonNode *obj = NULL;
  if (ctl_request (ctl, "POST", list_path, it->doc->node, NULL, &obj, &local))
    {
      *ret_obj = obj;
      return "created";
    }
  if (!g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  g_clear_error (&local);

  g_autofree char *esc = cara_http_escape (it->name);
  g_autofree char *path = g_strdup_printf ("/api/v1/%s/%s", it->kind, esc);
  g_autoptr (JsonNode) current = ctl_get (ctl, path, error);
  if (current == NULL)
    return NULL;
  g_autoptr (JsonNode) cur_normal = comparable (it->kind, current, NULL);
  if (cur_normal && json_node_equal (cur_normal, it->normal))
    {
      *ret_obj = g_steal_pointer (&current);
      return "unchanged";
    }
  g_autoptr (JsonNode) body = json_node_copy (it->doc->node);
  set_resource_version (body, ctl_str (ctl_obj (json_node_get_object (current), "metadata"), "resourceVersion"));
  if (!ctl_request (ctl, "PUT", path, body, NULL, &obj, error))
    return NULL;
  *ret_obj = obj;
  return "configured";
}

static void
print_result (Ctl *ctl, Item *it, const char *what, JsonNode *obj, guint index)
{
  if (ctl->quiet)
    return;
  const char *singular = ctl_kind_singular (it->kind);
  if ((ctl->output == CTL_OUTPUT_JSON || ctl->output == CTL_OUTPUT_YAML) && obj)
    {
      /* Several objects in YAML stay one valid multi-document stream. */
      if (ctl->output == CTL_OUTPUT_YAML && index > 0)
        printf ("---\n");
      ctl_print_json_or_yaml (ctl, obj, NULL);
      fflush (stdout);
      return;
    }
  if (ctl->output == CTL_OUTPUT_NAME)
    printf ("%s/%s\n", singular, it->name);
  else if (g_str_equal (what, "created"))
    printf (_("%s/%s created\n"), singular, it->name);
  else if (g_str_equal (what, "configured"))
    printf (_("%s/%s configured\n"), singular, it->name);
  else
    printf (_("%s/%s unchanged\n"), singular, it->name);
  fflush (stdout);
}

static const char *
failure_reason (JsonObject *status)
{
  JsonArray *conds = ctl_arr (status, "conditions");
  guint n = conds ? json_array_get_length (conds) : 0;
  JsonObject *best = NULL;
  for (guint i = 0; i < n; i++)
    {
      JsonObject *c = json_node_get_object (json_array_get_element (conds, i));
      if (best == NULL || g_str_equal (ctl_str (c, "type"), "Phase"))
        best = c;
    }
  if (best == NULL)
    return NULL;
  return *ctl_str (best, "message") ? ctl_str (best, "message") : ctl_str (best, "reason");
}

static gboolean
stop_at_first_data (const char *data, gsize len, gpointer user_data)
{
  return FALSE;
}

/* Sleeps until a project changes after resourceVersion @rv (any watch event wakes us: the caller
 * reads its projects again) or @usec pass.  A server without watch answers a list at once, an
 * expired @rv an error event: the floor of 50 ms keeps that a poll, never a spin. */
static void
wait_for_change (Ctl *ctl, gint64 rv, gint64 usec)
{
  gint64 start = g_get_monotonic_time ();
  if (rv > 0 && usec > 0)
    {
      g_autofree char *path = g_strdup_printf ("/api/v1/projects?watch=true&resourceVersion=%" G_GINT64_FORMAT, rv);
      CaraHttpClient *c = ctl_client (ctl);
      cara_http_client_set_timeout (c, (guint) MAX (usec / 1000, 1));
      cara_http_client_stream (c, "GET", path, NULL, NULL, 0, stop_at_first_data, NULL, NULL, NULL);
      cara_http_client_set_timeout (c, 0);
    }
  gint64 spent = g_get_monotonic_time () - start;
  if (spent < 50 * 1000)
    g_usleep ((gulong) (50 * 1000 - spent));
}

/* Until every project is Running, or one is Failed (then say why).  One progress line, redrawn in
 * place on a terminal, printed anew on change otherwise.  Between looks it waits on the watch
 * stream, so it returns within milliseconds of the last project turning Running. */
static int
wait_running (Ctl *ctl, GPtrArray *projects, gint64 timeout, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + timeout;
  g_autofree char *last_line = NULL;
  gboolean drew = FALSE;
  for (;;)
    {
      guint running = 0;
      gint64 newest_rv = 0;
      g_autoptr (GString) line = g_string_new (NULL);
      for (guint i = 0; i < projects->len; i++)
        {
          const char *name = projects->pdata[i];
          g_autofree char *esc = cara_http_escape (name);
          g_autofree char *path = g_strdup_printf ("/api/v1/projects/%s", esc);
          g_autoptr (JsonNode) p = ctl_get (ctl, path, error);
          if (p == NULL)
            return -1;
          JsonObject *status = ctl_obj (json_node_get_object (p), "status");
          const char *rv = ctl_str (ctl_obj (json_node_get_object (p), "metadata"), "resourceVersion");
          newest_rv = MAX (newest_rv, g_ascii_strtoll (rv, NULL, 10));
          const char *phase = *ctl_str (status, "phase") ? ctl_str (status, "phase") : "Pending";
          if (g_str_equal (phase, "Failed"))
            {
              if (drew && ctl->stdout_tty)
                printf ("\n");
              const char *why = failure_reason (status);
              if (why)
                g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("project %s failed: %s"), name, why);
              else
                g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("project %s failed"), name);
              return -1;
            }
          running += g_str_equal (phase, "Running");
          g_string_append_printf (line, "%s%s %s", i ? ", " : "", name, phase);
        }
      g_autofree char *progress = g_strdup_printf (_("Waiting for projects to be Running (%u/%u): %s"), running,
                                                   projects->len, line->str);
      if (!ctl->quiet && g_strcmp0 (progress, last_line) != 0)
        {
          if (ctl->stdout_tty)
            printf ("\r\033[K%s", progress);
          else
            printf ("%s\n", progress);
          fflush (stdout);
          drew = TRUE;
          g_free (last_line);
          last_line = g_steal_pointer (&progress);
        }
      if (running == projects->len)
        {
          if (drew && ctl->stdout_tty)
            printf ("\n");
          return 0;
        }
      if (g_get_monotonic_time () >= deadline)
        {
          if (drew && ctl->stdout_tty)
            printf ("\n");
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("timed out waiting for projects to be Running"));
          return -1;
        }
      wait_for_change (ctl, newest_rv, MIN (deadline - g_get_monotonic_time (), 5 * G_USEC_PER_SEC));
    }
}

int
ctl_verb_apply (Ctl *ctl, CtlArgs *args, GError **error)
{
  g_autoptr (GPtrArray) files = ctl_opt_strings (args, "filename");
  if (files == NULL)
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("apply needs -f FILE, a directory or - for stdin"));
      return -1;
    }
  gint64 timeout = 0;
  if (!ctl_wait_timeout (args, &timeout, error))
    return -1;

  /* Read and check everything before sending anything. */
  g_autoptr (GPtrArray) docs = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_manifest_doc_free);
  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr (GPtrArray) d = cara_manifest_read_path (files->pdata[i], error);
      if (d == NULL)
        return -1;
      for (guint k = 0; k < d->len; k++)
        g_ptr_array_add (docs, g_steal_pointer (&d->pdata[k]));
      g_ptr_array_set_free_func (d, NULL);
    }
  if (docs->len == 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, _("no resources found in the given manifests"));
      return -1;
    }
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  GError *last = NULL;
  guint invalid = 0;
  for (guint i = 0; i < docs->len; i++)
    {
      GError *e = NULL;
      Item *it = check_doc (docs->pdata[i], &e);
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
          return -1;
        }
      if (docs->len > 1)
        g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, _("%s (nothing was applied)"), last->message);
      else
        g_set_error_literal (error, CARA_ERROR, CARA_ERROR_INVALID, last->message);
      g_error_free (last);
      return -1;
    }

  g_autoptr (GPtrArray) projects = g_ptr_array_new ();
  for (guint i = 0; i < items->len; i++)
    {
      Item *it = items->pdata[i];
      g_autoptr (JsonNode) obj = NULL;
      const char *what = apply_one (ctl, it, &obj, error);
      if (what == NULL)
        {
          if (!g_error_matches (*error, CARA_ERROR, CARA_ERROR_UNREACHABLE))
            g_prefix_error (error, "%s/%s: ", ctl_kind_singular (it->kind), it->name);
          return -1;
        }
      print_result (ctl, it, what, obj, i);
      if (g_str_equal (it->kind, "projects") && !g_ptr_array_find_with_equal_func (projects, it->name, g_str_equal, NULL))
        g_ptr_array_add (projects, (gpointer) it->name);
    }
  if (ctl_opt_bool (args, "wait") && projects->len > 0)
    return wait_running (ctl, projects, timeout, error);
  return 0;
}
