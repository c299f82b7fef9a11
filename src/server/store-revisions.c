/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "cara-error.h"
#include "store-private.h"

/* Reading a project's revisions (SPEC §13); they are written with the project's row
 * (store-projects.c). */

void
store_revision_free (StoreRevision *r)
{
  if (r == NULL)
    return;
  g_free (r->change_cause);
  g_free (r->spec);
  g_free (r);
}

#define REVISION_COLUMNS "revision, cara_usec(created_at), change_cause, spec::text"

static StoreRevision *
revision_from_row (PGresult *r, int row)
{
  StoreRevision *rev = g_new0 (StoreRevision, 1);
  rev->revision = g_ascii_strtoll (PQgetvalue (r, row, 0), NULL, 10);
  rev->created_usec = g_ascii_strtoll (PQgetvalue (r, row, 1), NULL, 10);
  rev->change_cause = g_strdup (PQgetvalue (r, row, 2));
  rev->spec = g_strdup (PQgetvalue (r, row, 3));
  return rev;
}

static gboolean
project_exists (PGconn *c, const char *project, GError **error)
{
  const char *p[] = { project };
  g_autoptr (PGresult) r = store_exec (c, "SELECT 1 FROM projects WHERE name = $1", 1, p, error);
  if (r == NULL)
    return FALSE;
  if (PQntuples (r) == 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "project not found: %s: resource not found", project);
      return FALSE;
    }
  return TRUE;
}

gboolean
store_list_revisions (const char *project, GPtrArray **ret_revisions, GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", error);
  const char *p[] = { project };
  if (t == NULL || !project_exists (store_txn_conn (t), project, error))
    return FALSE;
  g_autoptr (PGresult) r = store_exec (store_txn_conn (t), "SELECT " REVISION_COLUMNS " FROM project_revisions "
                                       "WHERE project = $1 ORDER BY revision DESC", 1, p, error);
  if (r == NULL || !store_txn_commit (t, error))
    return FALSE;
  g_autoptr (GPtrArray) revs = g_ptr_array_new_with_free_func ((GDestroyNotify) store_revision_free);
  for (int i = 0; i < PQntuples (r); i++)
    g_ptr_array_add (revs, revision_from_row (r, i));
  *ret_revisions = g_steal_pointer (&revs);
  return TRUE;
}

gboolean
store_get_revision (const char *project, gint64 revision, gint64 before, StoreRevision **ret, GError **error)
{
  g_autofree char *rev = g_strdup_printf ("%" G_GINT64_FORMAT, revision);
  g_autofree char *bef = g_strdup_printf ("%" G_GINT64_FORMAT, before);
  const char *p[] = { project, rev, bef };
  g_autoptr (PGresult) r = store_exec_once (
      "SELECT " REVISION_COLUMNS " FROM project_revisions WHERE project = $1 AND "
      "(CASE WHEN $2::bigint > 0 THEN revision = $2::bigint ELSE revision < $3::bigint END) "
      "ORDER BY revision DESC LIMIT 1", 3, p, error);
  if (r == NULL)
    return FALSE;
  if (PQntuples (r) == 0)
    {
      if (revision > 0)
        g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND,
                     "revision not found: project %s has no revision %" G_GINT64_FORMAT
                     " (only the last %u are kept)", project, revision,
                     store_get_revision_history_limit ());
      else
        g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND,
                     "revision not found: project %s has no revision before %" G_GINT64_FORMAT,
                     project, before);
      return FALSE;
    }
  *ret = revision_from_row (r, 0);
  return TRUE;
}
