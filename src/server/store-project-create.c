/* SPDX-License-Identifier: Apache-2.0 */
/* Project creates by group commit (store-write-batch.h): one INSERT ... ON CONFLICT DO NOTHING
 * for the batch, events and NOTIFYs only for the rows it inserted. */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "cara-error.h"
#include "cara-json.h"
#include "store-project-create.h"
#include "store-write-batch.h"

static void
set_exists (const char *name, GError **error)
{
  g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "project already exists: %s: resource already exists", name);
}

/* The text-array literal of @values. */
static char *
array_of (GPtrArray *values)
{
  g_ptr_array_add (values, NULL);
  char *s = store_text_array ((const char * const *) values->pdata);
  g_ptr_array_remove_index (values, values->len - 1);
  return s;
}

gboolean
store_project_batch_write (PGconn *c, StoreBatchItem *items, guint n, const gint64 *rvs, gint64 now_usec, GError **error)
{
  enum { NAME, PHASE, NODE_REF, RV, EXPIRE, LABELS, ANNOTATIONS, SPEC, STATUS, OBJECT, GENERATION, CAUSE, N_COLUMNS };
  GPtrArray *col[N_COLUMNS];
  g_autoptr (GHashTable) sent = g_hash_table_new (g_str_hash, g_str_equal); /* name -> item */
  g_autoptr (GHashTable) written = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GDateTime) now = store_usec_to_datetime (now_usec);
  g_autofree char *now_text = g_strdup_printf ("%" G_GINT64_FORMAT, now_usec);
  g_autoptr (GPtrArray) arrays = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (PGresult) r = NULL;
  const char *p[N_COLUMNS + 1];

  for (guint k = 0; k < N_COLUMNS; k++)
    col[k] = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n; i++)
    {
      CaraProject *pr = items[i].obj;
      const char *phase = cara_project_phase_to_string (pr->status.phase);

      /* The same name twice in one batch: the first one is written, as if it came first. */
      if (g_hash_table_contains (sent, pr->metadata.name))
        {
          set_exists (pr->metadata.name, &items[i].error);
          continue;
        }
      g_hash_table_insert (sent, pr->metadata.name, &items[i]);
      g_free (pr->metadata.resource_version);
      pr->metadata.resource_version = g_strdup_printf ("%" G_GINT64_FORMAT, rvs[i]);
      g_clear_pointer (&pr->metadata.created_at, g_date_time_unref);
      g_clear_pointer (&pr->metadata.updated_at, g_date_time_unref);
      pr->metadata.created_at = g_date_time_ref (now);
      pr->metadata.updated_at = g_date_time_ref (now);
      g_ptr_array_add (col[NAME], g_strdup (pr->metadata.name));
      g_ptr_array_add (col[PHASE], g_strdup (phase ? phase : ""));
      g_ptr_array_add (col[NODE_REF], g_strdup (pr->status.node_ref ? pr->status.node_ref : ""));
      g_ptr_array_add (col[RV], g_strdup (pr->metadata.resource_version));
      g_ptr_array_add (col[EXPIRE], pr->spec.expire_at ? store_datetime_to_usec (pr->spec.expire_at) : g_strdup (""));
      g_ptr_array_add (col[LABELS], store_map_to_text (pr->metadata.labels));
      g_ptr_array_add (col[ANNOTATIONS], store_map_to_text (pr->metadata.annotations));
      g_ptr_array_add (col[SPEC], store_json_text (cara_project_spec_to_json (pr)));
      g_ptr_array_add (col[STATUS], store_json_text (cara_project_status_to_json (pr)));
      g_ptr_array_add (col[OBJECT], cara_project_to_data (pr));
      g_ptr_array_add (col[GENERATION], g_strdup_printf ("%" G_GINT64_FORMAT, pr->metadata.generation));
      const char *cause = g_hash_table_lookup (pr->metadata.annotations, STORE_CHANGE_CAUSE_ANNOTATION);
      g_ptr_array_add (col[CAUSE], g_strdup (cause ? cause : ""));
    }
  for (guint k = 0; k < N_COLUMNS; k++)
    {
      g_ptr_array_add (arrays, array_of (col[k]));
      p[k] = arrays->pdata[k];
      g_ptr_array_unref (col[k]);
    }
  p[N_COLUMNS] = now_text;
  /* Rows in rv order; a name already taken is skipped: no row, no event, no NOTIFY. */
  r = store_exec (c,
      "WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::jsonb[], "
      "  $7::jsonb[], $8::jsonb[], $9::jsonb[], $10::text[], $11::bigint[], $12::text[]) "
      "  AS v(name, phase, node_ref, rv, expire, labels, annotations, spec, status, object, generation, cause)), "
      "w AS (INSERT INTO projects (name, phase, node_ref, resource_version, created_at, updated_at, expire_at, "
      "  labels, annotations, spec, status, object, generation) "
      "  SELECT name, phase, node_ref, rv, cara_ts($13::bigint), cara_ts($13::bigint), "
      "  cara_ts(NULLIF(expire, '')::bigint), labels, annotations, spec, status, object, generation FROM v ORDER BY rv "
      "  ON CONFLICT (name) DO NOTHING RETURNING name, resource_version, object), "
      /* The first revision of each project written (SPEC §13), as the one-row path writes it. */
      "rev AS (INSERT INTO project_revisions (project, revision, change_cause, spec) "
      "  SELECT v.name, v.generation, v.cause, v.spec FROM w JOIN v ON v.name = w.name WHERE v.generation > 0 "
      "  ON CONFLICT (project, revision) DO NOTHING RETURNING 1), "
      "e AS (INSERT INTO events (rv, kind, name, type, object) "
      "  SELECT resource_version, 'Project', name, 'ADDED', object::jsonb FROM w RETURNING rv, name) "
      "SELECT name, pg_notify('cara_events', 'Project/' || name || '/' || rv) FROM e",
      G_N_ELEMENTS (p), p, error);
  if (r == NULL)
    return FALSE;
  for (int i = 0; i < PQntuples (r); i++)
    g_hash_table_add (written, PQgetvalue (r, i, 0));
  for (guint i = 0; i < n; i++)
    {
      CaraProject *pr = items[i].obj;
      if (items[i].error == NULL && !g_hash_table_contains (written, pr->metadata.name))
        set_exists (pr->metadata.name, &items[i].error);
    }
  return TRUE;
}

