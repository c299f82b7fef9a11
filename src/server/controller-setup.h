/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The one entry point main.c calls for issue 5: after store_setup() and api_register(), before
 * the HTTP server starts.  Starts the watch hub (every replica), registers the watch handler and
 * the drain/uncordon routes, and starts the controller manager (which runs the controllers only
 * while this replica is the leader).  Timeouts come from @kf's [server] group (may be NULL),
 * overridden by NODE_HEARTBEAT_TIMEOUT, RESCHEDULE_GRACE_PERIOD, TERMINATION_TIMEOUT and
 * RESYNC_INTERVAL in the environment. */

#include <glib.h>

#include "cara-http-server.h"

gboolean controllers_setup (CaraHttpServer *http, GKeyFile *kf, GError **error);
/* Stops the manager and the hub (call after the HTTP server stopped). */
void controllers_shutdown (void);
gboolean controllers_is_leader (void);
