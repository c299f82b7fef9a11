/* SPDX-License-Identifier: Apache-2.0 */
/* Test driver for src/agent/agent-bus.c: runs the real D-Bus object on a GMainLoop, with the
 * projects of a node read from a JSON file instead of Docker:
 *
 *   {"state": "ready",
 *    "projects": [{"name": "web", "phase": "Running",
 *                  "services": [{"name": "app", "state": "running", "containerId": "c0ffee"}]}]}
 *
 * Reconcile() re-reads the file and applies the difference (objects appear and vanish), as the
 * agent's resync does against Docker.  Prints "READY" once the name is owned, and one line per
 * Reconcile/Restart, so a test can follow what happened. */

#include "config.h"

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "agent-bus.h"
#include "cara-error.h"
#include "cara-model.h"

typedef struct {
  char *path;
  AgentBus *bus;
  JsonNode *root;      /* last file contents */
  GHashTable *current; /* project names the bus has been told about */
  guint reconciles;
} Harness;

/* The array member @name of @obj, or NULL (json-glib 1.6 has no _with_default for arrays). */
static JsonArray *
get_array (JsonObject *obj, const char *name, gpointer unused)
{
  JsonNode *n = json_object_get_member (obj, name);
  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static JsonObject *
find_project (Harness *h, const char *name)
{
  JsonArray *projects;

  if (h->root == NULL || !JSON_NODE_HOLDS_OBJECT (h->root))
    return NULL;
  projects = get_array (json_node_get_object (h->root),
                                                         "projects", NULL);
  for (guint i = 0; projects != NULL && i < json_array_get_length (projects); i++)
    {
      JsonObject *p = json_array_get_object_element (projects, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (p, "name", ""), name) == 0)
        return p;
    }
  return NULL;
}

static gboolean
load (Harness *h, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonObject *root;
  JsonArray *projects;
  GHashTableIter iter;
  gpointer key;

  if (!json_parser_load_from_file (parser, h->path, error))
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: not a JSON object", h->path);
      return FALSE;
    }
  g_clear_pointer (&h->root, json_node_unref);
  h->root = json_node_copy (json_parser_get_root (parser));
  root = json_node_get_object (h->root);

  projects = get_array (root, "projects", NULL);
  for (guint i = 0; projects != NULL && i < json_array_get_length (projects); i++)
    {
      JsonObject *p = json_array_get_object_element (projects, i);
      JsonArray *services = get_array (p, "services", NULL);
      g_autoptr (GPtrArray) statuses =
          g_ptr_array_new_with_free_func ((GDestroyNotify) cara_service_status_free);
      const char *name = json_object_get_string_member_with_default (p, "name", "");

      for (guint j = 0; services != NULL && j < json_array_get_length (services); j++)
        {
          JsonObject *s = json_array_get_object_element (services, j);
          CaraServiceStatus *st =
              cara_service_status_new (json_object_get_string_member_with_default (s, "name", ""));
          st->state = g_strdup (json_object_get_string_member_with_default (s, "state", ""));
          st->container_id =
              g_strdup (json_object_get_string_member_with_default (s, "containerId", ""));
          st->restart_count = json_object_get_int_member_with_default (s, "restartCount", 0);
          g_ptr_array_add (statuses, st);
        }
      agent_bus_project_changed (h->bus, name,
                                 json_object_get_string_member_with_default (p, "phase", ""),
                                 statuses);
      g_hash_table_add (seen, g_strdup (name));
    }

  g_hash_table_iter_init (&iter, h->current);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (seen, key))
      {
        agent_bus_project_removed (h->bus, key);
        g_hash_table_iter_remove (&iter);
      }
  g_hash_table_iter_init (&iter, seen);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_hash_table_add (h->current, g_strdup (key));

  agent_bus_set_state (h->bus, json_object_get_string_member_with_default (root, "state", "ready"));
  if (json_object_has_member (root, "serverURL"))
    agent_bus_set_server_url (h->bus, json_object_get_string_member (root, "serverURL"));
  agent_bus_set_last_heartbeat (h->bus, (guint64) g_get_real_time ());
  return TRUE;
}

static gboolean
on_reconcile (gpointer user_data, GError **error)
{
  Harness *h = user_data;

  if (!load (h, error))
    return FALSE;
  printf ("RECONCILED %u\n", ++h->reconciles);
  fflush (stdout);
  return TRUE;
}

static gboolean
on_restart (gpointer user_data, const char *project, const char *service, GError **error)
{
  Harness *h = user_data;
  JsonObject *p = find_project (h, project);
  JsonArray *services = p != NULL ? get_array (p, "services", NULL)
                                  : NULL;

  for (guint i = 0; services != NULL && i < json_array_get_length (services); i++)
    {
      JsonObject *s = json_array_get_object_element (services, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (s, "name", ""), service) == 0)
        {
          printf ("RESTART %s %s\n", project, service);
          fflush (stdout);
          return TRUE;
        }
    }
  g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "Service %s not found in project %s",
               service, project);
  return FALSE;
}

static char *
on_get_project_json (gpointer user_data, const char *project, GError **error)
{
  Harness *h = user_data;
  JsonObject *p = find_project (h, project);
  g_autoptr (JsonNode) node = NULL;

  if (p == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "Project %s not found", project);
      return NULL;
    }
  node = json_node_init_object (json_node_alloc (), p);
  return json_to_string (node, FALSE);
}

static gboolean
on_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *node = NULL;
  g_autofree char *server_url = NULL;
  g_autofree char *projects = NULL;
  gboolean builtin_json = FALSE;
  GOptionEntry entries[] = {
    { "node", 0, 0, G_OPTION_ARG_STRING, &node, "Node name", "NAME" },
    { "server-url", 0, 0, G_OPTION_ARG_STRING, &server_url, "Server URL", "URL" },
    { "projects", 0, 0, G_OPTION_ARG_FILENAME, &projects, "Projects JSON file", "FILE" },
    { "builtin-json", 0, 0, G_OPTION_ARG_NONE, &builtin_json,
      "Leave GetProject to the bus's own JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) octx = g_option_context_new ("- agent D-Bus test driver");
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GHashTable) current = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  AgentBusCallbacks cb = {
    .reconcile = on_reconcile,
    .restart_service = on_restart,
    .get_project_json = on_get_project_json,
  };
  Harness h = { .current = current };

  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error) || projects == NULL)
    {
      g_printerr ("bus-harness: %s\n", error != NULL ? error->message : "--projects is required");
      return 2;
    }
  if (builtin_json)
    cb.get_project_json = NULL;
  h.path = projects;

  h.bus = agent_bus_start (NULL, node != NULL ? node : "node-1",
                           server_url != NULL ? server_url : "http://127.0.0.1:8080",
                           PACKAGE_VERSION, &cb, &h, &error);
  if (h.bus == NULL)
    {
      g_printerr ("bus-harness: %s\n", error->message);
      return 1;
    }
  if (!load (&h, &error))
    {
      g_printerr ("bus-harness: %s\n", error->message);
      agent_bus_free (h.bus);
      return 1;
    }

  g_unix_signal_add (SIGTERM, on_signal, loop);
  g_unix_signal_add (SIGINT, on_signal, loop);
  printf ("READY\n");
  fflush (stdout);
  g_main_loop_run (loop);

  agent_bus_free (h.bus);
  g_clear_pointer (&h.root, json_node_unref);
  return 0;
}
