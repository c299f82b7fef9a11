/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-api"
#include "config.h"

#include "api.h"
#include "cara-error.h"
#include "cara-log.h"
#include "server-events.h"
#include "store.h"

/* SPEC §13: GET /api/v1/projects/{name}/revisions and POST /api/v1/projects/{name}/rollback. */

void
api_rollout_event (const char *project, const char *type, const char *reason, const char *message)
{
  /* The one place rollout events leave from: the journal and the events API. */
  gboolean warning = g_strcmp0 (type, "Warning") == 0;
  cara_log_project (warning ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_INFO, project,
                    "Event %s %s project/%s: %s", type, reason, project, message);
  cara_events_record (warning ? CARA_EVENT_WARNING : CARA_EVENT_NORMAL, reason, "Project", project, NULL, "%s", message);
}

static JsonNode *
revision_to_json (const StoreRevision *r, GError **error)
{
  g_autoptr (JsonNode) spec = cara_json_parse (r->spec, -1, error);
  if (spec == NULL)
    return NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (r->created_usec / G_USEC_PER_SEC);
  g_autoptr (GDateTime) at = t ? g_date_time_add (t, r->created_usec % G_USEC_PER_SEC) : NULL;
  g_autofree char *created = cara_time_format (at);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "revision");
  json_builder_add_int_value (b, r->revision);
  json_builder_set_member_name (b, "createdAt");
  json_builder_add_string_value (b, created);
  json_builder_set_member_name (b, "changeCause");
  json_builder_add_string_value (b, r->change_cause);
  json_builder_set_member_name (b, "spec");
  json_builder_add_value (b, g_steal_pointer (&spec));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

void
api_projects_revisions (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  g_autoptr (GPtrArray) revs = NULL;
  g_autoptr (GError) error = NULL;
  if (!store_list_revisions (name, &revs, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_autoptr (JsonArray) items = json_array_new ();
  for (guint i = 0; i < revs->len; i++)
    {
      JsonNode *n = revision_to_json (g_ptr_array_index (revs, i), &error);
      if (n == NULL)
        {
          cara_http_respond_error (req, error);
          return;
        }
      json_array_add_element (items, n);
    }
  g_autoptr (JsonObject) o = json_object_new ();
  json_object_set_array_member (o, "items", json_array_ref (items));
  g_autoptr (JsonNode) root = json_node_init_object (json_node_alloc (), o);
  cara_http_respond_json (req, 200, root);
}

gboolean
api_rollout_restore (const char *name, gint64 revision, gint64 expect_generation, const char *cause,
                     CaraProject **ret, gint64 *ret_revision, GError **error)
{
  g_autoptr (CaraProject) cur = NULL;
  g_autoptr (StoreRevision) rev = NULL;
  if (!store_get_project (name, &cur, error))
    return FALSE;
  if (expect_generation > 0 && cur->metadata.generation != expect_generation)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT,
                   "operation conflicts with current resource state: project %s is at generation %" G_GINT64_FORMAT
                   ", not %" G_GINT64_FORMAT, name, cur->metadata.generation, expect_generation);
      return FALSE;
    }
  if (!store_get_revision (name, revision, cur->metadata.generation, &rev, error))
    return FALSE;
  g_autoptr (JsonNode) spec = cara_json_parse (rev->spec, -1, error);
  /* The body: the current labels and annotations (and resourceVersion: nobody changed it since),
   * the revision's spec. */
  g_autoptr (CaraProject) body = cara_project_copy (cur);
  if (spec == NULL || !cara_project_spec_from_json (body, spec, error))
    return FALSE;
  g_hash_table_replace (body->metadata.annotations, g_strdup (CARA_CHANGE_CAUSE_ANNOTATION), g_strdup (cause));
  if (!api_projects_store_update (name, body, ret, error))
    return FALSE;
  if (ret_revision)
    *ret_revision = rev->revision;
  return TRUE;
}

void
api_projects_rollback (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  const char *rq = cara_http_request_get_query (req, "revision");
  gint64 revision = 0;
  g_autoptr (GError) error = NULL;
  if (rq != NULL && (!g_ascii_string_to_signed (rq, 10, 1, G_MAXINT64, &revision, NULL)))
    {
      g_autofree char *detail = g_strdup_printf ("revision: \"%s\" is not a revision number (an integer >= 1)", rq);
      cara_http_respond_problem (req, 400, detail);
      return;
    }
  g_autoptr (CaraProject) p = NULL;
  gint64 restored = 0;
  g_autofree char *cause = revision ? g_strdup_printf ("rollback to revision %" G_GINT64_FORMAT, revision)
                                    : g_strdup ("rollback to the previous revision");
  if (!api_rollout_restore (name, revision, 0, cause, &p, &restored, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_autofree char *msg = g_strdup_printf ("Rolled back to revision %" G_GINT64_FORMAT " (now generation %" G_GINT64_FORMAT ")",
                                          restored, p->metadata.generation);
  api_rollout_event (name, "Normal", "RolledBack", msg);
  g_autoptr (JsonNode) json = cara_project_to_json (p);
  cara_http_respond_json (req, 200, json);
}
