/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The project condition ServicesReady (SPEC §2): True only when every service runs its current
 * spec and is healthy where it has a healthcheck; else False with reason Starting, Unhealthy or
 * CrashLoop (at least READINESS_CRASHLOOP_RESTARTS restarts within READINESS_WINDOW_USEC).
 * Pure logic: no Docker, no clock of its own (times are passed in, wall-clock microseconds). */

#include <glib.h>

#define READINESS_CRASHLOOP_RESTARTS 3
#define READINESS_WINDOW_USEC (G_GINT64_CONSTANT (5) * 60 * G_USEC_PER_SEC)
/* A service without a healthcheck counts as ready once it has run this long: a command that
 * exits at once is seen running for a few milliseconds first. */
#define READINESS_MIN_UPTIME_USEC (G_GINT64_CONSTANT (2) * G_USEC_PER_SEC)

/* When one service's container restarted, as far as we saw it. */
typedef struct {
  char *container_id;
  gint64 last_count; /* restart count at the last observation */
  GArray *times;     /* gint64 usec, oldest first, at most a bounded number */
} RestartHistory;

RestartHistory *restart_history_new (void);
void restart_history_free (RestartHistory *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RestartHistory, restart_history_free)

/* One observation of the service's container: @restart_count restarts so far.  A count that grew
 * adds restarts at @now_usec; one that shrank (Docker resets it on a manual start) counts what it
 * is now.  A container not seen before starts a new history: its restarts so far are dated
 * @created_usec (the earliest they can have happened), so after an agent restart a crash loop
 * is recognised at once only when it certainly falls within the window. */
void restart_history_observe (RestartHistory *h, const char *container_id, gint64 restart_count, gint64 created_usec,
                              gint64 now_usec);
/* Restarts within the window that ends at @now_usec (older ones are forgotten). */
guint restart_history_recent (RestartHistory *h, gint64 now_usec);
/* When the oldest restart still in the window leaves it (0: none in it). */
gint64 restart_history_next_expiry (const RestartHistory *h, gint64 now_usec);

typedef enum {
  READINESS_READY,
  READINESS_STARTING,
  READINESS_UNHEALTHY,
  READINESS_CRASHLOOP, /* worst last: the project takes its worst service's reason */
} ReadinessReason;

/* "Ready", "Starting", "Unhealthy", "CrashLoop" */
const char *readiness_reason_to_string (ReadinessReason r);

typedef struct {
  const char *name;
  const char *state;        /* Docker state ("running", "exited", ...); NULL: no container */
  gboolean current;         /* the container was made from the current spec */
  gboolean has_healthcheck;
  const char *health;       /* Docker health status, NULL without one */
  guint recent_restarts;    /* restart_history_recent() */
  gboolean completed;       /* exited with code 0 under restartPolicy OnFailure: its work is done */
  gint64 uptime_usec;       /* how long it has been running (when running); < 0: unknown */
} ReadinessService;

/* The verdict on one service, and a message naming it ("web restarted 4 times in 5m"; NULL when
 * ready). */
ReadinessReason readiness_service (const ReadinessService *s, char **ret_message);

/* The project's verdict: its worst service's reason, and a message naming every service with
 * that reason ("web restarted 4 times in 5m; db restarted 3 times in 5m"), or "All services
 * ready" (also for no services). */
ReadinessReason readiness_decide (const ReadinessService *services, guint n, char **ret_message);
