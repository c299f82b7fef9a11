/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Logs and port-forward through the server (SPEC §3): the server finds the project's
 * node and relays to that agent's /api/v1/logs and /api/v1/forward endpoints. */

#include "cara-http-server.h"
#include "cara-model.h"

/* How the relays of GET /api/v1/projects/{name}/logs and /portforward reach agents: @kf gives
 * agent_tls and agent_ca.  They present to each agent the secret bound to its node at
 * registration (cara-token.h). */
void api_streams_configure (GKeyFile *kf);

/* For the other relays (api-exec.c).  Finds the agent serving the project {name} of @req (@service,
 * when given, must be one of its services; @need_running: the project must be Running): its URL,
 * node and the secret to present.  Responds (404, 409, 502) and returns FALSE when there is none. */
gboolean api_streams_resolve_agent (CaraHttpRequest *req, const char *service, gboolean need_running,
                                    CaraProject **ret_project, char **ret_node, char **ret_url, char **ret_secret);
/* Opens the agent's WebSocket @path (asking for @protocol, may be NULL) and, when it accepted,
 * answers the client's handshake (@key) and relays frames both ways on a thread of its own; the
 * agent's refusal is passed through.  Responds in every case. */
void api_streams_relay_websocket (CaraHttpRequest *req, const char *key, const char *node, const char *base,
                                  const char *secret, const char *path, const char *protocol, const char *what);
/* For other relays to agents (metrics): "http(s)://ip:port" of @node's agent (NULL when it has no
 * address), and the CA file to verify it with (NULL: the system's). */
char *api_streams_agent_url (const CaraNode *node);

/* For the libcurl write callbacks of the relays: keeps at most the first 64 KiB of an agent's
 * refusal (its problem+json, passed on to the client). */
void api_streams_keep_error_body (GByteArray *err_body, const char *data, size_t len);
/* Waits until the handler has answered the client (*@stream set) or the relay is cancelled;
 * FALSE when cancelled. */
gboolean api_streams_wait_answered (GMutex *lock, GCond *cond, CaraHttpStream *const *stream, gint *cancelled);
/* What those settings say, for the other callers of agents (moves with data): "http" or "https",
 * and the CA file (NULL: the system's). */
const char *api_streams_agent_scheme (void);
const char *api_streams_agent_ca (void);
