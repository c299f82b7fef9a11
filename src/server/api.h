/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The REST API: the one route table (api.c), the handlers it names (api-<kind>.c) and the helpers
 * they share (api-util.c). */

#include "cara-http-server.h"
#include "cara-json.h"

/* Adds every route of the API (api.c's table). */
void api_register (CaraHttpServer *server);

/* Handlers, CaraHttpHandler each (user_data unused). */
void api_nodes_create (CaraHttpRequest *req, gpointer user_data);
void api_nodes_list (CaraHttpRequest *req, gpointer user_data);
void api_nodes_get (CaraHttpRequest *req, gpointer user_data);
void api_nodes_update (CaraHttpRequest *req, gpointer user_data);
void api_nodes_delete (CaraHttpRequest *req, gpointer user_data);
void api_nodes_heartbeat (CaraHttpRequest *req, gpointer user_data);
void api_nodes_reset_token (CaraHttpRequest *req, gpointer user_data);
void api_nodes_drain (CaraHttpRequest *req, gpointer user_data);    /* api-drain.c */
void api_nodes_uncordon (CaraHttpRequest *req, gpointer user_data); /* api-drain.c */
void api_projects_create (CaraHttpRequest *req, gpointer user_data);
void api_projects_list (CaraHttpRequest *req, gpointer user_data);
void api_projects_get (CaraHttpRequest *req, gpointer user_data);
void api_projects_update (CaraHttpRequest *req, gpointer user_data);
void api_projects_delete (CaraHttpRequest *req, gpointer user_data);
void api_projects_patch_status (CaraHttpRequest *req, gpointer user_data);
void api_projects_logs (CaraHttpRequest *req, gpointer user_data);        /* api-streams.c */
void api_projects_portforward (CaraHttpRequest *req, gpointer user_data); /* api-streams.c */
void api_projects_exec (CaraHttpRequest *req, gpointer user_data);        /* api-exec.c */
void api_whoami (CaraHttpRequest *req, gpointer user_data);               /* api-whoami.c */
void api_ui_redirect (CaraHttpRequest *req, gpointer user_data);          /* api-ui.c: the dashboard */
void api_ui_index (CaraHttpRequest *req, gpointer user_data);
void api_ui_asset (CaraHttpRequest *req, gpointer user_data);
/* api-secrets.c (SPEC §12) */
void api_secrets_list (CaraHttpRequest *req, gpointer user_data);
void api_secrets_get (CaraHttpRequest *req, gpointer user_data);
void api_secrets_create (CaraHttpRequest *req, gpointer user_data);
void api_secrets_update (CaraHttpRequest *req, gpointer user_data);
void api_secrets_delete (CaraHttpRequest *req, gpointer user_data);
void api_nodes_secret (CaraHttpRequest *req, gpointer user_data);
/* A project's Secrets and keys exist, and imagePullSecrets are of type Registry: else INVALID with
 * the field path ("spec.services[0].env[1].valueFrom.key: ..."). */
gboolean api_secrets_check_project (const CaraProject *p, GError **error);
void api_nodes_events_create (CaraHttpRequest *req, gpointer user_data);  /* api-events.c */
void api_events_list (CaraHttpRequest *req, gpointer user_data);          /* api-events.c */
void api_metrics (CaraHttpRequest *req, gpointer user_data);              /* api-metrics.c */
void api_nodes_metrics (CaraHttpRequest *req, gpointer user_data);        /* api-metrics.c */
/* Sets up the server's metrics registry with its collectors (before serving). */
void api_metrics_init (void);

/* The filters of GET /api/v1/events (pointers into the request). */
typedef struct {
  const char *project, *node, *type;
  gint64 since_usec;
  guint limit;
} ApiEventQuery;
/* Parses ?project=&node=&type=&since=&limit=; responds 400 naming the parameter and returns
 * FALSE when one is wrong. */
gboolean api_events_parse_query (CaraHttpRequest *req, ApiEventQuery *ret);
void api_projects_revisions (CaraHttpRequest *req, gpointer user_data);   /* api-rollout.c */
void api_projects_rollback (CaraHttpRequest *req, gpointer user_data);    /* api-rollout.c */

/* PUT's path (api-projects.c): @body's spec, labels and annotations become the project's (the
 * body then holds the old ones); metadata.generation +1 when the spec changed. */
gboolean api_projects_store_update (const char *name, CaraProject *body, CaraProject **ret, GError **error);

/* api-rollout.c: makes revision @revision's spec (0: the newest before the current generation)
 * project @name's spec again, as a new generation with change cause @cause; with
 * @expect_generation > 0 only while the project is at that generation (else CONFLICT). */
gboolean api_rollout_restore (const char *name, gint64 revision, gint64 expect_generation, const char *cause,
                              CaraProject **ret, gint64 *ret_revision, GError **error);
/* Rollout events (UpdateStarted, UpdateCompleted, RolledBack; type Normal|Warning), from one place. */
void api_rollout_event (const char *project, const char *type, const char *reason, const char *message);

/* Hook for the watch API: when set, GET /api/v1/nodes and /api/v1/projects with
 * ?watch=true (or 1) are handed to @handler with @kind "Node" or "Project" instead of listing. */
typedef void (*ApiWatchHandler) (CaraHttpRequest *req, const char *kind, gpointer user_data);
void api_set_watch_handler (ApiWatchHandler handler, gpointer user_data);
gboolean api_dispatch_watch (CaraHttpRequest *req, const char *kind);

/* Parses the request body as JSON; on failure responds 400 "invalid request body: ..." and
 * returns NULL. */
JsonNode *api_parse_body (CaraHttpRequest *req);
/* SPEC §2: a Project or Node (@kind) body with unknown fields at the top level or under "spec" gets 400
 * "invalid request body: " and every one of them ("spec.services[0].enviroment: unknown field
 * ..."; ...); returns FALSE then.  Metadata and status members are left to the decoder. */
gboolean api_check_fields (CaraHttpRequest *req, const char *kind, JsonNode *body);
/* Responds 400 "invalid request body: <error>". */
void api_respond_invalid_body (CaraHttpRequest *req, const GError *error);
/* 409 when @body_rv is given and differs from @current_rv (SPEC §3 optimistic concurrency). */
gboolean api_check_resource_version (const char *kind, const char *name, const char *body_rv,
                                     const char *current_rv, GError **error);
