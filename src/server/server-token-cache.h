/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Node tokens this server has recently seen (SPEC §9, §16): token hash -> node name, so that an
 * agent's requests do not cost a database query each.  Bounded (the oldest entry goes first) and
 * short-lived (an entry expires @ttl after it was added), and dropped at once when this server
 * rebinds or deletes the node; another server's reset or delete takes effect here within the TTL.
 * Only tokens found in the database are kept (no negative entries).  Thread-safe. */

#include <glib.h>

typedef struct _TokenCache TokenCache;

TokenCache *token_cache_new (guint max_entries, gint64 ttl_usec);
void token_cache_free (TokenCache *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TokenCache, token_cache_free)

/* The node of @token_hash at time @now_usec (monotonic), or NULL when not cached or expired. */
char *token_cache_lookup (TokenCache *c, const char *token_hash, gint64 now_usec);
/* Where a lookup may race with a rebind: take the generation before asking the database, and the
 * answer is kept only when no node was forgotten meanwhile. */
guint64 token_cache_generation (TokenCache *c);
void token_cache_add (TokenCache *c, const char *token_hash, const char *node, guint64 generation, gint64 now_usec);
/* Drops every entry of @node (and answers looked up before this call are not added). */
void token_cache_forget_node (TokenCache *c, const char *node);
guint token_cache_size (TokenCache *c);

/* The server's one cache (created on first use: 4,096 entries, 10 s), with the monotonic clock. */
char *server_token_cache_lookup (const char *token_hash);
guint64 server_token_cache_generation (void);
void server_token_cache_add (const char *token_hash, const char *node, guint64 generation);
void server_token_cache_forget_node (const char *node);
