/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Logs and port-forward through the server (SPEC §3): the server finds the project's
 * node and relays to that agent's /api/v1/logs and /api/v1/forward endpoints. */

#include "cara-http-server.h"

/* How the relays of GET /api/v1/projects/{name}/logs and /portforward reach agents: @kf gives
 * agent_tls and agent_ca.  They present to each agent the secret bound to its node at
 * registration (cara-token.h). */
void api_streams_configure (GKeyFile *kf);
/* What those settings say, for the other callers of agents (moves with data): "http" or "https",
 * and the CA file (NULL: the system's). */
const char *api_streams_agent_scheme (void);
const char *api_streams_agent_ca (void);
