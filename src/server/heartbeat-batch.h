/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

/* Heartbeats that change nothing but the time (SPEC §16: they are not events).  A node's first
 * heartbeat on this server, and any whose body differs from the last one, take the full path (a new
 * resourceVersion, an event, a NOTIFY) and then mark the row with the body's digest.  While the
 * mark holds (any other write of the node clears it: node-health, an admin, a drain), a heartbeat
 * with the same body is answered at once and its time is written with the others in one statement
 * a few times per heartbeat timeout (a row found without the mark then, e.g. because node-health
 * wrote NotReady meanwhile, gets the time too, and the node's next heartbeat takes the full path
 * again).  The times are in the database, so a new leader's NotReady
 * decisions stay right; a server that dies loses at most one flush interval of them. */

/* Starts the flusher; @heartbeat_timeout_usec sets how often it writes (a quarter of it, at most 1 s). */
void heartbeat_batch_start (gint64 heartbeat_timeout_usec);
/* Writes what is pending and stops the flusher. */
void heartbeat_batch_stop (void);

/* The digest of a heartbeat body (what "the same body" means). */
char *heartbeat_batch_digest (const char *body, gsize len);
/* TRUE when the heartbeat was taken (answer 204): @name's row holds this very heartbeat but for its
 * time.  FALSE: use the full path, then heartbeat_batch_written(). */
gboolean heartbeat_batch_absorb (const char *name, const char *digest);
/* After the full path wrote the heartbeat of @digest at @resource_version. */
void heartbeat_batch_written (const char *name, const char *resource_version, const char *digest);
