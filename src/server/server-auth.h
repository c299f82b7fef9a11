/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Bearer-token authorisation of the REST API (SPEC §9).
 *   admin token       everything
 *   join token        registering nodes (POST /api/v1/nodes), nothing else
 *   node tokens       what an agent does, for its own node only: heartbeats, its node, the projects
 *                     placed on it (list/watch with ?nodeRef=, get, status reports); each node's
 *                     token is bound to it when its agent registers (cara-token.h)
 *   read-only tokens  reads
 * Tokens come from $CARA_ADMIN_TOKEN / $CARA_JOIN_TOKEN / $CARA_READ_TOKENS (comma-separated) or the
 * [server] keys admin_token, join_token, read_tokens; an admin or join token configured nowhere is
 * generated on first start into <state dir>/admin.token, join.token (mode 0600) and read from
 * there afterwards.  CARA_AUTH=none ([server] auth=none) turns authorisation off, explicitly. */

#include <glib.h>

#include "cara-http-server.h"

typedef struct _ServerAuth ServerAuth;

ServerAuth *server_auth_new (GKeyFile *kf, const char *state_dir, GError **error);
void server_auth_free (ServerAuth *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ServerAuth, server_auth_free)

gboolean server_auth_enabled (ServerAuth *a);
/* Reads the tokens again (SIGHUP): configured ones from @kf and the environment, generated ones from
 * their files.  On error the old tokens stay. */
gboolean server_auth_reload (ServerAuth *a, GKeyFile *kf, GError **error);
/* A CaraHttpAuthorizer; @user_data is the ServerAuth. */
gboolean server_auth_authorize (CaraHttpRequest *req, const CaraHttpRoute *route, gpointer user_data,
                                GError **error);

/* The node whose token made @req, or NULL (admin, join or read-only token, or authorisation off).
 * Handlers of CARA_HTTP_NODE_HANDLER routes use it to keep an agent to its own node. */
const char *server_auth_request_node (CaraHttpRequest *req);
/* TRUE when @req was made with the join token (it may create nodes, never claim existing ones). */
gboolean server_auth_request_is_join (CaraHttpRequest *req);
/* The caller's role: "admin" (also when authorisation is off), "read", "join" or "node". */
const char *server_auth_request_role (CaraHttpRequest *req);
/* For those handlers: FALSE with a FORBIDDEN error unless @req may act for @node. */
gboolean server_auth_check_node (CaraHttpRequest *req, const char *node, const char *what, GError **error);
