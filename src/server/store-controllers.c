/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "store-controllers.h"

#include "cara-error.h"
#include "cara-json.h"
#include "store-private.h"

/* In @c's transaction, with the rows locked: new resourceVersions, the rows and their events. */
static gboolean
write_locked (PGconn *c, GPtrArray *projects, const gboolean *ret_written, guint n_write, GError **error)
{
  g_autoptr (PGresult) rvs = NULL;
  g_autofree char *count_text = NULL;
  guint k = 0;

  /* All the resourceVersions at once (each under the rv lock, held to commit). */
  count_text = g_strdup_printf ("%u", n_write);
  {
    const char *p[] = { count_text };
    rvs = store_exec (c, "SELECT cara_next_rv(), cara_usec(now()) FROM generate_series(1, $1::int)", 1, p, error);
  }
  if (rvs == NULL)
    return FALSE;
  for (guint i = 0; i < projects->len; i++)
    {
      CaraProject *pr = projects->pdata[i];
      g_autoptr (PGresult) r = NULL;
      g_autofree char *status = NULL;
      g_autofree char *object = NULL;
      g_autofree char *updated = NULL;
      const char *phase;

      if (!ret_written[i])
        continue;
      g_free (pr->metadata.resource_version);
      pr->metadata.resource_version = g_strdup (PQgetvalue (rvs, (int) k, 0));
      g_clear_pointer (&pr->metadata.updated_at, g_date_time_unref);
      pr->metadata.updated_at = store_usec_to_datetime (g_ascii_strtoll (PQgetvalue (rvs, (int) k, 1), NULL, 10));
      k++;
      updated = store_datetime_to_usec (pr->metadata.updated_at);
      status = store_json_text (cara_project_status_to_json (pr));
      object = cara_project_to_data (pr);
      phase = cara_project_phase_to_string (pr->status.phase);
      {
        const char *p[] = { pr->metadata.name, phase ? phase : "", pr->status.node_ref ? pr->status.node_ref : "",
                            pr->metadata.resource_version, updated, status, object };
        r = store_exec (c,
            "WITH u AS (UPDATE projects SET phase = $2, node_ref = $3, resource_version = $4::bigint, "
            "updated_at = cara_ts($5::bigint), status = $6::jsonb, object = $7::text WHERE name = $1), "
            "e AS (INSERT INTO events (rv, kind, name, type, object) "
            "VALUES ($4::bigint, 'Project', $1, 'MODIFIED', $7::jsonb)) "
            "SELECT pg_notify('cara_events', 'Project/' || $1 || '/' || $4::bigint::text)",
            G_N_ELEMENTS (p), p, error);
      }
      if (r == NULL)
        return FALSE;
    }
  return TRUE;
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
