/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The Docker side of one project (reference §5.4, SPEC §2/§5).  Stateless: everything is read back
 * from Docker's labels (cara.project, cara.service, cara.node, cara.spec-hash), and only objects
 * labelled with our own node are ever touched. */

#include "agent.h"
#include "cara-model.h"
#include "docker.h"

/* Makes Docker match @p (network, volumes, containers in dependsOn order; changed services
 * replaced, unchanged ones left alone) when @apply, then observes.  Returns the status to report:
 * phase Running or Failed with reason/message and per-service status; NULL when Docker did not
 * answer (restarting): nothing to report, the project is looked at again when it answers. */
CaraStatusReport *reconcile_ensure (DockerClient *dc, const AgentConfig *cfg, const CaraProject *p,
                                    gboolean apply, gint64 *ret_recheck_usec);
/* *ret_recheck_usec (may be NULL): after how long the project should be observed again because
 * its ServicesReady condition changes with time alone (a service up long enough); 0: no need. */

/* Creates the network, volumes and containers of @p like reconcile_ensure() but starts nothing:
 * the target of a move (SPEC §14), whose volumes are filled before the project starts. */
gboolean reconcile_prepare (DockerClient *dc, const AgentConfig *cfg, const CaraProject *p, GError **error);

/* Removes our containers and network of @project and its Ephemeral volumes (Persistent volumes
 * stay).  Works from labels alone, so it also finishes an interrupted teardown. */
gboolean reconcile_teardown (DockerClient *dc, const AgentConfig *cfg, const char *project, GError **error);

/* Names of the projects that have any container, network or Ephemeral volume of ours. */
GHashTable *reconcile_local_projects (DockerClient *dc, const AgentConfig *cfg, GError **error);
