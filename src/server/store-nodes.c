/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "cara-error.h"
#include "cara-json.h"
#include "store-private.h"

#define NODE_COLUMNS \
  "name, resource_version, cara_usec(created_at), cara_usec(updated_at), labels::text, annotations::text, " \
  "spec::text, status::text"

/* Appended to the row's INSERT/UPDATE (as CTE "w"): the event row and the NOTIFY, in the same
 * statement.  $1 name, $4 resourceVersion, $12 event type, $13 the object. */
#define EVENT_TAIL \
  ", e AS (INSERT INTO events (rv, kind, name, type, object) SELECT $4::bigint, 'Node', $1, $12, $13::jsonb " \
  "FROM w RETURNING rv) SELECT pg_notify('cara_events', 'Node/' || $1 || '/' || $4) FROM e"

static CaraNode *
node_from_row (PGresult *r, int row, GError **error)
{
  g_autoptr (CaraNode) n = cara_node_new (PQgetvalue (r, row, 0));
  n->metadata.resource_version = g_strdup (PQgetvalue (r, row, 1));
  n->metadata.created_at = store_usec_to_datetime (g_ascii_strtoll (PQgetvalue (r, row, 2), NULL, 10));
  n->metadata.updated_at = store_usec_to_datetime (g_ascii_strtoll (PQgetvalue (r, row, 3), NULL, 10));
  g_autoptr (JsonNode) spec = cara_json_parse (PQgetvalue (r, row, 6), -1, error);
  g_autoptr (JsonNode) status = spec ? cara_json_parse (PQgetvalue (r, row, 7), -1, error) : NULL;
  if (status == NULL
      || !store_map_from_text (PQgetvalue (r, row, 4), "metadata.labels", &n->metadata.labels, error)
      || !store_map_from_text (PQgetvalue (r, row, 5), "metadata.annotations", &n->metadata.annotations, error)
      || !cara_node_spec_from_json (n, spec, error) || !cara_node_status_from_json (n, status, error))
    {
      g_prefix_error (error, "stored node %s: ", PQgetvalue (r, row, 0));
      if (error && *error)
        (*error)->code = CARA_ERROR_FAILED;
      return NULL;
    }
  return g_steal_pointer (&n);
}

/* Insert or update the whole row from @n with a new resourceVersion, plus its event. */
static gboolean
node_write (PGconn *c, CaraNode *n, gboolean insert, GError **error)
{
  gint64 rv, now;
  if (!store_next_rv (c, &rv, &now, error))
    return FALSE;
  g_free (n->metadata.resource_version);
  n->metadata.resource_version = g_strdup_printf ("%" G_GINT64_FORMAT, rv);
  g_clear_pointer (&n->metadata.updated_at, g_date_time_unref);
  n->metadata.updated_at = store_usec_to_datetime (now);
  if (insert || n->metadata.created_at == NULL)
    {
      g_clear_pointer (&n->metadata.created_at, g_date_time_unref);
      n->metadata.created_at = store_usec_to_datetime (now);
    }
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
  g_autoptr (GError) local = NULL;
  g_autoptr (PGresult) r = store_exec (c, insert
      ? "WITH w AS (INSERT INTO nodes (name, state, unschedulable, resource_version, created_at, updated_at, last_heartbeat, "
        "labels, annotations, spec, status) VALUES ($1, $2, $3, $4, cara_ts($5), cara_ts($6), cara_ts($7), "
        "$8::jsonb, $9::jsonb, $10::jsonb, $11::jsonb) RETURNING 1)" EVENT_TAIL
      : "WITH w AS (UPDATE nodes SET state = $2, unschedulable = $3, resource_version = $4, created_at = cara_ts($5), "
        "updated_at = cara_ts($6), last_heartbeat = cara_ts($7), labels = $8::jsonb, annotations = $9::jsonb, "
        "spec = $10::jsonb, status = $11::jsonb WHERE name = $1 RETURNING 1)" EVENT_TAIL,
      G_N_ELEMENTS (p), p, &local);
  if (r == NULL)
    {
      if (g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT))
        g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "node already exists: %s: resource already exists",
                     n->metadata.name);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return TRUE;
}

static void
set_not_found (GError **error, const char *name)
{
  g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "node not found: %s: resource not found", name);
}

gboolean
store_create_node (CaraNode *node, const StoreNodeCredential *cred, GError **error)
{
  PGconn *c = store_begin (NULL, error);
  if (c == NULL)
    return FALSE;
  if (!node_write (c, node, TRUE, error) || (cred && !store_node_credential_write (c, node->metadata.name, cred, error))
      || !store_commit (c, error))
    {
      store_rollback (c);
      return FALSE;
    }
  return TRUE;
}

gboolean
store_get_node (const char *name, CaraNode **ret, GError **error)
{
  const char *p[] = { name };
  g_autoptr (PGresult) r = store_exec_once ("SELECT " NODE_COLUMNS " FROM nodes WHERE name = $1", 1, p, error);
  if (r == NULL)
    return FALSE;
  if (PQntuples (r) == 0)
    {
      set_not_found (error, name);
      return FALSE;
    }
  CaraNode *n = node_from_row (r, 0, error);
  if (n == NULL)
    return FALSE;
  *ret = n;
  return TRUE;
}

gboolean
store_list_nodes (GPtrArray **ret_nodes, gint64 *ret_rv, GError **error)
{
  g_autoptr (PGresult) r = NULL;
  gint64 rv = 0;
  if (ret_rv != NULL)
    {
      /* One snapshot for the list and the rv a watch resumes from. */
      PGconn *c = store_begin ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", error);
      if (c == NULL)
        return FALSE;
      r = store_exec (c, "SELECT " NODE_COLUMNS " FROM nodes ORDER BY name", 0, NULL, error);
      if (r == NULL || !store_snapshot_rv (c, &rv, error) || !store_commit (c, error))
        {
          store_rollback (c);
          return FALSE;
        }
    }
  else
    {
      r = store_exec_once ("SELECT " NODE_COLUMNS " FROM nodes ORDER BY name", 0, NULL, error);
      if (r == NULL)
        return FALSE;
    }
  g_autoptr (GPtrArray) nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_node_free);
  for (int i = 0; i < PQntuples (r); i++)
    {
      CaraNode *n = node_from_row (r, i, error);
      if (n == NULL)
        return FALSE;
      g_ptr_array_add (nodes, n);
    }
  *ret_nodes = g_steal_pointer (&nodes);
  if (ret_rv)
    *ret_rv = rv;
  return TRUE;
}

gboolean
store_update_node (const char *name, StoreNodeMutateFunc mutate, gpointer user_data, CaraNode **ret,
                   GError **error)
{
  PGconn *c = store_begin (NULL, error);
  if (c == NULL)
    return FALSE;
  const char *p[] = { name };
  g_autoptr (PGresult) r = store_exec (c, "SELECT " NODE_COLUMNS " FROM nodes WHERE name = $1 FOR UPDATE", 1, p,
                                       error);
  if (r == NULL)
    {
      store_rollback (c);
      return FALSE;
    }
  if (PQntuples (r) == 0)
    {
      store_rollback (c);
      set_not_found (error, name);
      return FALSE;
    }
  g_autoptr (CaraNode) n = node_from_row (r, 0, error);
  g_autoptr (GError) local = NULL;
  if (n == NULL)
    {
      store_rollback (c);
      return FALSE;
    }
  if (mutate (n, user_data, &local))
    {
      /* The name and creation time are not the mutator's to change. */
      g_free (n->metadata.name);
      n->metadata.name = g_strdup (name);
      if (!node_write (c, n, FALSE, error) || !store_commit (c, error))
        {
          store_rollback (c);
          return FALSE;
        }
    }
  else
    {
      store_rollback (c);
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  if (ret)
    *ret = g_steal_pointer (&n);
  return TRUE;
}

gboolean
store_delete_node (const char *name, GError **error)
{
  PGconn *c = store_begin (NULL, error);
  if (c == NULL)
    return FALSE;
  const char *p[] = { name };
  g_autoptr (PGresult) r = store_exec (c, "SELECT " NODE_COLUMNS " FROM nodes WHERE name = $1 FOR UPDATE", 1, p,
                                       error);
  g_autoptr (PGresult) cnt = r ? store_exec (c,
      "SELECT count(*) FROM projects WHERE node_ref = $1 AND phase IN ('Scheduled', 'Running', 'Terminating')",
      1, p, error) : NULL;
  if (cnt == NULL)
    {
      store_rollback (c);
      return FALSE;
    }
  if (PQntuples (r) == 0)
    {
      store_rollback (c);
      set_not_found (error, name);
      return FALSE;
    }
  gint64 n_assigned = g_ascii_strtoll (PQgetvalue (cnt, 0, 0), NULL, 10);
  if (n_assigned > 0)
    {
      store_rollback (c);
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT,
                   "cannot delete node \"%s\": %" G_GINT64_FORMAT " project(s) still assigned: resource already exists",
                   name, n_assigned);
      return FALSE;
    }
  g_autoptr (CaraNode) n = node_from_row (r, 0, error);
  gint64 rv, now;
  if (n == NULL || !store_next_rv (c, &rv, &now, error))
    {
      store_rollback (c);
      return FALSE;
    }
  g_free (n->metadata.resource_version);
  n->metadata.resource_version = g_strdup_printf ("%" G_GINT64_FORMAT, rv);
  g_autofree char *object = cara_node_to_data (n);
  g_autoptr (PGresult) d = store_exec (c, "DELETE FROM nodes WHERE name = $1", 1, p, error);
  if (d == NULL || !store_append_event (c, rv, "Node", name, "DELETED", object, error) || !store_commit (c, error))
    {
      store_rollback (c);
      return FALSE;
    }
  return TRUE;
}
