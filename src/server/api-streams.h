/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Logs and port-forward through the server (SPEC §3): the server finds the project's
 * node and relays to that agent's /api/v1/logs and /api/v1/forward endpoints. */

#include "cara-http-server.h"

/* How the relays of GET /api/v1/projects/{name}/logs and /portforward reach agents: @kf gives
 * agent_tls and agent_ca.  They present to each agent the secret bound to its node at
 * registration (cara-token.h). */
void api_streams_configure (GKeyFile *kf);
