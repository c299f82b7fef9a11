/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What this agent knows of the host's Docker networks, in memory, so that a new project's network
 * costs one Docker call (the create) and no lock is held around Docker calls: the subnets in use
 * (every network's, the host's routes, and the ones picked but not created yet), the names taken,
 * and this node's network of each project.  Loaded from one network list, then kept current by
 * our own creates and removals and by Docker's network events; a create that still collides (another
 * agent on the same daemon took the subnet or the name in between) teaches it the rest.
 * Not thread-safe: networks.c holds its lock around every call. */

#include <json-glib/json-glib.h>

#include "netpool.h"

typedef struct _NetView NetView;

NetView *netview_new (void);
void netview_free (NetView *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NetView, netview_free)

/* Replaces what the view holds with Docker's network list (GET /networks) and @routes (host
 * routes, may be NULL); the networks labelled cara.node=@node and cara.project=P become P's (when P
 * has several, the one first by (name, id): see networks.c). */
void netview_load (NetView *v, JsonArray *networks, const char *node, GArray *routes);
gboolean netview_loaded (NetView *v);

/* This node's network of @project (its name), or NULL. */
const char *netview_lookup (NetView *v, const char *project);
/* Every network of @project on this node seen at the last load (ids), when there were several. */
GPtrArray *netview_duplicates (NetView *v, const char *project);

/* Picks a free subnet for a new network named @name (kept as in use until netview_release) and
 * returns the name to create: "cara-@project", or "cara-@project-@node" when that one is taken. */
gboolean netview_reserve (NetView *v, const NetpoolCidr *pool, guint block_prefix, const char *project,
                          const char *node, NetpoolCidr *ret_subnet, char **ret_name, GError **error);
/* The create of @name with @subnet succeeded: it is @project's. */
void netview_created (NetView *v, const char *project, const char *name, const NetpoolCidr *subnet);
/* The create failed: @subnet stays counted as used when @subnet_taken (it overlapped another
 * network), @name as taken when @name_taken; else both are free again. */
void netview_create_failed (NetView *v, const char *name, const NetpoolCidr *subnet, gboolean subnet_taken,
                            gboolean name_taken);
/* A network appeared (Docker event; its subnet is learnt when a create overlaps it) or was removed:
 * its name, its subnet if known, and the project it served are free again. */
void netview_name_taken (NetView *v, const char *name);
gboolean netview_knows (NetView *v, const char *name);
/* A network's inspect (or list entry): its name and subnet are taken. */
void netview_learn (NetView *v, JsonObject *network);
void netview_removed (NetView *v, const char *name);
/* @project's network is @name (after its duplicates were settled). */
void netview_adopt (NetView *v, const char *project, const char *name);
/* @project's networks are gone (its teardown). */
void netview_forget_project (NetView *v, const char *project);
