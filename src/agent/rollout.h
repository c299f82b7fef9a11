/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Updating one service without downtime (SPEC §13, StartFirst): the new container starts beside
 * the old one (same network alias) under the name {old}-next, counts as up once rollout_judge()
 * says so, then the ingress proxy sends new requests to it, the requests the old one still serves
 * are answered, the old one gets its stop signal and grace period and is removed, and the new one
 * takes the old one's name (so SPEC §5's names hold once done).  An agent restarted in between
 * finds the -next container (it carries the current spec hash) and finishes the same way, or
 * removes it when it does not come up: never two copies left, never none. */

#include "agent.h"
#include "cara-model.h"
#include "docker.h"
#include "proxy.h"

/* The proxy whose routes an update switches (NULL: none). */
void rollout_set_proxy (Proxy *px);

/* Replaces container @old_id (named @old_name) of @svc by one made from @body.  @next_id: a new
 * container of a previous attempt to carry on with, or NULL to create one.  TRUE with *@ret_id
 * when done; FALSE with *@ret_failure_reason/message (the new container removed, the old one
 * serving) when it did not come up, or with @error when Docker failed (the old one serving). */
gboolean rollout_replace (DockerClient *dc, const AgentConfig *cfg, const CaraProject *p, const CaraService *svc,
                          JsonNode *body, const char *old_id, const char *old_name, const char *next_id,
                          char **ret_id, const char **ret_failure_reason, char **ret_failure_message,
                          GError **error);

/* Waits until container @id of a StopFirst update is up: FALSE with *@ret_failure_reason/message
 * when it did not come up in time, or with @error when Docker failed. */
gboolean rollout_watch (DockerClient *dc, const CaraProject *p, const CaraService *svc, const char *id,
                        const char **ret_failure_reason, char **ret_failure_message, GError **error);

/* The generation whose update of @project was given up here (0: none): it is not tried again
 * until the spec changes (in memory: an agent restart tries once more). */
gint64 rollout_given_up (const char *project);
void rollout_give_up (const char *project, gint64 generation);

/* Rollout events (UpdateStarted, UpdateCompleted, UpdatePaused, ...), from this one place. */
void rollout_event (const char *project, const char *type, const char *reason, const char *fmt, ...)
    G_GNUC_PRINTF (4, 5);

typedef enum {
  ROLLOUT_STEP_NONE,   /* nothing for an update to do here: the caller goes on as before */
  ROLLOUT_STEP_DONE,   /* replaced: *ret_id is the service's container */
  ROLLOUT_STEP_HELD,   /* this generation was given up: *ret_id is the old container, left serving
                        * (NULL after a StopFirst update: none is left) */
  ROLLOUT_STEP_FAILED, /* did not come up: see ret_reason and ret_message; the old container serves */
  ROLLOUT_STEP_ERROR,  /* Docker failed: @error; the old container serves */
} RolloutStep;

/* One service of a reconcile: @existing is every container of the project, @current the one of
 * them made from @body's spec (NULL: none).  Acts when the service changed while an old container
 * of it runs (and StartFirst applies), or when @current is the -next container of an interrupted
 * update. */
RolloutStep rollout_service (DockerClient *dc, const AgentConfig *cfg, const CaraProject *p, const CaraService *svc,
                             JsonNode *body, JsonArray *existing, JsonObject *current, char **ret_id,
                             const char **ret_reason, char **ret_message, GError **error);
