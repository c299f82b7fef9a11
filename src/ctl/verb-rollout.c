/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl rollout status|history|undo|restart project NAME (SPEC §13):
 *   status   waits until the project's current generation is rolled out (exit 0), or its update
 *            failed or was paused (exit 1);
 *   history  the revisions the server keeps, with their change causes;
 *   undo     POST /rollback, to the previous revision or --to-revision N;
 *   restart  marks the project (annotation caravanserai/restarted-at) so that every service is
 *            rolled without a spec change. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cara-error.h"
#include "cara-json.h"
#include "cara-model.h"
#include "ctl.h"

#define POLL_USEC (100 * 1000)

/* "project NAME", "project/NAME" or "NAME" after the subcommand. */
static char *
project_name (CtlArgs *args, GError **error)
{
  GPtrArray *pos = args->positional;
  g_autoptr (GPtrArray) rest = g_ptr_array_new ();
  for (guint i = 1; i < pos->len; i++)
    g_ptr_array_add (rest, pos->pdata[i]);
  if (rest->len == 1 && strchr (rest->pdata[0], '/') == NULL && ctl_kind_canonical (rest->pdata[0]) == NULL)
    return g_strdup (rest->pdata[0]);
  g_autofree char *kind = NULL;
  g_autoptr (GPtrArray) names = NULL;
  if (rest->len == 0 || !ctl_resolve_kind_names (rest, "projects", &kind, &names, error)
      || !g_str_equal (kind, "projects") || names->len != 1)
    {
      g_clear_error (error);
      g_set_error (error, CTL_USAGE_ERROR, 0, _("expected: rollout %s project NAME"), (char *) pos->pdata[0]);
      return NULL;
    }
  return g_strdup (names->pdata[0]);
}

static char *
project_path (const char *name, const char *suffix)
{
  g_autofree char *esc = cara_http_escape (name);
  return g_strdup_printf ("/api/v1/projects/%s%s", esc, suffix);
}

static JsonObject *
find_condition (JsonObject *project, const char *type)
{
  JsonArray *conds = ctl_arr (ctl_obj (project, "status"), "conditions");
  for (guint i = 0; conds && i < json_array_get_length (conds); i++)
    {
      JsonNode *c = json_array_get_element (conds, i);
      if (JSON_NODE_HOLDS_OBJECT (c) && g_str_equal (ctl_str (json_node_get_object (c), "type"), type))
        return json_node_get_object (c);
    }
  return NULL;
}

/* The generation an UpdateFailed/UpdatePaused condition is about ("Update to generation N ..."),
 * 0 when it is not True. */
static gint64
condition_generation (JsonObject *c)
{
  if (c == NULL || !g_str_equal (ctl_str (c, "status"), "True"))
    return 0;
  const char *m = strstr (ctl_str (c, "message"), "generation ");
  return m ? g_ascii_strtoll (m + strlen ("generation "), NULL, 10) : 0;
}

static int
rollout_status (Ctl *ctl, CtlArgs *args, const char *name, GError **error)
{
  gint64 timeout;
  if (!ctl_wait_timeout (args, &timeout, error))
    return -1;
  gint64 deadline = g_get_monotonic_time () + timeout;
  g_autofree char *path = project_path (name, "");
  gint64 since = 0; /* the generation we wait for, or a later one */
  for (;;)
    {
      g_autoptr (JsonNode) node = ctl_get (ctl, path, error);
      if (node == NULL)
        return -1;
      JsonObject *p = json_node_get_object (node);
      gint64 gen = ctl_int (ctl_obj (p, "metadata"), "generation");
      gint64 observed = ctl_int (ctl_obj (p, "status"), "observedGeneration");
      const char *phase = ctl_str (ctl_obj (p, "status"), "phase");
      JsonObject *failed = find_condition (p, "UpdateFailed");
      JsonObject *paused = find_condition (p, "UpdatePaused");
      if (since == 0)
        {
          /* The server already rolled the failed update back (the newest generation is that
           * rollback): that update is the one asked about. */
          const char *cause = ctl_str (ctl_obj (ctl_obj (p, "metadata"), "annotations"), CARA_CHANGE_CAUSE_ANNOTATION);
          gboolean rolled_back = g_str_has_prefix (cause, "automatic rollback") && condition_generation (failed) == gen - 1;
          since = rolled_back ? gen - 1 : gen;
        }
      if (condition_generation (failed) >= since)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("project/%s: update failed: %s"), name,
                       ctl_str (failed, "message"));
          return -1;
        }
      if (condition_generation (paused) >= since)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("project/%s: update paused: %s"), name,
                       ctl_str (paused, "message"));
          return -1;
        }
      if (g_str_equal (phase, "Failed"))
        {
          JsonObject *pc = find_condition (p, "Phase");
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("project/%s failed: %s"), name,
                       pc ? ctl_str (pc, "message") : phase);
          return -1;
        }
      JsonObject *ready = ctl_project_ready_condition (p);
      if (gen > 0 && observed >= gen && g_str_equal (phase, "Running") && ready
          && g_str_equal (ctl_str (ready, "status"), "True"))
        {
          if (!ctl->quiet)
            printf (_("project/%s successfully rolled out (generation %lld)\n"), name, (long long) gen);
          return 0;
        }
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED,
                       _("project/%s: not rolled out in time (generation %lld, observed %lld, phase %s)"), name,
                       (long long) gen, (long long) observed, *phase ? phase : "-");
          return -1;
        }
      g_usleep (POLL_USEC);
    }
}

static int
rollout_history (Ctl *ctl, const char *name, GError **error)
{
  g_autofree char *path = project_path (name, "/revisions");
  g_autoptr (JsonNode) node = ctl_get (ctl, path, error);
  if (node == NULL)
    return -1;
  if (ctl->output == CTL_OUTPUT_JSON || ctl->output == CTL_OUTPUT_YAML)
    return ctl_print_json_or_yaml (ctl, node, error) ? 0 : -1;
  JsonArray *items = ctl_arr (json_node_get_object (node), "items");
  g_autoptr (CtlTable) t = ctl_table_new ("REVISION", "CREATED", "CHANGE-CAUSE", NULL);
  /* Oldest first, as kubectl prints it. */
  for (guint i = items ? json_array_get_length (items) : 0; i > 0; i--)
    {
      JsonObject *r = json_array_get_object_element (items, i - 1);
      g_autofree char *rev = g_strdup_printf ("%" G_GINT64_FORMAT, ctl_int (r, "revision"));
      g_autofree char *age = ctl_format_age (ctl_str (r, "createdAt"));
      const char *cause = ctl_str (r, "changeCause");
      if (ctl->output == CTL_OUTPUT_NAME)
        printf ("project/%s@%s\n", name, rev);
      else
        ctl_table_add_row (t, rev, age, *cause ? cause : "<none>", NULL);
    }
  if (ctl->output != CTL_OUTPUT_NAME)
    ctl_table_print (t, !ctl->no_legend);
  return 0;
}

static int
rollout_undo (Ctl *ctl, CtlArgs *args, const char *name, GError **error)
{
  const char *to = ctl_opt_string (args, "to-revision");
  gint64 rev = 0;
  if (to && !g_ascii_string_to_signed (to, 10, 1, G_MAXINT64, &rev, NULL))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("--to-revision: \"%s\" is not a revision number"), to);
      return -1;
    }
  g_autofree char *query = rev ? g_strdup_printf ("/rollback?revision=%" G_GINT64_FORMAT, rev) : g_strdup ("/rollback");
  g_autofree char *path = project_path (name, query);
  g_autoptr (JsonNode) node = NULL;
  if (!ctl_request (ctl, "POST", path, NULL, NULL, &node, error))
    return -1;
  gint64 gen = ctl_int (ctl_obj (json_node_get_object (node), "metadata"), "generation");
  if (!ctl->quiet && rev)
    printf (_("project/%s rolled back to revision %lld (generation %lld)\n"), name, (long long) rev,
            (long long) gen);
  else if (!ctl->quiet)
    printf (_("project/%s rolled back (generation %lld)\n"), name, (long long) gen);
  return 0;
}

static int
rollout_restart (Ctl *ctl, const char *name, GError **error)
{
  g_autofree char *path = project_path (name, "");
  g_autoptr (JsonNode) node = ctl_get (ctl, path, error);
  if (node == NULL)
    return -1;
  JsonObject *p = json_node_get_object (node);
  JsonObject *m = ctl_obj (p, "metadata");
  if (m == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("project/%s: the server sent no metadata"), name);
      return -1;
    }
  if (ctl_obj (m, "annotations") == NULL)
    json_object_set_object_member (m, "annotations", json_object_new ());
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format_iso8601 (now);
  json_object_set_string_member (ctl_obj (m, "annotations"), CARA_RESTARTED_AT_ANNOTATION, stamp);
  json_object_set_string_member (ctl_obj (m, "annotations"), CARA_CHANGE_CAUSE_ANNOTATION, ctl->command_line);
  json_object_remove_member (p, "status");
  /* The resourceVersion read above goes back: a concurrent change gets 409, not overwritten. */
  if (!ctl_request (ctl, "PUT", path, node, NULL, NULL, error))
    return -1;
  if (!ctl->quiet)
    printf (_("project/%s restarted\n"), name);
  return 0;
}

int
ctl_verb_rollout (Ctl *ctl, CtlArgs *args, GError **error)
{
  const char *sub = args->positional->pdata[0];
  if (!g_str_equal (sub, "status") && !g_str_equal (sub, "history") && !g_str_equal (sub, "undo")
      && !g_str_equal (sub, "restart"))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("unknown rollout command \"%s\" (expected status, history, undo or restart)"),
                   sub);
      return -1;
    }
  if (ctl_opt_string (args, "to-revision") && !g_str_equal (sub, "undo"))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("--to-revision is an option of rollout undo"));
      return -1;
    }
  g_autofree char *name = project_name (args, error);
  if (name == NULL)
    return -1;
  if (g_str_equal (sub, "status"))
    return rollout_status (ctl, args, name, error);
  if (g_str_equal (sub, "history"))
    return rollout_history (ctl, name, error);
  if (g_str_equal (sub, "undo"))
    return rollout_undo (ctl, args, name, error);
  return rollout_restart (ctl, name, error);
}
