/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The agent's side of a move with data (SPEC §14), driven by the server through the agent API:
 * the old node stops the project's services and serves each Persistent volume as a tar read with
 * Docker's archive API (its SHA-256 kept for the receiver to check); the new node creates the
 * containers without starting them and fills their volumes from the server's relay of that tar.
 * While a node takes part in a move its reconciler leaves the project alone (a hold). */

#include "agent.h"
#include "cara-http-server.h"
#include "cara-model.h"
#include "worker.h"

void volume_copy_init (const AgentConfig *cfg, AgentWorker *worker);

/* For the worker: TRUE when the reconcile of @name (desired @p, NULL when not placed here) must
 * wait because a move holds it. */
gboolean volume_copy_skip (const char *name, const CaraProject *p);

void volume_copy_handle_stop (CaraHttpRequest *req, gpointer user_data);
void volume_copy_handle_resume (CaraHttpRequest *req, gpointer user_data);
void volume_copy_handle_archive (CaraHttpRequest *req, gpointer user_data);
void volume_copy_handle_transfer (CaraHttpRequest *req, gpointer user_data);
void volume_copy_handle_receive (CaraHttpRequest *req, gpointer user_data);
void volume_copy_handle_purge (CaraHttpRequest *req, gpointer user_data);
