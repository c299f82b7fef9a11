/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The agent's calls to cara-server (reference §5.2-5.4). */

#include "agent.h"
#include "cara-http-client.h"
#include "cara-model.h"

/* A client for the server with our token, CA and a 10 s timeout.  One per thread. */
CaraHttpClient *server_client_new (const AgentConfig *cfg);

/* GET /api/v1/projects?nodeRef=NODE: every project placed here, whatever its phase. */
GPtrArray *server_list_projects (CaraHttpClient *c, const AgentConfig *cfg, GError **error);

/* PATCH /api/v1/projects/{name}/status. */
gboolean server_report_status (CaraHttpClient *c, const char *project, const CaraStatusReport *r, GError **error);
