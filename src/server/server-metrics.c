/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-metrics"
#include "config.h"

#include "server-metrics.h"

#include "cara-model.h"

static CaraMetrics *metrics;
static CaraMetricFamily *requests, *durations, *scheduling, *decisions, *nodes, *projects, *list_cache;

void
server_metrics_init (void)
{
  if (metrics != NULL)
    return;
  metrics = cara_metrics_new ();
  nodes = cara_metrics_gauge (metrics, "cara_nodes", "Nodes by state (as the controller leader sees them).",
                              (const char *[]) { "state", NULL });
  projects = cara_metrics_gauge (metrics, "cara_projects", "Projects by phase (as the controller leader sees them).",
                                 (const char *[]) { "phase", NULL });
  requests = cara_metrics_counter (metrics, "cara_http_requests_total", "HTTP requests served, by route template.",
                                   (const char *[]) { "method", "route", "code", NULL });
  durations = cara_metrics_histogram (metrics, "cara_http_request_duration_seconds",
                                      "Time to answer an HTTP request (not streams), by route template.",
                                      (const char *[]) { "route", NULL }, NULL, 0);
  scheduling = cara_metrics_histogram (metrics, "cara_scheduling_duration_seconds",
                                       "Duration of one scheduling pass over the Pending projects.", NULL, NULL, 0);
  decisions = cara_metrics_counter (metrics, "cara_scheduler_decisions_total",
                                    "Scheduling decisions written, by result (scheduled, unschedulable).",
                                    (const char *[]) { "result", NULL });
  cara_metric_touch (decisions, "scheduled");
  cara_metric_touch (decisions, "unschedulable");
  list_cache = cara_metrics_counter (metrics, "cara_project_list_cache_total",
                                     "Whole project lists answered from the list kept in memory (hit) or read "
                                     "from the database (miss).",
                                     (const char *[]) { "result", NULL });
  cara_metric_touch (list_cache, "hit");
  cara_metric_touch (list_cache, "miss");
}

void
server_metrics_list_cache (gboolean hit)
{
  if (metrics != NULL)
    cara_metric_add (list_cache, 1, hit ? "hit" : "miss");
}

CaraMetrics *
server_metrics_get (void)
{
  return metrics;
}

void
server_metrics_observe_request (const char *method, const char *route, guint status, double seconds,
                                gboolean streamed, gpointer user_data)
{
  char code[8];
  if (metrics == NULL)
    return;
  /* Unmatched paths are one series, not one per path a scanner tries. */
  if (route == NULL)
    route = "none";
  g_snprintf (code, sizeof code, "%u", status);
  cara_metric_add (requests, 1, method, route, code);
  /* A stream's duration is how long someone watched, not how fast we answered. */
  if (!streamed)
    cara_metric_add (durations, seconds, route);
}

void
server_metrics_scheduling_pass (double seconds)
{
  if (metrics != NULL)
    cara_metric_add (scheduling, seconds);
}

void
server_metrics_scheduler_decisions (const char *result, guint n)
{
  if (metrics != NULL && n > 0)
    cara_metric_add (decisions, n, result);
}

void
server_metrics_set_counts (const guint *node_states, guint n_node_states, const guint *phases, guint n_phases)
{
  if (metrics == NULL)
    return;
  /* Every known value, 0 included, so a query for phase="Failed" has a series to compare. */
  for (guint i = 1; i < n_node_states; i++)
    cara_metric_set (nodes, node_states[i], cara_node_state_to_string ((CaraNodeState) i));
  for (guint i = 1; i < n_phases; i++)
    cara_metric_set (projects, phases[i], cara_project_phase_to_string ((CaraProjectPhase) i));
}

void
server_metrics_clear_counts (void)
{
  if (metrics == NULL)
    return;
  cara_metric_clear (nodes);
  cara_metric_clear (projects);
}
