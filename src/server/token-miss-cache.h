/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Bearer tokens recently found to be nobody's (by the sha256 the database is searched by), so a
 * client repeating a bad token does not cost a query per request: entries expire after a short
 * time, the set is bounded (the oldest entry goes first), and binding a token to a node forgets
 * it at once.  Thread-safe. */

#include <glib.h>

typedef struct _TokenMissCache TokenMissCache;

TokenMissCache *token_miss_cache_new (guint max_entries, gint64 ttl_usec);
void token_miss_cache_free (TokenMissCache *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TokenMissCache, token_miss_cache_free)

/* @now_usec: a monotonic time (g_get_monotonic_time ()). */
gboolean token_miss_cache_contains (TokenMissCache *c, const char *hash, gint64 now_usec);
void token_miss_cache_add (TokenMissCache *c, const char *hash, gint64 now_usec);
void token_miss_cache_forget (TokenMissCache *c, const char *hash);
guint token_miss_cache_size (TokenMissCache *c);
