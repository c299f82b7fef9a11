/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "store-controllers.h"

#include "cara-error.h"
#include "cara-json.h"
#include "store-private.h"

/* The text-array literal of @values (NULL-terminated here, not in the caller's array). */
static char *
array_literal (GPtrArray *values)
{
  g_ptr_array_add (values, NULL);
  char *s = store_text_array ((const char * const *) values->pdata);
  g_ptr_array_remove_index (values, values->len - 1);
  return s;
}

/* In @c's transaction, with the rows locked: new resourceVersions, the rows and their events, in one
 * statement for all of them (the rv lock is held to commit: the shorter, the less other writes wait). */
static gboolean
write_locked (PGconn *c, GPtrArray *projects, const gboolean *ret_written, guint n_write, GError **error)
{
  enum { NAME, PHASE, NODE_REF, RV, UPDATED, STATUS, OBJECT, N_COLUMNS };
  g_autoptr (PGresult) rvs = NULL;
  g_autoptr (PGresult) r = NULL;
  g_autoptr (GPtrArray) arrays = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *count_text = NULL;
  GPtrArray *col[N_COLUMNS];
  const char *p[N_COLUMNS];
  guint k = 0;

  /* All the resourceVersions at once (each under the rv lock, held to commit). */
  count_text = g_strdup_printf ("%u", n_write);
  {
    const char *cp[] = { count_text };
    rvs = store_exec (c, "SELECT cara_next_rv(), cara_usec(now()) FROM generate_series(1, $1::int)", 1, cp, error);
  }
  if (rvs == NULL)
    return FALSE;
  for (guint j = 0; j < N_COLUMNS; j++)
    col[j] = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < projects->len; i++)
    {
      CaraProject *pr = projects->pdata[i];
      const char *phase;

      if (!ret_written[i])
        continue;
      g_free (pr->metadata.resource_version);
      pr->metadata.resource_version = g_strdup (PQgetvalue (rvs, (int) k, 0));
      g_clear_pointer (&pr->metadata.updated_at, g_date_time_unref);
      pr->metadata.updated_at = store_usec_to_datetime (g_ascii_strtoll (PQgetvalue (rvs, (int) k, 1), NULL, 10));
      k++;
      phase = cara_project_phase_to_string (pr->status.phase);
      g_ptr_array_add (col[NAME], g_strdup (pr->metadata.name));
      g_ptr_array_add (col[PHASE], g_strdup (phase ? phase : ""));
      g_ptr_array_add (col[NODE_REF], g_strdup (pr->status.node_ref ? pr->status.node_ref : ""));
      g_ptr_array_add (col[RV], g_strdup (pr->metadata.resource_version));
      g_ptr_array_add (col[UPDATED], store_datetime_to_usec (pr->metadata.updated_at));
      g_ptr_array_add (col[STATUS], store_json_text (cara_project_status_to_json (pr)));
      g_ptr_array_add (col[OBJECT], cara_project_to_data (pr));
    }
  for (guint j = 0; j < N_COLUMNS; j++)
    {
      g_ptr_array_add (arrays, array_literal (col[j]));
      p[j] = arrays->pdata[j];
      g_ptr_array_unref (col[j]);
    }
  r = store_exec (c,
      "WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::jsonb[], "
      "  $7::text[]) AS v(name, phase, node_ref, rv, updated, status, object)), "
      "u AS (UPDATE projects AS p SET phase = v.phase, node_ref = v.node_ref, resource_version = v.rv, "
      "  updated_at = cara_ts(v.updated), status = v.status, object = v.object FROM v WHERE p.name = v.name), "
      "e AS (INSERT INTO events (rv, kind, name, type, object) "
      "  SELECT rv, 'Project', name, 'MODIFIED', object::jsonb FROM v ORDER BY rv RETURNING rv, name) "
      "SELECT pg_notify('cara_events', 'Project/' || name || '/' || rv) FROM e",
      G_N_ELEMENTS (p), p, error);
  return r != NULL;
}

gboolean
store_controllers_write_statuses (GPtrArray *projects, const char * const *expected_rvs, gboolean *ret_written,
                                  GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  g_autoptr (GHashTable) current = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (PGresult) locked = NULL;
  g_autofree char *names_text = NULL;
  g_autoptr (StoreTxn) t = NULL;
  guint n_write = 0;
  PGconn *c;

  for (guint i = 0; i < projects->len; i++)
    {
      ret_written[i] = FALSE;
      g_ptr_array_add (names, ((CaraProject *) projects->pdata[i])->metadata.name);
    }
  if (projects->len == 0)
    return TRUE;
  g_ptr_array_add (names, NULL);
  names_text = store_text_array ((const char * const *) names->pdata);

  t = store_txn_begin (NULL, error);
  if (t == NULL)
    return FALSE;
  c = store_txn_conn (t);
  {
    const char *p[] = { names_text };
    locked = store_exec (c, "SELECT name, resource_version FROM projects WHERE name = ANY($1::text[]) "
                            "ORDER BY name FOR UPDATE", 1, p, error);
  }
  if (locked == NULL)
    return FALSE;
  for (int r = 0; r < PQntuples (locked); r++)
    g_hash_table_insert (current, g_strdup (PQgetvalue (locked, r, 0)), g_strdup (PQgetvalue (locked, r, 1)));
  for (guint i = 0; i < projects->len; i++)
    {
      const char *have = g_hash_table_lookup (current, ((CaraProject *) projects->pdata[i])->metadata.name);
      ret_written[i] = have != NULL && g_strcmp0 (have, expected_rvs[i]) == 0;
      n_write += ret_written[i];
    }
  if (n_write == 0)
    return TRUE;

  if (!write_locked (c, projects, ret_written, n_write, error) || !store_txn_commit (t, error))
    {
      for (guint i = 0; i < projects->len; i++)
        ret_written[i] = FALSE;
      return FALSE;
    }
  return TRUE;
}
