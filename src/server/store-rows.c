/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "store-rows.h"

#include "cara-error.h"
#include "cara-json.h"

void
store_rows_set_not_found (const StoreRowKind *k, const char *name, GError **error)
{
  g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "%s not found: %s: resource not found", k->noun, name);
}

gpointer
store_rows_from_row (const StoreRowKind *k, PGresult *r, int row, GError **error)
{
  const char *name = PQgetvalue (r, row, ROW_NAME);
  gpointer obj = k->new (name);
  CaraObjectMeta *m = k->meta (obj);
  g_autoptr (JsonNode) spec = NULL;
  g_autoptr (JsonNode) status = NULL;

  m->resource_version = g_strdup (PQgetvalue (r, row, ROW_RV));
  m->created_at = store_usec_to_datetime (g_ascii_strtoll (PQgetvalue (r, row, ROW_CREATED), NULL, 10));
  m->updated_at = store_usec_to_datetime (g_ascii_strtoll (PQgetvalue (r, row, ROW_UPDATED), NULL, 10));
  spec = cara_json_parse (PQgetvalue (r, row, ROW_SPEC), -1, error);
  status = spec ? cara_json_parse (PQgetvalue (r, row, ROW_STATUS), -1, error) : NULL;
  if (status == NULL
      || !store_map_from_text (PQgetvalue (r, row, ROW_LABELS), "metadata.labels", &m->labels, error)
      || !store_map_from_text (PQgetvalue (r, row, ROW_ANNOTATIONS), "metadata.annotations", &m->annotations, error)
      || !k->spec_from_json (obj, spec, error) || !k->status_from_json (obj, status, error))
    {
      g_prefix_error (error, "stored %s %s: ", k->noun, name);
      if (error && *error)
        (*error)->code = CARA_ERROR_FAILED;
      k->free (obj);
      return NULL;
    }
  if (k->extra_from_row != NULL)
    k->extra_from_row (obj, r, row, ROW_STATUS + 1);
  return obj;
}

gboolean
store_rows_write (const StoreRowKind *k, PGconn *c, gpointer obj, gboolean insert, GError **error)
{
  CaraObjectMeta *m = k->meta (obj);
  g_autoptr (GError) local = NULL;
  gint64 rv, now;

  if (!store_next_rv (c, &rv, &now, error))
    return FALSE;
  g_free (m->resource_version);
  m->resource_version = g_strdup_printf ("%" G_GINT64_FORMAT, rv);
  g_clear_pointer (&m->updated_at, g_date_time_unref);
  m->updated_at = store_usec_to_datetime (now);
  if (insert || m->created_at == NULL)
    {
      g_clear_pointer (&m->created_at, g_date_time_unref);
      m->created_at = store_usec_to_datetime (now);
    }
  if (k->write_row (c, obj, insert, &local))
    return TRUE;
  if (g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT))
    g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "%s already exists: %s: resource already exists", k->noun,
                 m->name);
  else
    g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

gboolean
store_rows_remove (const StoreRowKind *k, PGconn *c, gpointer obj, GError **error)
{
  CaraObjectMeta *m = k->meta (obj);
  g_autofree char *sql = g_strdup_printf ("DELETE FROM %s WHERE name = $1", k->table);
  g_autofree char *object = NULL;
  g_autoptr (PGresult) d = NULL;
  const char *p[] = { m->name };
  gint64 rv, now;

  if (!store_next_rv (c, &rv, &now, error))
    return FALSE;
  g_free (m->resource_version);
  m->resource_version = g_strdup_printf ("%" G_GINT64_FORMAT, rv);
  object = k->to_data (obj);
  d = store_exec (c, sql, 1, p, error);
  return d != NULL && store_append_event (c, rv, k->kind, m->name, "DELETED", object, error);
}

gboolean
store_rows_create (const StoreRowKind *k, gpointer obj, GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);

  return t != NULL && store_rows_write (k, store_txn_conn (t), obj, TRUE, error) && store_txn_commit (t, error);
}

static char *
select_sql (const StoreRowKind *k, const char *tail)
{
  return g_strdup_printf ("SELECT " ROW_COLUMNS "%s FROM %s %s", k->extra_columns ? k->extra_columns : "", k->table,
                          tail);
}

gboolean
store_rows_get (const StoreRowKind *k, const char *name, gpointer *ret, GError **error)
{
  g_autofree char *sql = select_sql (k, "WHERE name = $1");
  const char *p[] = { name };
  g_autoptr (PGresult) r = store_exec_once (sql, 1, p, error);
  gpointer obj;

  if (r == NULL)
    return FALSE;
  if (PQntuples (r) == 0)
    {
      store_rows_set_not_found (k, name, error);
      return FALSE;
    }
  obj = store_rows_from_row (k, r, 0, error);
  if (obj == NULL)
    return FALSE;
  *ret = obj;
  return TRUE;
}

gboolean
store_rows_list (const StoreRowKind *k, const char *tail, int n_params, const char * const *params, GPtrArray **ret,
                 gint64 *ret_rv, GError **error)
{
  g_autofree char *sql = select_sql (k, tail);
  g_autoptr (PGresult) r = NULL;
  g_autoptr (GPtrArray) objs = NULL;
  gint64 rv = 0;

  if (ret_rv != NULL)
    {
      /* One snapshot for the list and the rv a watch resumes from. */
      g_autoptr (StoreTxn) t = store_txn_begin ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", error);
      if (t == NULL)
        return FALSE;
      r = store_exec (store_txn_conn (t), sql, n_params, params, error);
      if (r == NULL || !store_snapshot_rv (store_txn_conn (t), &rv, error) || !store_txn_commit (t, error))
        return FALSE;
    }
  else if ((r = store_exec_once (sql, n_params, params, error)) == NULL)
    return FALSE;
  objs = g_ptr_array_new_full ((guint) PQntuples (r), k->free);
  for (int i = 0; i < PQntuples (r); i++)
    {
      gpointer obj = store_rows_from_row (k, r, i, error);
      if (obj == NULL)
        return FALSE;
      g_ptr_array_add (objs, obj);
    }
  *ret = g_steal_pointer (&objs);
  if (ret_rv)
    *ret_rv = rv;
  return TRUE;
}

gpointer
store_rows_lock (const StoreRowKind *k, PGconn *c, const char *name, GError **error)
{
  g_autofree char *sql = select_sql (k, "WHERE name = $1 FOR UPDATE");
  const char *p[] = { name };
  g_autoptr (PGresult) r = store_exec (c, sql, 1, p, error);

  if (r == NULL)
    return NULL;
  if (PQntuples (r) == 0)
    {
      store_rows_set_not_found (k, name, error);
      return NULL;
    }
  return store_rows_from_row (k, r, 0, error);
}

gboolean
store_rows_update (const StoreRowKind *k, const char *name, StoreRowMutateFunc mutate, gpointer user_data,
                   gpointer *ret, GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);
  g_autoptr (GError) local = NULL;
  gpointer obj;

  if (t == NULL || (obj = store_rows_lock (k, store_txn_conn (t), name, error)) == NULL)
    return FALSE;
  if (mutate (obj, user_data, &local))
    {
      CaraObjectMeta *m = k->meta (obj);
      /* The name is not the mutator's to change. */
      g_free (m->name);
      m->name = g_strdup (name);
      if (!store_rows_write (k, store_txn_conn (t), obj, FALSE, error) || !store_txn_commit (t, error))
        {
          k->free (obj);
          return FALSE;
        }
    }
  else if (local != NULL)
    {
      k->free (obj);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  /* Else unchanged: nothing written, the transaction rolls back. */
  if (ret)
    *ret = obj;
  else
    k->free (obj);
  return TRUE;
}
