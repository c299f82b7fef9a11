/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A de-duplicating work queue of string keys, one per controller.  A key waits at most once; keys
 * can be added after a delay (requeue-after) or with per-key exponential backoff after a failure.
 * It is used from the controller thread only, so it has no locking; time is passed in (monotonic
 * microseconds) so the logic is testable without sleeping. */

#include <glib.h>

typedef struct _ControllerQueue ControllerQueue;

/* Backoff after a failure: @base_usec * 2^(failures-1), capped at @max_usec. */
ControllerQueue *controller_queue_new (gint64 base_usec, gint64 max_usec);
void controller_queue_free (ControllerQueue *q);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ControllerQueue, controller_queue_free)

/* Ready now; a key already ready is not added twice; a pending delayed add is dropped (the
 * reconcile will decide again when to come back). */
void controller_queue_add (ControllerQueue *q, const char *key);
/* Ready at @now + @delay; if the key is already ready, or due earlier, nothing changes. */
void controller_queue_add_after (ControllerQueue *q, const char *key, gint64 delay_usec, gint64 now);
/* After a failed reconcile: ready after the key's next backoff step. */
void controller_queue_add_rate_limited (ControllerQueue *q, const char *key, gint64 now);
/* After a successful reconcile: the key's backoff starts again from @base. */
void controller_queue_forget (ControllerQueue *q, const char *key);
guint controller_queue_failures (ControllerQueue *q, const char *key);

/* Moves delayed keys that are due at @now to the ready list, then pops the oldest ready key
 * (caller frees), or NULL when none is ready. */
char *controller_queue_pop (ControllerQueue *q, gint64 now);
/* The earliest time a delayed key becomes due, or -1 when there is none. */
gint64 controller_queue_next_deadline (ControllerQueue *q);
guint controller_queue_ready_length (ControllerQueue *q);
guint controller_queue_delayed_length (ControllerQueue *q);
