/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "cara-error.h"
#include "cara-json.h"
#include "store-rows.h"

static gboolean
node_write_row (PGconn *c, gpointer obj, gboolean insert, GError **error)
{
  CaraNode *n = obj;
  g_autofree char *created = store_datetime_to_usec (n->metadata.created_at);
  g_autofree char *updated = store_datetime_to_usec (n->metadata.updated_at);
  g_autofree char *heartbeat = store_datetime_to_usec (n->status.last_heartbeat);
  g_autofree char *labels = store_map_to_text (n->metadata.labels);
  g_autofree char *annotations = store_map_to_text (n->metadata.annotations);
  g_autofree char *spec = store_json_text (cara_node_spec_to_json (n));
  g_autofree char *status = store_json_text (cara_node_status_to_json (n));
  const char *state = cara_node_state_to_string (n->status.state);
  g_autofree char *object = cara_node_to_data (n);
  const char *p[] = { n->metadata.name, state ? state : "", n->spec.unschedulable ? "t" : "f",
                      n->metadata.resource_version, created, updated, heartbeat, labels, annotations, spec,
                      status, insert ? "ADDED" : "MODIFIED", object };
  g_autoptr (PGresult) r = store_exec (c, insert
      ? "WITH w AS (INSERT INTO nodes (name, state, unschedulable, resource_version, created_at, updated_at, last_heartbeat, "
        "labels, annotations, spec, status) VALUES ($1, $2, $3, $4, cara_ts($5), cara_ts($6), cara_ts($7), "
        "$8::jsonb, $9::jsonb, $10::jsonb, $11::jsonb) RETURNING 1)" ROW_EVENT_TAIL ("Node")
      : "WITH w AS (UPDATE nodes SET state = $2, unschedulable = $3, resource_version = $4, created_at = cara_ts($5), "
        "updated_at = cara_ts($6), last_heartbeat = cara_ts($7), labels = $8::jsonb, annotations = $9::jsonb, "
        "spec = $10::jsonb, status = $11::jsonb, heartbeat_digest = NULL WHERE name = $1 RETURNING 1)" ROW_EVENT_TAIL ("Node"),
      G_N_ELEMENTS (p), p, error);
  return r != NULL;
}

STORE_ROW_KIND (node, CaraNode, "Node", "node", "nodes", node_write_row);

gboolean
store_create_node (CaraNode *node, const StoreNodeCredential *cred, GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);

  return t != NULL && store_rows_write (&node_kind, store_txn_conn (t), node, TRUE, error) &&
         (cred == NULL || store_node_credential_write (store_txn_conn (t), node->metadata.name, cred, error)) &&
         store_txn_commit (t, error);
}

gboolean
store_get_node (const char *name, CaraNode **ret, GError **error)
{
  return store_rows_get (&node_kind, name, (gpointer *) ret, error);
}

gboolean
store_list_nodes (GPtrArray **ret_nodes, gint64 *ret_rv, GError **error)
{
  return store_rows_list (&node_kind, "ORDER BY name", 0, NULL, ret_nodes, ret_rv, error);
}

typedef struct {
  StoreNodeMutateFunc mutate;
  gpointer user_data;
} NodeMutate;

static gboolean
node_mutate (gpointer obj, gpointer user_data, GError **error)
{
  NodeMutate *m = user_data;
  return m->mutate (obj, m->user_data, error);
}

gboolean
store_update_node (const char *name, StoreNodeMutateFunc mutate, gpointer user_data, CaraNode **ret,
                   GError **error)
{
  NodeMutate m = { mutate, user_data };
  return store_rows_update (&node_kind, name, node_mutate, &m, (gpointer *) ret, error);
}

gboolean
store_delete_node (const char *name, GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);
  g_autoptr (CaraNode) n = NULL;
  g_autoptr (PGresult) cnt = NULL;
  const char *p[] = { name };
  gint64 n_assigned;

  if (t == NULL || (n = store_rows_lock (&node_kind, store_txn_conn (t), name, error)) == NULL)
    return FALSE;
  cnt = store_exec (store_txn_conn (t),
      "SELECT count(*) FROM projects WHERE node_ref = $1 AND phase IN ('Scheduled', 'Running', 'Terminating')",
      1, p, error);
  if (cnt == NULL)
    return FALSE;
  n_assigned = g_ascii_strtoll (PQgetvalue (cnt, 0, 0), NULL, 10);
  if (n_assigned > 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT,
                   "cannot delete node \"%s\": %" G_GINT64_FORMAT " project(s) still assigned: resource already exists",
                   name, n_assigned);
      return FALSE;
    }
  return store_rows_remove (&node_kind, store_txn_conn (t), n, error) && store_txn_commit (t, error);
}
