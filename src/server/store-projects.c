/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "cara-error.h"
#include "cara-json.h"
#include "cara-log.h"
#include "store-private.h"

#define PROJECT_COLUMNS \
  "name, resource_version, cara_usec(created_at), cara_usec(updated_at), labels::text, annotations::text, " \
  "spec::text, status::text"

/* Appended to the row's INSERT/UPDATE (as CTE "w"): the event row and the NOTIFY, in the same
 * statement.  $1 name, $4 resourceVersion, $12 event type, $13 the object. */
#define EVENT_TAIL \
  ", e AS (INSERT INTO events (rv, kind, name, type, object) SELECT $4::bigint, 'Project', $1, $12, $13::jsonb " \
  "FROM w RETURNING rv) SELECT pg_notify('cara_events', 'Project/' || $1 || '/' || $4) FROM e"

static CaraProject *
project_from_row (PGresult *r, int row, GError **error)
{
  g_autoptr (CaraProject) n = cara_project_new (PQgetvalue (r, row, 0));
  n->metadata.resource_version = g_strdup (PQgetvalue (r, row, 1));
  n->metadata.created_at = store_usec_to_datetime (g_ascii_strtoll (PQgetvalue (r, row, 2), NULL, 10));
  n->metadata.updated_at = store_usec_to_datetime (g_ascii_strtoll (PQgetvalue (r, row, 3), NULL, 10));
  g_autoptr (JsonNode) spec = cara_json_parse (PQgetvalue (r, row, 6), -1, error);
  g_autoptr (JsonNode) status = spec ? cara_json_parse (PQgetvalue (r, row, 7), -1, error) : NULL;
  if (status == NULL
      || !store_map_from_text (PQgetvalue (r, row, 4), "metadata.labels", &n->metadata.labels, error)
      || !store_map_from_text (PQgetvalue (r, row, 5), "metadata.annotations", &n->metadata.annotations, error)
      || !cara_project_spec_from_json (n, spec, error) || !cara_project_status_from_json (n, status, error))
    {
      g_prefix_error (error, "stored project %s: ", PQgetvalue (r, row, 0));
      if (error && *error)
        (*error)->code = CARA_ERROR_FAILED;
      return NULL;
    }
  return g_steal_pointer (&n);
}

/* Insert or update the whole row from @n with a new resourceVersion, plus its event. */
static gboolean
project_write (PGconn *c, CaraProject *n, gboolean insert, GError **error)
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
  g_autofree char *expire = store_datetime_to_usec (n->spec.expire_at);
  g_autofree char *labels = store_map_to_text (n->metadata.labels);
  g_autofree char *annotations = store_map_to_text (n->metadata.annotations);
  g_autofree char *spec = store_json_text (cara_project_spec_to_json (n));
  g_autofree char *status = store_json_text (cara_project_status_to_json (n));
  const char *phase = cara_project_phase_to_string (n->status.phase);
  g_autofree char *object = cara_project_to_data (n);
  const char *p[] = { n->metadata.name, phase ? phase : "", n->status.node_ref ? n->status.node_ref : "",
                      n->metadata.resource_version, created, updated, expire, labels, annotations, spec,
                      status, insert ? "ADDED" : "MODIFIED", object };
  g_autoptr (GError) local = NULL;
  g_autoptr (PGresult) r = store_exec (c, insert
      ? "WITH w AS (INSERT INTO projects (name, phase, node_ref, resource_version, created_at, updated_at, expire_at, "
        "labels, annotations, spec, status, object) VALUES ($1, $2, $3, $4, cara_ts($5), cara_ts($6), cara_ts($7), "
        "$8::jsonb, $9::jsonb, $10::jsonb, $11::jsonb, $13::text) RETURNING 1)" EVENT_TAIL
      : "WITH w AS (UPDATE projects SET phase = $2, node_ref = $3, resource_version = $4, created_at = cara_ts($5), "
        "updated_at = cara_ts($6), expire_at = cara_ts($7), labels = $8::jsonb, annotations = $9::jsonb, "
        "spec = $10::jsonb, status = $11::jsonb, object = $13::text WHERE name = $1 RETURNING 1)" EVENT_TAIL,
      G_N_ELEMENTS (p), p, &local);
  if (r == NULL)
    {
      if (g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT))
        g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "project already exists: %s: resource already exists",
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
  g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "project not found: %s: resource not found", name);
}

gboolean
store_create_project (CaraProject *node, GError **error)
{
  PGconn *c = store_begin (NULL, error);
  if (c == NULL)
    return FALSE;
  if (!project_write (c, node, TRUE, error) || !store_commit (c, error))
    {
      store_rollback (c);
      return FALSE;
    }
  return TRUE;
}

gboolean
store_get_project (const char *name, CaraProject **ret, GError **error)
{
  const char *p[] = { name };
  g_autoptr (PGresult) r = store_exec_once ("SELECT " PROJECT_COLUMNS " FROM projects WHERE name = $1", 1, p, error);
  if (r == NULL)
    return FALSE;
  if (PQntuples (r) == 0)
    {
      set_not_found (error, name);
      return FALSE;
    }
  CaraProject *n = project_from_row (r, 0, error);
  if (n == NULL)
    return FALSE;
  *ret = n;
  return TRUE;
}

#define LIST_WHERE \
  "WHERE ($1::text IS NULL OR node_ref = $1) AND ($2::text[] IS NULL OR phase = ANY ($2)) ORDER BY name"

gboolean
store_list_project_texts (const StoreProjectFilter *filter, GPtrArray **ret_texts, GError **error)
{
  g_autofree char *phases = filter && filter->phases ? store_text_array (filter->phases) : NULL;
  const char *p[] = { filter ? filter->node_ref : NULL, phases };
  /* The columns follow the object so that a row without one can be encoded from them. */
  g_autoptr (PGresult) r = store_exec_once ("SELECT " PROJECT_COLUMNS ", object FROM projects " LIST_WHERE, 2, p,
                                            error);
  if (r == NULL)
    return FALSE;
  int object_col = PQnfields (r) - 1;
  g_autoptr (GPtrArray) texts = g_ptr_array_new_full ((guint) PQntuples (r), g_free);
  for (int i = 0; i < PQntuples (r); i++)
    {
      if (!PQgetisnull (r, i, object_col))
        {
          g_ptr_array_add (texts, g_strdup (PQgetvalue (r, i, object_col)));
          continue;
        }
      g_autoptr (CaraProject) n = project_from_row (r, i, error);
      if (n == NULL)
        return FALSE;
      g_ptr_array_add (texts, cara_project_to_data (n));
    }
  *ret_texts = g_steal_pointer (&texts);
  return TRUE;
}

gboolean
store_list_projects (const StoreProjectFilter *filter, GPtrArray **ret_projects, gint64 *ret_rv, GError **error)
{
  static const char sql[] = "SELECT " PROJECT_COLUMNS " FROM projects " LIST_WHERE;
  g_autofree char *phases = filter && filter->phases ? store_text_array (filter->phases) : NULL;
  const char *p[] = { filter ? filter->node_ref : NULL, phases };
  g_autoptr (PGresult) r = NULL;
  gint64 rv = 0;
  if (ret_rv != NULL)
    {
      /* One snapshot for the list and the rv a watch resumes from. */
      PGconn *c = store_begin ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", error);
      if (c == NULL)
        return FALSE;
      r = store_exec (c, sql, 2, p, error);
      if (r == NULL || !store_snapshot_rv (c, &rv, error) || !store_commit (c, error))
        {
          store_rollback (c);
          return FALSE;
        }
    }
  else
    {
      r = store_exec_once (sql, 2, p, error);
      if (r == NULL)
        return FALSE;
    }
  g_autoptr (GPtrArray) projects = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_project_free);
  for (int i = 0; i < PQntuples (r); i++)
    {
      CaraProject *n = project_from_row (r, i, error);
      if (n == NULL)
        return FALSE;
      g_ptr_array_add (projects, n);
    }
  *ret_projects = g_steal_pointer (&projects);
  if (ret_rv)
    *ret_rv = rv;
  return TRUE;
}

gboolean
store_update_project (const char *name, StoreProjectMutateFunc mutate, gpointer user_data, CaraProject **ret,
                   GError **error)
{
  PGconn *c = store_begin (NULL, error);
  if (c == NULL)
    return FALSE;
  const char *p[] = { name };
  g_autoptr (PGresult) r = store_exec (c, "SELECT " PROJECT_COLUMNS " FROM projects WHERE name = $1 FOR UPDATE", 1, p,
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
  g_autoptr (CaraProject) n = project_from_row (r, 0, error);
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
      if (!project_write (c, n, FALSE, error) || !store_commit (c, error))
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

/* Within @c's transaction: removes the row of @p (already locked) with a DELETED event. */
static gboolean
project_remove (PGconn *c, CaraProject *p, GError **error)
{
  gint64 rv, now;
  if (!store_next_rv (c, &rv, &now, error))
    return FALSE;
  g_free (p->metadata.resource_version);
  p->metadata.resource_version = g_strdup_printf ("%" G_GINT64_FORMAT, rv);
  g_autofree char *object = cara_project_to_data (p);
  const char *params[] = { p->metadata.name };
  g_autoptr (PGresult) d = store_exec (c, "DELETE FROM projects WHERE name = $1", 1, params, error);
  return d != NULL && store_append_event (c, rv, "Project", p->metadata.name, "DELETED", object, error);
}

static CaraProject *
lock_project (PGconn *c, const char *name, GError **error)
{
  const char *p[] = { name };
  g_autoptr (PGresult) r = store_exec (c, "SELECT " PROJECT_COLUMNS " FROM projects WHERE name = $1 FOR UPDATE", 1,
                                       p, error);
  if (r == NULL)
    return NULL;
  if (PQntuples (r) == 0)
    {
      set_not_found (error, name);
      return NULL;
    }
  return project_from_row (r, 0, error);
}

gboolean
store_request_project_deletion (const char *name, gboolean force, StoreDeleteOutcome *ret, GError **error)
{
  PGconn *c = store_begin (NULL, error);
  if (c == NULL)
    return FALSE;
  g_autoptr (CaraProject) p = lock_project (c, name, error);
  if (p == NULL)
    {
      store_rollback (c);
      return FALSE;
    }
  CaraProjectPhase phase = p->status.phase;
  gboolean on_node = p->status.node_ref != NULL && *p->status.node_ref != '\0';
  StoreDeleteOutcome outcome;
  gboolean ok;
  if (force || phase == CARA_PROJECT_PHASE_PENDING || (phase == CARA_PROJECT_PHASE_FAILED && !on_node))
    {
      if (force && on_node)
        cara_log_project (G_LOG_LEVEL_WARNING, name,
                          "Force-deleting project %s assigned to node %s: its containers are left to that node's agent",
                          name, p->status.node_ref);
      outcome = STORE_DELETE_REMOVED;
      ok = project_remove (c, p, error);
    }
  else if (phase == CARA_PROJECT_PHASE_TERMINATING || phase == CARA_PROJECT_PHASE_TERMINATED)
    {
      /* Already on its way out (Terminated: the termination controller removes the row). */
      *ret = STORE_DELETE_ALREADY_TERMINATING;
      store_rollback (c);
      return TRUE;
    }
  else
    {
      outcome = STORE_DELETE_TERMINATING;
      p->status.phase = CARA_PROJECT_PHASE_TERMINATING;
      ok = project_write (c, p, FALSE, error);
    }
  if (!ok || !store_commit (c, error))
    {
      store_rollback (c);
      return FALSE;
    }
  *ret = outcome;
  return TRUE;
}

gboolean
store_delete_project (const char *name, CaraProjectPhase only_in_phase, GError **error)
{
  PGconn *c = store_begin (NULL, error);
  if (c == NULL)
    return FALSE;
  g_autoptr (CaraProject) p = lock_project (c, name, error);
  if (p == NULL)
    {
      store_rollback (c);
      return FALSE;
    }
  if (only_in_phase != CARA_PROJECT_PHASE_NONE && p->status.phase != only_in_phase)
    {
      store_rollback (c);
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT,
                   "operation conflicts with current resource state: project \"%s\" is %s, not %s", name,
                   cara_project_phase_to_string (p->status.phase), cara_project_phase_to_string (only_in_phase));
      return FALSE;
    }
  if (!project_remove (c, p, error) || !store_commit (c, error))
    {
      store_rollback (c);
      return FALSE;
    }
  return TRUE;
}
