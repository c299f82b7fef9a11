/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-reconcile"

#include <string.h>

#include "agent-metrics.h"
#include "cara-error.h"
#include "cara-log.h"
#include "networks.h"
#include "event-reporter.h"
#include "inspect-cache.h"
#include "readiness.h"
#include "reconcile-depends.h"
#include "reconcile-spec.h"
#include "agent-secrets.h"
#include "reconcile.h"
#include "cara-json.h"
#include "rollout.h"

/* Containers we started again ourselves (Docker's policy ignores ones stopped by hand): a backoff
 * so a container that cannot stay up is not restarted in a tight loop, and a count added to
 * Docker's RestartCount in the status.  Keyed by container ID; lost on agent restart. */
typedef struct {
  gint64 next_allowed; /* monotonic usec */
  gint64 delay;
  gint64 count;
} OwnRestarts;

static GMutex own_lock;
static GHashTable *own_restarts; /* id -> OwnRestarts */

/* TRUE when a start is allowed now (and records it). */
static gboolean
own_restart_allowed (const char *id)
{
  gint64 now = g_get_monotonic_time ();
  g_mutex_lock (&own_lock);
  if (own_restarts == NULL)
    own_restarts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  OwnRestarts *r = g_hash_table_lookup (own_restarts, id);
  if (r == NULL)
    {
      r = g_new0 (OwnRestarts, 1);
      g_hash_table_insert (own_restarts, g_strdup (id), r);
    }
  gboolean ok = now >= r->next_allowed;
  if (ok)
    {
      /* Up for a while since the last start: begin again at one second. */
      if (r->delay == 0 || now - r->next_allowed > 120 * G_USEC_PER_SEC)
        r->delay = G_USEC_PER_SEC;
      else
        r->delay = MIN (r->delay * 2, 60 * G_USEC_PER_SEC);
      r->next_allowed = now + r->delay;
      r->count++;
    }
  g_mutex_unlock (&own_lock);
  return ok;
}

static gint64
own_restart_count (const char *id)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&own_lock);
  OwnRestarts *r = own_restarts ? g_hash_table_lookup (own_restarts, id) : NULL;
  return r ? r->count : 0;
}

static void
own_restart_forget (const char *id)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&own_lock);
  if (own_restarts)
    g_hash_table_remove (own_restarts, id);
}

/* Restart times per service ("project/service" -> RestartHistory), for the CrashLoop verdict.
 * Lost on agent restart (then rebuilt from Docker's counts, see restart_history_observe()). */
static GMutex history_lock;
static GHashTable *histories;

/* Records one observation of a service's container; returns its restarts within the window. */
static guint
history_observe (const char *project, const char *service, const char *id, gint64 count, gint64 created_usec)
{
  g_autofree char *key = g_strdup_printf ("%s/%s", project, service);
  gint64 now = g_get_real_time ();
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&history_lock);
  if (histories == NULL)
    histories = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) restart_history_free);
  RestartHistory *h = g_hash_table_lookup (histories, key);
  if (h == NULL)
    {
      h = restart_history_new ();
      g_hash_table_insert (histories, g_steal_pointer (&key), h);
    }
  restart_history_observe (h, id, count, created_usec, now);
  return restart_history_recent (h, now);
}

static void
history_forget_project (const char *project)
{
  g_autofree char *prefix = g_strdup_printf ("%s/", project);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&history_lock);
  GHashTableIter it;
  gpointer k;
  if (histories)
    {
      g_hash_table_iter_init (&it, histories);
      while (g_hash_table_iter_next (&it, &k, NULL))
        if (g_str_has_prefix (k, prefix))
          g_hash_table_iter_remove (&it);
    }
}

static GHashTable *
labels_new (const AgentConfig *cfg, const char *project)
{
  GHashTable *l = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (l, AGENT_LABEL_PROJECT, g_strdup (project));
  g_hash_table_insert (l, AGENT_LABEL_NODE, g_strdup (cfg->node_name));
  return l;
}

static GStrv
filters_for (const AgentConfig *cfg, const char *project, const char *extra)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_autofree char *node = g_strdup_printf (AGENT_LABEL_NODE "=%s", cfg->node_name);
  g_autofree char *proj = project ? g_strdup_printf (AGENT_LABEL_PROJECT "=%s", project) : NULL;
  g_strv_builder_add (b, node);
  if (proj)
    g_strv_builder_add (b, proj);
  if (extra)
    g_strv_builder_add (b, extra);
  return g_strv_builder_end (b);
}

/* ---------------------------------------------------------------- volumes */

static char *
ensure_volume (DockerClient *dc, const AgentConfig *cfg, const char *project, const CaraVolume *v, GError **error)
{
  /* A directory of the node, bind-mounted as it is: nothing to create, nothing removed. */
  if (v->type == CARA_VOLUME_TYPE_HOST_PATH)
    return g_strdup (v->host_path);
  const char *type = v->type == CARA_VOLUME_TYPE_PERSISTENT ? "Persistent" : "Ephemeral";
  g_autofree char *name = g_strdup_printf ("cara-%s-%s", project, v->name);
  /* Our suffixed volume, once made, stays ours even when the plain name is free again (the
   * other node's copy removed after a move): its data is what the containers use. */
  g_autofree char *suffixed = g_strdup_printf ("cara-%s-%s-%s", project, v->name, cfg->node_name);
  g_autoptr (JsonObject) mine = docker_volume_inspect (dc, suffixed, NULL);
  if (mine && g_strcmp0 (docker_labels_get (mine, AGENT_LABEL_NODE), cfg->node_name) == 0)
    return g_steal_pointer (&suffixed);
  for (int attempt = 0; attempt < 2; attempt++)
    {
      g_autoptr (GError) local = NULL;
      g_autoptr (JsonObject) info = docker_volume_inspect (dc, name, &local);
      if (info)
        {
          if (g_strcmp0 (docker_labels_get (info, AGENT_LABEL_NODE), cfg->node_name) == 0)
            return g_steal_pointer (&name);
          /* Someone else's: use our own suffixed name. */
          g_free (name);
          name = g_strdup_printf ("cara-%s-%s-%s", project, v->name, cfg->node_name);
          continue;
        }
      if (!g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local), "inspect volume %s: ", name);
          return NULL;
        }
      g_autoptr (GHashTable) labels = labels_new (cfg, project);
      g_hash_table_insert (labels, AGENT_LABEL_VOLUME_TYPE, g_strdup (type));
      if (!docker_volume_create (dc, name, labels, error))
        {
          g_prefix_error (error, "create volume %s: ", name);
          return NULL;
        }
      cara_log_project (G_LOG_LEVEL_INFO, project, "Created %s volume %s", type, name);
      return g_steal_pointer (&name);
    }
  g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "volume name %s is taken", name);
  return NULL;
}

/* ---------------------------------------------------------------- containers */

/* The service's stopGracePeriodSeconds (kept in the container as StopTimeout), else ours. */
static int
stop_timeout_for (DockerClient *dc, const AgentConfig *cfg, const char *id)
{
  g_autoptr (JsonObject) info = inspect_cache_get (id, NULL);
  if (info == NULL)
    info = docker_container_inspect (dc, id, NULL);
  JsonObject *config = cara_json_object_object (info, "Config");
  JsonNode *t = config != NULL ? json_object_get_member (config, "StopTimeout") : NULL;

  if (t != NULL && JSON_NODE_HOLDS_VALUE (t) && json_node_get_value_type (t) == G_TYPE_INT64)
    return (int) json_node_get_int (t);
  return (int) cfg->stop_timeout_s;
}

static void
remove_container (DockerClient *dc, const AgentConfig *cfg, const char *project, const char *service, const char *id)
{
  g_autoptr (GError) local = NULL;
  int timeout = stop_timeout_for (dc, cfg, id);
  /* Its events are ours: the project is not looked at again for them. */
  inspect_cache_removing (id);
  if (!docker_container_stop (dc, id, timeout, &local)
      && !g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
    cara_log_full (G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, project, NULL, service, "Stop container %.12s: %s, ignoring", id,
                   local->message);
  g_clear_error (&local);
  own_restart_forget (id);
  if (!docker_container_remove (dc, id, &local) && !g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
    cara_log_full (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, project, NULL, service, "Failed to remove container %.12s: %s",
                   id, local->message);
}

/* Creates the container, under {project}-{service} or, if another node's container holds that name,
 * {project}-{service}-{node}. */
static gboolean
create_container (DockerClient *dc, const AgentConfig *cfg, const char *project, const CaraService *svc, JsonNode *body,
                  gboolean *removed_any, char **ret_id, GError **error)
{
  g_autofree char *name = g_strdup_printf ("%s-%s", project, svc->name);
  for (int attempt = 0; attempt < 3; attempt++)
    {
      g_autoptr (GError) local = NULL;
      if (docker_container_create (dc, name, body, ret_id, &local))
        return TRUE;
      if (!g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local), "create container %s: ", name);
          return FALSE;
        }
      g_autoptr (JsonObject) holder = docker_container_inspect (dc, name, NULL);
      JsonObject *hcfg = cara_json_object_object (holder, "Config");
      if (hcfg && g_strcmp0 (docker_labels_get (hcfg, AGENT_LABEL_NODE), cfg->node_name) == 0
          && g_strcmp0 (docker_labels_get (hcfg, AGENT_LABEL_PROJECT), project) == 0)
        {
          /* A leftover of ours (e.g. a roll interrupted between remove and create). */
          *removed_any = TRUE;
          remove_container (dc, cfg, project, svc->name, cara_json_object_string (holder, "Id"));
          continue;
        }
      g_free (name);
      name = g_strdup_printf ("%s-%s-%s", project, svc->name, cfg->node_name);
    }
  g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "container name %s-%s is taken", project, svc->name);
  return FALSE;
}

/* Whether an existing, unchanged container should be (re)started by us.  Docker's restart policy
 * handles crashes; we only start what it will not: never-started containers and ones stopped by
 * hand, unless the policy says a finished container stays finished. */
static gboolean
wants_start (JsonObject *summary, CaraRestartPolicy policy, DockerClient *dc)
{
  const char *state = cara_json_object_string (summary, "State");
  if (g_strcmp0 (state, "created") == 0)
    return TRUE;
  if (g_strcmp0 (state, "exited") != 0)
    return FALSE;
  if (policy == CARA_RESTART_POLICY_NEVER)
    return FALSE;
  if (policy == CARA_RESTART_POLICY_ON_FAILURE)
    {
      g_autoptr (JsonObject) info = docker_container_inspect (dc, cara_json_object_string (summary, "Id"), NULL);
      JsonObject *st = cara_json_object_object (info, "State");
      return st && json_object_get_int_member_with_default (st, "ExitCode", 0) != 0;
    }
  return TRUE;
}

typedef struct {
  const char *reason;
  char *message;
  gboolean transient; /* Docker itself did not answer: nothing wrong with the project */
  gboolean update_failed; /* an update did not come up; the old containers serve (SPEC §13) */
  gboolean replaced;  /* not a failure: a container was replaced by one of a new spec */
} Failure;

/* Docker restarting or gone for a moment (connection refused or cut, 503): retried when it answers
 * again (the event stream's reconnect rechecks every project), never a Failed project. */
static gboolean
error_is_transient (const GError *error)
{
  return g_error_matches (error, CARA_ERROR, CARA_ERROR_UNREACHABLE)
      || g_error_matches (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE);
}

/* Docker's container create answers 404 "No such image: ..." when the image is not here. */
static gboolean
image_missing (const GError *error)
{
  return g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND) && strstr (error->message, "No such image") != NULL;
}

/* Pulls @svc's image (with the project's registry credentials): FALSE and @fail filled when not. */
static gboolean
pull_image (DockerClient *dc, const AgentConfig *cfg, const CaraProject *p, GHashTable *secrets,
            const CaraService *svc, Failure *fail)
{
  const char *project = p->metadata.name;
  g_autoptr (GError) error = NULL;
  g_autofree char *registry_auth = agent_secrets_registry_auth (p, secrets, svc->image);
  gboolean pulled = FALSE;
  gboolean have_image = docker_image_ensure_auth (dc, svc->image, registry_auth, cfg->pull_timeout_s, &pulled,
                                                  &error);
  if (pulled)
    {
      agent_metrics_image_pull (have_image ? "success" : "failure");
      if (have_image)
        agent_event (CARA_EVENT_NORMAL, "Pulled", project, "Pulled image %s for service %s", svc->image, svc->name);
      else if (!error_is_transient (error))
        agent_event (CARA_EVENT_WARNING, "PullFailed", project, "Service %s: %s", svc->name, error->message);
    }
  if (!have_image)
    {
      fail->reason = agent_secrets_pull_reason (error->message);
      fail->transient = error_is_transient (error);
      fail->message = g_strdup_printf ("service %s: %s", svc->name, error->message);
      return FALSE;
    }
  return TRUE;
}

/* A container list entry for one just created, as GET /containers/json would show it. */
static JsonObject *
summary_new (const AgentConfig *cfg, const char *project, const char *service, const char *hash, const char *id,
             const char *state)
{
  JsonObject *labels = json_object_new ();
  json_object_set_string_member (labels, AGENT_LABEL_PROJECT, project);
  json_object_set_string_member (labels, AGENT_LABEL_SERVICE, service);
  json_object_set_string_member (labels, AGENT_LABEL_NODE, cfg->node_name);
  json_object_set_string_member (labels, AGENT_LABEL_HASH, hash);
  JsonObject *c = json_object_new ();
  json_object_set_string_member (c, "Id", id);
  json_object_set_string_member (c, "State", state);
  json_object_set_int_member (c, "Created", g_get_real_time () / G_USEC_PER_SEC);
  json_object_set_object_member (c, "Labels", labels);
  return c;
}

/* @current: service name -> ID of the container made from the current spec (filled as we go). */
/* @start: FALSE creates what is missing but starts nothing (a move's target, SPEC §14). */
/* @ret_view (may be NULL): the project's containers afterwards, as a list would show them, so that
 * observing needs no list of its own (NULL when the list would not be sure). */
static gboolean
ensure_services (DockerClient *dc, const AgentConfig *cfg, const CaraProject *p, GHashTable *current_ids,
                 GHashTable *waiting, gboolean start, Failure *fail, JsonArray **ret_view)
{
  const char *project = p->metadata.name;
  g_autoptr (GError) error = NULL;

  g_autofree char *network = networks_ensure (dc, cfg, project, &error);
  if (network == NULL)
    {
      fail->reason = "NetworkError";
      fail->transient = error_is_transient (error);
      fail->message = g_strdup (error->message);
      return FALSE;
    }

  g_autoptr (GHashTable) volumes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  for (guint i = 0; i < p->spec.volumes->len; i++)
    {
      const CaraVolume *v = g_ptr_array_index (p->spec.volumes, i);
      char *name = ensure_volume (dc, cfg, project, v, &error);
      if (name == NULL)
        {
          fail->reason = "VolumeError";
          fail->transient = error_is_transient (error);
          fail->message = g_strdup (error->message);
          return FALSE;
        }
      g_hash_table_insert (volumes, v->name, name);
    }

  g_auto (GStrv) filters = filters_for (cfg, project, NULL);
  g_autoptr (JsonArray) existing = docker_container_list (dc, (const char *const *) filters, &error);
  if (existing == NULL)
    {
      fail->reason = "DockerError";
      fail->transient = error_is_transient (error);
      fail->message = g_strdup (error->message);
      return FALSE;
    }
  g_autoptr (GHashTable) removed = g_hash_table_new (g_str_hash, g_str_equal); /* IDs in @existing */
  g_autoptr (JsonArray) added = json_array_new ();
  gboolean disturbed = FALSE; /* something removed that the list did not show */

  /* SPEC §12: the Secrets it uses, from the server. */
  g_autoptr (GHashTable) secrets = agent_secrets_fetch (cfg, p, &error);
  if (secrets == NULL)
    {
      fail->reason = "SecretUnavailable";
      fail->transient = g_error_matches (error, CARA_ERROR, CARA_ERROR_UNREACHABLE);
      fail->message = g_strdup (error->message);
      return FALSE;
    }

  g_autoptr (GPtrArray) order = reconcile_service_order (p);
  for (guint i = 0; i < order->len; i++)
    {
      const CaraService *svc = g_ptr_array_index (order, i);
      g_autofree char *hash = NULL;
      g_autoptr (JsonNode) body = reconcile_container_body (p, svc, cfg->node_name, network, volumes, &hash, &error);
      if (body == NULL)
        {
          fail->reason = "InvalidSpec";
          fail->transient = error_is_transient (error);
          fail->message = g_strdup (error->message);
          return FALSE;
        }
      if (!agent_secrets_apply (cfg, p, svc, secrets, body, &hash, &error))
        {
          fail->reason = "SecretUnavailable";
          fail->message = g_strdup_printf ("service %s: %s", svc->name, error->message);
          return FALSE;
        }

      JsonObject *current = NULL;
      for (guint j = 0; j < json_array_get_length (existing); j++)
        {
          JsonObject *c = json_array_get_object_element (existing, j);
          if (g_strcmp0 (docker_labels_get (c, AGENT_LABEL_SERVICE), svc->name) == 0)
            {
              if (current == NULL && g_strcmp0 (docker_labels_get (c, AGENT_LABEL_HASH), hash) == 0)
                current = c;
            }
        }
      /* An update without downtime (SPEC §13), or the rest of one an agent restart interrupted. */
      g_autofree char *rolled = NULL;
      const char *roll_reason = NULL;
      g_autofree char *roll_message = NULL;
      switch (rollout_service (dc, cfg, p, svc, body, existing, current, &rolled, &roll_reason, &roll_message, &error))
        {
        case ROLLOUT_STEP_HELD:
          g_hash_table_insert (current_ids, svc->name, g_steal_pointer (&rolled));
          continue;
        case ROLLOUT_STEP_FAILED:
          fail->reason = roll_reason;
          fail->update_failed = TRUE;
          fail->message = g_steal_pointer (&roll_message);
          return FALSE;
        case ROLLOUT_STEP_ERROR:
          fail->reason = "ContainerCreateFailed";
          fail->transient = error_is_transient (error);
          fail->message = g_strdup_printf ("service %s: %s", svc->name, error->message);
          return FALSE;
        case ROLLOUT_STEP_DONE:
          fail->replaced = TRUE;
          g_hash_table_insert (current_ids, svc->name, g_strdup (rolled));
          break;
        case ROLLOUT_STEP_NONE:
        default:
          break;
        }
      /* Containers made and removed by the update: the list no longer says what is there. */
      if (rolled != NULL)
        disturbed = TRUE;
      /* Every other container of this service is out of date. */
      gboolean replaced_here = FALSE;
      for (guint j = 0; j < json_array_get_length (existing); j++)
        {
          JsonObject *c = json_array_get_object_element (existing, j);
          if (c != current && g_strcmp0 (docker_labels_get (c, AGENT_LABEL_SERVICE), svc->name) == 0)
            {
              if (rolled == NULL)
                cara_log_service (G_LOG_LEVEL_INFO, project, svc->name, "Replacing container %.12s (spec changed)",
                                  cara_json_object_string (c, "Id"));
              if (rolled == NULL && current == NULL)
                fail->replaced = replaced_here = TRUE;
              g_hash_table_add (removed, (gpointer) cara_json_object_string (c, "Id"));
              remove_container (dc, cfg, project, svc->name, cara_json_object_string (c, "Id"));
            }
        }

      if (rolled)
        continue;

      /* Not started before its dependsOn conditions hold (a running container stays as it is). */
      if (current == NULL || g_strcmp0 (cara_json_object_string (current, "State"), "created") == 0)
        {
          g_autofree char *why = NULL;
          ReconcileDepends d = reconcile_depends_check (dc, p, svc, current_ids, &why);
          if (d == RECONCILE_DEPENDS_FAILED)
            {
              fail->reason = "DependencyFailed";
              fail->message = g_strdup_printf ("service %s: %s", svc->name, why);
              return FALSE;
            }
          if (d == RECONCILE_DEPENDS_WAIT)
            {
              cara_log_service (G_LOG_LEVEL_DEBUG, project, svc->name, "Not starting yet: %s", why);
              g_hash_table_insert (waiting, svc->name, g_steal_pointer (&why));
              continue;
            }
        }

      if (current)
        g_hash_table_insert (current_ids, svc->name, g_strdup (cara_json_object_string (current, "Id")));
      if (current)
        {
          gboolean never_started = g_strcmp0 (cara_json_object_string (current, "State"), "created") == 0;
          if (start && wants_start (current, svc->restart_policy, dc)
              && (never_started || own_restart_allowed (cara_json_object_string (current, "Id"))))
            {
              cara_log_service (G_LOG_LEVEL_INFO, project, svc->name, "Starting container %.12s",
                                cara_json_object_string (current, "Id"));
              g_clear_error (&error);
              inspect_cache_forget (cara_json_object_string (current, "Id"));
              if (docker_container_start (dc, cara_json_object_string (current, "Id"), &error))
                {
                  /* A stopped one started again shows as a restart (observed.c). */
                  if (never_started)
                    agent_event (CARA_EVENT_NORMAL, "Started", project, "Started container %.12s of service %s",
                                 cara_json_object_string (current, "Id"), svc->name);
                  continue;
                }
              if (error_is_transient (error))
                {
                  cara_log_service (G_LOG_LEVEL_WARNING, project, svc->name, "Failed to start container: %s",
                                    error->message);
                  continue;
                }
              /* Docker refused this container for good (after a dockerd restart that outran its
               * shutdown timeout: "id already in use"): a new one is the only way to run the service. */
              cara_log_service (G_LOG_LEVEL_WARNING, project, svc->name,
                                "Failed to start container %.12s: %s; replacing it", cara_json_object_string (current, "Id"),
                                error->message);
              g_hash_table_add (removed, (gpointer) cara_json_object_string (current, "Id"));
              remove_container (dc, cfg, project, svc->name, cara_json_object_string (current, "Id"));
              g_clear_error (&error);
            }
          else
            continue;
        }

      /* Created first: only when Docker says the image is not here is it pulled (and made again). */
      g_autofree char *id = NULL;
      g_clear_error (&error);
      gboolean made = create_container (dc, cfg, project, svc, body, &disturbed, &id, &error);
      if (!made && image_missing (error))
        {
          g_clear_error (&error);
          if (!pull_image (dc, cfg, p, secrets, svc, fail))
            return FALSE;
          made = create_container (dc, cfg, project, svc, body, &disturbed, &id, &error);
        }
      if (!made)
        {
          fail->reason = "ContainerCreateFailed";
          fail->transient = error_is_transient (error);
          fail->message = g_strdup_printf ("service %s: %s", svc->name, error->message);
          return FALSE;
        }
      if (!start)
        {
          cara_log_service (G_LOG_LEVEL_INFO, project, svc->name, "Created container %.12s (%s), not started", id,
                            svc->image);
          json_array_add_object_element (added, summary_new (cfg, project, svc->name, hash, id, "created"));
          g_hash_table_insert (current_ids, svc->name, g_steal_pointer (&id));
          continue;
        }
      /* Its start event is no news, and what an inspect would answer is known: the status comes
       * from what create and start returned. */
      guint64 seq = inspect_cache_expect (id, "start");
      if (!docker_container_start (dc, id, &error))
        {
          inspect_cache_forget (id);
          fail->reason = "ContainerStartFailed";
          fail->transient = error_is_transient (error);
          fail->message = g_strdup_printf ("service %s: start: %s", svc->name, error->message);
          return FALSE;
        }
      g_autoptr (JsonObject) info = inspect_cache_started (id, svc->healthcheck && svc->healthcheck->command
                                                               && svc->healthcheck->command[0],
                                                           json_object_get_member (json_node_get_object (body),
                                                                                   "StopTimeout"));
      inspect_cache_put (id, seq, info);
      json_array_add_object_element (added, summary_new (cfg, project, svc->name, hash, id, "running"));
      cara_log_service (G_LOG_LEVEL_INFO, project, svc->name, "Started container %.12s (%s)", id, svc->image);
      agent_event (CARA_EVENT_NORMAL, "Started", project, "Started container %.12s of service %s (%s)", id, svc->name,
                   svc->image);
      /* A StopFirst update (SPEC §13) is watched as a StartFirst one: not up in time, it failed. */
      const char *up_reason = NULL;
      g_autofree char *up_message = NULL;
      if (replaced_here && !rollout_watch (dc, p, svc, id, &up_reason, &up_message, &error))
        {
          remove_container (dc, cfg, project, svc->name, id);
          fail->reason = up_reason ? up_reason : "ContainerStartFailed";
          fail->update_failed = up_reason != NULL;
          fail->transient = up_reason == NULL && error_is_transient (error);
          fail->message = up_reason ? g_steal_pointer (&up_message)
                                    : g_strdup_printf ("service %s: %s", svc->name, error->message);
          return FALSE;
        }
      g_hash_table_insert (current_ids, svc->name, g_steal_pointer (&id));
    }

  /* Services removed from the spec. */
  for (guint j = 0; j < json_array_get_length (existing); j++)
    {
      JsonObject *c = json_array_get_object_element (existing, j);
      const char *service = docker_labels_get (c, AGENT_LABEL_SERVICE);
      if (service == NULL || cara_project_find_service (p, service) == NULL)
        {
          cara_log_service (G_LOG_LEVEL_INFO, project, service, "Removing container %.12s (service gone)",
                            cara_json_object_string (c, "Id"));
          g_hash_table_add (removed, (gpointer) cara_json_object_string (c, "Id"));
          remove_container (dc, cfg, project, service, cara_json_object_string (c, "Id"));
        }
    }
  if (ret_view != NULL && !disturbed)
    {
      JsonArray *view = json_array_new ();
      for (guint j = 0; j < json_array_get_length (existing); j++)
        {
          JsonObject *c = json_array_get_object_element (existing, j);
          if (!g_hash_table_contains (removed, cara_json_object_string (c, "Id")))
            json_array_add_object_element (view, json_object_ref (c));
        }
      for (guint j = 0; j < json_array_get_length (added); j++)
        json_array_add_object_element (view, json_object_ref (json_array_get_object_element (added, j)));
      *ret_view = view;
    }
  return TRUE;
}

/* ---------------------------------------------------------------- observe */

/* The ServicesReady condition, without times: the report's text then changes only when the
 * condition does (the worker sends changes only), and the server dates the transitions. */
static void
set_ready (CaraStatusReport *r, gboolean ready, const char *reason, const char *message)
{
  cara_conditions_remove (r->conditions, "ServicesReady");
  g_ptr_array_add (r->conditions, cara_condition_new ("ServicesReady", ready ? "True" : "False", reason, message));
}

/* How often a project whose services wait for a dependsOn condition is looked at again. */
#define DEPENDS_RECHECK_USEC (G_USEC_PER_SEC / 2)

/* Whether another service waits for @name to complete (dependsOn condition Completed): its exit
 * with code 0 is then the end of its work, not a crash. */
static gboolean
is_completed_dependency (const CaraProject *p, const char *name)
{
  for (guint i = 0; i < p->spec.services->len; i++)
    {
      const CaraService *s = g_ptr_array_index (p->spec.services, i);
      for (guint j = 0; s->depends_on != NULL && s->depends_on[j] != NULL; j++)
        if (g_strcmp0 (s->depends_on[j], name) == 0 &&
            cara_service_depend_condition (s, j) == CARA_DEPEND_CONDITION_COMPLETED)
          return TRUE;
    }
  return FALSE;
}

/* @current_ids: as ensure_services() left it, or NULL when nothing was applied (every container
 * found then counts as current). */
/* @view: the project's containers as ensure_services() left them, or NULL: listed here. */
static CaraStatusReport *
observe (DockerClient *dc, const AgentConfig *cfg, const CaraProject *p, GHashTable *current_ids,
         GHashTable *waiting, JsonArray *view, gint64 *ret_recheck_usec)
{
  gint64 recheck = 0;
  g_autoptr (CaraStatusReport) r = cara_status_report_new ();
  r->has_services = TRUE;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) filters = filters_for (cfg, p->metadata.name, NULL);
  g_autoptr (JsonArray) list = view ? json_array_ref (view)
                                    : docker_container_list (dc, (const char *const *) filters, &error);
  if (list == NULL && error_is_transient (error))
    return NULL;
  if (list == NULL)
    {
      r->phase = CARA_PROJECT_PHASE_FAILED;
      r->reason = g_strdup ("InspectError");
      r->message = g_strdup (error->message);
      return g_steal_pointer (&r);
    }

  g_autoptr (GString) crashed = g_string_new (NULL);
  g_autoptr (GString) missing = g_string_new (NULL);
  g_autofree ReadinessService *ready_in = g_new0 (ReadinessService, MAX (p->spec.services->len, 1));
  for (guint i = 0; i < p->spec.services->len; i++)
    {
      const CaraService *svc = g_ptr_array_index (p->spec.services, i);
      CaraServiceStatus *ss = cara_service_status_new (svc->name);
      g_ptr_array_add (r->services, ss);
      ReadinessService *rs = &ready_in[i];
      rs->name = svc->name;
      rs->has_healthcheck = svc->healthcheck && svc->healthcheck->command && svc->healthcheck->command[0];
      const char *want = current_ids ? g_hash_table_lookup (current_ids, svc->name) : NULL;
      const char *id = NULL;
      gint64 created = 0;
      for (guint j = 0; j < json_array_get_length (list); j++)
        {
          JsonObject *c = json_array_get_object_element (list, j);
          if (g_strcmp0 (docker_labels_get (c, AGENT_LABEL_SERVICE), svc->name) != 0)
            continue;
          if (id == NULL || g_strcmp0 (cara_json_object_string (c, "Id"), want) == 0)
            {
              id = cara_json_object_string (c, "Id");
              created = json_object_get_int_member_with_default (c, "Created", 0) * G_USEC_PER_SEC;
            }
        }
      /* Known until Docker's events say otherwise. */
      guint64 seq = 0;
      g_autoptr (JsonObject) info = id ? inspect_cache_get (id, &seq) : NULL;
      if (id != NULL && info == NULL)
        {
          info = docker_container_inspect (dc, id, NULL);
          if (info != NULL)
            inspect_cache_put (id, seq, info);
        }
      const char *wait_why = waiting != NULL ? g_hash_table_lookup (waiting, svc->name) : NULL;
      /* Held back by a dependsOn condition: starting, and looked at again soon. */
      if (wait_why != NULL)
        recheck = recheck ? MIN (recheck, DEPENDS_RECHECK_USEC) : DEPENDS_RECHECK_USEC;
      if (info == NULL && wait_why != NULL)
        {
          ss->state = g_strdup ("waiting");
          continue;
        }
      if (info == NULL)
        {
          ss->state = g_strdup ("missing");
          g_string_append_printf (missing, "%s%s", missing->len ? ", " : "", svc->name);
          continue;
        }
      rs->current = current_ids == NULL || g_strcmp0 (id, want) == 0;
      JsonObject *st = cara_json_object_object (info, "State");
      ss->container_id = g_strdup (id);
      ss->state = g_strdup (cara_json_object_string (st, "Status"));
      ss->restart_count = json_object_get_int_member_with_default (info, "RestartCount", 0) + own_restart_count (id);
      ss->health = g_strdup (cara_json_object_string (cara_json_object_object (st, "Health"), "Status"));
      gint64 code = st ? json_object_get_int_member_with_default (st, "ExitCode", 0) : 0;
      gboolean stopped = g_strcmp0 (ss->state, "exited") == 0 || g_strcmp0 (ss->state, "dead") == 0;
      /* Always/OnFailure: Docker brings it back (and so do we, for a stopped one).  Never: it is over. */
      gboolean done = stopped && code == 0 && is_completed_dependency (p, svc->name);
      if (stopped && (svc->restart_policy == CARA_RESTART_POLICY_NEVER) && !done)
        g_string_append_printf (crashed, "%sservice %s exited with code %" G_GINT64_FORMAT, crashed->len ? "; " : "",
                                svc->name, code);
      rs->state = ss->state;
      rs->health = ss->health;
      rs->completed = done || (stopped && code == 0 && svc->restart_policy == CARA_RESTART_POLICY_ON_FAILURE);
      rs->recent_restarts = history_observe (p->metadata.name, svc->name, id, ss->restart_count, created);
      rs->uptime_usec = -1;
      g_autoptr (GDateTime) started = cara_json_object_string (st, "StartedAt") ? g_date_time_new_from_iso8601 (cara_json_object_string (st, "StartedAt"), NULL) : NULL;
      if (started && g_strcmp0 (ss->state, "running") == 0)
        {
          gint64 t = g_date_time_to_unix (started) * G_USEC_PER_SEC + g_date_time_get_microsecond (started);
          rs->uptime_usec = MAX (g_get_real_time () - t, 0);
          /* Look again when it has been up long enough to count as ready. */
          if (!rs->has_healthcheck && rs->uptime_usec < READINESS_MIN_UPTIME_USEC)
            recheck = recheck ? MIN (recheck, READINESS_MIN_UPTIME_USEC - rs->uptime_usec)
                              : READINESS_MIN_UPTIME_USEC - rs->uptime_usec;
        }
    }

  /* A Completed dependency that failed while its dependent waited: that is the reason. */
  g_autofree char *dependency_failed = NULL;
  if (waiting != NULL && current_ids != NULL)
    {
      GHashTableIter it;
      gpointer k;
      g_hash_table_iter_init (&it, waiting);
      while (dependency_failed == NULL && g_hash_table_iter_next (&it, &k, NULL))
        {
          const CaraService *ws = cara_project_find_service (p, k);
          g_autofree char *why = NULL;
          if (ws && reconcile_depends_check (dc, p, ws, current_ids, &why) == RECONCILE_DEPENDS_FAILED)
            dependency_failed = g_strdup_printf ("service %s: %s", ws->name, why);
        }
    }

  if (dependency_failed)
    {
      r->phase = CARA_PROJECT_PHASE_FAILED;
      r->reason = g_strdup ("DependencyFailed");
      r->message = g_steal_pointer (&dependency_failed);
    }
  else if (crashed->len)
    {
      r->phase = CARA_PROJECT_PHASE_FAILED;
      r->reason = g_strdup ("ContainerExited");
      r->message = g_strdup_printf ("%c%s", g_ascii_toupper (crashed->str[0]), crashed->str + 1);
    }
  else if (missing->len)
    {
      r->phase = CARA_PROJECT_PHASE_FAILED;
      r->reason = g_strdup ("ContainerMissing");
      r->message = g_strdup_printf ("Missing containers for services: %s", missing->str);
    }
  else
    {
      r->phase = CARA_PROJECT_PHASE_RUNNING;
      g_autofree char *why = NULL;
      ReadinessReason verdict = readiness_decide (ready_in, p->spec.services->len, &why);
      if (verdict != READINESS_READY && waiting != NULL && g_hash_table_size (waiting) > 0)
        {
          g_autoptr (GString) w = g_string_new (why);
          GHashTableIter it;
          gpointer k, v;
          g_hash_table_iter_init (&it, waiting);
          while (g_hash_table_iter_next (&it, &k, &v))
            g_string_append_printf (w, "; %s is %s", (const char *) k, (const char *) v);
          g_free (why);
          why = g_string_free (g_steal_pointer (&w), FALSE);
        }
      set_ready (r, verdict == READINESS_READY, readiness_reason_to_string (verdict), why);
      /* Not "All containers running" while one is crash-looping: ServicesReady says which. */
      r->reason = g_strdup (verdict == READINESS_READY ? "ContainersRunning" : "ServicesNotReady");
      r->message = g_strdup (verdict == READINESS_READY ? "All containers running" : "Not every service is ready yet");
    }
  if (r->phase == CARA_PROJECT_PHASE_FAILED)
    set_ready (r, FALSE, "Failed", r->message);
  if (ret_recheck_usec)
    *ret_recheck_usec = recheck;
  return g_steal_pointer (&r);
}

static gboolean
network_went_away (const Failure *fail)
{
  return fail->message != NULL && strstr (fail->message, "network") != NULL && strstr (fail->message, "not found") != NULL;
}

/* An update that did not come up (SPEC §13): the old containers keep serving, so the project is
 * as it was; Rollback asks the server for the previous revision, Pause holds this one. */
static CaraStatusReport *
rollout_failed_report (DockerClient *dc, const AgentConfig *cfg, const CaraProject *p, GHashTable *current_ids,
                       GHashTable *waiting, Failure *fail)
{
  g_autofree char *message = fail->message;
  gint64 gen = p->metadata.generation;
  gboolean pause = p->spec.update.failure_action == CARA_FAILURE_ACTION_PAUSE;
  rollout_give_up (p->metadata.name, gen);
  g_autoptr (CaraStatusReport) r = observe (dc, cfg, p, current_ids, waiting, NULL, NULL);
  if (r == NULL)
    return NULL;
  g_autofree char *text = g_strdup_printf ("Update to generation %" G_GINT64_FORMAT " %s: %s", gen,
                                           pause ? "paused" : "failed", message);
  if (r->phase == CARA_PROJECT_PHASE_FAILED && !pause)
    {
      /* A StopFirst update leaves the service without a container until the previous spec is
       * back: the update failed, not the project (a Failed project would be scheduled anew). */
      r->phase = CARA_PROJECT_PHASE_RUNNING;
      g_free (r->reason);
      g_free (r->message);
      r->reason = g_strdup ("UpdateFailed");
      r->message = g_strdup (text);
    }
  cara_conditions_remove (r->conditions, pause ? "UpdatePaused" : "UpdateFailed");
  g_ptr_array_add (r->conditions, cara_condition_new (pause ? "UpdatePaused" : "UpdateFailed", "True", fail->reason, text));
  if (!pause)
    {
      r->rollback_generation = gen;
      r->rollback_reason = g_strdup (message);
    }
  rollout_event (p->metadata.name, "Warning", pause ? "UpdatePaused" : "UpdateFailed", "%s", text);
  return g_steal_pointer (&r);
}

/* The spec is rolled out once every service runs it and is ready: observedGeneration; an update
 * that went through clears the last one's failure. */
static void
rollout_completed_report (CaraStatusReport *r, const CaraProject *p, gboolean replaced)
{
  CaraCondition *ready = cara_conditions_find (r->conditions, "ServicesReady");
  if (r->phase != CARA_PROJECT_PHASE_RUNNING || ready == NULL || g_strcmp0 (ready->status, "True") != 0)
    return;
  if (rollout_given_up (p->metadata.name) == p->metadata.generation)
    return; /* held (Pause): the old containers run, this generation is not rolled out */
  r->observed_generation = p->metadata.generation;
  if (!replaced)
    return;
  g_ptr_array_add (r->conditions, cara_condition_new ("UpdateFailed", "False", "Updated", "The last update went through"));
  g_ptr_array_add (r->conditions, cara_condition_new ("UpdatePaused", "False", "Updated", "The last update went through"));
  rollout_event (p->metadata.name, "Normal", "UpdateCompleted", "generation %" G_GINT64_FORMAT " rolled out",
                 p->metadata.generation);
}

CaraStatusReport *
reconcile_ensure (DockerClient *dc, const AgentConfig *cfg, const CaraProject *p, gboolean apply,
                  gint64 *ret_recheck_usec)
{
  if (ret_recheck_usec)
    *ret_recheck_usec = 0;
  Failure fail = { 0 };
  g_autoptr (GHashTable) current_ids = apply ? g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free) : NULL;
  g_autoptr (GHashTable) waiting = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autoptr (JsonArray) view = NULL;
  gboolean ok = !apply || ensure_services (dc, cfg, p, current_ids, waiting, TRUE, &fail, &view);
  if (!ok && network_went_away (&fail))
    {
      /* Removed behind our back (docker network rm) before its event reached us: made again. */
      cara_log_project (G_LOG_LEVEL_INFO, p->metadata.name, "Its network is gone (%s); making it again", fail.message);
      networks_forget_project (p->metadata.name);
      g_clear_pointer (&fail.message, g_free);
      fail = (Failure) { 0 };
      g_hash_table_remove_all (current_ids);
      g_hash_table_remove_all (waiting);
      g_clear_pointer (&view, json_array_unref);
      ok = ensure_services (dc, cfg, p, current_ids, waiting, TRUE, &fail, &view);
    }
  if (!ok && fail.update_failed)
    return rollout_failed_report (dc, cfg, p, current_ids, waiting, &fail);
  if (!ok)
    {
      if (fail.transient)
        {
          cara_log_project (G_LOG_LEVEL_WARNING, p->metadata.name, "Docker did not answer (%s); "
                            "retrying when it does", fail.message);
          g_free (fail.message);
          return NULL;
        }
      cara_log_project (G_LOG_LEVEL_WARNING, p->metadata.name, "Reconcile failed: %s", fail.message);
      g_autoptr (CaraStatusReport) r = observe (dc, cfg, p, current_ids, waiting, NULL, NULL);
      if (r == NULL)
        r = cara_status_report_new ();
      r->phase = CARA_PROJECT_PHASE_FAILED;
      g_free (r->reason);
      g_free (r->message);
      r->reason = g_strdup (fail.reason);
      /* The worker says when it retries by itself (SPEC §13 back-off). */
      r->message = g_steal_pointer (&fail.message);
      set_ready (r, FALSE, "Failed", r->message);
      return g_steal_pointer (&r);
    }
  CaraStatusReport *r = observe (dc, cfg, p, current_ids, waiting, view, ret_recheck_usec);
  if (r && apply)
    rollout_completed_report (r, p, fail.replaced);
  return r;
}

gboolean
reconcile_prepare (DockerClient *dc, const AgentConfig *cfg, const CaraProject *p, GError **error)
{
  Failure fail = { 0 };
  g_autoptr (GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autoptr (GHashTable) waiting = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  if (ensure_services (dc, cfg, p, ids, waiting, FALSE, &fail, NULL))
    return TRUE;
  g_set_error (error, CARA_ERROR, fail.transient ? CARA_ERROR_UNAVAILABLE : CARA_ERROR_FAILED, "%s: %s", fail.reason,
               fail.message);
  g_free (fail.message);
  return FALSE;
}

/* ---------------------------------------------------------------- teardown */

typedef struct {
  const AgentConfig *cfg;
  const char *project;
  char *service;
  char *id;
} RemoveJob;

static gpointer
remove_thread (gpointer data)
{
  RemoveJob *j = data;
  g_autoptr (DockerClient) dc = docker_client_new (j->cfg->docker_host, NULL);
  if (dc)
    remove_container (dc, j->cfg, j->project, j->service, j->id);
  g_free (j->service);
  g_free (j->id);
  g_free (j);
  return NULL;
}

gboolean
reconcile_teardown (DockerClient *dc, const AgentConfig *cfg, const char *project, GError **error)
{
  g_auto (GStrv) filters = filters_for (cfg, project, NULL);
  g_autoptr (JsonArray) containers = docker_container_list (dc, (const char *const *) filters, error);
  if (containers == NULL)
    return FALSE;
  guint removed = json_array_get_length (containers);
  /* Stops run in parallel: each may wait out the stop timeout. */
  g_autoptr (GPtrArray) threads = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (containers); i++)
    {
      JsonObject *c = json_array_get_object_element (containers, i);
      RemoveJob *j = g_new0 (RemoveJob, 1);
      j->cfg = cfg;
      j->project = project;
      j->service = g_strdup (docker_labels_get (c, AGENT_LABEL_SERVICE));
      j->id = g_strdup (cara_json_object_string (c, "Id"));
      g_ptr_array_add (threads, g_thread_new ("remove", remove_thread, j));
    }
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));

  g_autoptr (JsonArray) nets = docker_network_list (dc, (const char *const *) filters, error);
  if (nets == NULL)
    return FALSE;
  removed += json_array_get_length (nets);
  for (guint i = 0; i < json_array_get_length (nets); i++)
    {
      const char *id = cara_json_object_string (json_array_get_object_element (nets, i), "Id");
      g_autoptr (GError) local = NULL;
      if (!docker_network_remove (dc, id, &local) && !g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local), "remove network: ");
          return FALSE;
        }
    }

  g_auto (GStrv) vfilters = filters_for (cfg, project, AGENT_LABEL_VOLUME_TYPE "=Ephemeral");
  g_autoptr (JsonArray) vols = docker_volume_list (dc, (const char *const *) vfilters, error);
  if (vols == NULL)
    return FALSE;
  removed += json_array_get_length (vols);
  for (guint i = 0; i < json_array_get_length (vols); i++)
    {
      const char *name = cara_json_object_string (json_array_get_object_element (vols, i), "Name");
      g_autoptr (GError) local = NULL;
      if (!docker_volume_remove (dc, name, &local) && !g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local), "remove volume %s: ", name);
          return FALSE;
        }
    }
  history_forget_project (project);
  networks_forget_project (project);
  agent_secrets_remove (cfg, project);
  if (removed > 0)
    cara_log_project (G_LOG_LEVEL_INFO, project, "Removed %u Docker objects (containers, network, ephemeral volumes)", removed);
  return TRUE;
}

GHashTable *
reconcile_local_projects (DockerClient *dc, const AgentConfig *cfg, GError **error)
{
  g_auto (GStrv) filters = filters_for (cfg, NULL, NULL);
  g_autoptr (GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (JsonArray) containers = docker_container_list (dc, (const char *const *) filters, error);
  if (containers == NULL)
    return NULL;
  g_autoptr (JsonArray) nets = docker_network_list (dc, (const char *const *) filters, error);
  if (nets == NULL)
    return NULL;
  g_auto (GStrv) vfilters = filters_for (cfg, NULL, AGENT_LABEL_VOLUME_TYPE "=Ephemeral");
  g_autoptr (JsonArray) vols = docker_volume_list (dc, (const char *const *) vfilters, error);
  if (vols == NULL)
    return NULL;
  JsonArray *all[] = { containers, nets, vols };
  for (guint k = 0; k < G_N_ELEMENTS (all); k++)
    for (guint i = 0; i < json_array_get_length (all[k]); i++)
      {
        const char *project = docker_labels_get (json_array_get_object_element (all[k], i), AGENT_LABEL_PROJECT);
        if (project)
          g_hash_table_add (names, g_strdup (project));
      }
  return g_steal_pointer (&names);
}
