/* SPDX-License-Identifier: Apache-2.0 */
/* The ServicesReady decision: restart window, per-service verdicts, the project's reason. */
#include "config.h"

#include "readiness.h"

#define SEC ((gint64) G_USEC_PER_SEC)
#define T0 (1000000 * SEC) /* an arbitrary wall-clock origin */

static void
test_window (void)
{
  g_autoptr (RestartHistory) h = restart_history_new ();
  restart_history_observe (h, "c1", 0, T0, T0);
  g_assert_cmpuint (restart_history_recent (h, T0), ==, 0);
  g_assert_cmpint (restart_history_next_expiry (h, T0), ==, 0);
  /* Three restarts seen one by one, a minute apart. */
  restart_history_observe (h, "c1", 1, T0, T0 + 60 * SEC);
  restart_history_observe (h, "c1", 2, T0, T0 + 120 * SEC);
  restart_history_observe (h, "c1", 2, T0, T0 + 130 * SEC); /* no change: nothing added */
  restart_history_observe (h, "c1", 3, T0, T0 + 180 * SEC);
  g_assert_cmpuint (restart_history_recent (h, T0 + 180 * SEC), ==, 3);
  g_assert_cmpint (restart_history_next_expiry (h, T0 + 180 * SEC), ==, T0 + 360 * SEC);
  /* The first leaves the window exactly 5 minutes after it happened. */
  g_assert_cmpuint (restart_history_recent (h, T0 + 360 * SEC - 1), ==, 3);
  g_assert_cmpuint (restart_history_recent (h, T0 + 360 * SEC), ==, 2);
  g_assert_cmpuint (restart_history_recent (h, T0 + 480 * SEC), ==, 0);
}

static void
test_burst_and_reset (void)
{
  g_autoptr (RestartHistory) h = restart_history_new ();
  restart_history_observe (h, "c1", 0, T0, T0);
  /* Docker restarted it 4 times between two looks. */
  restart_history_observe (h, "c1", 4, T0, T0 + 2 * SEC);
  g_assert_cmpuint (restart_history_recent (h, T0 + 2 * SEC), ==, 4);
  /* A manual start reset Docker's count to 0, then 1: one more restart, not a negative one. */
  restart_history_observe (h, "c1", 0, T0, T0 + 3 * SEC);
  restart_history_observe (h, "c1", 1, T0, T0 + 4 * SEC);
  g_assert_cmpuint (restart_history_recent (h, T0 + 4 * SEC), ==, 5);
}

static void
test_new_container (void)
{
  g_autoptr (RestartHistory) h = restart_history_new ();
  restart_history_observe (h, "c1", 0, T0, T0);
  restart_history_observe (h, "c1", 5, T0, T0 + SEC);
  /* A replacement (new spec) starts afresh. */
  restart_history_observe (h, "c2", 0, T0 + 2 * SEC, T0 + 2 * SEC);
  g_assert_cmpuint (restart_history_recent (h, T0 + 2 * SEC), ==, 0);
  restart_history_observe (h, "c2", 1, T0 + 2 * SEC, T0 + 3 * SEC);
  g_assert_cmpuint (restart_history_recent (h, T0 + 3 * SEC), ==, 1);
}

static void
test_first_sight (void)
{
  /* After an agent restart: 6 restarts of a container created 1 minute ago are all recent... */
  g_autoptr (RestartHistory) a = restart_history_new ();
  restart_history_observe (a, "c1", 6, T0 - 60 * SEC, T0);
  g_assert_cmpuint (restart_history_recent (a, T0), ==, 6);
  g_assert_cmpint (restart_history_next_expiry (a, T0), ==, T0 + 240 * SEC);
  /* ...those of a container created an hour ago may be old: they do not count. */
  g_autoptr (RestartHistory) b = restart_history_new ();
  restart_history_observe (b, "c1", 6, T0 - 3600 * SEC, T0);
  g_assert_cmpuint (restart_history_recent (b, T0), ==, 0);
  restart_history_observe (b, "c1", 7, T0 - 3600 * SEC, T0 + SEC);
  g_assert_cmpuint (restart_history_recent (b, T0 + SEC), ==, 1);
  /* A creation time in the future (clock skew) counts as now; no time at all as well. */
  g_autoptr (RestartHistory) c = restart_history_new ();
  restart_history_observe (c, "c1", 3, T0 + 3600 * SEC, T0);
  g_assert_cmpuint (restart_history_recent (c, T0), ==, 3);
  g_autoptr (RestartHistory) d = restart_history_new ();
  restart_history_observe (d, "c1", 3, 0, T0);
  g_assert_cmpuint (restart_history_recent (d, T0), ==, 3);
}

static void
test_bounded (void)
{
  g_autoptr (RestartHistory) h = restart_history_new ();
  restart_history_observe (h, "c1", 0, T0, T0);
  restart_history_observe (h, "c1", 1000000, T0, T0 + SEC);
  g_assert_cmpuint (restart_history_recent (h, T0 + SEC), <=, 256);
  g_assert_cmpuint (restart_history_recent (h, T0 + SEC), >=, READINESS_CRASHLOOP_RESTARTS);
}

static ReadinessService
svc (const char *name, const char *state)
{
  return (ReadinessService) { .name = name, .state = state, .current = TRUE, .uptime_usec = -1 };
}

static void
test_service_verdicts (void)
{
  struct {
    ReadinessService s;
    ReadinessReason want;
    const char *msg;
  } cases[] = {
    { svc ("web", "running"), READINESS_READY, NULL },
    { { .name = "web", .state = "running", .current = TRUE, .recent_restarts = 2, .uptime_usec = -1 }, READINESS_READY, NULL },
    { { .name = "web", .state = "running", .current = TRUE, .recent_restarts = 3 }, READINESS_CRASHLOOP,
      "web restarted 3 times in 5m" },
    { { .name = "web", .state = "restarting", .current = TRUE, .recent_restarts = 4 }, READINESS_CRASHLOOP,
      "web restarted 4 times in 5m" },
    { svc ("web", "restarting"), READINESS_STARTING, "web is restarting" },
    { svc ("web", "exited"), READINESS_STARTING, "web is exited" },
    { svc ("web", "created"), READINESS_STARTING, "web is created" },
    { svc ("web", NULL), READINESS_STARTING, "web has no container yet" },
    { { .name = "web", .state = "running", .current = FALSE }, READINESS_STARTING,
      "web does not run its current spec yet" },
    { { .name = "job", .state = "exited", .current = TRUE, .completed = TRUE }, READINESS_READY, NULL },
    { { .name = "db", .state = "running", .current = TRUE, .has_healthcheck = TRUE, .health = "healthy" },
      READINESS_READY, NULL },
    { { .name = "db", .state = "running", .current = TRUE, .has_healthcheck = TRUE, .health = "starting" },
      READINESS_STARTING, "db has not passed its healthcheck yet" },
    { { .name = "db", .state = "running", .current = TRUE, .has_healthcheck = TRUE, .health = NULL },
      READINESS_STARTING, "db has not passed its healthcheck yet" },
    { { .name = "db", .state = "running", .current = TRUE, .has_healthcheck = TRUE, .health = "unhealthy" },
      READINESS_UNHEALTHY, "db is unhealthy" },
    /* Without a healthcheck: ready once it has stayed up a moment (unknown uptime: at once). */
    { { .name = "web", .state = "running", .current = TRUE, .uptime_usec = 0 }, READINESS_STARTING,
      "web has just started" },
    { { .name = "web", .state = "running", .current = TRUE, .uptime_usec = READINESS_MIN_UPTIME_USEC - 1 },
      READINESS_STARTING, "web has just started" },
    { { .name = "web", .state = "running", .current = TRUE, .uptime_usec = READINESS_MIN_UPTIME_USEC }, READINESS_READY,
      NULL },
    /* With one, the healthcheck decides. */
    { { .name = "db", .state = "running", .current = TRUE, .has_healthcheck = TRUE, .health = "healthy",
        .uptime_usec = 0 }, READINESS_READY, NULL },
    /* Health Docker reports for a service without a healthcheck of ours (the image's) is not ours. */
    { { .name = "db", .state = "running", .current = TRUE, .health = "unhealthy", .uptime_usec = -1 }, READINESS_READY, NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *msg = NULL;
      g_assert_cmpint (readiness_service (&cases[i].s, &msg), ==, cases[i].want);
      g_assert_cmpstr (msg, ==, cases[i].msg);
    }
}

static void
test_project (void)
{
  g_autofree char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
  ReadinessService ok[] = { svc ("db", "running"), svc ("web", "running") };
  g_assert_cmpint (readiness_decide (ok, 2, &m1), ==, READINESS_READY);
  g_assert_cmpstr (m1, ==, "All services ready");
  g_assert_cmpstr (readiness_reason_to_string (READINESS_READY), ==, "Ready");

  /* The worst reason wins and names every service that has it. */
  ReadinessService mixed[] = {
    svc ("db", "restarting"),
    { .name = "web", .state = "restarting", .current = TRUE, .recent_restarts = 4 },
    { .name = "api", .state = "running", .current = TRUE, .has_healthcheck = TRUE, .health = "unhealthy" },
    { .name = "worker", .state = "exited", .current = TRUE, .recent_restarts = 3 },
  };
  g_assert_cmpint (readiness_decide (mixed, 4, &m2), ==, READINESS_CRASHLOOP);
  g_assert_cmpstr (m2, ==, "web restarted 4 times in 5m; worker restarted 3 times in 5m");
  g_assert_cmpstr (readiness_reason_to_string (READINESS_CRASHLOOP), ==, "CrashLoop");

  g_assert_cmpint (readiness_decide (mixed, 1, &m3), ==, READINESS_STARTING);
  g_assert_cmpstr (m3, ==, "db is restarting");
  ReadinessService sick[] = { svc ("db", "restarting"), mixed[2] };
  g_assert_cmpint (readiness_decide (sick, 2, &m4), ==, READINESS_UNHEALTHY);
  g_assert_cmpstr (m4, ==, "api is unhealthy");
  g_assert_cmpstr (readiness_reason_to_string (READINESS_UNHEALTHY), ==, "Unhealthy");
  g_assert_cmpstr (readiness_reason_to_string (READINESS_STARTING), ==, "Starting");

  g_autofree char *m5 = NULL;
  g_assert_cmpint (readiness_decide (NULL, 0, &m5), ==, READINESS_READY);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/readiness/window", test_window);
  g_test_add_func ("/readiness/burst-and-reset", test_burst_and_reset);
  g_test_add_func ("/readiness/new-container", test_new_container);
  g_test_add_func ("/readiness/first-sight", test_first_sight);
  g_test_add_func ("/readiness/bounded", test_bounded);
  g_test_add_func ("/readiness/service", test_service_verdicts);
  g_test_add_func ("/readiness/project", test_project);
  return g_test_run ();
}
