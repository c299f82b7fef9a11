/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Registration and heartbeats on a thread of their own, so Docker work never delays them
 * (reference §5.2/5.4, SPEC §5): register (409 = already registered), then a heartbeat every
 * HEARTBEAT_INTERVAL with state, network, capacity/allocatable and info; 404 re-registers;
 * while the server is away, retries back off from 1 s to 60 s. */

#include "agent.h"

typedef struct _Heartbeat Heartbeat;

/* Called on @main_ctx: @ok after every successful heartbeat (@usec = its wall-clock time), or not
 * (@ok FALSE) when the server could not be reached. */
typedef void (*HeartbeatNotify) (gboolean registered, gboolean ok, gint64 usec, gpointer user_data);

Heartbeat *heartbeat_start (const AgentConfig *cfg, GMainContext *main_ctx, HeartbeatNotify notify,
                            gpointer user_data);
/* Stops the thread (interrupting a wait) and frees. */
void heartbeat_stop (Heartbeat *hb);
