/* SPDX-License-Identifier: Apache-2.0 */
/* The reconciler's holds during a move with data (src/agent/volume-hold.c): when the old node
 * keeps its stopped services stopped, when the new node keeps its prepared containers, and when
 * each hold is dropped. */
#include "config.h"

#include "volume-hold.h"

#define SEC G_USEC_PER_SEC

static CaraProject *
project (const char *node, CaraProjectPhase phase, CaraMigrationPhase mig, const char *from)
{
  CaraProject *p = cara_project_new ("db");
  p->status.node_ref = g_strdup (node);
  p->status.phase = phase;
  if (mig != CARA_MIGRATION_PHASE_NONE)
    {
      p->status.migration = cara_migration_new (from, "n2");
      p->status.migration->phase = mig;
    }
  return p;
}

static void
test_source (void)
{
  g_autoptr (CaraProject) before = project ("n1", CARA_PROJECT_PHASE_RUNNING, CARA_MIGRATION_PHASE_NONE, NULL);
  g_autoptr (CaraProject) copying = project ("n1", CARA_PROJECT_PHASE_RUNNING, CARA_MIGRATION_PHASE_COPYING, "n1");
  g_autoptr (CaraProject) failed = project ("n1", CARA_PROJECT_PHASE_RUNNING, CARA_MIGRATION_PHASE_FAILED, "n1");
  g_autoptr (CaraProject) deleting = project ("n1", CARA_PROJECT_PHASE_TERMINATING, CARA_MIGRATION_PHASE_COPYING, "n1");

  /* Held from the stop call on, also while the watch still shows the project as it was. */
  volume_hold_set ("db", VOLUME_HOLD_SOURCE, 100 * SEC);
  g_assert_true (volume_hold_skip ("db", before, "n1", 101 * SEC));
  g_assert_true (volume_hold_skip ("db", copying, "n1", 500 * SEC));
  /* A move that failed without a resume call: held a while (a stale record may come first), then not. */
  g_assert_true (volume_hold_skip ("db", failed, "n1", 105 * SEC));
  g_assert_false (volume_hold_skip ("db", failed, "n1", 111 * SEC));
  g_assert_false (volume_hold_skip ("db", failed, "n1", 112 * SEC)); /* dropped */

  /* Moved away: the teardown goes ahead. */
  volume_hold_set ("db", VOLUME_HOLD_SOURCE, 100 * SEC);
  g_assert_false (volume_hold_skip ("db", NULL, "n1", 101 * SEC));
  g_assert_false (volume_hold_skip ("db", before, "n1", 101 * SEC));

  /* Deleted during the move: torn down, not held. */
  volume_hold_set ("db", VOLUME_HOLD_SOURCE, 100 * SEC);
  g_assert_false (volume_hold_skip ("db", deleting, "n1", 101 * SEC));

  /* Cleared by a resume. */
  volume_hold_set ("db", VOLUME_HOLD_SOURCE, 100 * SEC);
  volume_hold_clear ("db");
  g_assert_false (volume_hold_skip ("db", before, "n1", 101 * SEC));
}

static void
test_receiver (void)
{
  g_autoptr (CaraProject) placed = project ("n2", CARA_PROJECT_PHASE_SCHEDULED, CARA_MIGRATION_PHASE_STARTING, "n1");

  /* Not placed here yet: the prepared containers stay. */
  volume_hold_set ("db", VOLUME_HOLD_RECEIVER, 100 * SEC);
  g_assert_true (volume_hold_skip ("db", NULL, "n2", 101 * SEC));
  g_assert_true (volume_hold_skip ("db", NULL, "n2", 1000 * SEC));
  /* Placed here: start them, and the hold is gone. */
  g_assert_false (volume_hold_skip ("db", placed, "n2", 1001 * SEC));
  g_assert_false (volume_hold_skip ("db", NULL, "n2", 1002 * SEC));
}

static void
test_record (void)
{
  /* No hold (the agent restarted): the server's record holds the old node's copy. */
  g_autoptr (CaraProject) stopping = project ("n1", CARA_PROJECT_PHASE_RUNNING, CARA_MIGRATION_PHASE_STOPPING, "n1");
  g_autoptr (CaraProject) copying = project ("n1", CARA_PROJECT_PHASE_RUNNING, CARA_MIGRATION_PHASE_COPYING, "n1");
  g_autoptr (CaraProject) done = project ("n1", CARA_PROJECT_PHASE_RUNNING, CARA_MIGRATION_PHASE_DONE, "n1");
  g_autoptr (CaraProject) other = project ("n3", CARA_PROJECT_PHASE_RUNNING, CARA_MIGRATION_PHASE_COPYING, "n3");
  g_autoptr (CaraProject) deleting = project ("n1", CARA_PROJECT_PHASE_TERMINATING, CARA_MIGRATION_PHASE_COPYING, "n1");
  g_assert_true (volume_hold_skip ("db", stopping, "n1", 0));
  g_assert_true (volume_hold_skip ("db", copying, "n1", 0));
  g_assert_false (volume_hold_skip ("db", done, "n1", 0));
  g_assert_false (volume_hold_skip ("db", other, "n1", 0));
  g_assert_false (volume_hold_skip ("db", deleting, "n1", 0));
  g_assert_false (volume_hold_skip ("db", NULL, "n1", 0));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/volume-hold/source", test_source);
  g_test_add_func ("/volume-hold/receiver", test_receiver);
  g_test_add_func ("/volume-hold/record", test_record);
  return g_test_run ();
}
