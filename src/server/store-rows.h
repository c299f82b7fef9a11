/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The row path every kind shares (nodes, projects, and the kinds to come): read, list, lock for
 * update, write with a new resourceVersion and its event, remove.  A kind is one StoreRowKind
 * table entry with its own row encoding; everything else is written once, here.
 *
 * Every kind's table has the columns ROW_COLUMNS reads (in this order), and the kind's functions
 * take and return its own object type behind a gpointer. */

#include "store-private.h"

#define ROW_COLUMNS \
  "name, resource_version, cara_usec(created_at), cara_usec(updated_at), labels::text, annotations::text, " \
  "spec::text, status::text"

/* Appended to a kind's row INSERT/UPDATE (as CTE "w"): the event row and the NOTIFY, in the same
 * statement.  Parameters: $1 name, $4 resourceVersion, $12 event type, $13 the object. */
#define ROW_EVENT_TAIL(KIND) \
  ", e AS (INSERT INTO events (rv, kind, name, type, object) SELECT $4::bigint, '" KIND "', $1, $12, $13::jsonb " \
  "FROM w RETURNING rv) SELECT pg_notify('cara_events', '" KIND "/' || $1 || '/' || $4) FROM e"

/* Column numbers of ROW_COLUMNS, for the kinds' from_row. */
enum { ROW_NAME, ROW_RV, ROW_CREATED, ROW_UPDATED, ROW_LABELS, ROW_ANNOTATIONS, ROW_SPEC, ROW_STATUS };

typedef struct {
  const char *kind;  /* "Node": events and NOTIFY payloads */
  const char *noun;  /* "node": messages */
  const char *table; /* "nodes" */
  gpointer (*new) (const char *name);
  GDestroyNotify free;
  CaraObjectMeta *(*meta) (gpointer obj);
  gboolean (*spec_from_json) (gpointer obj, JsonNode *spec, GError **error);
  gboolean (*status_from_json) (gpointer obj, JsonNode *status, GError **error);
  char *(*to_data) (gpointer obj);
  /* INSERT or UPDATE the whole row of @obj (metadata already stamped) and its event; a unique
   * violation comes back as CARA_ERROR_CONFLICT. */
  gboolean (*write_row) (PGconn *c, gpointer obj, gboolean insert, GError **error);
  /* Optional: columns of the kind's own read after ROW_COLUMNS (", generation"), and how they go
   * into the object (@col: the first of them). */
  const char *extra_columns;
  void (*extra_from_row) (gpointer obj, PGresult *r, int row, int col);
} StoreRowKind;

/* The gpointer adapters of a model type whose functions are cara_<type>_new, _free,
 * _spec_from_json, _status_from_json and _to_data: a StoreRowKind's fields but for kind, noun,
 * table and write_row, e.g. STORE_ROW_KIND (node, CaraNode, "Node", "node", "nodes", node_write_row). */
#define STORE_ROW_KIND(type, Type, KIND, NOUN, TABLE, WRITE_ROW) \
  STORE_ROW_KIND_EXTRA (type, Type, KIND, NOUN, TABLE, WRITE_ROW, NULL, NULL)
/* The same with StoreRowKind.extra_columns and extra_from_row. */
#define STORE_ROW_KIND_EXTRA(type, Type, KIND, NOUN, TABLE, WRITE_ROW, EXTRA_COLUMNS, EXTRA_FROM_ROW) \
  static gpointer type##_row_new (const char *name) { return cara_##type##_new (name); } \
  static CaraObjectMeta *type##_row_meta (gpointer obj) { return &((Type *) obj)->metadata; } \
  static gboolean type##_row_spec (gpointer obj, JsonNode *n, GError **error) \
  { return cara_##type##_spec_from_json (obj, n, error); } \
  static gboolean type##_row_status (gpointer obj, JsonNode *n, GError **error) \
  { return cara_##type##_status_from_json (obj, n, error); } \
  static char *type##_row_data (gpointer obj) { return cara_##type##_to_data (obj); } \
  static const StoreRowKind type##_kind = { \
    .kind = KIND, .noun = NOUN, .table = TABLE, .new = type##_row_new, \
    .free = (GDestroyNotify) cara_##type##_free, .meta = type##_row_meta, .spec_from_json = type##_row_spec, \
    .status_from_json = type##_row_status, .to_data = type##_row_data, .write_row = WRITE_ROW, \
    .extra_columns = EXTRA_COLUMNS, .extra_from_row = EXTRA_FROM_ROW, \
  }

typedef gboolean (*StoreRowMutateFunc) (gpointer obj, gpointer user_data, GError **error);

void store_rows_set_not_found (const StoreRowKind *k, const char *name, GError **error);
gpointer store_rows_from_row (const StoreRowKind *k, PGresult *r, int row, GError **error);
/* A new resourceVersion and updatedAt (createdAt too when inserting), then write_row. */
gboolean store_rows_write (const StoreRowKind *k, PGconn *c, gpointer obj, gboolean insert, GError **error);
/* DELETE the row of @obj (locked by the caller) with a DELETED event carrying its last state. */
gboolean store_rows_remove (const StoreRowKind *k, PGconn *c, gpointer obj, GError **error);

gboolean store_rows_create (const StoreRowKind *k, gpointer obj, GError **error);
gboolean store_rows_get (const StoreRowKind *k, const char *name, gpointer *ret, GError **error);
/* "SELECT ROW_COLUMNS FROM <table> @tail" (e.g. "WHERE ... ORDER BY name") as objects.  @ret_rv
 * (may be NULL): the newest event rv of the same snapshot, to start a watch from. */
gboolean store_rows_list (const StoreRowKind *k, const char *tail, int n_params, const char * const *params,
                          GPtrArray **ret, gint64 *ret_rv, GError **error);
/* SELECT ... FOR UPDATE in @c's transaction. */
gpointer store_rows_lock (const StoreRowKind *k, PGconn *c, const char *name, GError **error);
/* Read-modify-write in one transaction (store.h: store_update_node). */
gboolean store_rows_update (const StoreRowKind *k, const char *name, StoreRowMutateFunc mutate, gpointer user_data,
                            gpointer *ret, GError **error);
