/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "controller-decide.h"

#define READY_MSG_OK "Agent is healthy and posting heartbeats"
#define READY_MSG_TIMEOUT "Agent has not posted a heartbeat within the timeout window"

gint64
controller_time_usec (GDateTime *t)
{
  if (t == NULL)
    return 0;
  return g_date_time_to_unix (t) * G_USEC_PER_SEC + g_date_time_get_microsecond (t);
}

void
node_health_decide (CaraNodeState state, gint64 last_heartbeat, const char *ready_status,
                    const char *ready_reason, gint64 now, gint64 heartbeat_timeout,
                    NodeHealthDecision *ret)
{
  /* A zero heartbeat (registered, never heard from) is infinitely old. */
  gboolean fresh = last_heartbeat > 0 && now - last_heartbeat <= heartbeat_timeout;

  ret->recheck_after = fresh ? last_heartbeat + heartbeat_timeout - now + 1000 : 0;
  if (state == CARA_NODE_STATE_DRAINING)
    ret->state = CARA_NODE_STATE_DRAINING;
  else
    ret->state = fresh ? CARA_NODE_STATE_READY : CARA_NODE_STATE_NOT_READY;
  ret->cond_status = fresh ? "True" : "False";
  ret->cond_reason = fresh ? "AgentReady" : "HeartbeatTimeout";
  ret->cond_message = fresh ? READY_MSG_OK : READY_MSG_TIMEOUT;
  ret->write = ret->state != state || g_strcmp0 (ready_status, ret->cond_status) != 0 ||
               g_strcmp0 (ready_reason, ret->cond_reason) != 0;
}

gboolean
node_is_down (gboolean exists, CaraNodeState state, const char *ready_status)
{
  if (!exists)
    return TRUE;
  if (state == CARA_NODE_STATE_NOT_READY)
    return TRUE;
  return state == CARA_NODE_STATE_DRAINING && g_strcmp0 (ready_status, "False") == 0;
}

const char *
reschedule_action_to_string (RescheduleAction a)
{
  switch (a)
    {
    case RESCHEDULE_NONE: return "none";
    case RESCHEDULE_MARK_NOT_READY_AT: return "mark-not-ready-at";
    case RESCHEDULE_MARK_TERMINATING_AT: return "mark-terminating-at";
    case RESCHEDULE_RESET_PENDING: return "reset-pending";
    case RESCHEDULE_FORCE_TERMINATED: return "force-terminated";
    case RESCHEDULE_CLEAR_MARKS: return "clear-marks";
    default: return "?";
    }
}

RescheduleAction
rescheduler_decide (gboolean node_down, CaraProjectPhase phase, gint64 not_ready_at,
                    gint64 terminating_at, gint64 now, gint64 grace_period,
                    gint64 terminating_timeout, gint64 *ret_recheck_after)
{
  *ret_recheck_after = 0;
  if (!node_down)
    return (not_ready_at > 0 || terminating_at > 0) ? RESCHEDULE_CLEAR_MARKS : RESCHEDULE_NONE;

  switch (phase)
    {
    case CARA_PROJECT_PHASE_SCHEDULED:
      /* Nothing runs yet (or the agent has not said so): move it at once. */
      return RESCHEDULE_RESET_PENDING;
    case CARA_PROJECT_PHASE_RUNNING:
      /* A recheck of 0 means none: with a zero grace period, look again at once (1 µs). */
      if (not_ready_at <= 0)
        {
          *ret_recheck_after = MAX (grace_period, 1);
          return RESCHEDULE_MARK_NOT_READY_AT;
        }
      if (now - not_ready_at >= grace_period)
        return RESCHEDULE_RESET_PENDING;
      *ret_recheck_after = not_ready_at + grace_period - now;
      return RESCHEDULE_NONE;
    case CARA_PROJECT_PHASE_TERMINATING:
      if (terminating_at <= 0)
        {
          *ret_recheck_after = MAX (terminating_timeout, 1);
          return RESCHEDULE_MARK_TERMINATING_AT;
        }
      if (now - terminating_at >= terminating_timeout)
        return RESCHEDULE_FORCE_TERMINATED;
      *ret_recheck_after = terminating_at + terminating_timeout - now;
      return RESCHEDULE_NONE;
    case CARA_PROJECT_PHASE_NONE:
    case CARA_PROJECT_PHASE_PENDING:
    case CARA_PROJECT_PHASE_FAILED:
    case CARA_PROJECT_PHASE_TERMINATED:
    default:
      return RESCHEDULE_NONE;
    }
}

ExpiryAction
expiry_decide (CaraProjectPhase phase, const char *node_ref, gint64 expire_at, gint64 now,
               gint64 *ret_recheck_after)
{
  *ret_recheck_after = 0;
  if (expire_at <= 0)
    return EXPIRY_NONE;
  if (expire_at > now)
    {
      *ret_recheck_after = expire_at - now;
      return EXPIRY_NONE;
    }
  switch (phase)
    {
    case CARA_PROJECT_PHASE_TERMINATING:
    case CARA_PROJECT_PHASE_TERMINATED:
      return EXPIRY_NONE; /* already on its way out */
    case CARA_PROJECT_PHASE_PENDING:
    case CARA_PROJECT_PHASE_NONE:
      return EXPIRY_DELETE;
    case CARA_PROJECT_PHASE_FAILED:
      /* A Failed project may still have containers on its node: let the agent tear them down. */
      return (node_ref != NULL && *node_ref != '\0') ? EXPIRY_TERMINATE : EXPIRY_DELETE;
    case CARA_PROJECT_PHASE_SCHEDULED:
    case CARA_PROJECT_PHASE_RUNNING:
    default:
      return EXPIRY_TERMINATE;
    }
}
