/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Recording cluster events on the server (SPEC §11 "Events").  Call it at the moment something
 * happens, from any thread (the store uses the thread's own connection):
 *
 *   cara_events_record (CARA_EVENT_NORMAL, "UpdateStarted", "Project", name, node,
 *                       "Rolling update to revision %u started", rev);
 *   cara_events_record (CARA_EVENT_WARNING, "RolledBack", "Project", name, NULL, "...");
 *
 * Reasons are CamelCase words (cara-event.h lists the usual ones); @object_kind is the kind of
 * what it is about ("Project", "Node", "Secret", ...); @node the node it happened on (NULL when
 * none).  Recording never fails the caller: when the database cannot take it, the event is
 * dropped with a debug message (an event is information, never a reason to undo work).
 * A heartbeat is never an event: record changes, not confirmations.
 *
 * Agents report theirs through POST /api/v1/nodes/{name}/events (api-events.c; the agent's side
 * is src/agent/event-reporter.h). */

#include <glib.h>

#include "cara-event.h"

#define CARA_EVENT_TTL_DEFAULT "24h"
#define CARA_EVENT_LIMIT_DEFAULT 100000

void cara_events_record (CaraEventType type, const char *reason, const char *object_kind, const char *object_name,
                         const char *node, const char *format, ...) G_GNUC_PRINTF (6, 7);
/* Several in one transaction (e.g. one per placement of a scheduling batch); takes the
 * CaraEvent*s out of @events (may be NULL or empty). */
void cara_events_record_many (GPtrArray *events);

/* Retention: EVENT_TTL (duration, default 24h; [server] event_ttl) and EVENT_LIMIT (rows,
 * default 100000; [server] event_limit).  Call once at start (and on reload). */
gboolean cara_events_configure (GKeyFile *kf, GError **error);
/* Drops what retention no longer keeps (a timer in main.c). */
void cara_events_trim (void);
