/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-migration"
#include "config.h"

#include <string.h>

#include "api-streams.h"
#include "cara-error.h"
#include "cara-json.h"
#include "cara-log.h"
#include "migration-event.h"
#include "migration.h"
#include "store.h"

#define MAX_MOVES 16
#define START_TIMEOUT_USEC (10 * 60 * G_USEC_PER_SEC)
#define START_POLL_USEC (200 * 1000)

static GMutex moves_lock;
static GHashTable *moves; /* names of the projects whose move runs on a thread of this process */

/* ---------------------------------------------------------------- helpers */

CaraHttpClient *
migration_agent_client (const char *node, GError **error)
{
  g_autoptr (CaraNode) n = NULL;
  g_autofree char *secret = NULL;
  if (!store_get_node (node, &n, error) || !store_get_node_agent_secret (node, &secret, error))
    return NULL;
  const char *ip = n->status.network.ip;
  if (ip == NULL || *ip == '\0')
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_BAD_GATEWAY, "node %s has no IP address to reach its agent", node);
      return NULL;
    }
  guint port = n->status.network.agent_port > 0 ? (guint) n->status.network.agent_port : 9090;
  g_autofree char *url = strchr (ip, ':') ? g_strdup_printf ("%s://[%s]:%u", api_streams_agent_scheme (), ip, port)
                                          : g_strdup_printf ("%s://%s:%u", api_streams_agent_scheme (), ip, port);
  CaraHttpClient *c = cara_http_client_new (url);
  if (secret && *secret)
    cara_http_client_set_token (c, secret);
  if (api_streams_agent_ca ())
    cara_http_client_set_ca_file (c, api_streams_agent_ca ());
  cara_http_client_set_connect_timeout (c, 5000);
  cara_http_client_set_user_agent (c, "cara-server/" PACKAGE_VERSION);
  return c;
}

gboolean
migration_volume_mount (const CaraProject *p, const char *volume, const char **ret_service,
                        const char **ret_mount_path)
{
  for (guint i = 0; i < p->spec.services->len; i++)
    {
      const CaraService *s = g_ptr_array_index (p->spec.services, i);
      for (guint j = 0; j < s->volume_mounts->len; j++)
        {
          const CaraVolumeMount *m = g_ptr_array_index (s->volume_mounts, j);
          if (g_strcmp0 (m->name, volume) == 0 && m->mount_path && *m->mount_path == '/' && m->mount_path[1])
            {
              *ret_service = s->name;
              *ret_mount_path = m->mount_path;
              return TRUE;
            }
        }
    }
  return FALSE;
}

/* ---------------------------------------------------------------- the request */

typedef struct {
  const char *to;
  gboolean discard;
} RequestRun;

static gboolean
request_mutate (CaraProject *p, gpointer user_data, GError **error)
{
  RequestRun *run = user_data;
  const char *name = p->metadata.name;
  const char *from = p->status.node_ref;

  if (cara_migration_active (p->status.migration))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "project %s: a move to node %s is under way (%s)", name,
                   p->status.migration->to, cara_migration_phase_to_string (p->status.migration->phase));
      return FALSE;
    }
  if (from == NULL || *from == '\0')
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "project %s is not placed on any node: nothing to move",
                   name);
      return FALSE;
    }
  if (g_strcmp0 (from, run->to) == 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "project %s is already on node %s", name, run->to);
      return FALSE;
    }
  if (p->status.phase != CARA_PROJECT_PHASE_RUNNING && p->status.phase != CARA_PROJECT_PHASE_SCHEDULED)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "project %s is %s: only a Running or Scheduled project can move", name,
                   cara_project_phase_to_string (p->status.phase));
      return FALSE;
    }
  cara_migration_free (p->status.migration);
  p->status.migration = cara_migration_new (from, run->to);
  p->status.migration->phase = CARA_MIGRATION_PHASE_STOPPING;
  p->status.migration->discard_data = run->discard;
  p->status.migration->message = g_strdup_printf ("stopping the services on node %s", from);
  return TRUE;
}

gboolean
migration_request (const char *name, const char *to, gboolean discard_data, CaraProject **ret, GError **error)
{
  g_autoptr (CaraNode) node = NULL;
  g_autoptr (GError) local = NULL;
  RequestRun run = { .to = to, .discard = discard_data };

  if (!store_get_node (to, &node, &local))
    {
      if (g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "node %s not found", to);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (node->status.state != CARA_NODE_STATE_READY || node->spec.unschedulable)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "node %s is %s%s: it takes no projects", to,
                   cara_node_state_to_string (node->status.state), node->spec.unschedulable ? ", unschedulable" : "");
      return FALSE;
    }
  if (!store_update_project (name, request_mutate, &run, ret, error))
    return FALSE;
  migration_event (name, "Normal", "MoveRequested", "moving to node %s%s", to,
                   discard_data ? ", discarding its data" : " with its data");
  return TRUE;
}

/* ---------------------------------------------------------------- the move */

typedef struct {
  CaraMigrationPhase expect;    /* the phase the record must be in (else: someone else changed it) */
  CaraMigrationPhase phase;     /* new phase */
  const char *message;
  gint64 bytes_total;           /* > 0: set */
  gboolean place_on_target;     /* the switch */
  gboolean clear_hold_conditions;
} StepRun;

static gboolean
step_mutate (CaraProject *p, gpointer user_data, GError **error)
{
  StepRun *run = user_data;
  CaraMigration *m = p->status.migration;
  if (m == NULL || m->phase != run->expect)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "project %s: the move record changed meanwhile",
                   p->metadata.name);
      return FALSE;
    }
  if (run->place_on_target
      && (p->status.phase == CARA_PROJECT_PHASE_TERMINATING || p->status.phase == CARA_PROJECT_PHASE_TERMINATED))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "project %s was deleted during the move",
                   p->metadata.name);
      return FALSE;
    }
  m->phase = run->phase;
  g_free (m->message);
  m->message = g_strdup (run->message);
  if (run->bytes_total > 0)
    m->bytes_total = run->bytes_total;
  if (run->place_on_target)
    {
      g_free (p->status.node_ref);
      p->status.node_ref = g_strdup (m->to);
      p->status.phase = CARA_PROJECT_PHASE_SCHEDULED;
      g_ptr_array_set_size (p->status.services, 0);
      cara_conditions_remove (p->status.conditions, "NodeLost");
      cara_conditions_remove (p->status.conditions, "NotReadyAt");
      cara_conditions_remove (p->status.conditions, "TerminatingAt");
      g_autofree char *msg = g_strdup_printf ("Moved from node %s to node %s", m->from, m->to);
      cara_conditions_upsert (p->status.conditions, cara_condition_new ("Phase", "True", "Moved", msg));
    }
  return TRUE;
}

static gboolean
step (const char *name, CaraMigrationPhase expect, CaraMigrationPhase phase, const char *message, GError **error)
{
  StepRun run = { .expect = expect, .phase = phase, .message = message };
  return store_update_project (name, step_mutate, &run, NULL, error);
}

/* Best effort: a call to an agent that may be gone. */
static gboolean
agent_post (const char *node, const char *project, const char *what, JsonNode *body, guint timeout_ms,
            JsonNode **ret_json, GError **error)
{
  g_autoptr (CaraHttpClient) c = migration_agent_client (node, error);
  if (c == NULL)
    return FALSE;
  cara_http_client_set_timeout (c, timeout_ms);
  g_autofree char *ep = cara_http_escape (project);
  g_autofree char *path = g_strdup_printf ("/api/v1/migrate/%s/%s", ep, what);
  if (!cara_http_client_json (c, "POST", path, body, NULL, ret_json, error))
    {
      g_prefix_error (error, "node %s: ", node);
      return FALSE;
    }
  return TRUE;
}

/* Before the switch: the new node's copy goes, the old node runs the project again, and the record
 * says why. */
static void
move_abort (const char *name, const CaraMigration *m, CaraMigrationPhase expect, const char *why)
{
  g_autoptr (GError) e1 = NULL;
  g_autoptr (GError) e2 = NULL;
  g_autoptr (GError) e3 = NULL;
  if (!agent_post (m->to, name, "purge", NULL, 60000, NULL, &e1))
    cara_log_project (G_LOG_LEVEL_WARNING, name, "Move of %s: cleaning up on %s failed: %s, ignoring", name, m->to,
                      e1->message);
  if (!agent_post (m->from, name, "resume", NULL, 15000, NULL, &e2))
    cara_log_project (G_LOG_LEVEL_WARNING, name, "Move of %s: telling %s to run it again failed: %s (it will on "
                      "its own shortly)", name, m->from, e2->message);
  g_autofree char *msg = g_strdup_printf ("%s; the project stays on node %s with its data", why, m->from);
  if (!step (name, expect, CARA_MIGRATION_PHASE_FAILED, msg, &e3))
    cara_log_project (G_LOG_LEVEL_WARNING, name, "Move of %s: recording the failure: %s", name, e3->message);
  migration_event (name, "Warning", "MoveFailed", "move to node %s failed: %s", m->to, msg);
}

static JsonNode *
receive_body (const CaraProject *p, gboolean *ret_any)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "project");
  json_builder_add_value (b, cara_project_to_json (p));
  json_builder_set_member_name (b, "volumes");
  json_builder_begin_array (b);
  *ret_any = FALSE;
  for (guint i = 0; i < p->spec.volumes->len; i++)
    {
      const CaraVolume *v = g_ptr_array_index (p->spec.volumes, i);
      const char *type = cara_volume_type_to_string (v->type);
      const char *service = NULL, *mount = NULL;
      if (g_strcmp0 (type, "HostPath") == 0)
        {
          migration_event (p->metadata.name, "Warning", "HostPathNotCopied",
                           "volume %s is a HostPath volume: its files stay on node %s, not copied", v->name,
                           p->status.migration->from);
          continue;
        }
      if (g_strcmp0 (type, "Persistent") != 0)
        continue;
      if (!migration_volume_mount (p, v->name, &service, &mount))
        {
          migration_event (p->metadata.name, "Warning", "VolumeNotMounted",
                           "volume %s is mounted by no service: nothing to copy it through", v->name);
          continue;
        }
      g_autofree char *transfer = g_strdup_printf ("%s-%s-%08x%08x", p->metadata.name, v->name, g_random_int (),
                                                   g_random_int ());
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, v->name);
      json_builder_set_member_name (b, "service");
      json_builder_add_string_value (b, service);
      json_builder_set_member_name (b, "mountPath");
      json_builder_add_string_value (b, mount);
      json_builder_set_member_name (b, "transfer");
      json_builder_add_string_value (b, transfer);
      json_builder_end_object (b);
      *ret_any = TRUE;
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* Stopping -> Copying -> Starting.  FALSE when the move ended (failed) before the switch. */
static gboolean
move_to_switch (const char *name)
{
  g_autoptr (CaraProject) p = NULL;
  g_autoptr (GError) error = NULL;
  if (!store_get_project (name, &p, &error) || p->status.migration == NULL
      || p->status.migration->phase != CARA_MIGRATION_PHASE_STOPPING)
    return FALSE;
  CaraMigration *m = p->status.migration;
  g_autofree char *msg = NULL;

  /* A clean start on the target, also when this move runs again after a restart. */
  g_autoptr (GError) ignored = NULL;
  agent_post (m->to, name, "purge", NULL, 60000, NULL, &ignored);

  g_autoptr (JsonNode) stopped = NULL;
  if (!agent_post (m->from, name, "stop", NULL, 0, &stopped, &error))
    {
      if (!m->discard_data)
        {
          msg = g_strdup_printf ("stopping on node %s failed: %s (if that node is gone for good, move it with "
                                 "--discard-data)", m->from, error->message);
          move_abort (name, m, CARA_MIGRATION_PHASE_STOPPING, msg);
          return FALSE;
        }
      cara_log_project (G_LOG_LEVEL_MESSAGE, name, "Move of %s: node %s cannot stop it (%s); its data is discarded",
                        name, m->from, error->message);
      g_clear_error (&error);
    }
  if (m->discard_data)
    {
      msg = g_strdup_printf ("started on node %s with empty volumes: the data on node %s was discarded", m->to,
                             m->from);
      StepRun run = { .expect = CARA_MIGRATION_PHASE_STOPPING, .phase = CARA_MIGRATION_PHASE_STARTING,
                      .message = msg, .place_on_target = TRUE };
      if (!store_update_project (name, step_mutate, &run, NULL, &error))
        return FALSE;
      migration_event (name, "Warning", "DataDiscarded", "moved to node %s without its data: the volumes on node %s "
                       "were discarded, it starts with empty ones", m->to, m->from);
      return TRUE;
    }

  JsonObject *so = stopped && JSON_NODE_HOLDS_OBJECT (stopped) ? json_node_get_object (stopped) : NULL;
  gboolean any = FALSE;
  g_autoptr (JsonNode) body = receive_body (p, &any);
  msg = g_strdup_printf ("copying the volumes from node %s to node %s", m->from, m->to);
  StepRun run = { .expect = CARA_MIGRATION_PHASE_STOPPING, .phase = CARA_MIGRATION_PHASE_COPYING, .message = msg,
                  .bytes_total = so ? json_object_get_int_member_with_default (so, "bytesTotal", 0) : 0 };
  if (!store_update_project (name, step_mutate, &run, NULL, &error))
    return FALSE;
  if (!agent_post (m->to, name, "receive", body, 0, NULL, &error))
    {
      g_autofree char *why = g_strdup_printf ("copying to node %s failed: %s", m->to, error->message);
      move_abort (name, m, CARA_MIGRATION_PHASE_COPYING, why);
      return FALSE;
    }
  g_free (msg);
  msg = g_strdup_printf ("%s on node %s, starting it there", any ? "data copied and checked" : "nothing to copy",
                         m->to);
  StepRun sw = { .expect = CARA_MIGRATION_PHASE_COPYING, .phase = CARA_MIGRATION_PHASE_STARTING, .message = msg,
                 .place_on_target = TRUE };
  if (!store_update_project (name, step_mutate, &sw, NULL, &error))
    {
      g_autofree char *why = g_strdup_printf ("switching to node %s failed: %s", m->to, error->message);
      move_abort (name, m, CARA_MIGRATION_PHASE_COPYING, why);
      return FALSE;
    }
  return TRUE;
}

/* Starting -> Done (or Failed when it does not start there). */
static void
move_finish (const char *name)
{
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_USEC;
  for (;;)
    {
      g_autoptr (CaraProject) p = NULL;
      g_autoptr (GError) error = NULL;
      if (!store_get_project (name, &p, &error))
        {
          if (g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND))
            return;
          g_usleep (START_POLL_USEC);
          continue;
        }
      CaraMigration *m = p->status.migration;
      if (m == NULL || m->phase != CARA_MIGRATION_PHASE_STARTING || g_strcmp0 (p->status.node_ref, m->to) != 0)
        return;
      if (p->status.phase == CARA_PROJECT_PHASE_RUNNING)
        {
          g_autofree char *msg = NULL;
          if (!m->discard_data && !agent_post (m->from, name, "purge", NULL, 120000, NULL, &error))
            msg = g_strdup_printf ("running on node %s; the old copy on node %s is not removed: %s", m->to, m->from,
                                   error->message);
          else
            msg = g_strdup_printf ("running on node %s", m->to);
          g_clear_error (&error);
          if (step (name, CARA_MIGRATION_PHASE_STARTING, CARA_MIGRATION_PHASE_DONE, msg, &error))
            migration_event (name, "Normal", "Migrated", "moved from node %s to node %s: %s", m->from, m->to, msg);
          return;
        }
      if (p->status.phase == CARA_PROJECT_PHASE_FAILED || g_get_monotonic_time () > deadline)
        {
          g_autofree char *msg = g_strdup_printf ("it does not start on node %s%s; its data is there now, and the "
                                                  "old copy on node %s is kept", m->to,
                                                  p->status.phase == CARA_PROJECT_PHASE_FAILED ? " (Failed)" : " in time",
                                                  m->from);
          if (step (name, CARA_MIGRATION_PHASE_STARTING, CARA_MIGRATION_PHASE_FAILED, msg, &error))
            migration_event (name, "Warning", "MoveFailed", "%s", msg);
          return;
        }
      g_usleep (START_POLL_USEC);
    }
}

static gpointer
move_thread (gpointer data)
{
  g_autofree char *name = data;
  g_autoptr (CaraProject) p = NULL;
  if (store_get_project (name, &p, NULL) && p->status.migration != NULL)
    {
      CaraMigration *m = p->status.migration;
      if (m->phase == CARA_MIGRATION_PHASE_COPYING)
        /* Its copy ran in a server that is gone (restart, another leader): starting over is not
         * safe while the new node may still be writing, so end it cleanly. */
        move_abort (name, m, CARA_MIGRATION_PHASE_COPYING, "the server running the copy stopped during it");
      else if (m->phase == CARA_MIGRATION_PHASE_STARTING || move_to_switch (name))
        move_finish (name);
    }
  g_mutex_lock (&moves_lock);
  g_hash_table_remove (moves, name);
  g_mutex_unlock (&moves_lock);
  store_thread_disconnect ();
  return NULL;
}

/* TRUE when a thread of ours runs (or now runs) the move of @name; FALSE at the bound. */
static gboolean
move_start (const char *name, gboolean *ret_started)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&moves_lock);
  *ret_started = FALSE;
  if (moves == NULL)
    moves = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (g_hash_table_contains (moves, name))
    return TRUE;
  if (g_hash_table_size (moves) >= MAX_MOVES)
    return FALSE;
  g_hash_table_add (moves, g_strdup (name));
  g_thread_unref (g_thread_new ("move", move_thread, g_strdup (name)));
  *ret_started = TRUE;
  return TRUE;
}

static gboolean
move_running (const char *name)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&moves_lock);
  return moves != NULL && g_hash_table_contains (moves, name);
}

/* ---------------------------------------------------------------- the controller */

static gboolean
migration_reconcile (ControllerContext *ctx, const char *name, gint64 *ret_requeue_after, GError **error)
{
  g_autoptr (CaraProject) p = NULL;
  g_autoptr (GError) local = NULL;
  gboolean started = FALSE;

  if (!store_get_project (name, &p, &local))
    {
      if (g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  CaraMigration *m = p->status.migration;
  if (!cara_migration_active (m) || move_running (name))
    return TRUE;
  /* Each step calls agents, which may take seconds: on a thread of its own, never this one.  A
   * Stopping move starts, a Starting one is followed to its end, a Copying one (its copy ran in a
   * server that is gone) is aborted. */
  if (!move_start (name, &started))
    *ret_requeue_after = G_USEC_PER_SEC; /* too many at once: later */
  else if (started)
    cara_log_project (G_LOG_LEVEL_INFO, name, "Move of %s to %s: %s", name, m->to,
                      cara_migration_phase_to_string (m->phase));
  return TRUE;
}

static gboolean
migration_resync (ControllerContext *ctx, GPtrArray *keys, GError **error)
{
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, ctx->cache->placed);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (((CachePlaced *) v)->migrating)
      g_ptr_array_add (keys, g_strdup (k));
  return TRUE;
}

const ControllerDef migration_controller = {
  .name = "migration",
  .reconcile = migration_reconcile,
  .resync = migration_resync,
};
