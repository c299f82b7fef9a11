/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-api"
#include "config.h"

#include <string.h>

#include "api.h"
#include "list-cache.h"
#include "cara-error.h"
#include "cara-log.h"
#include "cara-validate.h"
#include "server-auth.h"
#include "server-metrics.h"
#include "store.h"

static void
respond_project (CaraHttpRequest *req, guint status, const CaraProject *p)
{
  g_autoptr (JsonNode) json = cara_project_to_json (p);
  cara_http_respond_json (req, status, json);
}

static CaraProject *
decode_project (CaraHttpRequest *req)
{
  g_autoptr (JsonNode) json = api_parse_body (req);
  if (json == NULL || !api_check_fields (req, "Project", json))
    return NULL;
  g_autoptr (GError) error = NULL;
  CaraProject *p = cara_project_from_json (json, &error);
  if (p == NULL)
    api_respond_invalid_body (req, error);
  return p;
}

void
api_projects_create (CaraHttpRequest *req, gpointer user_data)
{
  g_autoptr (CaraProject) p = decode_project (req);
  g_autoptr (GError) error = NULL;
  if (p == NULL)
    return;
  if (p->metadata.name == NULL || *p->metadata.name == '\0')
    {
      cara_http_respond_problem (req, 400, "metadata.name is required");
      return;
    }
  if (!cara_validate_project_name (p->metadata.name, &error) || !cara_validate_project (p, &error)
      || !api_secrets_check_project (p, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  if (p->status.phase == CARA_PROJECT_PHASE_NONE)
    p->status.phase = CARA_PROJECT_PHASE_PENDING;
  p->metadata.generation = 1; /* the server's to count */
  p->status.observed_generation = 0;
  if (!store_create_project (p, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  cara_log_project (G_LOG_LEVEL_INFO, p->metadata.name, "Created project %s", p->metadata.name);
  respond_project (req, 201, p);
}

/* A list as it is sent: the envelope around the stored texts, comma-separated. */
typedef struct {
  StoreTextList *texts;
  char *prefix, *suffix;
} ListBody;

static void
list_body_free (gpointer data)
{
  ListBody *b = data;
  store_text_list_free (b->texts);
  g_free (b->prefix);
  g_free (b->suffix);
  g_free (b);
}

static const char *
list_body_piece (gpointer data, guint i, gsize *ret_len)
{
  ListBody *b = data;
  guint n = store_text_list_length (b->texts);
  guint last = n > 0 ? 2 * n : 1;  /* prefix, item, ",", item, ..., item, suffix */
  if (i == 0 || i == last)
    {
      const char *text = i == 0 ? b->prefix : b->suffix;
      *ret_len = strlen (text);
      return text;
    }
  if (i % 2 == 0)
    {
      *ret_len = 1;
      return ",";
    }
  return store_text_list_get (b->texts, (i - 1) / 2, ret_len);
}

/* The whole list in one piece, as the list cache keeps it. */
static GBytes *
list_body_bytes (StoreTextList *texts)
{
  ListBody b = { .texts = texts };
  guint n = store_text_list_length (texts);
  guint pieces = n > 0 ? 2 * n + 1 : 2;
  gsize total = 0, len, at = 0;

  cara_list_envelope ("ProjectList", NULL, &b.prefix, &b.suffix);
  for (guint i = 0; i < pieces; i++)
    {
      list_body_piece (&b, i, &len);
      total += len;
    }
  char *data = g_malloc (total);
  for (guint i = 0; i < pieces; i++)
    {
      const char *text = list_body_piece (&b, i, &len);
      memcpy (data + at, text, len);
      at += len;
    }
  g_free (b.prefix);
  g_free (b.suffix);
  return g_bytes_new_take (data, total);
}

/* ?limit=N&continue=TOKEN as kubectl pages: the token (metadata.continue of the page before) is
 * the last name of that page in base64url. */
static gboolean
parse_paging (CaraHttpRequest *req, guint *ret_limit, char **ret_after)
{
  const char *limit = cara_http_request_get_query (req, "limit");
  const char *token = cara_http_request_get_query (req, "continue");
  guint64 n = 0;

  if (limit != NULL && *limit != '\0' &&
      (!g_ascii_string_to_unsigned (limit, 10, 1, G_MAXINT32, &n, NULL)))
    {
      cara_http_respond_problem (req, 400, "limit must be a whole number from 1 to 2147483647");
      return FALSE;
    }
  *ret_limit = (guint) n;
  if (token != NULL && *token != '\0')
    {
      g_autofree char *b64 = g_strdup (token);
      g_strdelimit (b64, "-", '+');
      g_strdelimit (b64, "_", '/');
      g_autoptr (GString) padded = g_string_new (b64);
      while (padded->len % 4 != 0)
        g_string_append_c (padded, '=');
      gsize len = 0;
      g_autofree guchar *name = g_base64_decode (padded->str, &len);
      g_autofree char *after = g_strndup ((const char *) name, len);
      g_autoptr (GError) error = NULL;
      if (len == 0 || !cara_validate_project_name (after, &error))
        {
          cara_http_respond_problem (req, 400, "invalid continue token: give the metadata.continue of the page before");
          return FALSE;
        }
      *ret_after = g_steal_pointer (&after);
    }
  return TRUE;
}

static char *
continue_token (const char *name)
{
  g_autofree char *b64 = g_base64_encode ((const guchar *) name, strlen (name));
  g_strdelimit (b64, "+", '-');
  g_strdelimit (b64, "/", '_');
  char *end = strchr (b64, '=');
  return end ? g_strndup (b64, (gsize) (end - b64)) : g_steal_pointer (&b64);
}

void
api_projects_list (CaraHttpRequest *req, gpointer user_data)
{
  if (api_dispatch_watch (req, "Project"))
    return;
  const char * const *phases = cara_http_request_get_query_all (req, "phase");
  const char *node_ref = cara_http_request_get_query (req, "nodeRef");
  g_autofree char *after = NULL;
  guint limit = 0;
  if (!parse_paging (req, &limit, &after))
    return;
  StoreProjectFilter filter = {
    .node_ref = node_ref != NULL && *node_ref != '\0' ? node_ref : NULL,
    .phases = phases[0] != NULL ? phases : NULL,
    .after = after,
    .limit = limit,
  };
  g_autoptr (GError) error = NULL;
  gboolean whole = filter.node_ref == NULL && filter.phases == NULL && filter.after == NULL && filter.limit == 0;
  gint64 stamp = 0;
  if (whole && store_project_change_stamp (&stamp, NULL))
    {
      g_autoptr (GBytes) kept = list_cache_lookup (stamp);
      server_metrics_list_cache (kept != NULL);
      if (kept != NULL)
        {
          cara_http_respond_bytes (req, 200, "application/json", kept);
          return;
        }
    }
  /* Stored texts sent as they are: 10,000 projects without decoding, encoding or copying them. */
  g_autoptr (StoreTextList) texts = store_list_project_texts (&filter, &error);
  if (texts == NULL)
    {
      cara_http_respond_error (req, error);
      return;
    }
  if (whole && store_text_list_stamp (texts) != 0)
    {
      g_autoptr (GBytes) body = list_body_bytes (texts);
      list_cache_store (store_text_list_stamp (texts), body);
      cara_http_respond_bytes (req, 200, "application/json", body);
      return;
    }
  const char *next = store_text_list_next_after (texts);
  g_autofree char *token = next ? continue_token (next) : NULL;
  ListBody *b = g_new0 (ListBody, 1);
  cara_list_envelope ("ProjectList", token, &b->prefix, &b->suffix);
  guint n = store_text_list_length (texts);
  b->texts = g_steal_pointer (&texts);
  cara_http_respond_pieces (req, 200, "application/json", n > 0 ? 2 * n + 1 : 2, list_body_piece, b,
                            list_body_free);
}

/* A node token reaches only the projects placed on its node (SPEC §9). */
static gboolean
check_project_node (CaraHttpRequest *req, const CaraProject *p, GError **error)
{
  const char *node = p->status.node_ref && *p->status.node_ref ? p->status.node_ref : NULL;
  g_autofree char *what = node ? g_strdup_printf ("project %s, placed on node %s", p->metadata.name, node)
                               : g_strdup_printf ("project %s, placed on no node", p->metadata.name);
  return server_auth_check_node (req, node ? node : "", what, error);
}

void
api_projects_get (CaraHttpRequest *req, gpointer user_data)
{
  g_autoptr (CaraProject) p = NULL;
  g_autoptr (GError) error = NULL;
  if (!store_get_project (cara_http_request_get_param (req, "name"), &p, &error) || !check_project_node (req, p, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  respond_project (req, 200, p);
}

static char *
spec_text (const CaraProject *p)
{
  g_autoptr (JsonNode) spec = cara_project_spec_to_json (p);
  g_autoptr (JsonNode) labels = cara_string_map_to_json (p->metadata.labels);
  /* The change cause alone is no change: it describes one. */
  g_autoptr (GHashTable) ann = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, p->metadata.annotations);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (!g_str_equal (k, CARA_CHANGE_CAUSE_ANNOTATION))
      g_hash_table_insert (ann, k, v);
  g_autoptr (JsonNode) annotations = cara_string_map_to_json (ann);
  g_autofree char *a = cara_json_to_string (spec, FALSE);
  g_autofree char *b = cara_json_to_string (labels, FALSE);
  g_autofree char *c = cara_json_to_string (annotations, FALSE);
  return g_strconcat (a, "\n", b, "\n", c, NULL);
}

/* What metadata.generation counts (SPEC §13): the spec, and the restart annotation caractrl
 * rollout restart sets (a roll of every service without a spec change). */
static char *
generation_text (const CaraProject *p)
{
  g_autoptr (JsonNode) spec = cara_project_spec_to_json (p);
  g_autofree char *a = cara_json_to_string (spec, FALSE);
  const char *restarted = g_hash_table_lookup (p->metadata.annotations, CARA_RESTARTED_AT_ANNOTATION);
  return g_strconcat (a, "\n", restarted ? restarted : "", NULL);
}

typedef struct {
  CaraProject *body;
  char *ready_node; /* the Failed project's node, when it was Ready and schedulable just before */
} UpdateCtx;

static gboolean
mutate_spec (CaraProject *cur, gpointer user_data, GError **error)
{
  UpdateCtx *ctx = user_data;
  CaraProject *body = ctx->body;
  const char *name = cur->metadata.name;
  if (!api_check_resource_version ("project", name, body->metadata.resource_version,
                                   cur->metadata.resource_version, error))
    return FALSE;
  if (cur->status.phase == CARA_PROJECT_PHASE_TERMINATING || cur->status.phase == CARA_PROJECT_PHASE_TERMINATED)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT,
                   "operation conflicts with current resource state: project \"%s\" is being deleted (phase %s)",
                   name, cara_project_phase_to_string (cur->status.phase));
      return FALSE;
    }
  g_autofree char *before = spec_text (cur);
  g_autofree char *gen_before = generation_text (cur);
  cara_project_swap_desired (cur, body);
  /* The restart mark stays until a restart replaces it: an apply of a manifest without it is not
   * another restart. */
  const char *restarted = g_hash_table_lookup (body->metadata.annotations, CARA_RESTARTED_AT_ANNOTATION);
  if (restarted && !g_hash_table_contains (cur->metadata.annotations, CARA_RESTARTED_AT_ANNOTATION))
    g_hash_table_insert (cur->metadata.annotations, g_strdup (CARA_RESTARTED_AT_ANNOTATION), g_strdup (restarted));

  g_autofree char *after = spec_text (cur);
  g_autofree char *gen_after = generation_text (cur);
  if (g_strcmp0 (gen_before, gen_after) != 0 || cur->metadata.generation == 0)
    cur->metadata.generation++;
  if (cur->status.phase == CARA_PROJECT_PHASE_FAILED && g_strcmp0 (before, after) == 0
      && ctx->ready_node != NULL && g_strcmp0 (cur->status.node_ref, ctx->ready_node) == 0)
    {
      /* The same spec again (caractrl apply of a Failed project): a retry where it failed, now
       * that what was missing (an image, a port) may be there.  Scheduled makes its agent
       * reconcile it again. */
      cur->status.phase = CARA_PROJECT_PHASE_SCHEDULED;
      g_autofree char *msg = g_strdup_printf ("Re-applied after failure; retrying on node %s", cur->status.node_ref);
      cara_conditions_upsert (cur->status.conditions, cara_condition_new ("Phase", "True", "Retry", msg));
      return TRUE;
    }
  if (cur->status.phase == CARA_PROJECT_PHASE_FAILED)
    {
      /* A corrected spec gets a new chance: back to Pending, to be scheduled again (SPEC §3). */
      cur->status.phase = CARA_PROJECT_PHASE_PENDING;
      g_clear_pointer (&cur->status.node_ref, g_free);
      cara_conditions_upsert (cur->status.conditions,
                              cara_condition_new ("Phase", "True", "SpecUpdated",
                                                  "Spec updated after failure; project reset to Pending for scheduling"));
      return TRUE;
    }
  return g_strcmp0 (before, after) != 0; /* unchanged: nothing written, no event */
}

gboolean
api_projects_store_update (const char *name, CaraProject *body, CaraProject **ret, GError **error)
{
  /* A Failed project keeps its node on a retry if that node can still take it. */
  UpdateCtx ctx = { .body = body };
  g_autoptr (CaraProject) cur = NULL;
  if (store_get_project (name, &cur, NULL) && cur->status.phase == CARA_PROJECT_PHASE_FAILED
      && cur->status.node_ref != NULL && *cur->status.node_ref != '\0')
    {
      g_autoptr (CaraNode) node = NULL;
      if (store_get_node (cur->status.node_ref, &node, NULL) && node->status.state == CARA_NODE_STATE_READY
          && !node->spec.unschedulable)
        ctx.ready_node = g_strdup (cur->status.node_ref);
    }
  gboolean updated = store_update_project (name, mutate_spec, &ctx, ret, error);
  g_free (ctx.ready_node);
  return updated;
}

void
api_projects_update (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  g_autoptr (CaraProject) body = decode_project (req);
  g_autoptr (CaraProject) p = NULL;
  g_autoptr (GError) error = NULL;
  if (body == NULL)
    return;
  if (body->metadata.name != NULL && *body->metadata.name != '\0' && g_strcmp0 (body->metadata.name, name) != 0)
    {
      g_autofree char *detail = g_strdup_printf ("metadata.name \"%s\" does not match URL path \"%s\"",
                                                 body->metadata.name, name);
      cara_http_respond_problem (req, 400, detail);
      return;
    }
  if (!cara_validate_project_spec (body, &error)
      || !cara_validate_label_map (body->metadata.labels, "metadata.labels", &error)
      || !api_secrets_check_project (body, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  if (!api_projects_store_update (name, body, &p, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  cara_log_project (G_LOG_LEVEL_INFO, name, "Updated project %s", name);
  respond_project (req, 200, p);
}

void
api_projects_delete (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  gboolean force = g_strcmp0 (cara_http_request_get_query (req, "force"), "true") == 0;
  StoreDeleteOutcome outcome;
  g_autoptr (GError) error = NULL;
  if (!store_request_project_deletion (name, force, &outcome, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  switch (outcome)
    {
    case STORE_DELETE_REMOVED:
      cara_log_project (G_LOG_LEVEL_INFO, name, "Deleted project %s%s", name, force ? " (forced)" : "");
      cara_http_respond_empty (req, 204);
      break;
    case STORE_DELETE_TERMINATING:
      cara_log_project (G_LOG_LEVEL_INFO, name, "Project %s is terminating", name);
      cara_http_respond_empty (req, 202);
      break;
    case STORE_DELETE_ALREADY_TERMINATING:
    default:
      cara_http_respond_empty (req, 202);
      break;
    }
}

typedef struct {
  CaraHttpRequest *req;
  CaraStatusReport *report;
  CaraProjectPhase old_phase;
} StatusCtx;

static gboolean
mutate_status (CaraProject *p, gpointer user_data, GError **error)
{
  StatusCtx *ctx = user_data;
  CaraStatusReport *r = ctx->report;
  /* Checked under the row lock: a project moved to another node takes no report from the old one. */
  if (!check_project_node (ctx->req, p, error))
    return FALSE;
  if (p->status.phase == CARA_PROJECT_PHASE_TERMINATING && r->phase != CARA_PROJECT_PHASE_TERMINATED)
    {
      /* Deletion wins: a report from a reconcile that was under way when the project was deleted
       * (Running, say) must not take it back out of Terminating - the agent would then see a
       * Running project again and recreate what it just removed.  Its services' states still count. */
      if (!r->has_services)
        return FALSE;
      GPtrArray *t = p->status.services;
      p->status.services = r->services;
      r->services = t;
      return TRUE;
    }
  ctx->old_phase = p->status.phase;
  p->status.phase = r->phase;
  if (r->observed_generation > 0)
    p->status.observed_generation = r->observed_generation;
  if ((r->reason && *r->reason) || (r->message && *r->message))
    cara_conditions_upsert (p->status.conditions, cara_condition_new ("Phase", "True", r->reason, r->message));
  /* The agent's own conditions (ServicesReady): a restated one keeps its lastTransitionTime. */
  for (guint i = 0; i < r->conditions->len; i++)
    {
      const CaraCondition *c = g_ptr_array_index (r->conditions, i);
      cara_conditions_upsert (p->status.conditions, cara_condition_new (c->type, c->status, c->reason, c->message));
    }
  if (r->has_services)
    {
      GPtrArray *t = p->status.services;
      p->status.services = r->services;
      r->services = t;
    }
  return TRUE;
}

/* Conditions an agent may report: a type of its own (Phase is the server's rendering of phase,
 * reason and message) and a Kubernetes-style status. */
static gboolean
check_report_conditions (const CaraStatusReport *r, GError **error)
{
  for (guint i = 0; i < r->conditions->len; i++)
    {
      const CaraCondition *c = g_ptr_array_index (r->conditions, i);
      if (c->type == NULL || *c->type == '\0' || g_str_equal (c->type, "Phase"))
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "conditions[%u].type: %s", i,
                       c->type && *c->type ? "\"Phase\" is set from phase, reason and message" : "type is required");
          return FALSE;
        }
      if (g_strcmp0 (c->status, "True") != 0 && g_strcmp0 (c->status, "False") != 0
          && g_strcmp0 (c->status, "Unknown") != 0)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                       "conditions[%u].status: invalid status \"%s\": must be one of True, False, Unknown", i,
                       c->status ? c->status : "");
          return FALSE;
        }
    }
  return TRUE;
}

void
api_projects_patch_status (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  g_autoptr (JsonNode) json = api_parse_body (req);
  g_autoptr (GError) error = NULL;
  if (json == NULL)
    return;
  g_autoptr (CaraStatusReport) report = cara_status_report_from_json (json, &error);
  if (report == NULL)
    {
      api_respond_invalid_body (req, error);
      return;
    }
  if (!check_report_conditions (report, &error))
    {
      api_respond_invalid_body (req, error);
      return;
    }
  StatusCtx ctx = { req, report, CARA_PROJECT_PHASE_NONE };
  g_autoptr (CaraProject) stored = NULL;
  if (!store_update_project (name, mutate_status, &ctx, &stored, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  if (ctx.old_phase != stored->status.phase)
    cara_log_project (G_LOG_LEVEL_INFO, name, "Project %s is now %s", name,
                      cara_project_phase_to_string (stored->status.phase));
  /* The agent gave up an update with failureAction Rollback: the previous revision becomes the spec
   * again, unless the spec changed since (then that change is what the agent rolls next). */
  if (report->rollback_generation > 0 && stored->metadata.generation == report->rollback_generation)
    {
      g_autofree char *cause = g_strdup_printf ("automatic rollback: generation %" G_GINT64_FORMAT " failed: %s",
                                                report->rollback_generation,
                                                report->rollback_reason ? report->rollback_reason : "update failed");
      g_autoptr (CaraProject) restored = NULL;
      gint64 revision = 0;
      g_autoptr (GError) rb_error = NULL;
      if (api_rollout_restore (name, 0, report->rollback_generation, cause, &restored, &revision, &rb_error))
        {
          g_autofree char *msg = g_strdup_printf ("Update to generation %" G_GINT64_FORMAT " failed (%s); rolled back "
                                                  "to revision %" G_GINT64_FORMAT, report->rollback_generation,
                                                  report->rollback_reason ? report->rollback_reason : "update failed",
                                                  revision);
          api_rollout_event (name, "Warning", "RolledBack", msg);
        }
      else
        cara_log_project (G_LOG_LEVEL_WARNING, name, "Failed to roll back project %s: %s", name, rb_error->message);
    }
  cara_http_respond_empty (req, 204);
}
