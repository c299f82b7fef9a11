/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The controller manager (SPEC §4): one thread with its own GMainContext and PostgreSQL
 * connections.  It runs the controllers only while this process holds the leader lock (leader.h);
 * it is woken by LISTEN cara_events so a change is acted on within milliseconds, and resyncs every
 * RESYNC_INTERVAL as a safety net.  Each controller has a de-duplicating work queue with
 * requeue-after and per-key exponential backoff (controller-queue.h). */

#include <glib.h>

#include "controller-cache.h"

/* Parsed by server-config.c (file, environment, options). */
typedef struct {
  gint64 heartbeat_timeout;   /* NODE_HEARTBEAT_TIMEOUT, 90s */
  gint64 grace_period;        /* RESCHEDULE_GRACE_PERIOD, 3m */
  gint64 terminating_timeout; /* TERMINATION_TIMEOUT, 10m */
  gint64 resync_interval;     /* RESYNC_INTERVAL, 30s */
} ControllerTimeouts;


/* What a controller sees while reconciling one key. */
typedef struct {
  ControllerTimeouts t;
  ControllerCache *cache; /* nodes and placed projects, current up to the last event read */
  gint64 now;   /* wall clock (g_get_real_time) at the start of this reconcile */
  const gint *stopping; /* atomic; non-zero: the server is stopping, end a long pass early */
} ControllerContext;

/* For controllers with long passes: TRUE once the server is stopping. */
#define controller_stopping(ctx) (g_atomic_int_get ((ctx)->stopping) != 0)

typedef struct {
  const char *name;
  /* FALSE: retried with backoff.  *ret_requeue_after > 0: look at the key again after that long. */
  gboolean (*reconcile) (ControllerContext *ctx, const char *key, gint64 *ret_requeue_after,
                         GError **error);
  /* The keys to look at on a resync (appended to @keys as char*). */
  gboolean (*resync) (ControllerContext *ctx, GPtrArray *keys, GError **error);
} ControllerDef;

extern const ControllerDef node_health_controller;
extern const ControllerDef scheduler_controller;
extern const ControllerDef rescheduler_controller;
extern const ControllerDef termination_controller;
extern const ControllerDef expiry_controller;
extern const ControllerDef migration_controller; /* migration.c */

/* The scheduler works on one key: a pass over all Pending projects, oldest first. */
#define SCHEDULER_KEY "pending"

typedef struct _ControllerManager ControllerManager;

/* After store_setup(): the store functions called on the controller thread use its own
 * connection. */
ControllerManager *controller_manager_start (const ControllerTimeouts *t);
void controller_manager_stop (ControllerManager *m);
gboolean controller_manager_is_leader (ControllerManager *m);
