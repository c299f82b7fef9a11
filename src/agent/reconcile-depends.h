/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* dependsOn conditions (SPEC §10): whether a service may be started now.  Started waits for the
 * dependency's container to have been started, Healthy for its healthcheck to pass, Completed for
 * it to exit 0; a Completed dependency that exited non-zero and is not restarted (restartPolicy
 * Never) means the service is never started, and the project says why. */

#include "cara-model.h"
#include "docker.h"

typedef enum {
  RECONCILE_DEPENDS_MET,
  RECONCILE_DEPENDS_WAIT,   /* not yet: look again later */
  RECONCILE_DEPENDS_FAILED, /* never: a Completed dependency failed for good */
} ReconcileDepends;

/* One dependency's verdict from its container's Docker state (pure).  @state: Docker's
 * State.Status, NULL when the dependency has no current container yet; @health: State.Health.Status
 * or NULL.  *ret_why (on WAIT or FAILED): "waiting for db to be healthy (starting)", "dependency
 * init exited with code 3". */
ReconcileDepends reconcile_depends_verdict (const char *dependency, CaraDependCondition condition,
                                            CaraRestartPolicy dependency_policy, const char *state,
                                            const char *health, gint64 exit_code, char **ret_why);

/* Every dependency of @svc: the worst verdict, and its reason in *ret_why.  @current_ids: service
 * name -> ID of the container made from the current spec (the ones handled so far). */
ReconcileDepends reconcile_depends_check (DockerClient *dc, const CaraProject *p, const CaraService *svc,
                                          GHashTable *current_ids, char **ret_why);
