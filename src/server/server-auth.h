/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Bearer-token authorisation of the REST API (SPEC §9).
 *   admin token       everything
 *   join token        what agents do: register nodes, heartbeats, status reports, reads
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
/* A CaraHttpAuthorizer; @user_data is the ServerAuth. */
gboolean server_auth_authorize (CaraHttpRequest *req, CaraHttpRole role, gpointer user_data, GError **error);
