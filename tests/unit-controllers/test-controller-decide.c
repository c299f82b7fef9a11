/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "controller-decide.h"

#define S G_USEC_PER_SEC
#define NOW (1800000000LL * S)
#define TIMEOUT (90 * S)
#define GRACE (180 * S)
#define TERM (600 * S)

static void
test_node_health (void)
{
  NodeHealthDecision d;

  /* fresh Ready with a current condition: nothing, look again when it goes stale */
  node_health_decide (CARA_NODE_STATE_READY, NOW - 10 * S, "True", "AgentReady", NOW, TIMEOUT, &d);
  g_assert_false (d.write);
  g_assert_cmpint (d.recheck_after, >=, 80 * S);
  g_assert_cmpint (d.recheck_after, <=, 80 * S + S);

  /* fresh Ready whose condition is missing or stale: refresh the condition */
  node_health_decide (CARA_NODE_STATE_READY, NOW - 10 * S, NULL, NULL, NOW, TIMEOUT, &d);
  g_assert_true (d.write);
  g_assert_cmpint (d.state, ==, CARA_NODE_STATE_READY);
  g_assert_cmpstr (d.cond_status, ==, "True");
  g_assert_cmpstr (d.cond_reason, ==, "AgentReady");
  node_health_decide (CARA_NODE_STATE_READY, NOW - 10 * S, "False", "HeartbeatTimeout", NOW, TIMEOUT, &d);
  g_assert_true (d.write);

  /* stale Ready -> NotReady */
  node_health_decide (CARA_NODE_STATE_READY, NOW - 91 * S, "True", "AgentReady", NOW, TIMEOUT, &d);
  g_assert_true (d.write);
  g_assert_cmpint (d.state, ==, CARA_NODE_STATE_NOT_READY);
  g_assert_cmpstr (d.cond_status, ==, "False");
  g_assert_cmpstr (d.cond_reason, ==, "HeartbeatTimeout");
  g_assert_cmpint (d.recheck_after, ==, 0);

  /* exactly at the timeout is still fresh */
  node_health_decide (CARA_NODE_STATE_READY, NOW - 90 * S, "True", "AgentReady", NOW, TIMEOUT, &d);
  g_assert_false (d.write);

  /* stale NotReady already marked: nothing */
  node_health_decide (CARA_NODE_STATE_NOT_READY, NOW - 1000 * S, "False", "HeartbeatTimeout", NOW, TIMEOUT, &d);
  g_assert_false (d.write);

  /* never heartbeated: NotReady, condition written once */
  node_health_decide (CARA_NODE_STATE_NOT_READY, 0, NULL, NULL, NOW, TIMEOUT, &d);
  g_assert_true (d.write);
  g_assert_cmpint (d.state, ==, CARA_NODE_STATE_NOT_READY);

  /* fresh NotReady -> Ready */
  node_health_decide (CARA_NODE_STATE_NOT_READY, NOW - S, "False", "HeartbeatTimeout", NOW, TIMEOUT, &d);
  g_assert_true (d.write);
  g_assert_cmpint (d.state, ==, CARA_NODE_STATE_READY);
  g_assert_cmpstr (d.cond_reason, ==, "AgentReady");

  /* Draining keeps its state, only the condition follows the heartbeat */
  node_health_decide (CARA_NODE_STATE_DRAINING, NOW - 1000 * S, "True", "AgentReady", NOW, TIMEOUT, &d);
  g_assert_true (d.write);
  g_assert_cmpint (d.state, ==, CARA_NODE_STATE_DRAINING);
  g_assert_cmpstr (d.cond_status, ==, "False");
  node_health_decide (CARA_NODE_STATE_DRAINING, NOW - S, "True", "AgentReady", NOW, TIMEOUT, &d);
  g_assert_false (d.write);
  g_assert_cmpint (d.state, ==, CARA_NODE_STATE_DRAINING);
}

static void
test_node_is_down (void)
{
  g_assert_true (node_is_down (FALSE, CARA_NODE_STATE_READY, "True"));
  g_assert_true (node_is_down (TRUE, CARA_NODE_STATE_NOT_READY, NULL));
  g_assert_false (node_is_down (TRUE, CARA_NODE_STATE_READY, "True"));
  g_assert_false (node_is_down (TRUE, CARA_NODE_STATE_DRAINING, "True"));
  g_assert_true (node_is_down (TRUE, CARA_NODE_STATE_DRAINING, "False"));
}

static void
test_rescheduler (void)
{
  gint64 again;

  /* Scheduled on a down node: move at once */
  g_assert_cmpint (rescheduler_decide (TRUE, CARA_PROJECT_PHASE_SCHEDULED, 0, 0, NOW, GRACE, TERM, &again),
                   ==, RESCHEDULE_RESET_PENDING);
  /* Running: first sight starts the clock */
  g_assert_cmpint (rescheduler_decide (TRUE, CARA_PROJECT_PHASE_RUNNING, 0, 0, NOW, GRACE, TERM, &again),
                   ==, RESCHEDULE_MARK_NOT_READY_AT);
  g_assert_cmpint (again, ==, GRACE);
  /* within the grace period: wait for the rest of it */
  g_assert_cmpint (rescheduler_decide (TRUE, CARA_PROJECT_PHASE_RUNNING, NOW - 90 * S, 0, NOW, GRACE, TERM, &again),
                   ==, RESCHEDULE_NONE);
  g_assert_cmpint (again, ==, 90 * S);
  /* past it: move */
  g_assert_cmpint (rescheduler_decide (TRUE, CARA_PROJECT_PHASE_RUNNING, NOW - 240 * S, 0, NOW, GRACE, TERM, &again),
                   ==, RESCHEDULE_RESET_PENDING);
  g_assert_cmpint (again, ==, 0);
  /* Terminating: clock, wait, force */
  g_assert_cmpint (rescheduler_decide (TRUE, CARA_PROJECT_PHASE_TERMINATING, 0, 0, NOW, GRACE, TERM, &again),
                   ==, RESCHEDULE_MARK_TERMINATING_AT);
  g_assert_cmpint (again, ==, TERM);
  g_assert_cmpint (rescheduler_decide (TRUE, CARA_PROJECT_PHASE_TERMINATING, 0, NOW - 300 * S, NOW, GRACE, TERM, &again),
                   ==, RESCHEDULE_NONE);
  g_assert_cmpint (again, ==, 300 * S);
  g_assert_cmpint (rescheduler_decide (TRUE, CARA_PROJECT_PHASE_TERMINATING, 0, NOW - 600 * S, NOW, GRACE, TERM, &again),
                   ==, RESCHEDULE_FORCE_TERMINATED);
  /* Failed/Pending on a down node: left alone */
  g_assert_cmpint (rescheduler_decide (TRUE, CARA_PROJECT_PHASE_FAILED, 0, 0, NOW, GRACE, TERM, &again),
                   ==, RESCHEDULE_NONE);
  /* node back: clocks cleared, else nothing */
  g_assert_cmpint (rescheduler_decide (FALSE, CARA_PROJECT_PHASE_RUNNING, NOW - 10 * S, 0, NOW, GRACE, TERM, &again),
                   ==, RESCHEDULE_CLEAR_MARKS);
  g_assert_cmpint (rescheduler_decide (FALSE, CARA_PROJECT_PHASE_TERMINATING, 0, NOW - 10 * S, NOW, GRACE, TERM, &again),
                   ==, RESCHEDULE_CLEAR_MARKS);
  g_assert_cmpint (rescheduler_decide (FALSE, CARA_PROJECT_PHASE_RUNNING, 0, 0, NOW, GRACE, TERM, &again),
                   ==, RESCHEDULE_NONE);
  g_assert_cmpstr (reschedule_action_to_string (RESCHEDULE_RESET_PENDING), ==, "reset-pending");
  /* zero grace period / termination timeout: the clock starts and the next look is at once - a
   * recheck of 0 would mean none, and the move would wait for the next resync (found by bench/) */
  g_assert_cmpint (rescheduler_decide (TRUE, CARA_PROJECT_PHASE_RUNNING, 0, 0, NOW, 0, TERM, &again),
                   ==, RESCHEDULE_MARK_NOT_READY_AT);
  g_assert_cmpint (again, >, 0);
  g_assert_cmpint (again, <=, 1);
  g_assert_cmpint (rescheduler_decide (TRUE, CARA_PROJECT_PHASE_RUNNING, NOW, 0, NOW, 0, TERM, &again),
                   ==, RESCHEDULE_RESET_PENDING);
  g_assert_cmpint (rescheduler_decide (TRUE, CARA_PROJECT_PHASE_TERMINATING, 0, 0, NOW, GRACE, 0, &again),
                   ==, RESCHEDULE_MARK_TERMINATING_AT);
  g_assert_cmpint (again, >, 0);
}

static void
test_expiry (void)
{
  gint64 again;

  g_assert_cmpint (expiry_decide (CARA_PROJECT_PHASE_RUNNING, "n1", 0, NOW, &again), ==, EXPIRY_NONE);
  g_assert_cmpint (again, ==, 0);
  g_assert_cmpint (expiry_decide (CARA_PROJECT_PHASE_RUNNING, "n1", NOW + 5 * S, NOW, &again), ==, EXPIRY_NONE);
  g_assert_cmpint (again, ==, 5 * S);
  g_assert_cmpint (expiry_decide (CARA_PROJECT_PHASE_RUNNING, "n1", NOW, NOW, &again), ==, EXPIRY_TERMINATE);
  g_assert_cmpint (expiry_decide (CARA_PROJECT_PHASE_SCHEDULED, "n1", NOW - S, NOW, &again), ==, EXPIRY_TERMINATE);
  g_assert_cmpint (expiry_decide (CARA_PROJECT_PHASE_PENDING, NULL, NOW - S, NOW, &again), ==, EXPIRY_DELETE);
  g_assert_cmpint (expiry_decide (CARA_PROJECT_PHASE_FAILED, NULL, NOW - S, NOW, &again), ==, EXPIRY_DELETE);
  g_assert_cmpint (expiry_decide (CARA_PROJECT_PHASE_FAILED, "n1", NOW - S, NOW, &again), ==, EXPIRY_TERMINATE);
  g_assert_cmpint (expiry_decide (CARA_PROJECT_PHASE_TERMINATING, "n1", NOW - S, NOW, &again), ==, EXPIRY_NONE);
  g_assert_cmpint (expiry_decide (CARA_PROJECT_PHASE_TERMINATED, "n1", NOW - S, NOW, &again), ==, EXPIRY_NONE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/node-health/decide", test_node_health);
  g_test_add_func ("/node-health/is-down", test_node_is_down);
  g_test_add_func ("/rescheduler/decide", test_rescheduler);
  g_test_add_func ("/expiry/decide", test_expiry);
  return g_test_run ();
}
