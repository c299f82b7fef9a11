/* SPDX-License-Identifier: Apache-2.0 */
/* What spares the agent Docker calls: the server's echo of its own status report is not work, and
 * a container's inspect is kept until an event of Docker's (not the agent's own start) says it
 * changed. */
#include "config.h"

#include "cara-json.h"
#include "inspect-cache.h"
#include "status-echo.h"

#define PROJECT \
  "{\"apiVersion\":\"caravanserai/v1\",\"kind\":\"Project\"," \
  " \"metadata\":{\"name\":\"web\",\"labels\":{\"team\":\"a\"},\"resourceVersion\":\"%s\"," \
  "   \"updatedAt\":\"%s\"}," \
  " \"spec\":{\"services\":[{\"name\":\"s\",\"image\":\"%s\"}]}," \
  " \"status\":{\"phase\":\"%s\",\"nodeRef\":\"%s\"%s}}"

static CaraProject *
project (const char *rv, const char *updated, const char *image, const char *phase, const char *node, const char *extra)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf (PROJECT, rv, updated, image, phase, node, extra);
  g_autoptr (JsonNode) n = cara_json_parse (text, -1, &error);
  g_assert_no_error (error);
  CaraProject *p = cara_project_from_json (n, &error);
  g_assert_no_error (error);
  return p;
}

#define T0 "2026-01-01T00:00:00Z"
#define T1 "2026-01-01T00:00:05Z"
#define REPORT \
  ",\"services\":[{\"name\":\"s\",\"containerId\":\"abc\",\"state\":\"running\",\"restartCount\":0}]," \
  "\"conditions\":[{\"type\":\"ServicesReady\",\"status\":\"False\",\"reason\":\"Starting\"}]"

static void
test_echo (void)
{
  g_autoptr (CaraProject) before = project ("1", T0, "busybox", "Scheduled", "n1", "");
  /* Our report (Running, services, a condition) coming back, with a new version and time. */
  g_autoptr (CaraProject) echo = project ("2", T1, "busybox", "Running", "n1", REPORT);
  g_assert_true (status_echo (before, echo, CARA_PROJECT_PHASE_RUNNING));
  /* With the generation we reported rolled out. */
  g_autoptr (CaraProject) rolled = project ("3", T1, "busybox", "Running", "n1", REPORT ",\"observedGeneration\":1");
  g_assert_true (status_echo (echo, rolled, CARA_PROJECT_PHASE_RUNNING));
  /* The same again (a later report of ours, same phase). */
  g_assert_true (status_echo (echo, echo, CARA_PROJECT_PHASE_NONE));
  /* A phase we did not report: the server's decision (e.g. Terminating), to act on. */
  g_autoptr (CaraProject) term = project ("3", T1, "busybox", "Terminating", "n1", REPORT);
  g_assert_false (status_echo (echo, term, CARA_PROJECT_PHASE_RUNNING));
  /* A new spec, another node, other labels: work. */
  g_autoptr (CaraProject) spec = project ("3", T1, "busybox:2", "Running", "n1", REPORT);
  g_assert_false (status_echo (echo, spec, CARA_PROJECT_PHASE_RUNNING));
  g_autoptr (CaraProject) moved = project ("3", T1, "busybox", "Running", "n2", REPORT);
  g_assert_false (status_echo (echo, moved, CARA_PROJECT_PHASE_RUNNING));
  g_autoptr (CaraProject) labels = project ("3", T1, "busybox", "Running", "n1", REPORT);
  g_hash_table_insert (labels->metadata.labels, g_strdup ("team"), g_strdup ("b"));
  g_assert_false (status_echo (echo, labels, CARA_PROJECT_PHASE_RUNNING));
  /* A move under way (status.migration) is the server's, too. */
  g_autoptr (CaraProject) mig = project ("3", T1, "busybox", "Running", "n1",
                                         REPORT ",\"migration\":{\"from\":\"n1\",\"to\":\"n2\",\"phase\":\"Stopping\"}");
  g_assert_false (status_echo (echo, mig, CARA_PROJECT_PHASE_RUNNING));
  /* Nothing held yet: a project the agent has not seen. */
  g_assert_false (status_echo (NULL, echo, CARA_PROJECT_PHASE_RUNNING));
}

static JsonObject *
inspect (const char *status, gint64 restarts)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("{\"Id\":\"c1\",\"RestartCount\":%" G_GINT64_FORMAT ","
                                           " \"State\":{\"Status\":\"%s\"},\"Config\":{\"Image\":\"busybox\",\"StopTimeout\":3}}",
                                           restarts, status);
  g_autoptr (JsonNode) n = cara_json_parse (text, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (n));
}

static const char *
state_of (JsonObject *info)
{
  return cara_json_object_string (cara_json_object_object (info, "State"), "Status");
}

static void
test_inspect_cache (void)
{
  guint64 seq = 0;
  g_assert_null (inspect_cache_get ("c1", &seq));
  g_autoptr (JsonObject) running = inspect ("running", 0);
  inspect_cache_put ("c1", seq, running);
  g_autoptr (JsonObject) got = inspect_cache_get ("c1", NULL);
  g_assert_cmpstr (state_of (got), ==, "running");
  /* Only what observing and stopping need is kept. */
  g_assert_false (json_object_has_member (cara_json_object_object (got, "Config"), "Image"));
  g_assert_cmpint (json_object_get_int_member (cara_json_object_object (got, "Config"), "StopTimeout"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (got, "RestartCount"), ==, 0);

  /* An event: asked again; an inspect answered before the event is not kept. */
  g_assert_true (inspect_cache_event ("c1", "die"));
  g_assert_null (inspect_cache_get ("c1", NULL));
  guint64 before = 0;
  g_assert_null (inspect_cache_get ("c1", &before));
  g_assert_true (inspect_cache_event ("c1", "start"));
  g_autoptr (JsonObject) stale = inspect ("exited", 0);
  inspect_cache_put ("c1", before, stale);
  g_assert_null (inspect_cache_get ("c1", NULL));

  /* Our own start: its event is no news, what we stored stays; the next one is news again. */
  seq = inspect_cache_expect ("c1", "start");
  g_autoptr (JsonNode) grace = json_node_init_int (json_node_alloc (), 7);
  g_autoptr (JsonObject) started = inspect_cache_started ("c1", TRUE, grace);
  inspect_cache_put ("c1", seq, started);
  g_assert_false (inspect_cache_event ("c1", "start"));
  g_autoptr (JsonObject) mine = inspect_cache_get ("c1", NULL);
  g_assert_nonnull (mine);
  g_assert_cmpstr (state_of (mine), ==, "running");
  g_assert_cmpstr (cara_json_object_string (cara_json_object_object (cara_json_object_object (mine, "State"), "Health"),
                                            "Status"), ==, "starting");
  g_autoptr (GDateTime) t = g_date_time_new_from_iso8601 (
      cara_json_object_string (cara_json_object_object (mine, "State"), "StartedAt"), NULL);
  g_assert_nonnull (t);
  g_assert_cmpint (json_object_get_int_member (cara_json_object_object (mine, "Config"), "StopTimeout"), ==, 7);
  g_assert_true (inspect_cache_event ("c1", "start"));
  g_assert_null (inspect_cache_get ("c1", NULL));

  /* Another action than the one expected is news (and ends the expectation). */
  seq = inspect_cache_expect ("c1", "start");
  inspect_cache_put ("c1", seq, running);
  g_assert_true (inspect_cache_event ("c1", "die"));
  g_assert_true (inspect_cache_event ("c1", "start"));

  /* A removal of ours: none of its events is news (a second kill when the stop timed out). */
  inspect_cache_get ("c3", &seq);
  inspect_cache_put ("c3", seq, running);
  inspect_cache_removing ("c3");
  g_assert_false (inspect_cache_event ("c3", "kill"));
  g_assert_null (inspect_cache_get ("c3", NULL));
  g_assert_false (inspect_cache_event ("c3", "kill"));
  g_assert_false (inspect_cache_event ("c3", "die"));
  g_assert_false (inspect_cache_event ("c3", "destroy"));
  /* Gone: a container of that ID again would be news. */
  g_assert_true (inspect_cache_event ("c3", "start"));
  inspect_cache_event ("c3", "destroy");

  /* A reconnected event stream forgets everything; a failed start forgets its expectation. */
  inspect_cache_get ("c2", &seq);
  inspect_cache_put ("c2", seq, running);
  inspect_cache_invalidate ();
  g_assert_null (inspect_cache_get ("c2", NULL));
  inspect_cache_expect ("c2", "start");
  inspect_cache_forget ("c2");
  g_assert_true (inspect_cache_event ("c2", "start"));
  g_assert_true (inspect_cache_event ("c2", "destroy"));
  g_assert_null (inspect_cache_get ("c2", NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/agent-calls/status-echo", test_echo);
  g_test_add_func ("/agent-calls/inspect-cache", test_inspect_cache);
  return g_test_run ();
}
