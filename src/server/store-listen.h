/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The one LISTEN cara_events loop: a connection of its own that wakes a GMainContext when any
 * server replica wrote something (store.h: every write sends NOTIFY cara_events).  Several
 * notifications are coalesced into one call: the listener reads the events table after the last
 * rv it handled, which covers every one of them. */

#include <glib.h>

typedef struct _StoreListener StoreListener;

typedef struct {
  /* One or more notifications arrived. */
  void (*notified) (gpointer user_data);
  /* The connection is gone (PostgreSQL restarted, network); no more calls after this one.  The
   * listener may be freed from inside it. */
  void (*lost) (const char *why, gpointer user_data);
} StoreListenCallbacks;

/* LISTEN is active when this returns, so a read of the events table made afterwards misses
 * nothing.  The callbacks run on @context. */
StoreListener *store_listen_start (GMainContext *context, const StoreListenCallbacks *cb, gpointer user_data,
                                   GError **error);
void store_listener_free (StoreListener *l);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoreListener, store_listener_free)
