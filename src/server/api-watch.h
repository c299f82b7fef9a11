/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The controllers' side of the REST API: the watch streams (GET /api/v1/projects and
 * /api/v1/nodes with ?watch=true, handed over by api_dispatch_watch). */

#include "cara-http-server.h"
#include "controller-manager.h"
#include "watch-hub.h"

/* ApiWatchHandler for api_set_watch_handler(); @user_data is the WatchHub. */
void api_watch_handle (CaraHttpRequest *req, const char *kind, gpointer user_data);

