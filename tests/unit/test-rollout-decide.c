/* SPDX-License-Identifier: Apache-2.0 */
/* The update decisions of SPEC §13: StartFirst or StopFirst, when a new container is up, when the
 * update has failed, and the healthcheck's budget. */
#include "config.h"

#include "rollout-decide.h"

#define SEC ((gint64) G_USEC_PER_SEC)

static CaraProject *
project_with (CaraService **ret_svc, gboolean healthcheck)
{
  CaraProject *p = cara_project_new ("p");
  CaraService *s = cara_service_new ("web", "busybox");
  if (healthcheck)
    {
      s->healthcheck = g_new0 (CaraHealthcheck, 1);
      s->healthcheck->command = g_strsplit ("true", " ", -1);
      s->healthcheck->interval_seconds = 1;
      s->healthcheck->retries = 2;
      s->healthcheck->timeout_seconds = 1;
    }
  g_ptr_array_add (p->spec.services, s);
  *ret_svc = s;
  return p;
}

static void
test_order (void)
{
  CaraService *s;
  g_autoptr (CaraProject) p = project_with (&s, FALSE);
  g_assert_true (rollout_start_first (p, s));
  CaraPort *port = g_new0 (CaraPort, 1);
  port->container_port = 80;
  g_ptr_array_add (s->ports, port);
  g_assert_true (rollout_start_first (p, s)); /* a container port alone runs twice fine */
  port->host_port = 8080;
  g_assert_false (rollout_start_first (p, s)); /* a hostPort cannot */
  port->host_port = 0;
  p->spec.update.order = CARA_UPDATE_ORDER_STOP_FIRST;
  g_assert_false (rollout_start_first (p, s));
}

static void
test_budget (void)
{
  CaraService *s;
  g_autoptr (CaraProject) p = project_with (&s, TRUE);
  g_assert_cmpint (rollout_healthcheck_budget_usec (s), ==, 3 * SEC); /* 1 x 2 + 1 */
  s->healthcheck->interval_seconds = 0;
  s->healthcheck->timeout_seconds = 0;
  s->healthcheck->retries = 0;
  g_assert_cmpint (rollout_healthcheck_budget_usec (s), ==, 120 * SEC); /* Docker's 30 x 3 + 30 */
  g_assert_cmpint (rollout_monitor_usec (p), ==, 10 * SEC);
  p->spec.update.monitor_seconds = 2;
  g_assert_cmpint (rollout_monitor_usec (p), ==, 2 * SEC);
  CaraService *plain;
  g_autoptr (CaraProject) q = project_with (&plain, FALSE);
  g_assert_nonnull (q);
  g_assert_cmpint (rollout_healthcheck_budget_usec (plain), ==, 0);
}

static RolloutVerdict
judge (const CaraProject *p, const CaraService *s, RolloutObservation o, const char **reason)
{
  g_autofree char *msg = NULL;
  *reason = NULL;
  RolloutVerdict v = rollout_judge (p, s, &o, reason, &msg);
  if (v == ROLLOUT_FAILED)
    g_assert_nonnull (g_strstr_len (msg, -1, "service web"));
  return v;
}

static void
test_judge_healthcheck (void)
{
  CaraService *s;
  g_autoptr (CaraProject) p = project_with (&s, TRUE);
  p->spec.update.monitor_seconds = 2; /* deadline 2 + 3 s */
  const char *reason;
  RolloutObservation o = { .has_healthcheck = TRUE, .state = "running", .health = "starting",
                           .running_usec = SEC, .elapsed_usec = SEC };
  g_assert_cmpint (judge (p, s, o, &reason), ==, ROLLOUT_WAIT);
  /* running for longer than monitorSeconds does not make it up: the healthcheck does */
  o.running_usec = o.elapsed_usec = 4 * SEC;
  g_assert_cmpint (judge (p, s, o, &reason), ==, ROLLOUT_WAIT);
  o.health = "healthy";
  g_assert_cmpint (judge (p, s, o, &reason), ==, ROLLOUT_UP);
  o.health = "unhealthy";
  g_assert_cmpint (judge (p, s, o, &reason), ==, ROLLOUT_FAILED);
  g_assert_cmpstr (reason, ==, "Unhealthy");
  o.health = "starting";
  o.elapsed_usec = 5 * SEC;
  g_assert_cmpint (judge (p, s, o, &reason), ==, ROLLOUT_FAILED);
  g_assert_cmpstr (reason, ==, "Timeout");
  o.elapsed_usec = SEC;
  o.restart_count = 1;
  g_assert_cmpint (judge (p, s, o, &reason), ==, ROLLOUT_FAILED);
  g_assert_cmpstr (reason, ==, "Exited");
}

static void
test_judge_plain (void)
{
  CaraService *s;
  g_autoptr (CaraProject) p = project_with (&s, FALSE);
  p->spec.update.monitor_seconds = 3;
  const char *reason;
  RolloutObservation o = { .state = "created", .elapsed_usec = SEC / 10 };
  g_assert_cmpint (judge (p, s, o, &reason), ==, ROLLOUT_WAIT);
  o.state = "running";
  o.running_usec = 2 * SEC;
  o.elapsed_usec = 2 * SEC;
  g_assert_cmpint (judge (p, s, o, &reason), ==, ROLLOUT_WAIT);
  o.running_usec = 3 * SEC;
  g_assert_cmpint (judge (p, s, o, &reason), ==, ROLLOUT_UP);
  o.state = "exited";
  o.exit_code = 3;
  g_assert_cmpint (judge (p, s, o, &reason), ==, ROLLOUT_FAILED);
  g_assert_cmpstr (reason, ==, "Exited");
  o.state = "created";
  o.elapsed_usec = 3 * SEC;
  g_assert_cmpint (judge (p, s, o, &reason), ==, ROLLOUT_FAILED);
  g_assert_cmpstr (reason, ==, "Timeout");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rollout/order", test_order);
  g_test_add_func ("/rollout/budget", test_budget);
  g_test_add_func ("/rollout/judge-healthcheck", test_judge_healthcheck);
  g_test_add_func ("/rollout/judge-plain", test_judge_plain);
  return g_test_run ();
}
