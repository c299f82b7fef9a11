/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Logs and port-forward through the server (SPEC §3, issue 7): the server finds the project's
 * node and relays to that agent's /api/v1/logs and /api/v1/forward endpoints. */

#include "cara-http-server.h"

/* Adds GET /api/v1/projects/{name}/logs and GET /api/v1/projects/{name}/portforward.  The relays
 * present the join token (config [server] join_token, $CARA_JOIN_TOKEN or <state_dir>/join.token,
 * as server-auth.h finds it) to agents.  Call after server_auth_new() (it creates the file). */
void api_streams_register (CaraHttpServer *server, GKeyFile *kf, const char *state_dir);
