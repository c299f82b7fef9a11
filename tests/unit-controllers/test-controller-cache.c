/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "controller-cache.h"

static CaraProject *
project (const char *name, CaraProjectPhase phase, const char *node, const char *cpu)
{
  CaraProject *p = cara_project_new (name);
  CaraService *s = cara_service_new ("web", "busybox");

  s->resources.cpu = g_strdup (cpu);
  s->resources.memory = g_strdup ("64Mi");
  g_ptr_array_add (p->spec.services, s);
  p->status.phase = phase;
  p->status.node_ref = g_strdup (node);
  return p;
}

static void
test_placed (void)
{
  g_autoptr (ControllerCache) c = controller_cache_new ();
  g_autoptr (CaraProject) pending = project ("a", CARA_PROJECT_PHASE_PENDING, NULL, "100m");
  g_autoptr (CaraProject) sched = project ("a", CARA_PROJECT_PHASE_SCHEDULED, "n1", "100m");
  g_autoptr (CaraProject) running = project ("a", CARA_PROJECT_PHASE_RUNNING, "n1", "100m");
  g_autoptr (CaraProject) moved = project ("a", CARA_PROJECT_PHASE_SCHEDULED, "n2", "100m");
  g_autoptr (CaraProject) failed = project ("a", CARA_PROJECT_PHASE_FAILED, "n2", "100m");
  CachePlaced *e;

  g_assert_false (controller_cache_set_project (c, pending));
  g_assert_cmpuint (g_hash_table_size (c->placed), ==, 0);
  g_assert_false (controller_cache_set_project (c, sched));
  e = g_hash_table_lookup (c->placed, "a");
  g_assert_nonnull (e);
  g_assert_cmpstr (e->node_ref, ==, "n1");
  g_assert_cmpint (e->cpu_m, ==, 100);
  g_assert_cmpint (e->mem, ==, 64 * 1024 * 1024);
  g_assert_false (controller_cache_set_project (c, running)); /* same place: nothing freed */
  g_assert_true (controller_cache_set_project (c, moved));    /* left n1 */
  g_assert_true (controller_cache_set_project (c, failed));   /* holds nothing any more */
  g_assert_cmpuint (g_hash_table_size (c->placed), ==, 0);
  g_assert_false (controller_cache_remove_project (c, "a"));
}

/* The scheduler's Pending projects: copies, following each project's phase. */
static void
test_pending (void)
{
  g_autoptr (ControllerCache) c = controller_cache_new ();
  g_autoptr (CaraProject) a = project ("a", CARA_PROJECT_PHASE_PENDING, NULL, "100m");
  g_autoptr (CaraProject) b = project ("b", CARA_PROJECT_PHASE_PENDING, NULL, "100m");
  g_autoptr (CaraProject) a_placed = project ("a", CARA_PROJECT_PHASE_SCHEDULED, "n1", "100m");

  controller_cache_set_project (c, a);
  controller_cache_set_project (c, b);
  g_assert_cmpuint (g_hash_table_size (c->pending), ==, 2);
  CaraProject *kept = g_hash_table_lookup (c->pending, "a");
  g_assert_true (kept != a);
  g_assert_cmpstr (kept->metadata.name, ==, "a");
  g_assert_cmpuint (kept->spec.services->len, ==, 1);
  controller_cache_set_project (c, a_placed);
  g_assert_false (g_hash_table_contains (c->pending, "a"));
  controller_cache_set_project (c, a); /* back to Pending (its node was lost) */
  g_assert_true (g_hash_table_contains (c->pending, "a"));
  controller_cache_remove_project (c, "a");
  g_assert_false (g_hash_table_contains (c->pending, "a"));
  controller_cache_clear (c);
  g_assert_cmpuint (g_hash_table_size (c->pending), ==, 0);
}

static void
test_marked_and_expiring (void)
{
  g_autoptr (ControllerCache) c = controller_cache_new ();
  g_autoptr (CaraProject) p = project ("a", CARA_PROJECT_PHASE_RUNNING, "n1", "1");
  g_autoptr (CaraProject) q = project ("b", CARA_PROJECT_PHASE_TERMINATING, "n1", "1");

  controller_cache_set_project (c, p);
  g_assert_cmpuint (c->n_marked, ==, 0);
  cara_conditions_upsert (p->status.conditions, cara_condition_new ("NotReadyAt", "True", "NodeNotReady", NULL));
  controller_cache_set_project (c, p);
  controller_cache_set_project (c, p); /* the same event twice counts once */
  g_assert_cmpuint (c->n_marked, ==, 1);
  cara_conditions_upsert (q->status.conditions, cara_condition_new ("TerminatingAt", "True", "NodeNotReady", NULL));
  q->spec.expire_at = g_date_time_new_now_utc ();
  controller_cache_set_project (c, q);
  g_assert_cmpuint (c->n_marked, ==, 2);
  g_assert_true (g_hash_table_contains (c->expiring, "b"));
  cara_conditions_remove (p->status.conditions, "NotReadyAt");
  controller_cache_set_project (c, p);
  g_assert_cmpuint (c->n_marked, ==, 1);
  g_assert_true (controller_cache_remove_project (c, "b"));
  g_assert_cmpuint (c->n_marked, ==, 0);
  g_assert_false (g_hash_table_contains (c->expiring, "b"));
  controller_cache_set_project (c, q);
  controller_cache_clear (c);
  g_assert_cmpuint (c->n_marked, ==, 0);
  g_assert_cmpuint (g_hash_table_size (c->placed), ==, 0);
}

static void
test_nodes (void)
{
  g_autoptr (ControllerCache) c = controller_cache_new ();
  CaraNode *n = cara_node_new ("n1");

  n->status.state = CARA_NODE_STATE_READY;
  g_assert_true (controller_cache_set_node (c, cara_node_copy (n))); /* new */
  g_assert_false (controller_cache_set_node (c, cara_node_copy (n))); /* a heartbeat */
  n->status.last_heartbeat = g_date_time_new_now_utc ();
  g_assert_false (controller_cache_set_node (c, cara_node_copy (n)));
  g_hash_table_insert (n->status.allocatable, g_strdup ("cpu"), g_strdup ("4"));
  g_assert_true (controller_cache_set_node (c, cara_node_copy (n)));
  g_hash_table_insert (n->metadata.labels, g_strdup ("zone"), g_strdup ("a"));
  g_assert_true (controller_cache_set_node (c, cara_node_copy (n)));
  n->spec.unschedulable = TRUE;
  g_assert_true (controller_cache_set_node (c, cara_node_copy (n)));
  n->status.state = CARA_NODE_STATE_DRAINING;
  g_assert_true (controller_cache_set_node (c, n));
  g_assert_true (controller_cache_remove_node (c, "n1"));
  g_assert_false (controller_cache_remove_node (c, "n1"));
}

/* The counts cara_nodes{state} and cara_projects{phase} are made of. */
static void
test_counts (void)
{
  g_autoptr (ControllerCache) c = controller_cache_new ();
  g_autoptr (CaraProject) a = project ("a", CARA_PROJECT_PHASE_PENDING, NULL, "100m");
  g_autoptr (CaraProject) a_running = project ("a", CARA_PROJECT_PHASE_RUNNING, "n1", "100m");
  g_autoptr (CaraProject) b = project ("b", CARA_PROJECT_PHASE_FAILED, NULL, "100m");
  CaraNode *n = cara_node_new ("n1");

  controller_cache_set_project (c, a);
  controller_cache_set_project (c, a); /* the same again: still one */
  controller_cache_set_project (c, b);
  g_assert_cmpuint (c->phases[CARA_PROJECT_PHASE_PENDING], ==, 1);
  g_assert_cmpuint (c->phases[CARA_PROJECT_PHASE_FAILED], ==, 1);
  controller_cache_set_project (c, a_running);
  g_assert_cmpuint (c->phases[CARA_PROJECT_PHASE_PENDING], ==, 0);
  g_assert_cmpuint (c->phases[CARA_PROJECT_PHASE_RUNNING], ==, 1);
  controller_cache_remove_project (c, "a");
  controller_cache_remove_project (c, "a");
  g_assert_cmpuint (c->phases[CARA_PROJECT_PHASE_RUNNING], ==, 0);
  g_assert_cmpuint (c->phases[CARA_PROJECT_PHASE_FAILED], ==, 1);

  n->status.state = CARA_NODE_STATE_READY;
  controller_cache_set_node (c, cara_node_copy (n));
  controller_cache_set_node (c, cara_node_copy (n)); /* a heartbeat */
  g_assert_cmpuint (c->node_states[CARA_NODE_STATE_READY], ==, 1);
  n->status.state = CARA_NODE_STATE_NOT_READY;
  controller_cache_set_node (c, n);
  g_assert_cmpuint (c->node_states[CARA_NODE_STATE_READY], ==, 0);
  g_assert_cmpuint (c->node_states[CARA_NODE_STATE_NOT_READY], ==, 1);
  controller_cache_remove_node (c, "n1");
  g_assert_cmpuint (c->node_states[CARA_NODE_STATE_NOT_READY], ==, 0);
  controller_cache_set_project (c, a);
  controller_cache_clear (c);
  g_assert_cmpuint (c->phases[CARA_PROJECT_PHASE_PENDING], ==, 0);
  g_assert_cmpuint (c->phases[CARA_PROJECT_PHASE_FAILED], ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/controller-cache/placed", test_placed);
  g_test_add_func ("/controller-cache/pending", test_pending);
  g_test_add_func ("/controller-cache/marked-and-expiring", test_marked_and_expiring);
  g_test_add_func ("/controller-cache/nodes", test_nodes);
  g_test_add_func ("/controller-cache/counts", test_counts);
  return g_test_run ();
}
