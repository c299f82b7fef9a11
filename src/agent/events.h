/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Docker's event stream for our containers (label cara.node=NODE) on a thread of its own: a
 * container that dies, starts, or changes health makes its project be observed again at once. */

#include "agent.h"
#include "worker.h"

typedef struct _Events Events;

Events *events_start (const AgentConfig *cfg, AgentWorker *worker);
void events_stop (Events *ev);
