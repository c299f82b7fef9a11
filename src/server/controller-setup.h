/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The controllers' entry points for main.c.  controllers_register(): after store_setup() and
 * api_register(), before the HTTP server starts: starts the watch hub (every replica), registers
 * the watch handler and the drain/uncordon routes.  controllers_start(): starts the controller
 * manager, which runs the controllers only while this replica is the leader.
 * Environment: CARA_MAX_WATCHERS (default 4096 open watch streams), CARA_WATCH_BOOKMARK_INTERVAL
 * (default 15s). */

#include <glib.h>

#include "cara-http-server.h"
#include "controller-manager.h"

void controllers_register (CaraHttpServer *http, const ControllerTimeouts *t);
void controllers_start (void);
/* Stops the manager and ends the watch streams (before the HTTP server stops). */
void controllers_shutdown (void);
gboolean controllers_is_leader (void);
/* Open watch streams (cara_watchers). */
guint controllers_watcher_count (void);
