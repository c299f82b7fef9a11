/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Leader election: exactly one cara-server runs the controllers, the one holding a session-level
 * PostgreSQL advisory lock on a connection of its own.  When that process dies its connection
 * closes and PostgreSQL releases the lock, so a follower retrying every second takes over. */

#include <glib.h>

typedef struct _StoreLeaderLock StoreLeaderLock;

StoreLeaderLock *store_leader_lock_new (void);
/* Tries once (connecting first when needed); *ret_acquired tells whether this process now holds
 * the lock.  A failure drops the connection, so the next try starts afresh. */
gboolean store_leader_try_acquire (StoreLeaderLock *lock, gboolean *ret_acquired, GError **error);
/* Still connected, and so still holding the lock? */
gboolean store_leader_check (StoreLeaderLock *lock, GError **error);
/* Closes the connection, which releases the lock for the others. */
void store_leader_release (StoreLeaderLock *lock);
void store_leader_lock_free (StoreLeaderLock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoreLeaderLock, store_leader_lock_free)
