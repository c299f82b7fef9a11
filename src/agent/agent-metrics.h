/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* cara-agent's metrics (SPEC §11 "Metrics"), kept in memory and updated where things happen:
 * reconciles (worker.c), Docker requests (docker.c's observer), image pulls (reconcile.c),
 * heartbeat failures (main.c), and the containers of every project as last observed.  Served on
 * the agent API's GET /metrics (the server's credential, like logs: the server relays it as
 * GET /api/v1/nodes/{name}/metrics) and, without auth, on METRICS_LISTEN_ADDR when set. */

#include <glib.h>

#include "agent.h"

void agent_metrics_init (void);
/* The text exposition of everything (Prometheus format 0.0.4). */
char *agent_metrics_render (void);

/* @result: "success", "failed" (the project is Failed) or "error" (Docker did not answer). */
void agent_metrics_reconcile (const char *result, double seconds);
/* A DockerRequestObserver (docker.h): @status 0 when no answer came. */
void agent_metrics_docker_request (guint status, gpointer user_data);
/* @result: "success" or "failure". */
void agent_metrics_image_pull (const char *result);
void agent_metrics_heartbeat_failure (void);
/* The containers of @project as just observed (CaraServiceStatus*; NULL: it left this node). */
void agent_metrics_project_containers (const char *project, GPtrArray *services);

/* The unauthenticated listener on METRICS_LISTEN_ADDR ("HOST:PORT", ":PORT"); NULL @addr: none. */
typedef struct _AgentMetricsListener AgentMetricsListener;
AgentMetricsListener *agent_metrics_listen (const char *addr, GError **error);
void agent_metrics_listener_stop (AgentMetricsListener *l);
