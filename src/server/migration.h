/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Moves of projects between nodes, with their data (SPEC §14).
 *
 * POST /api/v1/projects/{name}/move records status.migration (phase Stopping); the migration
 * controller (on the leader) then runs each move on a thread of its own: the old agent stops the
 * services; the new agent creates the containers without starting them and pulls each Persistent
 * volume through the server's relay of the old agent's tar (SHA-256 checked by the receiver);
 * then the project is placed on the new node (Starting), and once it is Running there the old
 * node's copy is removed (Done).  Any failure before the switch purges the new node's copy,
 * lets the old node run the project again and records Failed with the reason.  A server that
 * restarts during a move starts a Stopping move again, aborts a Copying one and follows a
 * Starting one to its end. */

#include "cara-http-client.h"
#include "cara-http-server.h"
#include "cara-model.h"
#include "controller-manager.h"

/* A client for the agent of @node: its address, the secret bound to it, TLS as configured. */
CaraHttpClient *migration_agent_client (const char *node, GError **error);

/* The service and mount path through which volume @volume of @p is read and written (the first
 * service mounting it); FALSE when no service mounts it. */
gboolean migration_volume_mount (const CaraProject *p, const char *volume, const char **ret_service,
                                 const char **ret_mount_path);

/* Starts a move of @name to @to (the API): validates and records status.migration.  @ret (may be
 * NULL): the project as stored. */
gboolean migration_request (const char *name, const char *to, gboolean discard_data, CaraProject **ret,
                            GError **error);

/* api-move.c */
void api_projects_move (CaraHttpRequest *req, gpointer user_data);
void api_projects_move_volume (CaraHttpRequest *req, gpointer user_data);
void api_projects_move_transfer (CaraHttpRequest *req, gpointer user_data);
