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
