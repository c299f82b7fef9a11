/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* When a new container of an update counts as up, and when the update has failed (SPEC §13).
 * Pure logic: no Docker, no clock of its own (times are passed in, microseconds). */

#include "cara-model.h"

typedef enum {
  ROLLOUT_WAIT,
  ROLLOUT_UP,
  ROLLOUT_FAILED,
} RolloutVerdict;

typedef struct {
  gboolean has_healthcheck;
  const char *state;      /* Docker's State.Status ("running", "exited", "restarting", ...) */
  const char *health;     /* State.Health.Status, NULL without a healthcheck */
  gint64 restart_count;   /* RestartCount: a restart means it exited */
  gint64 exit_code;
  gint64 running_usec;    /* how long it has run (when running) */
  gint64 elapsed_usec;    /* since the update of this service started */
} RolloutObservation;

/* The monitoring window: spec.update.monitorSeconds (default 10 s). */
gint64 rollout_monitor_usec (const CaraProject *p);
/* How long a healthcheck may take to pass or fail for good: Docker's defaults (interval 30 s,
 * timeout 30 s, 3 retries) where the spec gives none, interval x retries + timeout. 0 without a
 * healthcheck. */
gint64 rollout_healthcheck_budget_usec (const CaraService *svc);
gboolean rollout_service_has_healthcheck (const CaraService *svc);
/* StartFirst, unless the project asks for StopFirst or the service publishes a hostPort (it
 * cannot run twice). */
gboolean rollout_start_first (const CaraProject *p, const CaraService *svc);

/* With a healthcheck: up once healthy; without: once it has run monitorSeconds.  Failed when it
 * exited or restarted, turned unhealthy, or is not up within monitorSeconds + the healthcheck's
 * budget.  *@ret_reason (FAILED only): "Unhealthy", "Exited" or "Timeout"; *@ret_message: what
 * happened, naming the service. */
RolloutVerdict rollout_judge (const CaraProject *p, const CaraService *svc, const RolloutObservation *o,
                              const char **ret_reason, char **ret_message);
