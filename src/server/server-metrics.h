/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* cara-server's metrics (SPEC §11 "Metrics"), kept in memory: request counters and durations
 * updated on the request path (an observer of the HTTP server), scheduler figures updated by the
 * scheduler, node and project counts pushed by the controllers' cache whenever it changes (the
 * leader's; a standby replica has none).  GET /metrics (api-metrics.c) only renders them. */

#include <glib.h>

#include "cara-metrics.h"

/* Registers every family; call once before serving. */
void server_metrics_init (void);
CaraMetrics *server_metrics_get (void);

/* CaraHttpObserveFunc: cara_http_requests_total{method,route,code},
 * cara_http_request_duration_seconds{route} (not for streams). */
void server_metrics_observe_request (const char *method, const char *route, guint status, double seconds,
                                     gboolean streamed, gpointer user_data);
/* cara_scheduling_duration_seconds: one scheduling pass. */
void server_metrics_scheduling_pass (double seconds);
/* cara_scheduler_decisions_total{result}: @result "scheduled" or "unschedulable". */
void server_metrics_scheduler_decisions (const char *result, guint n);
/* cara_project_list_cache_total{result}: a whole project list sent from memory (hit) or not. */
void server_metrics_list_cache (gboolean hit);
/* cara_nodes{state}, cara_projects{phase}: counts indexed by CaraNodeState / CaraProjectPhase. */
void server_metrics_set_counts (const guint *node_states, guint n_node_states, const guint *phases, guint n_phases);
/* No counts (this replica stopped being the leader). */
void server_metrics_clear_counts (void);
