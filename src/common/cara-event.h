/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Human-readable cluster events (SPEC §11 "Events"): what happened to which object, when.  Not
 * the change feed of the watch API (store.h "events"): these are for people ("Pulled image
 * nginx:1.25", "Container web-db killed: out of memory").
 *
 * On the wire: {"time": RFC3339, "type": "Normal"|"Warning", "reason": "Scheduled",
 * "object": {"kind": "Project", "name": "web"}, "node": "n1", "message": "..."}; a list is
 * {"items": [...]}.  Reasons are CamelCase words (Scheduled, Unschedulable, Pulled, Started,
 * Unhealthy, Restarted, Killed, NodeNotReady, Rescheduled, Drained, UpdateStarted,
 * UpdateCompleted, RolledBack, SecretChanged, Migrated, ...). */

#include <glib.h>
#include <json-glib/json-glib.h>

#define CARA_EVENT_MESSAGE_MAX 4096
#define CARA_EVENT_REASON_MAX 128

typedef enum {
  CARA_EVENT_NORMAL,
  CARA_EVENT_WARNING,
} CaraEventType;

const char *cara_event_type_to_string (CaraEventType t);
gboolean cara_event_type_from_string (const char *s, CaraEventType *ret);

typedef struct {
  gint64 id;        /* the server's order (0 until stored); not on the wire */
  gint64 time_usec; /* wall clock, µs since the epoch; 0: "now" when recorded */
  CaraEventType type;
  char *reason;
  char *object_kind; /* "Project", "Node", ... */
  char *object_name;
  char *node;        /* the node it happened on or is about; NULL when none */
  char *message;
} CaraEvent;

/* @node may be NULL; @message is copied (longer than CARA_EVENT_MESSAGE_MAX: cut). */
CaraEvent *cara_event_new (CaraEventType type, const char *reason, const char *object_kind,
                           const char *object_name, const char *node, const char *message);
void cara_event_free (CaraEvent *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraEvent, cara_event_free)

JsonNode *cara_event_to_json (const CaraEvent *e);
/* Checks every field (unknown members too); errors name the field path under @path (e.g.
 * "items[2]", or NULL for none): "items[2].reason: required". */
CaraEvent *cara_event_from_json (JsonNode *node, const char *path, GError **error);
/* One event or {"items": [...]} (at most @max_items); never an empty array on success. */
GPtrArray *cara_event_list_from_json (JsonNode *node, guint max_items, GError **error);
