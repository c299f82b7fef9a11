/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The private PostgreSQL of a single-machine setup (SPEC §8): a cluster in
 * <state dir>/postgresql, initialised on first start, listening only on a unix socket in that
 * directory, started and stopped with the server.  Started as root, PostgreSQL runs as the
 * system user "caravanserai" (created if missing); otherwise as the server's own user. */

#include <glib.h>

typedef struct _PgPrivate PgPrivate;

PgPrivate *pg_private_start (const char *state_dir, GError **error);
/* libpq connection string of the running instance. */
const char *pg_private_get_url (PgPrivate *pg);
/* Fast shutdown; waits for it. */
void pg_private_stop (PgPrivate *pg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PgPrivate, pg_private_stop)
