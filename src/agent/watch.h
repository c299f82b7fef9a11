/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Work arrives here: list the projects placed on this node, then follow the server's watch stream
 * (SPEC §3, NDJSON) until the next periodic re-list; servers without watch (400/404, or a plain
 * list answer) are polled instead.  Runs on a thread of its own. */

#include "agent.h"
#include "worker.h"

typedef struct _Watch Watch;

Watch *watch_start (const AgentConfig *cfg, AgentWorker *worker);
/* Re-list now (D-Bus Reconcile, the server came back). Thread-safe. */
void watch_resync (Watch *w);
void watch_stop (Watch *w);
