/* SPDX-License-Identifier: Apache-2.0 */
/* Where caractrl talks to and with which token: option > environment > config file > default,
 * and for root on the server's own machine the server's generated admin token. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cara-config.h"
#include "cara-error.h"
#include "cara-quantity.h"
#include "ctl.h"

static gboolean
server_is_local (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL)
    return FALSE;
  const char *host = g_uri_get_host (uri);
  return host == NULL || g_str_equal (host, "localhost") || g_str_has_prefix (host, "127.")
         || g_str_equal (host, "::1") || g_str_equal (host, "[::1]") || g_str_equal (g_uri_get_scheme (uri), "unix");
}

static char *
read_admin_token (void)
{
  const char *path_env = g_getenv ("CARA_ADMIN_TOKEN_FILE");
  g_autofree char *path = path_env && *path_env ? g_strdup (path_env)
                                                : g_build_filename (CARA_STATE_DIR, "admin.token", NULL);
  g_autofree char *contents = NULL;
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  g_strstrip (contents);
  return *contents ? g_steal_pointer (&contents) : NULL;
}

gboolean
ctl_setup (Ctl *ctl, CtlArgs *args, GError **error)
{
  g_autofree char *conf_path = g_build_filename (g_get_user_config_dir (), "caravanserai", "caractrl.conf", NULL);
  g_autoptr (GKeyFile) kf = cara_config_load (conf_path, error);
  if (kf == NULL)
    return FALSE;

  /* A verb with its own --server (create secret registry: the registry) takes the cluster's from
   * $CARA_SERVER or the configuration. */
  gboolean own_server = FALSE;
  for (const CtlOption *o = args->verb ? args->verb->options : NULL; o && o->long_name; o++)
    own_server = own_server || g_str_equal (o->long_name, "server");
  ctl->server = cara_config_string (kf, "caractrl", "server", "CARA_SERVER",
                                    own_server ? NULL : ctl_opt_string (args, "server"), "http://localhost:8080");
  ctl->token = cara_config_string (kf, "caractrl", "token", "CARA_TOKEN", ctl_opt_string (args, "token"), NULL);
  ctl->ca_file = cara_config_string (kf, "caractrl", "ca", "CARA_CA", ctl_opt_string (args, "ca"), NULL);
  if (ctl->token == NULL && geteuid () == 0 && server_is_local (ctl->server))
    ctl->token = read_admin_token ();

  const char *out = ctl_opt_string (args, "output");
  if (out && !ctl_output_parse (out, &ctl->output))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("invalid output format '%s'"), out);
      return FALSE;
    }
  ctl->no_legend = ctl_opt_bool (args, "no-legend");
  ctl->no_pager = ctl_opt_bool (args, "no-pager");
  ctl->quiet = ctl_opt_bool (args, "quiet");
  ctl->stdout_tty = isatty (STDOUT_FILENO);

  /* Colour only on a terminal, as systemd decides it; SYSTEMD_COLORS forces it either way. */
  const char *no_color = g_getenv ("NO_COLOR");
  const char *term = g_getenv ("TERM");
  const char *force = g_getenv ("SYSTEMD_COLORS");
  ctl->color = ctl->stdout_tty && g_strcmp0 (term, "dumb") != 0;
  if (force && *force)
    {
      gboolean on = FALSE;
      if (cara_config_boolean (NULL, NULL, NULL, "SYSTEMD_COLORS", NULL, FALSE, &on, NULL))
        ctl->color = on;
      else
        ctl->color = TRUE; /* "16", "256", "24bit" */
    }
  if ((no_color && *no_color) || ctl_opt_bool (args, "no-color"))
    ctl->color = FALSE;
  return TRUE;
}

CaraHttpClient *
ctl_client (Ctl *ctl)
{
  if (ctl->client == NULL)
    {
      ctl->client = cara_http_client_new (ctl->server);
      cara_http_client_set_token (ctl->client, ctl->token);
      if (ctl->ca_file)
        cara_http_client_set_ca_file (ctl->client, ctl->ca_file);
      cara_http_client_set_user_agent (ctl->client, "caractrl/" PACKAGE_VERSION);
    }
  return ctl->client;
}

/* Transport errors name the server in words a user understands; the exit code stays 7. */
void
ctl_explain_error (Ctl *ctl, GError **error)
{
  if (error == NULL || *error == NULL || !g_error_matches (*error, CARA_ERROR, CARA_ERROR_UNREACHABLE))
    return;
  const char *why = strstr ((*error)->message, ": ");
  g_autofree char *msg = g_strdup_printf (_("cannot connect to the server at %s: %s"), ctl->server,
                                          why ? why + 2 : (*error)->message);
  g_free ((*error)->message);
  (*error)->message = g_steal_pointer (&msg);
}

/* The server's 404 for a named object reads "Not Found: project not found: web: resource not
 * found" (the reference API's wording, kept on the wire); say it once: project "web" not found.
 * Other 404s (a container of a project, an unknown route) keep their words. */
static void
explain_not_found (const char *path, GError **error)
{
  if (error == NULL || *error == NULL || !g_error_matches (*error, CARA_ERROR, CARA_ERROR_NOT_FOUND)
      || strstr ((*error)->message, "resource not found") == NULL || !g_str_has_prefix (path, "/api/v1/"))
    return;
  g_auto (GStrv) parts = g_strsplit (path + strlen ("/api/v1/"), "/", 3);
  if (parts[0] == NULL || parts[1] == NULL)
    return;
  g_autofree char *name = g_uri_unescape_segment (parts[1], strchr (parts[1], '?'), NULL);
  const char *kind = ctl_kind_canonical (parts[0]);
  if (kind == NULL || name == NULL || *name == '\0')
    return;
  g_autofree char *msg = g_str_equal (kind, "nodes")     ? g_strdup_printf (_("node \"%s\" not found"), name)
                        : g_str_equal (kind, "secrets") ? g_strdup_printf (_("secret \"%s\" not found"), name)
                                                        : g_strdup_printf (_("project \"%s\" not found"), name);
  g_free ((*error)->message);
  (*error)->message = g_steal_pointer (&msg);
}

gboolean
ctl_request (Ctl *ctl, const char *method, const char *path, JsonNode *body, guint *ret_status,
             JsonNode **ret_json, GError **error)
{
  if (!cara_http_client_json (ctl_client (ctl), method, path, body, ret_status, ret_json, error))
    {
      ctl_explain_error (ctl, error);
      explain_not_found (path, error);
      return FALSE;
    }
  return TRUE;
}

JsonNode *
ctl_get (Ctl *ctl, const char *path, GError **error)
{
  JsonNode *json = NULL;
  if (!ctl_request (ctl, "GET", path, NULL, NULL, &json, error))
    return NULL;
  if (json == NULL)
    json = json_node_new (JSON_NODE_NULL);
  return json;
}

const char *
ctl_kind_canonical (const char *word)
{
  static const char *const nodes[] = { "nodes", "node", "no", "Node", NULL };
  static const char *const projects[] = { "projects", "project", "proj", "Project", NULL };
  static const char *const secrets[] = { "secrets", "secret", "Secret", NULL };
  if (g_strv_contains (nodes, word))
    return "nodes";
  if (g_strv_contains (projects, word))
    return "projects";
  if (g_strv_contains (secrets, word))
    return "secrets";
  return NULL;
}

const char *
ctl_kind_singular (const char *plural)
{
  return g_str_equal (plural, "nodes") ? "node" : g_str_equal (plural, "secrets") ? "secret" : "project";
}

gboolean
ctl_resolve_kind_names (GPtrArray *positional, const char *default_kind, char **ret_kind, GPtrArray **ret_names,
                        GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *kind = NULL;
  guint first = 0;

  if (positional->len == 0)
    {
      if (default_kind == NULL)
        {
          g_set_error (error, CTL_USAGE_ERROR, 0, _("you must name a resource type: nodes or projects"));
          return FALSE;
        }
      *ret_kind = g_strdup (default_kind);
      *ret_names = g_steal_pointer (&names);
      return TRUE;
    }

  const char *w0 = positional->pdata[0];
  if (strchr (w0, '/') == NULL)
    {
      kind = ctl_kind_canonical (w0);
      if (kind == NULL)
        {
          g_set_error (error, CTL_USAGE_ERROR, 0, _("unknown resource type '%s' (use nodes or projects)"), w0);
          return FALSE;
        }
      first = 1;
    }
  for (guint i = first; i < positional->len; i++)
    {
      const char *w = positional->pdata[i];
      const char *slash = strchr (w, '/');
      if (slash == NULL)
        {
          if (first == 0)
            {
              g_set_error (error, CTL_USAGE_ERROR, 0, _("'%s': give names either as TYPE/NAME or after a type"), w);
              return FALSE;
            }
          g_ptr_array_add (names, g_strdup (w));
          continue;
        }
      g_autofree char *kw = g_strndup (w, slash - w);
      const char *k = ctl_kind_canonical (kw);
      if (k == NULL)
        {
          g_set_error (error, CTL_USAGE_ERROR, 0, _("unknown resource type '%s' (use nodes or projects)"), kw);
          return FALSE;
        }
      if (kind && !g_str_equal (kind, k))
        {
          g_set_error (error, CTL_USAGE_ERROR, 0, _("'%s': all names must be of one resource type"), w);
          return FALSE;
        }
      if (slash[1] == '\0')
        {
          g_set_error (error, CTL_USAGE_ERROR, 0, _("'%s': missing name after '/'"), w);
          return FALSE;
        }
      kind = k;
      g_ptr_array_add (names, g_strdup (slash + 1));
    }
  *ret_kind = g_strdup (kind);
  *ret_names = g_steal_pointer (&names);
  return TRUE;
}

gboolean
ctl_wait_timeout (CtlArgs *args, gint64 *ret_usec, GError **error)
{
  const char *t = ctl_opt_string (args, "timeout");
  gint64 usec = 5 * 60 * G_USEC_PER_SEC;
  if (t && !cara_duration_parse (t, &usec, error))
    {
      g_prefix_error (error, "--timeout: ");
      (*error)->domain = CTL_USAGE_ERROR;
      return FALSE;
    }
  *ret_usec = usec;
  return TRUE;
}

/* On a terminal (and not -q) a progress line shows what is being waited for and the object's
 * phase; it is erased once the object is gone, so only the verb's own lines remain. */
static void
wait_progress (Ctl *ctl, const char *kind, const char *name, JsonNode *o, char **last)
{
  if (!ctl->stdout_tty || ctl->quiet)
    return;
  JsonObject *status = JSON_NODE_HOLDS_OBJECT (o) ? ctl_obj (json_node_get_object (o), "status") : NULL;
  const char *phase = *ctl_str (status, "phase") ? ctl_str (status, "phase") : ctl_str (status, "state");
  g_autofree char *line = *phase ? g_strdup_printf (_("waiting for %s/%s to be deleted (%s)..."),
                                                    ctl_kind_singular (kind), name, phase)
                                 : g_strdup_printf (_("waiting for %s/%s to be deleted..."),
                                                    ctl_kind_singular (kind), name);
  if (g_strcmp0 (line, *last) == 0)
    return;
  printf ("\r\033[K%s", line);
  fflush (stdout);
  g_free (*last);
  *last = g_steal_pointer (&line);
}

static void
wait_progress_end (Ctl *ctl, const char *last, gboolean keep)
{
  if (last == NULL)
    return;
  fputs (keep ? "\n" : "\r\033[K", stdout);
  fflush (stdout);
}

gboolean
ctl_wait_gone (Ctl *ctl, const char *kind, const char *name, gint64 deadline, GError **error)
{
  g_autofree char *esc = cara_http_escape (name);
  g_autofree char *path = g_strdup_printf ("/api/v1/%s/%s", kind, esc);
  g_autofree char *last = NULL;
  for (;;)
    {
      g_autoptr (GError) local = NULL;
      g_autoptr (JsonNode) o = ctl_get (ctl, path, &local);
      if (o == NULL && g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        {
          wait_progress_end (ctl, last, FALSE);
          return TRUE;
        }
      if (o == NULL)
        {
          wait_progress_end (ctl, last, TRUE);
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      wait_progress (ctl, kind, name, o, &last);
      if (g_get_monotonic_time () >= deadline)
        {
          wait_progress_end (ctl, last, TRUE);
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("timed out waiting for %s \"%s\" to be deleted"),
                       ctl_kind_singular (kind), name);
          return FALSE;
        }
      g_usleep (200 * 1000);
    }
}

gboolean
ctl_fetch_named (Ctl *ctl, const char *kind, GPtrArray *names, GPtrArray **ret_found, GPtrArray **ret_extra,
                 int *ret_rc, GError **error)
{
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_autoptr (GPtrArray) extra = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  int rc = 0;
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *esc = cara_http_escape (names->pdata[i]);
      g_autofree char *path = g_strdup_printf ("/api/v1/%s/%s", kind, esc);
      g_autoptr (GError) local = NULL;
      g_autoptr (JsonNode) o = ctl_get (ctl, path, &local);
      if (o == NULL || !JSON_NODE_HOLDS_OBJECT (o))
        {
          if (local && (!g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND) || names->len == 1))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          g_printerr ("caractrl: %s\n", local ? local->message : _("unexpected answer from the server"));
          rc = 1;
          continue;
        }
      JsonNode *more = NULL;
      if (g_str_equal (kind, "nodes"))
        {
          g_autofree char *ppath = g_strdup_printf ("/api/v1/projects?nodeRef=%s", esc);
          more = ctl_get (ctl, ppath, NULL);
        }
      g_ptr_array_add (found, g_steal_pointer (&o));
      g_ptr_array_add (extra, more ? more : json_node_new (JSON_NODE_NULL));
    }
  *ret_found = g_steal_pointer (&found);
  *ret_extra = g_steal_pointer (&extra);
  *ret_rc = rc;
  return TRUE;
}

char *
ctl_one_name (CtlArgs *args, const char *kind, const char *usage, GError **error)
{
  g_autofree char *found = NULL;
  g_autoptr (GPtrArray) names = NULL;
  GPtrArray *pos = args->positional;
  if (pos->len == 1 && strchr (pos->pdata[0], '/') == NULL && ctl_kind_canonical (pos->pdata[0]) == NULL)
    return g_strdup (pos->pdata[0]);
  if (!ctl_resolve_kind_names (pos, NULL, &found, &names, error))
    return NULL;
  if (!g_str_equal (found, kind) || names->len != 1)
    {
      g_set_error_literal (error, CTL_USAGE_ERROR, 0, usage);
      return NULL;
    }
  return g_strdup (names->pdata[0]);
}
