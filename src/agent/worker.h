/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Runs reconciles on a thread pool, one at a time per project: a change arriving while a project
 * is being reconciled marks it dirty and it runs again afterwards with the newest spec. */

#include "agent.h"
#include "cara-model.h"

typedef struct _AgentWorker AgentWorker;

/* Called on @main_ctx after a project's status was observed (@phase "" when it left this node);
 * @ready: its ServicesReady condition (NULL when none was decided). */
typedef void (*AgentProjectNotify) (const char *project, const char *phase, GPtrArray *services,
                                    const CaraCondition *ready, gpointer user_data);

AgentWorker *agent_worker_new (const AgentConfig *cfg, GMainContext *main_ctx, AgentProjectNotify notify,
                               gpointer user_data);
typedef struct _Proxy Proxy;
/* Ingress routes follow the projects (may be NULL). Call before any work arrives. */
void agent_worker_set_proxy (AgentWorker *w, Proxy *px);
/* Stops taking work and waits for the reconciles in progress. */
void agent_worker_free (AgentWorker *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AgentWorker, agent_worker_free)

/* The newest desired state of a project placed here (takes ownership). Thread-safe. */
void agent_worker_update (AgentWorker *w, CaraProject *p);
/* The project is no longer placed here: tear down what is ours. */
void agent_worker_remove (AgentWorker *w, const char *name);
/* Something changed in Docker: observe again (and repair) with the spec we have. */
void agent_worker_recheck (AgentWorker *w, const char *name);
void agent_worker_recheck_all (AgentWorker *w);
/* A complete list of the projects placed here: updates every one, tears down the rest (including
 * what Docker holds with our label for projects the server no longer places here). */
void agent_worker_sync (AgentWorker *w, GPtrArray *projects);
/* Copies of the known projects (for D-Bus). */
GPtrArray *agent_worker_list (AgentWorker *w);
