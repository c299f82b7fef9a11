/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-reconcile"

#include "networks.h"

#include <stdio.h>
#include <string.h>

#include "cara-error.h"
#include "cara-log.h"
#include "netview.h"
#include "cara-json.h"

/* Requests of a killed predecessor can still finish this long after we loaded the view. */
#define PREDECESSOR_WINDOW_USEC (10 * G_USEC_PER_SEC)
/* Collisions with networks the view did not know (another agent on the same daemon) before it is
 * loaded again. */
#define OVERLAPS_BEFORE_RELOAD 3

static GMutex lock;
static NetView *view;    /* made at the first load, kept for the agent's life */
static gboolean stale;   /* load again before the next use */
static gint64 loaded_at; /* monotonic */

/* Host routes count as used too: a project subnet must not shadow a LAN. */
static GArray *
host_routes (void)
{
  GArray *used = g_array_new (FALSE, FALSE, sizeof (NetpoolCidr));
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/net/route", &text, NULL, NULL))
    return used;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 1; lines[i]; i++)
    {
      char iface[64];
      unsigned int dest, gw, flags, refcnt, use, metric, mask;
      if (sscanf (lines[i], "%63s %x %x %x %u %u %u %x", iface, &dest, &gw, &flags, &refcnt, &use, &metric, &mask) != 8)
        continue;
      if (mask == 0)
        continue; /* default route */
      NetpoolCidr c = { .addr = GUINT32_FROM_BE (GUINT32_TO_LE (dest)), .prefix = 0 };
      guint32 m = GUINT32_FROM_BE (GUINT32_TO_LE (mask));
      while (c.prefix < 32 && (m & (0x80000000u >> c.prefix)))
        c.prefix++;
      g_array_append_val (used, c);
    }
  return used;
}

static gboolean
load (DockerClient *dc, const AgentConfig *cfg, GError **error)
{
  g_autoptr (JsonArray) nets = docker_network_list (dc, NULL, error);
  if (nets == NULL)
    return FALSE;
  g_autoptr (GArray) routes = host_routes ();
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  if (view == NULL)
    view = netview_new ();
  netview_load (view, nets, cfg->node_name, routes);
  stale = FALSE;
  loaded_at = g_get_monotonic_time ();
  return TRUE;
}

static GStrv
own_filters (const AgentConfig *cfg, const char *project)
{
  GStrv f = g_new0 (char *, 3);
  f[0] = g_strdup_printf (AGENT_LABEL_NODE "=%s", cfg->node_name);
  f[1] = g_strdup_printf (AGENT_LABEL_PROJECT "=%s", project);
  return f;
}

/* Several networks of one project exist only after an agent was killed while creating one and its
 * request finished after we had looked - even under the same name: Docker's duplicate-name check
 * is best effort.  Keep the first by (name, id), a stable choice (an unstable one would move the
 * containers back and forth), and remove the others by id once no container uses them.  The kept
 * one is named by its id while another of the same name remains, since Docker refuses an
 * ambiguous name. */
static char *
settle_duplicates (DockerClient *dc, const AgentConfig *cfg, const char *project, GError **error)
{
  g_auto (GStrv) filters = own_filters (cfg, project);
  g_autoptr (JsonArray) mine = docker_network_list (dc, (const char *const *) filters, error);
  if (mine == NULL)
    return NULL;
  JsonObject *keep = NULL;
  for (guint i = 0; i < json_array_get_length (mine); i++)
    {
      JsonObject *n = json_array_get_object_element (mine, i);
      int c = keep ? strcmp (cara_json_object_string (n, "Name"), cara_json_object_string (keep, "Name")) : -1;
      if (c < 0 || (c == 0 && strcmp (cara_json_object_string (n, "Id"), cara_json_object_string (keep, "Id")) < 0))
        keep = n;
    }
  if (keep == NULL)
    return NULL;
  const char *keep_name = cara_json_object_string (keep, "Name");
  gboolean namesake_left = FALSE;
  for (guint i = 0; i < json_array_get_length (mine); i++)
    {
      JsonObject *n = json_array_get_object_element (mine, i);
      if (n == keep)
        continue;
      g_autoptr (GError) local = NULL;
      if (docker_network_remove (dc, cara_json_object_string (n, "Id"), &local))
        cara_log_project (G_LOG_LEVEL_INFO, project, "Removed a duplicate network %s (%.12s), keeping %.12s",
                          cara_json_object_string (n, "Name"), cara_json_object_string (n, "Id"), cara_json_object_string (keep, "Id"));
      else if (strcmp (cara_json_object_string (n, "Name"), keep_name) == 0)
        namesake_left = TRUE;
    }
  return g_strdup (namesake_left ? cara_json_object_string (keep, "Id") : keep_name);
}

/* The create answered that @name exists: ours when a request of ours (a killed predecessor's)
 * made it after we looked. */
static gboolean
name_is_ours (DockerClient *dc, const AgentConfig *cfg, const char *project, const char *name)
{
  g_autoptr (JsonObject) other = docker_network_inspect (dc, name, NULL);
  return other && g_strcmp0 (docker_labels_get (other, AGENT_LABEL_NODE), cfg->node_name) == 0
         && g_strcmp0 (docker_labels_get (other, AGENT_LABEL_PROJECT), project) == 0;
}

static char *
create (DockerClient *dc, const AgentConfig *cfg, const char *project, GError **error)
{
  g_autoptr (GHashTable) labels = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (labels, AGENT_LABEL_PROJECT, (gpointer) project);
  g_hash_table_insert (labels, AGENT_LABEL_NODE, (gpointer) cfg->node_name);
  g_autoptr (GError) local = NULL;
  guint overlaps = 0;

  for (int attempt = 0; attempt < 16; attempt++)
    {
      NetpoolCidr subnet;
      g_autofree char *name = NULL;
      g_mutex_lock (&lock);
      gboolean ok = netview_reserve (view, &cfg->pool, cfg->pool_block, project, cfg->node_name, &subnet, &name, error);
      g_mutex_unlock (&lock);
      if (!ok)
        return NULL;
      g_autofree char *text = netpool_format (&subnet);
      g_clear_error (&local);
      if (docker_network_create (dc, name, text, labels, NULL, &local))
        {
          cara_log_project (G_LOG_LEVEL_INFO, project, "Created network %s with subnet %s", name, text);
          g_mutex_lock (&lock);
          netview_created (view, project, name, &subnet);
          gboolean recent = g_get_monotonic_time () - loaded_at < PREDECESSOR_WINDOW_USEC;
          g_mutex_unlock (&lock);
          return recent ? settle_duplicates (dc, cfg, project, error) : g_steal_pointer (&name);
        }
      gboolean name_taken = g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT);
      gboolean overlap = strstr (local->message, "overlap") != NULL;
      g_mutex_lock (&lock);
      netview_create_failed (view, name, &subnet, overlap, name_taken);
      g_mutex_unlock (&lock);
      if (name_taken && name_is_ours (dc, cfg, project, name))
        {
          g_mutex_lock (&lock);
          netview_created (view, project, name, &subnet);
          g_mutex_unlock (&lock);
          return g_steal_pointer (&name);
        }
      if (overlap && ++overlaps % OVERLAPS_BEFORE_RELOAD == 0 && !load (dc, cfg, error))
        return NULL;
      if (!name_taken && !overlap)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local), "create network %s: ", name);
          return NULL;
        }
    }
  g_propagate_prefixed_error (error, g_steal_pointer (&local), "create network for %s: ", project);
  return NULL;
}

char *
networks_ensure (DockerClient *dc, const AgentConfig *cfg, const char *project, GError **error)
{
  g_mutex_lock (&lock);
  gboolean loaded = view != NULL && netview_loaded (view) && !stale;
  g_mutex_unlock (&lock);
  if (!loaded && !load (dc, cfg, error))
    return NULL;

  g_mutex_lock (&lock);
  g_autofree char *known = g_strdup (netview_lookup (view, project));
  g_autoptr (GPtrArray) dups = netview_duplicates (view, project);
  g_mutex_unlock (&lock);
  if (known != NULL && dups == NULL)
    return g_steal_pointer (&known);
  if (known != NULL)
    {
      char *name = settle_duplicates (dc, cfg, project, error);
      if (name != NULL)
        {
          G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
          netview_adopt (view, project, name);
        }
      return name;
    }
  return create (dc, cfg, project, error);
}

void
networks_forget_project (const char *project)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  if (view != NULL)
    netview_forget_project (view, project);
}

void
networks_on_event (const AgentConfig *cfg, const char *action, const char *name)
{
  if (name == NULL)
    return;
  if (g_str_equal (action, "destroy"))
    {
      G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
      if (view != NULL)
        netview_removed (view, name);
      return;
    }
  if (!g_str_equal (action, "create"))
    return;
  g_mutex_lock (&lock);
  gboolean known = view == NULL || netview_knows (view, name);
  if (!known)
    netview_name_taken (view, name);
  g_mutex_unlock (&lock);
  if (known)
    return;
  /* Someone else's (another agent's on the same daemon, an operator's): its subnet, so that our
   * next pick does not collide with it.  One call here, none on a project's path. */
  DockerClient *dc = docker_client_for_thread (cfg->docker_host, NULL); /* borrowed */
  g_autoptr (JsonObject) net = dc ? docker_network_inspect (dc, name, NULL) : NULL;
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  if (net != NULL)
    netview_learn (view, net);
}

void
networks_invalidate (void)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  stale = TRUE;
}
