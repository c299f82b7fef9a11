/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The store: nodes and projects in PostgreSQL (libpq).
 *
 * Connections: every thread that calls a store function uses its own PGconn, created lazily on
 * first use and re-created after the connection broke (no connection is shared between threads).
 * When PostgreSQL cannot be reached the functions fail with CARA_ERROR_UNAVAILABLE (-> 503).
 *
 * Every write runs in one transaction that also appends a row to `events` (rv = the object's new
 * resourceVersion, type ADDED|MODIFIED|DELETED, the object as JSON) and sends
 * NOTIFY cara_events '<Kind>/<name>/<rv>'.  resourceVersions come from one global sequence and
 * are taken under a transaction-level advisory lock held to commit, so events become visible in rv
 * order: a watcher that has seen rv R and reads `events WHERE rv > R` never misses one.
 *
 * Advisory lock keys used here (two-int form, first key 0x63617261 "cara"): (…, 1) migrations,
 * (…, 2) resourceVersion order.  Use another second key for anything else (e.g. leader election).
 *
 * Errors: CARA_ERROR_NOT_FOUND "project not found: web: resource not found",
 * CARA_ERROR_CONFLICT ("...: resource already exists" / "operation conflicts with current resource
 * state: ..."), CARA_ERROR_UNAVAILABLE (database unreachable), CARA_ERROR_FAILED (other). */

#include <glib.h>

#include "cara-model.h"

#define STORE_LOCK_KEY1 0x63617261
#define STORE_LOCK_MIGRATE 1
#define STORE_LOCK_RV 2

/* Remembers the libpq connection string (a URL or "host=... dbname=..."), connects and applies
 * the migrations (safe when several servers start at once). */
gboolean store_setup (const char *database_url, GError **error);
const char *store_get_database_url (void);
/* Drop the calling thread's connection (e.g. before the thread exits). */
void store_thread_disconnect (void);
/* FALSE when the last statement or connection attempt (any thread) could not reach PostgreSQL. */
gboolean store_is_available (void);

/* ---- nodes ---- */
/* A node's credential (SPEC §9, cara-token.h): the hash of its token and the secret the server
 * presents to its agent.  Kept beside the node, never in the Node object. */
typedef struct {
  const char *token_hash;
  const char *agent_secret;
} StoreNodeCredential;

/* Sets created/updated/resourceVersion on @node and binds @cred (may be NULL) in the same
 * transaction; already exists -> CONFLICT; @cred's hash bound to another node -> CONFLICT. */
gboolean store_create_node (CaraNode *node, const StoreNodeCredential *cred, GError **error);
gboolean store_get_node (const char *name, CaraNode **ret, GError **error);
/* Sorted by name.  @ret_rv (may be NULL): the newest event rv of the same snapshot, to start a
 * watch from. */
gboolean store_list_nodes (GPtrArray **ret_nodes, gint64 *ret_rv, GError **error);

/* Read-modify-write under SELECT ... FOR UPDATE in one transaction.  @mutate changes @node in
 * place and returns TRUE to write it, FALSE with no error to leave it unchanged (nothing written,
 * no event), FALSE with an error to abort (the error is returned).  *@ret (may be NULL) gets the
 * object as stored afterwards. */
typedef gboolean (*StoreNodeMutateFunc) (CaraNode *node, gpointer user_data, GError **error);
gboolean store_update_node (const char *name, StoreNodeMutateFunc mutate, gpointer user_data, CaraNode **ret,
                            GError **error);

/* Heartbeats that change nothing but the time (heartbeat-batch.h).  After a heartbeat written with
 * store_update_node at @resource_version, marks the row as holding the heartbeat of @digest; a
 * write after it (the rv differs) already cleared the mark, and then this does nothing. */
gboolean store_mark_node_heartbeat (const char *name, const char *resource_version, const char *digest,
                                    GError **error);
/* Writes each node's heartbeat time (RFC 3339): the time column and the lastHeartbeat fields of the
 * status, no new resourceVersion, no event.  Adds to @ret_marked the nodes whose rows still hold the
 * heartbeat of the same digest (for the others, something else was written since). */
gboolean store_flush_heartbeats (guint n, const char * const *names, const char * const *times,
                                 const char * const *digests, GHashTable *ret_marked, GError **error);
/* Refuses (CONFLICT) while projects in Scheduled/Running/Terminating still reference the node. */
gboolean store_delete_node (const char *name, GError **error);

/* Binds @cred to node @name when it has no credential yet or the same token hash (then the
 * agent secret is refreshed).  Another token already bound -> FORBIDDEN; no such node ->
 * NOT_FOUND; the token bound to another node -> CONFLICT. */
/* Binds @cred to node @name when it has none yet (only if @claim_unbound: the join token may not
 * claim a node registered while authorisation was off) or has this one already; FORBIDDEN when
 * another is bound, NOT_FOUND without the node. */
gboolean store_bind_node_credential (const char *name, const StoreNodeCredential *cred, gboolean claim_unbound,
                                     GError **error);
/* The administrator's reset: binds @cred to node @name whatever was bound before. */
gboolean store_reset_node_credential (const char *name, const StoreNodeCredential *cred, GError **error);
/* The node a token hash is bound to; none -> NOT_FOUND. */
gboolean store_find_node_by_token_hash (const char *token_hash, char **ret_name, GError **error);
/* The secret to present to the agent of @name; *@ret_secret is NULL when none is bound. */
gboolean store_get_node_agent_secret (const char *name, char **ret_secret, GError **error);

/* ---- projects ---- */
typedef struct {
  const char *node_ref;       /* NULL: any */
  const char * const *phases; /* NULL-terminated; NULL: any phase; empty: matches nothing */
  const char *after;          /* only names after this one (a page's continuation); NULL: from the start */
  guint limit;                /* at most this many; 0: all */
} StoreProjectFilter;

/* Concurrent creates share one transaction (group commit, store-write-batch.h); each gets its own
 * answer: a taken name is CONFLICT for that project alone. */
gboolean store_create_project (CaraProject *project, GError **error);
gboolean store_get_project (const char *name, CaraProject **ret, GError **error);
/* Sorted by name; @filter may be NULL; @ret_rv as for store_list_nodes. */
gboolean store_list_projects (const StoreProjectFilter *filter, GPtrArray **ret_projects, gint64 *ret_rv,
                              GError **error);

/* The same projects as their JSON text (what GET /api/v1/projects/{name} answers), for lists that
 * need not look inside them: the texts stay in the query's result, so a list is sent without being
 * copied.  Free with store_text_list_free. */
typedef struct _StoreTextList StoreTextList;
StoreTextList *store_list_project_texts (const StoreProjectFilter *filter, GError **error);
guint store_text_list_length (StoreTextList *l);
const char *store_text_list_get (StoreTextList *l, guint i, gsize *ret_len);
/* With a limit: the last name returned when more projects follow it, else NULL. */
const char *store_text_list_next_after (StoreTextList *l);
/* The newest project change the list reflects (as store_project_change_stamp; 0: unknown). */
gint64 store_text_list_stamp (StoreTextList *l);
void store_text_list_free (StoreTextList *l);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoreTextList, store_text_list_free)

/* The resourceVersion of the newest project change (create, update, delete) the database holds, 0
 * when no Project event is kept: while it stays the same, every list of projects is the same. */
gboolean store_project_change_stamp (gint64 *ret, GError **error);

typedef gboolean (*StoreProjectMutateFunc) (CaraProject *project, gpointer user_data, GError **error);
/* As store_update_node.  Status updates (controllers, agents) go through here too. */
gboolean store_update_project (const char *name, StoreProjectMutateFunc mutate, gpointer user_data,
                               CaraProject **ret, GError **error);
#define store_update_project_status store_update_project

typedef enum {
  STORE_DELETE_REMOVED,           /* row deleted (204) */
  STORE_DELETE_TERMINATING,       /* phase set to Terminating (202) */
  STORE_DELETE_ALREADY_TERMINATING, /* nothing to do (202) */
} StoreDeleteOutcome;
/* DELETE /api/v1/projects/{name}: @force or Pending, or Failed without a node -> row removed;
 * Terminating or Terminated -> nothing; else (incl. Failed on a node, whose containers must be
 * torn down) -> Terminating. */
gboolean store_request_project_deletion (const char *name, gboolean force, StoreDeleteOutcome *ret,
                                         GError **error);
/* Removes the row if its phase is @only_in_phase (NONE: any phase); another phase -> CONFLICT. */
gboolean store_delete_project (const char *name, CaraProjectPhase only_in_phase, GError **error);

/* ---- revisions (SPEC §13) ---- */
/* Every write of a project whose metadata.generation has no revision yet records one (the spec
 * and the annotation caravanserai/change-cause) in the same transaction; at most the limit
 * (REVISION_HISTORY_LIMIT) newest are kept.  The rows go with the project. */
#define STORE_CHANGE_CAUSE_ANNOTATION CARA_CHANGE_CAUSE_ANNOTATION
#define STORE_DEFAULT_REVISION_HISTORY_LIMIT 10
void store_set_revision_history_limit (guint limit);
guint store_get_revision_history_limit (void);

typedef struct {
  gint64 revision;
  gint64 created_usec;
  char *change_cause; /* "" when none */
  char *spec;         /* JSON text */
} StoreRevision;

void store_revision_free (StoreRevision *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoreRevision, store_revision_free)

/* Newest first; an unknown project -> NOT_FOUND. */
gboolean store_list_revisions (const char *project, GPtrArray **ret_revisions, GError **error);
/* Revision @revision of @project, or (@revision 0) the newest one older than @before; none ->
 * NOT_FOUND naming it. */
gboolean store_get_revision (const char *project, gint64 revision, gint64 before, StoreRevision **ret,
                             GError **error);

/* ---- events ---- */
typedef struct {
  gint64 rv;
  char *kind;   /* "Node" | "Project" */
  char *name;
  char *type;   /* ADDED | MODIFIED | DELETED */
  char *object; /* the object as compact JSON text */
  gint64 at_usec;
} StoreEvent;

void store_event_free (StoreEvent *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoreEvent, store_event_free)

/* Events with rv > @after_rv, oldest first, at most @limit; @kind NULL for all kinds. */
gboolean store_events_since (gint64 after_rv, const char *kind, guint limit, GPtrArray **ret_events,
                             GError **error);
/* Oldest and newest kept event rv (0 when there are none). */
gboolean store_events_range (gint64 *ret_oldest, gint64 *ret_newest, GError **error);
/* Keeps at most @keep events and none older than @max_age_usec. */
gboolean store_trim_events (guint keep, gint64 max_age_usec, GError **error);

/* ---- secrets (store-secrets.c; SPEC §12) ---- */
#include "cara-secret.h"
/* Values sealed with the key ring (secret-keys.h); a Secret's rows write no watch event. */
gboolean store_create_secret (CaraSecret *secret, GError **error);
/* @with_values: the values opened (UNAVAILABLE when the key cannot open them); else keys[] only. */
gboolean store_get_secret (const char *name, gboolean with_values, CaraSecret **ret, GError **error);
/* Keys only, sorted by name; @names (may be NULL: all) limits the list. */
gboolean store_list_secrets (const char *const *names, GPtrArray **ret, GError **error);
/* Replaces values, type, labels and annotations; a stale metadata.resourceVersion -> CONFLICT.
 * Every project using the Secret gets a new resourceVersion in the same transaction;
 * *@ret_users (may be NULL): their names. */
gboolean store_replace_secret (CaraSecret *secret, char ***ret_users, GError **error);
/* CONFLICT naming the projects while any (not being deleted) uses it. */
gboolean store_delete_secret (const char *name, GError **error);
/* The projects (not being deleted) using Secret @name, placed on @node when not NULL. */
gboolean store_secret_users (const char *name, const char *node, char ***ret, GError **error);
/* Opens every value and seals it again with the ring's current key, in one transaction. */
gboolean store_reseal_secrets (guint *ret_count, GError **error);
/* How many sealed values are stored (a missing key file is generated only when there are none). */
gboolean store_count_sealed_values (gint64 *ret_count, GError **error);

/* ---- cluster events (cara-event.h; store-cluster-events.c) ----
 * Human-readable events, in their own table `cluster_events`.  Each one also goes into the
 * change feed above as kind "Event" (name: its id, type ADDED, object: its JSON), in the same
 * transaction, so the watch hub streams them like any other change. */
typedef struct {
  const char *project; /* events about Project @project; NULL: any */
  const char *node;    /* events on node @node; NULL: any */
  const char *type;    /* "Normal" | "Warning"; NULL: any */
  gint64 since_usec;   /* at or after this wall-clock time; 0: any */
  guint limit;         /* the newest @limit of those (still returned oldest first); 0: all */
} StoreClusterEventFilter;

/* Stores @events (CaraEvent*) in one transaction: sets each one's id, and its time_usec when 0
 * (the transaction's now()). */
gboolean store_cluster_events_insert (GPtrArray *events, GError **error);
/* Oldest first (time, then id).  @ret_rv (may be NULL): the newest feed rv of the same snapshot,
 * to start a watch from. */
gboolean store_cluster_events_list (const StoreClusterEventFilter *filter, GPtrArray **ret_events, gint64 *ret_rv,
                                    GError **error);
/* Keeps at most @keep events and none older than @max_age_usec. */
gboolean store_cluster_events_trim (guint keep, gint64 max_age_usec, GError **error);
/* Statements that failed (any thread) since start: cara_db_errors_total. */
guint64 store_get_error_count (void);
