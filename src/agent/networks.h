/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Project networks on this node (SPEC §5): found in the in-memory view of the host's networks
 * (netview.h), else created with a subnet picked from NETWORK_POOL, in one Docker call and with
 * no lock held around it, so that many projects get their networks at once. */

#include "agent.h"
#include "docker.h"

/* The name (or id) of @project's network, created when it has none. */
char *networks_ensure (DockerClient *dc, const AgentConfig *cfg, const char *project, GError **error);
/* @project's networks were removed (its teardown). */
void networks_forget_project (const char *project);
/* Docker's network events ("create", "destroy") keep the view current (a network someone else
 * created is inspected for its subnet). */
void networks_on_event (const AgentConfig *cfg, const char *action, const char *name);
/* Forget everything (Docker restarted, or the event stream missed some): the next ensure lists
 * the host's networks again. */
void networks_invalidate (void);
