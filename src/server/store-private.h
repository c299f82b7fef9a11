/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Helpers shared by the store's files (not for other modules): the only header that brings in
 * libpq, so that nothing outside store*.c talks to PostgreSQL. */

#include <json-glib/json-glib.h>
#include <libpq-fe.h>

#include "cara-cleanup.h"
#include "store.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PGconn, PQfinish)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PGresult, PQclear)

/* A new connection of your own (e.g. for LISTEN); the caller owns it. */
PGconn *store_connect_new (GError **error);
/* The calling thread's connection, (re)connecting when needed. */
PGconn *store_thread_conn (GError **error);

/* Runs a parameterised statement on @c (text parameters, NULL = SQL NULL, text results).
 * Failures become GErrors: connection trouble -> UNAVAILABLE (and the thread's connection is
 * dropped), unique violation -> CONFLICT, else FAILED.  Returns NULL on error. */
PGresult *store_exec (PGconn *c, const char *sql, int n_params, const char * const *params, GError **error);

/* As store_exec on the thread's connection, retried once on a fresh connection when the
 * existing one turned out to be broken (e.g. PostgreSQL restarted since it was last used).
 * Only for single statements outside a transaction. */
PGresult *store_exec_once (const char *sql, int n_params, const char * const *params, GError **error);

/* A transaction that rolls back when freed unless store_txn_commit() succeeded, so every early
 * return of a g_autoptr (StoreTxn) leaves nothing half-written. */
typedef struct _StoreTxn StoreTxn;
/* BEGIN (@begin_sql, NULL for a plain BEGIN) on the thread's connection, with the same one retry. */
StoreTxn *store_txn_begin (const char *begin_sql, GError **error);
/* BEGIN on a connection of the caller's (e.g. the migrations' own). */
StoreTxn *store_txn_begin_on (PGconn *c, GError **error);
PGconn *store_txn_conn (StoreTxn *t);
gboolean store_txn_commit (StoreTxn *t, GError **error);
void store_txn_free (StoreTxn *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoreTxn, store_txn_free)

/* Next resourceVersion (under the rv advisory lock) and the transaction's now(), in µs. */
gboolean store_next_rv (PGconn *c, gint64 *ret_rv, gint64 *ret_now_usec, GError **error);
/* Appends the event and NOTIFYs cara_events, in @c's transaction. */
gboolean store_append_event (PGconn *c, gint64 rv, const char *kind, const char *name, const char *type,
                             const char *object_json, GError **error);
/* Newest event rv visible to the current transaction. */
gboolean store_snapshot_rv (PGconn *c, gint64 *ret_rv, GError **error);

GDateTime *store_usec_to_datetime (gint64 usec);
char *store_datetime_to_usec (GDateTime *t); /* NULL for NULL */
char *store_map_to_text (GHashTable *map);
gboolean store_map_from_text (const char *text, const char *path, GHashTable **ret, GError **error);
char *store_json_text (JsonNode *node); /* takes ownership of @node */
/* '{"a","b"}' for a NULL-terminated array */
char *store_text_array (const char * const *values);

gboolean store_migrate (PGconn *c, GError **error);

/* In @c's transaction: binds @cred to the node (no check of what was bound before). */
gboolean store_node_credential_write (PGconn *c, const char *name, const StoreNodeCredential *cred, GError **error);

/* In @c's transaction: a new resourceVersion and MODIFIED event for each project named in @names
 * (store-projects.c), so that watchers look at them again; a Failed one placed on a node is
 * retried there (Scheduled). */
gboolean store_touch_projects (PGconn *c, const char *const *names, GError **error);
