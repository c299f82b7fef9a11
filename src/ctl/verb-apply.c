/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl apply -f FILE|DIR|- [--wait] [--force]: every document of every file is read and checked
 * first (nothing is sent when one is invalid), then each is created, or updated with the stored
 * resourceVersion so a concurrent edit gets 409 instead of being overwritten.  What was applied is
 * recorded in the annotation caravanserai/last-applied: a live spec that differs from it was changed
 * by someone else since, and apply refuses to overwrite that unless --force.  An unchanged Failed
 * project is sent again, which makes the server retry it. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cara-error.h"
#include "cara-json.h"
#include "cara-manifest.h"
#include "cara-validate.h"
#include "ctl-manifests.h"
#include "ctl.h"

/* @doc with its resourceVersion set (when it has none) and CTL_LAST_APPLIED recorded. */
static JsonNode *
body_to_send (Ctl *ctl, CtlItem *it, const char *rv, GError **error)
{
  g_autofree char *applied = ctl_last_applied_text (it->kind, it->doc->node, error);
  g_autoptr (JsonNode) body = NULL;
  JsonObject *m, *ann;

  if (applied == NULL)
    return NULL;
  body = json_node_copy (it->doc->node);
  m = ctl_obj (json_node_get_object (body), "metadata");
  if (m == NULL)
    {
      json_object_set_object_member (json_node_get_object (body), "metadata", json_object_new ());
      m = ctl_obj (json_node_get_object (body), "metadata");
    }
  if (rv && *rv && !*ctl_str (m, "resourceVersion"))
    json_object_set_string_member (m, "resourceVersion", rv);
  ann = ctl_obj (m, "annotations");
  if (ann == NULL)
    {
      json_object_set_object_member (m, "annotations", json_object_new ());
      ann = ctl_obj (m, "annotations");
    }
  json_object_set_string_member (ann, CTL_LAST_APPLIED, applied);
  /* The revision's change cause (SPEC §13), unless the manifest gives its own. */
  if (ctl->command_line && g_str_equal (it->kind, "projects") && !json_object_has_member (ann, CARA_CHANGE_CAUSE_ANNOTATION))
    json_object_set_string_member (ann, CARA_CHANGE_CAUSE_ANNOTATION, ctl->command_line);
  return g_steal_pointer (&body);
}

/* Someone else changed the live spec since the last apply: the fields they changed. */
static gboolean
check_not_changed_by_others (CtlItem *it, JsonNode *live_normal, JsonNode *live, GError **error)
{
  g_autoptr (JsonNode) last = ctl_last_applied (live);
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) msg = NULL;
  JsonObject *lo, *co;

  if (last == NULL || !JSON_NODE_HOLDS_OBJECT (last))
    return TRUE; /* created or last written without caractrl apply: nothing to compare with */
  lo = json_node_get_object (last);
  co = json_node_get_object (live_normal);
  ctl_json_changes (json_object_get_member (lo, "spec"), json_object_get_member (co, "spec"), "spec", changes);
  if (changes->len == 0)
    return TRUE;
  msg = g_string_new (NULL);
  g_string_printf (msg, _("%s/%s: the live spec was changed since it was last applied (by someone else, or not "
                          "with caractrl apply); not overwriting it. Changed since the last apply:"),
                   ctl_kind_singular (it->kind), it->name);
  for (guint i = 0; i < changes->len; i++)
    g_string_append_printf (msg, "\n  %s", (char *) changes->pdata[i]);
  g_string_append_printf (msg, "\n%s", _("Merge those changes into your manifest, or run apply --force to overwrite them."));
  g_set_error_literal (error, CARA_ERROR, CARA_ERROR_CONFLICT, msg->str);
  return FALSE;
}

/* Returns "created", "configured", "retried" or "unchanged" (untranslated keys), and the stored
 * object. */
static const char *
apply_one (Ctl *ctl, CtlItem *it, gboolean force, JsonNode **ret_obj, GError **error)
{
  if (g_str_equal (it->kind, "secrets"))
    return ctl_secret_apply (ctl, it->doc->node, it->name, ret_obj, error);
  g_autofree char *list_path = g_strdup_printf ("/api/v1/%s", it->kind);
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonNode) created_body = body_to_send (ctl, it, NULL, error);
  JsonNode *obj = NULL;
  const char *what = "configured";

  if (created_body == NULL)
    return NULL;
  if (ctl_request (ctl, "POST", list_path, created_body, NULL, &obj, &local))
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
  g_autoptr (JsonNode) cur_normal = ctl_comparable (it->kind, current, NULL);
  JsonObject *cur = json_node_get_object (current);
  const char *phase = ctl_str (ctl_obj (cur, "status"), "phase");
  if (cur_normal && json_node_equal (cur_normal, it->normal))
    {
      /* Sent again, a Failed project is reset and tried anew (the server treats any update of a
       * Failed project so): what failed may have been fixed outside its spec (an image built). */
      if (g_str_equal (it->kind, "projects") && g_str_equal (phase, "Failed"))
        what = "retried";
      else
        {
          /* Unchanged; the record of what was applied is brought up to date when it is not (the
           * manifest took in someone else's change, or the object was made without apply). */
          g_autoptr (JsonNode) last = ctl_last_applied (current);
          if (last != NULL && json_node_equal (last, it->normal))
            {
              *ret_obj = g_steal_pointer (&current);
              return "unchanged";
            }
          what = "unchanged";
        }
    }
  else if (!force && cur_normal && !check_not_changed_by_others (it, cur_normal, current, error))
    return NULL;
  g_autoptr (JsonNode) body = body_to_send (ctl, it, ctl_str (ctl_obj (cur, "metadata"), "resourceVersion"), error);
  if (body == NULL || !ctl_request (ctl, "PUT", path, body, NULL, &obj, error))
    return NULL;
  *ret_obj = obj;
  return what;
}

static void
print_result (Ctl *ctl, CtlItem *it, const char *what, JsonNode *obj, guint index)
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
  else if (g_str_equal (what, "retried"))
    printf (_("%s/%s retried\n"), singular, it->name);
  else
    printf (_("%s/%s unchanged\n"), singular, it->name);
  fflush (stdout);
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
  g_autoptr (GPtrArray) docs = NULL;
  g_autoptr (GPtrArray) items = NULL;
  if (!ctl_manifests_read_with_compose (files, args, &docs, &items, error))
    return -1;

  g_autoptr (GPtrArray) projects = g_ptr_array_new ();
  gboolean wait = ctl_opt_bool (args, "wait");
  g_autoptr (CtlWait) waiter = ctl_wait_new ();
  for (guint i = 0; i < items->len; i++)
    {
      CtlItem *it = items->pdata[i];
      g_autoptr (JsonNode) obj = NULL;
      if (wait && g_str_equal (it->kind, "projects"))
        ctl_wait_before (waiter, ctl, it->name);
      const char *what = apply_one (ctl, it, ctl_opt_bool (args, "force"), &obj, error);
      if (what == NULL)
        {
          if (!g_error_matches (*error, CARA_ERROR, CARA_ERROR_UNREACHABLE))
            g_prefix_error (error, "%s/%s: ", ctl_kind_singular (it->kind), it->name);
          return -1;
        }
      print_result (ctl, it, what, obj, i);
      if (wait && g_str_equal (it->kind, "projects"))
        ctl_wait_after (waiter, it->name, obj);
      if (g_str_equal (it->kind, "projects") && !g_ptr_array_find_with_equal_func (projects, it->name, g_str_equal, NULL))
        g_ptr_array_add (projects, (gpointer) it->name);
    }
  if (wait && projects->len > 0)
    return ctl_wait_ready (waiter, ctl, timeout, error);
  return 0;
}
