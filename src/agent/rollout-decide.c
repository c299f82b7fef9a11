/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "rollout-decide.h"

#define DOCKER_DEFAULT_INTERVAL_S 30
#define DOCKER_DEFAULT_TIMEOUT_S 30
#define DOCKER_DEFAULT_RETRIES 3

gint64
rollout_monitor_usec (const CaraProject *p)
{
  gint64 s = p->spec.update.monitor_seconds > 0 ? p->spec.update.monitor_seconds : CARA_UPDATE_DEFAULT_MONITOR_SECONDS;
  return s * G_USEC_PER_SEC;
}

gboolean
rollout_service_has_healthcheck (const CaraService *svc)
{
  return svc->healthcheck && svc->healthcheck->command && svc->healthcheck->command[0]
      && g_strcmp0 (svc->healthcheck->command[0], "NONE") != 0;
}

gint64
rollout_healthcheck_budget_usec (const CaraService *svc)
{
  if (!rollout_service_has_healthcheck (svc))
    return 0;
  const CaraHealthcheck *h = svc->healthcheck;
  gint64 interval = h->interval_seconds > 0 ? h->interval_seconds : DOCKER_DEFAULT_INTERVAL_S;
  gint64 timeout = h->timeout_seconds > 0 ? h->timeout_seconds : DOCKER_DEFAULT_TIMEOUT_S;
  gint64 retries = h->retries > 0 ? h->retries : DOCKER_DEFAULT_RETRIES;
  return (interval * retries + timeout) * G_USEC_PER_SEC;
}

gboolean
rollout_start_first (const CaraProject *p, const CaraService *svc)
{
  if (p->spec.update.order == CARA_UPDATE_ORDER_STOP_FIRST)
    return FALSE;
  for (guint i = 0; i < svc->ports->len; i++)
    if (((const CaraPort *) g_ptr_array_index (svc->ports, i))->host_port > 0)
      return FALSE;
  return TRUE;
}

RolloutVerdict
rollout_judge (const CaraProject *p, const CaraService *svc, const RolloutObservation *o, const char **ret_reason,
               char **ret_message)
{
  gboolean hc = rollout_service_has_healthcheck (svc);
  gint64 monitor = rollout_monitor_usec (p);
  gint64 deadline = monitor + rollout_healthcheck_budget_usec (svc);
  gboolean running = g_strcmp0 (o->state, "running") == 0;

  if (o->restart_count > 0 || g_strcmp0 (o->state, "exited") == 0 || g_strcmp0 (o->state, "dead") == 0
      || g_strcmp0 (o->state, "restarting") == 0)
    {
      *ret_reason = "Exited";
      *ret_message = g_strdup_printf ("service %s: the new container exited (code %" G_GINT64_FORMAT ")", svc->name,
                                      o->exit_code);
      return ROLLOUT_FAILED;
    }
  if (hc && g_strcmp0 (o->health, "unhealthy") == 0)
    {
      *ret_reason = "Unhealthy";
      *ret_message = g_strdup_printf ("service %s: the new container's healthcheck failed", svc->name);
      return ROLLOUT_FAILED;
    }
  if (running && hc && g_strcmp0 (o->health, "healthy") == 0)
    return ROLLOUT_UP;
  if (running && !hc && o->running_usec >= monitor)
    return ROLLOUT_UP;
  if (o->elapsed_usec >= deadline)
    {
      *ret_reason = "Timeout";
      *ret_message = g_strdup_printf ("service %s: the new container was not up within %" G_GINT64_FORMAT " s%s",
                                      svc->name, (deadline + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC,
                                      hc ? " (monitorSeconds + the healthcheck's budget)" : " (monitorSeconds)");
      return ROLLOUT_FAILED;
    }
  return ROLLOUT_WAIT;
}
