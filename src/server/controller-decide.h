/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The decisions of node-health, rescheduler and expiry as pure functions of (state, now,
 * timeouts), so they are unit-tested without a database.  Times are wall-clock microseconds since
 * the Unix epoch (g_get_real_time); a zero-time timestamp is passed as 0. */

#include <glib.h>

#include "cara-model.h"

/* GDateTime -> microseconds since the epoch; NULL (zero time) -> 0. */
gint64 controller_time_usec (GDateTime *t);

/* ---- node-health ---- */

typedef struct {
  gboolean write;            /* state or Ready condition must change */
  CaraNodeState state;       /* the state to write */
  const char *cond_status;   /* Ready condition: "True" | "False" */
  const char *cond_reason;   /* AgentReady | HeartbeatTimeout */
  const char *cond_message;
  gint64 recheck_after;      /* > 0: look again after this long (when the heartbeat goes stale) */
} NodeHealthDecision;

/* @ready_status/@ready_reason: the node's current Ready condition (NULL when absent).
 * Draining is never changed: only its Ready condition is kept current. */
void node_health_decide (CaraNodeState state, gint64 last_heartbeat, const char *ready_status,
                         const char *ready_reason, gint64 now, gint64 heartbeat_timeout,
                         NodeHealthDecision *ret);

/* A node whose projects must move: NotReady, or Draining with a stale heartbeat (Ready False),
 * or gone. */
gboolean node_is_down (gboolean exists, CaraNodeState state, const char *ready_status);

/* ---- rescheduler (per project placed on a node) ---- */

typedef enum {
  RESCHEDULE_NONE,
  RESCHEDULE_MARK_NOT_READY_AT,   /* Running on a down node: start the grace clock */
  RESCHEDULE_MARK_TERMINATING_AT, /* Terminating on a down node: start the force clock */
  RESCHEDULE_RESET_PENDING,       /* move it: Pending, nodeRef cleared, clocks cleared */
  RESCHEDULE_FORCE_TERMINATED,    /* give up waiting for the agent: Terminated */
  RESCHEDULE_CLEAR_MARKS,         /* node is back: drop NotReadyAt/TerminatingAt */
} RescheduleAction;

const char *reschedule_action_to_string (RescheduleAction a);

/* @not_ready_at/@terminating_at: lastTransitionTime of those conditions, 0 when absent.
 * *ret_recheck_after (> 0) tells when to look again while a clock runs. */
RescheduleAction rescheduler_decide (gboolean node_down, CaraProjectPhase phase, gint64 not_ready_at,
                                     gint64 terminating_at, gint64 now, gint64 grace_period,
                                     gint64 terminating_timeout, gint64 *ret_recheck_after);

/* ---- expiry ---- */

typedef enum {
  EXPIRY_NONE,
  EXPIRY_DELETE,    /* never placed (Pending/Failed/no node): delete the row */
  EXPIRY_TERMINATE, /* placed: go through Terminating so the agent tears it down */
} ExpiryAction;

/* @expire_at: 0 when the project has no expireAt.  *ret_recheck_after > 0 when it expires later. */
ExpiryAction expiry_decide (CaraProjectPhase phase, const char *node_ref, gint64 expire_at, gint64 now,
                            gint64 *ret_recheck_after);
