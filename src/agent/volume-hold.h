/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* While a node takes part in a move with data (SPEC §14), its reconciler leaves the project alone:
 * the old node must not start the services it stopped for the copy, the new node must not tear
 * down the containers it prepared before the project is placed on it.  Pure bookkeeping, in
 * memory (thread-safe); after an agent restart the server's status.migration says the same. */

#include <glib.h>

#include "cara-model.h"

typedef enum {
  VOLUME_HOLD_SOURCE = 1, /* the old node: services stopped for the copy */
  VOLUME_HOLD_RECEIVER,   /* the new node: containers created, not started, volumes being filled */
} VolumeHoldKind;

/* A source hold outlives a move that ended without telling us (no resume call) this long. */
#define VOLUME_HOLD_RELEASE_USEC (10 * G_USEC_PER_SEC)

void volume_hold_set (const char *project, VolumeHoldKind kind, gint64 now);
void volume_hold_clear (const char *project);
/* TRUE when the reconcile of @project must wait.  @p: its desired state here (NULL when not placed
 * on this node); @self: this node's name; @now: monotonic time.  Drops a hold that no longer
 * applies: the project left (source) or arrived (receiver), was deleted, or its move ended. */
gboolean volume_hold_skip (const char *project, const CaraProject *p, const char *self, gint64 now);
