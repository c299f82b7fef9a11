/* SPDX-License-Identifier: Apache-2.0 */
/* apply --wait: until every applied project is Running with every changed service on a new
 * container and its ServicesReady condition True (SPEC §2).  Fails at once on Failed and on
 * CrashLoop, and says why; otherwise waits up to --timeout.  Between looks it waits on the watch
 * stream, so it returns within milliseconds of the agent's report. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cara-error.h"
#include "ctl.h"

typedef struct {
  char *name;
  GHashTable *old_ids;  /* service -> containerId before the apply */
  GHashTable *changed;  /* services whose spec the apply changed (or added): set */
  JsonNode *before;     /* the project before the apply, NULL when it did not exist */
} Target;

struct _CtlWait {
  GPtrArray *targets; /* Target* */
};

static void
target_free (Target *t)
{
  g_free (t->name);
  g_hash_table_unref (t->old_ids);
  g_hash_table_unref (t->changed);
  if (t->before)
    json_node_unref (t->before);
  g_free (t);
}

CtlWait *
ctl_wait_new (void)
{
  CtlWait *w = g_new0 (CtlWait, 1);
  w->targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  return w;
}

void
ctl_wait_free (CtlWait *w)
{
  if (w == NULL)
    return;
  g_ptr_array_unref (w->targets);
  g_free (w);
}

static Target *
find_target (CtlWait *w, const char *name)
{
  for (guint i = 0; i < w->targets->len; i++)
    {
      Target *t = w->targets->pdata[i];
      if (g_str_equal (t->name, name))
        return t;
    }
  return NULL;
}

JsonObject *
ctl_project_ready_condition (JsonObject *project)
{
  JsonArray *conds = ctl_arr (ctl_obj (project, "status"), "conditions");
  for (guint i = 0; conds && i < json_array_get_length (conds); i++)
    {
      JsonNode *c = json_array_get_element (conds, i);
      if (JSON_NODE_HOLDS_OBJECT (c) && g_str_equal (ctl_str (json_node_get_object (c), "type"), "ServicesReady"))
        return json_node_get_object (c);
    }
  return NULL;
}

static JsonObject *
find_named (JsonArray *a, const char *name)
{
  for (guint i = 0; a && i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_OBJECT (e) && g_str_equal (ctl_str (json_node_get_object (e), "name"), name))
        return json_node_get_object (e);
    }
  return NULL;
}

/* A service's spec without what does not go into its container (start order). */
static JsonNode *
container_part (JsonObject *service)
{
  JsonNode *n = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (n, json_object_new ());
  JsonObject *o = json_node_get_object (n);
  g_autoptr (GList) members = json_object_get_members (service);
  for (GList *l = members; l; l = l->next)
    if (!g_str_equal (l->data, "dependsOn"))
      json_object_set_member (o, l->data, json_node_copy (json_object_get_member (service, l->data)));
  return n;
}

void
ctl_wait_before (CtlWait *w, Ctl *ctl, const char *name)
{
  if (find_target (w, name))
    return;
  Target *t = g_new0 (Target, 1);
  t->name = g_strdup (name);
  t->old_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  t->changed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *esc = cara_http_escape (name);
  g_autofree char *path = g_strdup_printf ("/api/v1/projects/%s", esc);
  /* Not found: a new project.  Any other error shows again when we wait. */
  t->before = ctl_get (ctl, path, NULL);
  JsonArray *st = t->before && JSON_NODE_HOLDS_OBJECT (t->before)
                      ? ctl_arr (ctl_obj (json_node_get_object (t->before), "status"), "services")
                      : NULL;
  for (guint i = 0; st && i < json_array_get_length (st); i++)
    {
      JsonNode *e = json_array_get_element (st, i);
      JsonObject *s = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      if (s && *ctl_str (s, "containerId"))
        g_hash_table_replace (t->old_ids, g_strdup (ctl_str (s, "name")), g_strdup (ctl_str (s, "containerId")));
    }
  g_ptr_array_add (w->targets, t);
}

void
ctl_wait_after (CtlWait *w, const char *name, JsonNode *obj)
{
  Target *t = find_target (w, name);
  if (t == NULL || obj == NULL || !JSON_NODE_HOLDS_OBJECT (obj))
    return;
  JsonArray *old = t->before && JSON_NODE_HOLDS_OBJECT (t->before)
                       ? ctl_arr (ctl_obj (json_node_get_object (t->before), "spec"), "services")
                       : NULL;
  JsonArray *now = ctl_arr (ctl_obj (json_node_get_object (obj), "spec"), "services");
  for (guint i = 0; now && i < json_array_get_length (now); i++)
    {
      JsonNode *e = json_array_get_element (now, i);
      if (!JSON_NODE_HOLDS_OBJECT (e))
        continue;
      JsonObject *s = json_node_get_object (e);
      JsonObject *was = find_named (old, ctl_str (s, "name"));
      if (was == NULL)
        continue; /* new: it has no old container to be replaced */
      g_autoptr (JsonNode) a = container_part (s);
      g_autoptr (JsonNode) b = container_part (was);
      if (!json_node_equal (a, b))
        g_hash_table_add (t->changed, g_strdup (ctl_str (s, "name")));
    }
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

typedef enum {
  LOOK_WAIT,
  LOOK_READY,
  LOOK_FAILED,
} Look;

/* Where one project stands; @ret_why: what it waits for or why it failed (borrowed from @p). */
static Look
look (Target *t, JsonObject *p, const char **ret_why)
{
  JsonObject *status = ctl_obj (p, "status");
  const char *phase = *ctl_str (status, "phase") ? ctl_str (status, "phase") : "Pending";
  *ret_why = phase;
  if (g_str_equal (phase, "Failed"))
    {
      *ret_why = failure_reason (status);
      return LOOK_FAILED;
    }
  if (!g_str_equal (phase, "Running"))
    return LOOK_WAIT;
  JsonObject *ready = ctl_project_ready_condition (p);
  if (ready && g_str_equal (ctl_str (ready, "reason"), "CrashLoop"))
    {
      *ret_why = ctl_str (ready, "message");
      return LOOK_FAILED;
    }
  /* Every changed service on a new container: until then what we see is about the old spec. */
  JsonArray *st = ctl_arr (status, "services");
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init (&it, t->changed);
  while (g_hash_table_iter_next (&it, &k, NULL))
    {
      JsonObject *s = find_named (st, k);
      const char *id = s ? ctl_str (s, "containerId") : "";
      const char *old = g_hash_table_lookup (t->old_ids, k);
      if (!*id || (old && g_str_equal (id, old)))
        {
          *ret_why = "Updating";
          return LOOK_WAIT;
        }
    }
  /* An agent that does not report ServicesReady: Running is all it says. */
  if (ready == NULL || g_str_equal (ctl_str (ready, "status"), "True"))
    return LOOK_READY;
  *ret_why = *ctl_str (ready, "reason") ? ctl_str (ready, "reason") : "NotReady";
  return LOOK_WAIT;
}

int
ctl_wait_ready (CtlWait *w, Ctl *ctl, gint64 timeout, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + timeout;
  g_autofree char *last_line = NULL;
  gboolean drew = FALSE;
  guint n = w->targets->len;
  for (;;)
    {
      guint ready = 0;
      gint64 newest_rv = 0;
      g_autoptr (GString) line = g_string_new (NULL);
      g_autoptr (GString) waiting = g_string_new (NULL);
      for (guint i = 0; i < n; i++)
        {
          Target *t = w->targets->pdata[i];
          g_autofree char *esc = cara_http_escape (t->name);
          g_autofree char *path = g_strdup_printf ("/api/v1/projects/%s", esc);
          g_autoptr (GError) local = NULL;
          g_autoptr (JsonNode) node = ctl_get (ctl, path, &local);
          /* The connection of an abandoned watch may come back empty ("Empty reply from server"),
           * once per abandoned watch: a few more tries, each on a new connection, before giving up. */
          for (int attempt = 0; attempt < 3 && node == NULL && g_error_matches (local, CARA_ERROR, CARA_ERROR_UNREACHABLE);
               attempt++)
            {
              g_clear_error (&local);
              node = ctl_get (ctl, path, &local);
            }
          if (node == NULL)
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return -1;
            }
          JsonObject *p = json_node_get_object (node);
          const char *rv = ctl_str (ctl_obj (p, "metadata"), "resourceVersion");
          newest_rv = MAX (newest_rv, g_ascii_strtoll (rv, NULL, 10));
          const char *why = NULL;
          Look l = look (t, p, &why);
          if (l == LOOK_FAILED)
            {
              if (drew && ctl->stdout_tty)
                printf ("\n");
              gboolean crash = g_str_equal (ctl_str (ctl_obj (p, "status"), "phase"), "Running");
              if (crash)
                g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("project %s is crash-looping: %s"), t->name,
                             why ? why : "");
              else if (why)
                g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("project %s failed: %s"), t->name, why);
              else
                g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("project %s failed"), t->name);
              return -1;
            }
          ready += l == LOOK_READY;
          const char *phase = ctl_str (ctl_obj (p, "status"), "phase");
          if (l == LOOK_READY)
            g_string_append_printf (line, "%s%s %s", i ? ", " : "", t->name, phase);
          else if (g_str_equal (phase, "Running"))
            g_string_append_printf (line, "%s%s %s (%s)", i ? ", " : "", t->name, phase, why);
          else
            g_string_append_printf (line, "%s%s %s", i ? ", " : "", t->name, *phase ? phase : "Pending");
          if (l == LOOK_WAIT)
            {
              JsonObject *rc = ctl_project_ready_condition (p);
              const char *msg = rc && g_str_equal (phase, "Running") ? ctl_str (rc, "message") : "";
              g_string_append_printf (waiting, "%s%s: %s%s%s", waiting->len ? "; " : "", t->name, why,
                                      *msg ? ": " : "", msg);
            }
        }
      g_autofree char *progress = g_strdup_printf (_("Waiting for projects to be Running (%u/%u): %s"), ready, n,
                                                   line->str);
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
      if (ready == n)
        {
          if (drew && ctl->stdout_tty)
            printf ("\n");
          return 0;
        }
      if (g_get_monotonic_time () >= deadline)
        {
          if (drew && ctl->stdout_tty)
            printf ("\n");
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("timed out waiting for projects to be Running (%s)"),
                       waiting->str);
          return -1;
        }
      wait_for_change (ctl, newest_rv, MIN (deadline - g_get_monotonic_time (), 5 * G_USEC_PER_SEC));
    }
}
