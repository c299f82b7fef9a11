/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-json.h"
#include "cara-log.h"
#include "store-project-create.h"
#include "store-rows.h"

static gboolean
project_write_row (PGconn *c, gpointer obj, gboolean insert, GError **error)
{
  CaraProject *n = obj;
  g_autofree char *created = store_datetime_to_usec (n->metadata.created_at);
  g_autofree char *updated = store_datetime_to_usec (n->metadata.updated_at);
  g_autofree char *expire = store_datetime_to_usec (n->spec.expire_at);
  g_autofree char *labels = store_map_to_text (n->metadata.labels);
  g_autofree char *annotations = store_map_to_text (n->metadata.annotations);
  g_autofree char *spec = store_json_text (cara_project_spec_to_json (n));
  g_autofree char *status = store_json_text (cara_project_status_to_json (n));
  const char *phase = cara_project_phase_to_string (n->status.phase);
  g_autofree char *object = cara_project_to_data (n);
  g_autofree char *generation = g_strdup_printf ("%" G_GINT64_FORMAT, n->metadata.generation);
  const char *cause = g_hash_table_lookup (n->metadata.annotations, STORE_CHANGE_CAUSE_ANNOTATION);
  g_autofree char *limit = g_strdup_printf ("%u", store_get_revision_history_limit ());
  const char *p[] = { n->metadata.name, phase ? phase : "", n->status.node_ref ? n->status.node_ref : "",
                      n->metadata.resource_version, created, updated, expire, labels, annotations, spec,
                      status, insert ? "ADDED" : "MODIFIED", object, generation, cause ? cause : "", limit };
  /* The revision of this generation is the spec the first write of it carries; older ones beyond
   * the limit go. */
#define REVISION_CTES \
  ", rev AS (INSERT INTO project_revisions (project, revision, change_cause, spec) SELECT $1, $14::bigint, $15, " \
  "$10::jsonb FROM w WHERE $14::bigint > 0 ON CONFLICT (project, revision) DO NOTHING RETURNING 1), " \
  "trim AS (DELETE FROM project_revisions WHERE project = $1 AND revision <= $14::bigint - $16::bigint " \
  "AND EXISTS (SELECT 1 FROM rev))"
  g_autoptr (PGresult) r = store_exec (c, insert
      ? "WITH w AS (INSERT INTO projects (name, phase, node_ref, resource_version, created_at, updated_at, expire_at, "
        "labels, annotations, spec, status, object, generation) VALUES ($1, $2, $3, $4, cara_ts($5), cara_ts($6), "
        "cara_ts($7), $8::jsonb, $9::jsonb, $10::jsonb, $11::jsonb, $13::text, $14::bigint) RETURNING 1)"
        REVISION_CTES ROW_EVENT_TAIL ("Project")
      : "WITH w AS (UPDATE projects SET phase = $2, node_ref = $3, resource_version = $4, created_at = cara_ts($5), "
        "updated_at = cara_ts($6), expire_at = cara_ts($7), labels = $8::jsonb, annotations = $9::jsonb, "
        "spec = $10::jsonb, status = $11::jsonb, object = $13::text, generation = $14::bigint WHERE name = $1 "
        "RETURNING 1)" REVISION_CTES ROW_EVENT_TAIL ("Project"),
      G_N_ELEMENTS (p), p, error);
#undef REVISION_CTES
  return r != NULL;
}

static void
project_extra_from_row (gpointer obj, PGresult *r, int row, int col)
{
  ((CaraProject *) obj)->metadata.generation = g_ascii_strtoll (PQgetvalue (r, row, col), NULL, 10);
}

STORE_ROW_KIND_EXTRA (project, CaraProject, "Project", "project", "projects", project_write_row, ", generation",
                      project_extra_from_row);

static guint revision_history_limit = STORE_DEFAULT_REVISION_HISTORY_LIMIT;

void
store_set_revision_history_limit (guint limit)
{
  revision_history_limit = MAX (limit, 1);
}

guint
store_get_revision_history_limit (void)
{
  return revision_history_limit;
}

static gboolean
create_one (gpointer obj, GError **error)
{
  return store_rows_create (&project_kind, obj, error);
}

/* Concurrent creates share a transaction (store-write-batch.h). */
static StoreWriteBatch create_batch = STORE_WRITE_BATCH_INIT (store_project_batch_write, create_one, 64);

gboolean
store_create_project (CaraProject *project, GError **error)
{
  return store_write_batch_submit (&create_batch, project, error);
}

gboolean
store_get_project (const char *name, CaraProject **ret, GError **error)
{
  return store_rows_get (&project_kind, name, (gpointer *) ret, error);
}

#define LIST_WHERE \
  "WHERE ($1::text IS NULL OR node_ref = $1) AND ($2::text[] IS NULL OR phase = ANY ($2)) ORDER BY name"

struct _StoreTextList {
  PGresult *result;   /* name, object, the newest Project change */
  guint n;            /* rows returned (one more than asked shows that more follow) */
  char **encoded;     /* for rows last written before objects were stored: their text */
  gboolean more;
};

void
store_text_list_free (StoreTextList *l)
{
  if (l == NULL)
    return;
  PQclear (l->result);
  if (l->encoded)
    for (guint i = 0; i < l->n; i++)
      g_free (l->encoded[i]);
  g_free (l->encoded);
  g_free (l);
}

guint
store_text_list_length (StoreTextList *l)
{
  return l->n;
}

const char *
store_text_list_get (StoreTextList *l, guint i, gsize *ret_len)
{
  const char *text = l->encoded && l->encoded[i] ? l->encoded[i] : PQgetvalue (l->result, (int) i, 1);
  *ret_len = l->encoded && l->encoded[i] ? strlen (text) : (gsize) PQgetlength (l->result, (int) i, 1);
  return text;
}

const char *
store_text_list_next_after (StoreTextList *l)
{
  return l->more && l->n > 0 ? PQgetvalue (l->result, (int) l->n - 1, 0) : NULL;
}

gint64
store_text_list_stamp (StoreTextList *l)
{
  if (PQntuples (l->result) == 0 || PQgetisnull (l->result, 0, 2))
    return 0;
  return g_ascii_strtoll (PQgetvalue (l->result, 0, 2), NULL, 10);
}

/* Events commit in resourceVersion order (cara_next_rv) and every write of a project row adds its
 * event in the same transaction, so the newest Project event names the newest project change; the
 * events kept are trimmed from the oldest, never the newest. */
#define PROJECT_STAMP_SQL "SELECT max(rv) FROM events WHERE kind = 'Project'"

gboolean
store_project_change_stamp (gint64 *ret, GError **error)
{
  g_autoptr (PGresult) r = store_exec_once (PROJECT_STAMP_SQL, 0, NULL, error);
  if (r == NULL)
    return FALSE;
  *ret = PQgetisnull (r, 0, 0) ? 0 : g_ascii_strtoll (PQgetvalue (r, 0, 0), NULL, 10);
  return TRUE;
}

StoreTextList *
store_list_project_texts (const StoreProjectFilter *filter, GError **error)
{
  g_autofree char *phases = filter && filter->phases ? store_text_array (filter->phases) : NULL;
  g_autofree char *limit = filter && filter->limit ? g_strdup_printf ("%u", filter->limit + 1) : NULL;
  const char *p[] = { filter ? filter->node_ref : NULL, phases, filter ? filter->after : NULL, limit };
  g_autoptr (StoreTextList) l = g_new0 (StoreTextList, 1);

  /* Only the stored texts travel: the columns would double what PostgreSQL sends. */
  /* One statement, one snapshot: the stamp is that of the rows returned. */
  l->result = store_exec_once ("SELECT name, object, (" PROJECT_STAMP_SQL ") FROM projects "
                               "WHERE ($1::text IS NULL OR node_ref = $1) AND ($2::text[] IS NULL OR phase = ANY ($2)) "
                               "AND ($3::text IS NULL OR name > $3) ORDER BY name LIMIT $4::bigint", 4, p, error);
  if (l->result == NULL)
    return NULL;
  l->n = (guint) PQntuples (l->result);
  if (filter && filter->limit && l->n > filter->limit)
    {
      l->n = filter->limit;
      l->more = TRUE;
    }
  for (guint i = 0; i < l->n; i++)
    {
      if (!PQgetisnull (l->result, (int) i, 1))
        continue;
      g_autoptr (CaraProject) one = NULL;
      if (!store_get_project (PQgetvalue (l->result, (int) i, 0), &one, error))
        return NULL;
      if (l->encoded == NULL)
        l->encoded = g_new0 (char *, l->n);
      l->encoded[i] = cara_project_to_data (one);
    }
  return g_steal_pointer (&l);
}

gboolean
store_list_projects (const StoreProjectFilter *filter, GPtrArray **ret_projects, gint64 *ret_rv, GError **error)
{
  g_autofree char *phases = filter && filter->phases ? store_text_array (filter->phases) : NULL;
  const char *p[] = { filter ? filter->node_ref : NULL, phases };
  return store_rows_list (&project_kind, LIST_WHERE, 2, p, ret_projects, ret_rv, error);
}

typedef struct {
  StoreProjectMutateFunc mutate;
  gpointer user_data;
} ProjectMutate;

static gboolean
project_mutate (gpointer obj, gpointer user_data, GError **error)
{
  ProjectMutate *m = user_data;
  return m->mutate (obj, m->user_data, error);
}

gboolean
store_update_project (const char *name, StoreProjectMutateFunc mutate, gpointer user_data, CaraProject **ret,
                      GError **error)
{
  ProjectMutate m = { mutate, user_data };
  return store_rows_update (&project_kind, name, project_mutate, &m, (gpointer *) ret, error);
}

gboolean
store_request_project_deletion (const char *name, gboolean force, StoreDeleteOutcome *ret, GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);
  g_autoptr (CaraProject) p = NULL;
  StoreDeleteOutcome outcome;
  gboolean on_node, ok;
  CaraProjectPhase phase;

  if (t == NULL || (p = store_rows_lock (&project_kind, store_txn_conn (t), name, error)) == NULL)
    return FALSE;
  phase = p->status.phase;
  on_node = p->status.node_ref != NULL && *p->status.node_ref != '\0';
  if (force || phase == CARA_PROJECT_PHASE_PENDING || (phase == CARA_PROJECT_PHASE_FAILED && !on_node))
    {
      if (force && on_node)
        cara_log_project (G_LOG_LEVEL_WARNING, name,
                          "Force-deleting project %s assigned to node %s: its containers are left to that node's agent",
                          name, p->status.node_ref);
      outcome = STORE_DELETE_REMOVED;
      ok = store_rows_remove (&project_kind, store_txn_conn (t), p, error);
    }
  else if (phase == CARA_PROJECT_PHASE_TERMINATING || phase == CARA_PROJECT_PHASE_TERMINATED)
    {
      /* Already on its way out (Terminated: the termination controller removes the row). */
      *ret = STORE_DELETE_ALREADY_TERMINATING;
      return TRUE;
    }
  else
    {
      outcome = STORE_DELETE_TERMINATING;
      p->status.phase = CARA_PROJECT_PHASE_TERMINATING;
      ok = store_rows_write (&project_kind, store_txn_conn (t), p, FALSE, error);
    }
  if (!ok || !store_txn_commit (t, error))
    return FALSE;
  *ret = outcome;
  return TRUE;
}

gboolean
store_delete_project (const char *name, CaraProjectPhase only_in_phase, GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);
  g_autoptr (CaraProject) p = NULL;

  if (t == NULL || (p = store_rows_lock (&project_kind, store_txn_conn (t), name, error)) == NULL)
    return FALSE;
  if (only_in_phase != CARA_PROJECT_PHASE_NONE && p->status.phase != only_in_phase)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT,
                   "operation conflicts with current resource state: project \"%s\" is %s, not %s", name,
                   cara_project_phase_to_string (p->status.phase), cara_project_phase_to_string (only_in_phase));
      return FALSE;
    }
  return store_rows_remove (&project_kind, store_txn_conn (t), p, error) && store_txn_commit (t, error);
}

gboolean
store_touch_projects (PGconn *c, const char *const *names, GError **error)
{
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      g_autoptr (CaraProject) p = store_rows_lock (&project_kind, c, names[i], error);
      if (p == NULL)
        return FALSE;
      if (p->status.phase == CARA_PROJECT_PHASE_FAILED && p->status.node_ref != NULL && *p->status.node_ref != '\0')
        {
          /* What failed may have been the Secret (a missing key, registry credentials): a retry
           * where it failed, as a re-apply does. */
          g_autofree char *msg = g_strdup_printf ("A Secret it uses changed; retrying on node %s", p->status.node_ref);
          p->status.phase = CARA_PROJECT_PHASE_SCHEDULED;
          cara_conditions_upsert (p->status.conditions, cara_condition_new ("Phase", "True", "Retry", msg));
        }
      if (!store_rows_write (&project_kind, c, p, FALSE, error))
        return FALSE;
    }
  return TRUE;
}
