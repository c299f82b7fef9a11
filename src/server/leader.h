/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Leader election: exactly one cara-server runs the controllers, the one holding a session-level
 * PostgreSQL advisory lock on its own connection.  When that process dies its connection closes
 * and PostgreSQL releases the lock, so a follower retrying every second takes over. */

#include <glib.h>
#include <libpq-fe.h>

/* Second key of the two-int advisory lock; the first is STORE_LOCK_KEY1 (store.h). */
#define LEADER_LOCK_KEY2 3

/* Tries once; *ret_acquired tells whether this connection now holds the lock. */
gboolean leader_try_acquire (PGconn *conn, gboolean *ret_acquired, GError **error);
/* Still connected (and therefore still holding the lock)? */
gboolean leader_check (PGconn *conn, GError **error);
