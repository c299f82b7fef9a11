/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The agent's side of cluster events (SPEC §11 "Events"): report what happened on this node at
 * the moment it happens, from any thread, without waiting for the server:
 *
 *   agent_event (CARA_EVENT_NORMAL, "Pulled", project, "Pulled image %s", image);
 *   agent_event (CARA_EVENT_WARNING, "Killed", project, "Container %s was killed: out of memory", name);
 *
 * Events go into a queue that a thread of its own sends in batches with
 * POST /api/v1/nodes/{name}/events (the node's token), retrying with backoff while the server is
 * away; past EVENT_QUEUE_MAX waiting events the oldest are dropped.  Reasons are CamelCase
 * words (cara-event.h); the node is always this one.  A heartbeat is never an event. */

#include <glib.h>

#include "agent.h"
#include "cara-event.h"

#define EVENT_QUEUE_MAX 1000

/* Starts the sender (after the configuration is complete); without it events are dropped. */
void event_reporter_start (const AgentConfig *cfg);
/* Sends what is queued (one last try) and stops the sender. */
void event_reporter_stop (void);

/* About project @project. */
void agent_event (CaraEventType type, const char *reason, const char *project, const char *format, ...)
    G_GNUC_PRINTF (4, 5);
/* About another kind of object ("Node", ...). */
void agent_event_object (CaraEventType type, const char *reason, const char *kind, const char *name,
                         const char *format, ...) G_GNUC_PRINTF (5, 6);
