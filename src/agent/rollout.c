/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-agent"

#include <string.h>

#include "cara-error.h"
#include "cara-log.h"
#include "rollout-decide.h"
#include "rollout.h"
#include "event-reporter.h"

#define POLL_USEC (50 * 1000)

static Proxy *rollout_proxy;
static GMutex given_up_lock;
static GHashTable *given_up; /* project -> gint64 generation (boxed) */

void
rollout_set_proxy (Proxy *px)
{
  rollout_proxy = px;
}

gint64
rollout_given_up (const char *project)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&given_up_lock);
  gint64 *g = given_up ? g_hash_table_lookup (given_up, project) : NULL;
  return g ? *g : 0;
}

void
rollout_give_up (const char *project, gint64 generation)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&given_up_lock);
  if (given_up == NULL)
    given_up = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_replace (given_up, g_strdup (project), g_memdup2 (&generation, sizeof generation));
}

void
rollout_event (const char *project, const char *type, const char *reason, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  /* The journal, and the server's events API (event-reporter.h). */
  gboolean warning = g_strcmp0 (type, "Warning") == 0;
  cara_log_project (warning ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_INFO, project,
                    "Event %s %s project/%s: %s", type, reason, project, msg);
  agent_event (warning ? CARA_EVENT_WARNING : CARA_EVENT_NORMAL, reason, project, "%s", msg);
}

static JsonObject *
obj (JsonObject *o, const char *member)
{
  JsonNode *n = o ? json_object_get_member (o, member) : NULL;
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static const char *
str (JsonObject *o, const char *member)
{
  return o ? json_object_get_string_member_with_default (o, member, NULL) : NULL;
}

/* The container's address on the project network. */
static char *
container_ip (JsonObject *info)
{
  JsonObject *nets = obj (obj (info, "NetworkSettings"), "Networks");
  g_autoptr (GList) names = nets ? json_object_get_members (nets) : NULL;
  for (GList *l = names; l; l = l->next)
    {
      const char *ip = str (obj (nets, l->data), "IPAddress");
      if (ip && *ip && g_str_has_prefix (l->data, "cara-"))
        return g_strdup (ip);
    }
  return NULL;
}

static gint64
started_usec (JsonObject *state)
{
  g_autoptr (GDateTime) t = str (state, "StartedAt") ? g_date_time_new_from_iso8601 (str (state, "StartedAt"), NULL) : NULL;
  return t ? g_date_time_to_unix (t) * G_USEC_PER_SEC + g_date_time_get_microsecond (t) : 0;
}

static void
remove_quietly (DockerClient *dc, const char *id)
{
  g_autoptr (GError) e = NULL;
  if (!docker_container_remove (dc, id, &e) && !g_error_matches (e, CARA_ERROR, CARA_ERROR_NOT_FOUND))
    g_debug ("remove %.12s: %s", id, e->message);
}

/* Waits until the new container is up or the update failed. */
static gboolean
wait_up (DockerClient *dc, const CaraProject *p, const CaraService *svc, const char *id, const char **ret_reason,
         char **ret_message, GError **error)
{
  gint64 t0 = g_get_monotonic_time ();
  for (;;)
    {
      g_autoptr (JsonObject) info = docker_container_inspect (dc, id, error);
      if (info == NULL)
        return FALSE;
      JsonObject *st = obj (info, "State");
      gint64 started = started_usec (st);
      RolloutObservation o = {
        .has_healthcheck = rollout_service_has_healthcheck (svc),
        .state = str (st, "Status"),
        .health = str (obj (st, "Health"), "Status"),
        .restart_count = json_object_get_int_member_with_default (info, "RestartCount", 0),
        .exit_code = st ? json_object_get_int_member_with_default (st, "ExitCode", 0) : 0,
        .running_usec = started > 0 ? MAX (g_get_real_time () - started, 0) : 0,
        .elapsed_usec = g_get_monotonic_time () - t0,
      };
      RolloutVerdict v = rollout_judge (p, svc, &o, ret_reason, ret_message);
      if (v == ROLLOUT_UP)
        return TRUE;
      if (v == ROLLOUT_FAILED)
        return FALSE;
      g_usleep (POLL_USEC);
    }
}

/* After the switch: the old container answers what it still has in flight (up to the grace
 * period), then stops and goes. */
static void
retire (DockerClient *dc, const AgentConfig *cfg, const CaraProject *p, const CaraService *svc, const char *old_id,
        const char *old_ip)
{
  /* The service's stopGracePeriodSeconds when it has one, as for any other stop. */
  gint64 grace_s = svc->stop_grace_period_seconds >= 0 ? svc->stop_grace_period_seconds : (gint64) cfg->stop_timeout_s;
  gint64 deadline = g_get_monotonic_time () + grace_s * G_USEC_PER_SEC;
  while (old_ip && proxy_in_flight_to (rollout_proxy, old_ip) > 0 && g_get_monotonic_time () < deadline)
    g_usleep (10 * 1000);
  gint64 left = MAX (deadline - g_get_monotonic_time (), 0);
  g_autoptr (GError) e = NULL;
  if (!docker_container_stop (dc, old_id, (int) ((left + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC), &e)
      && !g_error_matches (e, CARA_ERROR, CARA_ERROR_NOT_FOUND))
    cara_log_service (G_LOG_LEVEL_DEBUG, p->metadata.name, svc->name, "Stop container %.12s: %s, ignoring", old_id,
                      e->message);
  remove_quietly (dc, old_id);
}

gboolean
rollout_watch (DockerClient *dc, const CaraProject *p, const CaraService *svc, const char *id,
               const char **ret_failure_reason, char **ret_failure_message, GError **error)
{
  *ret_failure_reason = NULL;
  *ret_failure_message = NULL;
  rollout_event (p->metadata.name, "Normal", "UpdateStarted", "service %s: generation %" G_GINT64_FORMAT
                 " in place of the old container (StopFirst)", svc->name, p->metadata.generation);
  return wait_up (dc, p, svc, id, ret_failure_reason, ret_failure_message, error);
}

gboolean
rollout_replace (DockerClient *dc, const AgentConfig *cfg, const CaraProject *p, const CaraService *svc,
                 JsonNode *body, const char *old_id, const char *old_name, const char *next_id, char **ret_id,
                 const char **ret_failure_reason, char **ret_failure_message, GError **error)
{
  const char *project = p->metadata.name;
  g_autofree char *next_name = g_str_has_suffix (old_name, AGENT_ROLLOUT_NEXT_SUFFIX)
                                   ? g_strdup (old_name) : g_strconcat (old_name, AGENT_ROLLOUT_NEXT_SUFFIX, NULL);
  g_autofree char *final_name = g_str_has_suffix (old_name, AGENT_ROLLOUT_NEXT_SUFFIX)
                                    ? g_strndup (old_name, strlen (old_name) - strlen (AGENT_ROLLOUT_NEXT_SUFFIX))
                                    : g_strdup (old_name);
  g_autofree char *id = g_strdup (next_id);
  *ret_failure_reason = NULL;
  *ret_failure_message = NULL;

  rollout_event (project, "Normal", "UpdateStarted", "service %s: starting generation %" G_GINT64_FORMAT
                 " beside container %.12s", svc->name, p->metadata.generation, old_id);
  if (id == NULL)
    {
      g_autoptr (GError) local = NULL;
      if (!docker_container_create (dc, next_name, body, &id, &local))
        {
          if (!g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT))
            {
              g_propagate_prefixed_error (error, g_steal_pointer (&local), "create container %s: ", next_name);
              return FALSE;
            }
          /* A leftover -next of an older spec (its own agent would have reused it otherwise). */
          g_autoptr (JsonObject) holder = docker_container_inspect (dc, next_name, NULL);
          JsonObject *hcfg = obj (holder, "Config");
          if (hcfg == NULL || g_strcmp0 (docker_labels_get (hcfg, AGENT_LABEL_NODE), cfg->node_name) != 0)
            {
              g_propagate_prefixed_error (error, g_steal_pointer (&local), "create container %s: ", next_name);
              return FALSE;
            }
          remove_quietly (dc, str (holder, "Id"));
          g_clear_pointer (&id, g_free);
          if (!docker_container_create (dc, next_name, body, &id, error))
            return FALSE;
        }
    }
  if (!docker_container_start (dc, id, error))
    {
      remove_quietly (dc, id);
      return FALSE;
    }
  cara_log_service (G_LOG_LEVEL_INFO, project, svc->name, "Started container %.12s (%s) beside %.12s", id,
                    svc->image, old_id);
  const char *reason = NULL;
  g_autofree char *message = NULL;
  g_autoptr (GError) local = NULL;
  if (!wait_up (dc, p, svc, id, &reason, &message, &local))
    {
      remove_quietly (dc, id);
      if (local)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      *ret_failure_reason = reason;
      *ret_failure_message = g_steal_pointer (&message);
      return FALSE;
    }

  /* Up: new requests go to it, then the old one retires. */
  g_autoptr (JsonObject) old_info = docker_container_inspect (dc, old_id, NULL);
  g_autofree char *old_ip = old_info ? container_ip (old_info) : NULL;
  proxy_update (rollout_proxy, dc, cfg, p);
  retire (dc, cfg, p, svc, old_id, old_ip);
  g_autofree char *esc = cara_http_escape (final_name);
  g_autofree char *path = g_strdup_printf ("/containers/%s/rename?name=%s", id, esc);
  g_autoptr (GError) rename_error = NULL;
  if (!docker_call (dc, "POST", path, NULL, NULL, &rename_error))
    cara_log_service (G_LOG_LEVEL_WARNING, project, svc->name, "Failed to rename container %.12s to %s: %s", id,
                      final_name, rename_error->message);
  cara_log_service (G_LOG_LEVEL_INFO, project, svc->name, "Replaced container %.12s by %.12s (spec changed)", old_id,
                    id);
  *ret_id = g_steal_pointer (&id);
  return TRUE;
}

/* "p-web" of a container list entry ("Names": ["/p-web"]). */
static const char *
summary_name (JsonObject *c)
{
  JsonNode *n = json_object_get_member (c, "Names");
  JsonArray *a = n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
  const char *name = a && json_array_get_length (a) ? json_array_get_string_element (a, 0) : NULL;
  return name && *name == '/' ? name + 1 : name;
}

static gboolean
is_next (JsonObject *c)
{
  const char *name = c ? summary_name (c) : NULL;
  return name && g_str_has_suffix (name, AGENT_ROLLOUT_NEXT_SUFFIX);
}

RolloutStep
rollout_service (DockerClient *dc, const AgentConfig *cfg, const CaraProject *p, const CaraService *svc,
                 JsonNode *body, JsonArray *existing, JsonObject *current, char **ret_id, const char **ret_reason,
                 char **ret_message, GError **error)
{
  if (current != NULL && !is_next (current))
    return ROLLOUT_STEP_NONE;
  /* The old one: a running container of this service from another spec, by its own name. */
  JsonObject *old = NULL;
  for (guint j = 0; j < json_array_get_length (existing); j++)
    {
      JsonObject *c = json_array_get_object_element (existing, j);
      if (c == current || g_strcmp0 (docker_labels_get (c, AGENT_LABEL_SERVICE), svc->name) != 0)
        continue;
      gboolean running = g_strcmp0 (str (c, "State"), "running") == 0;
      if ((running || current != NULL) && (old == NULL || is_next (old)))
        old = c;
    }
  if (old == NULL)
    {
      /* A StopFirst update of this generation was given up: nothing old to keep, nothing new to try. */
      if (current == NULL && rollout_given_up (p->metadata.name) == p->metadata.generation
          && !rollout_start_first (p, svc))
        return ROLLOUT_STEP_HELD;
      if (current == NULL)
        return ROLLOUT_STEP_NONE;
      /* An interrupted update whose old container is gone already: only the name is left to fix. */
      const char *name = summary_name (current);
      g_autofree char *final = g_strndup (name, strlen (name) - strlen (AGENT_ROLLOUT_NEXT_SUFFIX));
      g_autofree char *esc = cara_http_escape (final);
      g_autofree char *path = g_strdup_printf ("/containers/%s/rename?name=%s", str (current, "Id"), esc);
      g_autoptr (GError) e = NULL;
      if (!docker_call (dc, "POST", path, NULL, NULL, &e))
        cara_log_service (G_LOG_LEVEL_WARNING, p->metadata.name, svc->name, "Failed to rename container %.12s to %s: %s",
                          str (current, "Id"), final, e->message);
      return ROLLOUT_STEP_NONE;
    }
  if (current == NULL && !rollout_start_first (p, svc))
    return ROLLOUT_STEP_NONE; /* StopFirst: the caller replaces it as before */
  if (current == NULL && rollout_given_up (p->metadata.name) == p->metadata.generation)
    {
      *ret_id = g_strdup (str (old, "Id"));
      return ROLLOUT_STEP_HELD;
    }
  if (current != NULL)
    cara_log_service (G_LOG_LEVEL_INFO, p->metadata.name, svc->name,
                      "Carrying on with the interrupted update to container %.12s", str (current, "Id"));
  if (rollout_replace (dc, cfg, p, svc, body, str (old, "Id"), summary_name (old), current ? str (current, "Id") : NULL,
                       ret_id, ret_reason, ret_message, error))
    return ROLLOUT_STEP_DONE;
  return *ret_reason ? ROLLOUT_STEP_FAILED : ROLLOUT_STEP_ERROR;
}
