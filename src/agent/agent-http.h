/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The agent's own HTTP API (reference §5.6): /healthz, container logs and the WebSocket
 * port-forward, on the agent port or the socket systemd passes. */

#include "agent.h"

typedef struct _AgentHttp AgentHttp;

AgentHttp *agent_http_start (const AgentConfig *cfg, GError **error);
void agent_http_stop (AgentHttp *h);
/* Reads its TLS certificate and key again (SIGHUP); open connections keep theirs. */
gboolean agent_http_reload_tls (AgentHttp *h, GError **error);
