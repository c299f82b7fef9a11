/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The agent's own HTTP API (reference §5.6): /healthz, container logs and the WebSocket
 * port-forward, on the agent port or the socket systemd passes. */

#include "agent.h"
#include "cara-http-server.h"
#include "docker.h"

typedef struct _AgentHttp AgentHttp;

AgentHttp *agent_http_start (const AgentConfig *cfg, GError **error);
void agent_http_stop (AgentHttp *h);
/* Reads its TLS certificate and key again (SIGHUP); open connections keep theirs. */
gboolean agent_http_reload_tls (AgentHttp *h, GError **error);

/* For the handlers that live in files of their own (agent-exec.c). */
const AgentConfig *agent_http_get_config (AgentHttp *h);
/* Our container of @project/@service (by labels), inspected; CARA_ERROR_NOT_FOUND when none. */
JsonObject *agent_http_find_container (AgentHttp *h, DockerClient *dc, const char *project, const char *service,
                                       GError **error);
gboolean agent_http_container_running (JsonObject *info);
/* The bound on stream threads shared by logs, forward and exec. */
gboolean agent_http_stream_slot_take (AgentHttp *h);
/* Writes everything to a stream's socket, waiting while it is full (that wait is the back-pressure);
 * FALSE when it broke or stayed full for 30 s. */
gboolean agent_http_write_all (int fd, const guint8 *data, gsize len);
void agent_http_stream_slot_release (AgentHttp *h);

/* agent-exec.c: GET /api/v1/exec/{project}/{service}?command=...&stdin=&tty= (SPEC §11). */
void agent_exec_handle (CaraHttpRequest *req, gpointer user_data);
