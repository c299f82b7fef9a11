/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "token-miss-cache.h"

typedef struct {
  char *hash;
  gint64 expires;
} Entry;

struct _TokenMissCache {
  GMutex lock;
  guint max;
  gint64 ttl;
  GHashTable *entries; /* hash -> GList link in @order (data: Entry*) */
  GQueue order;        /* oldest first */
};

static void
entry_free (Entry *e)
{
  g_free (e->hash);
  g_free (e);
}

TokenMissCache *
token_miss_cache_new (guint max_entries, gint64 ttl_usec)
{
  TokenMissCache *c = g_new0 (TokenMissCache, 1);
  g_mutex_init (&c->lock);
  c->max = MAX (max_entries, 1);
  c->ttl = ttl_usec;
  c->entries = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_init (&c->order);
  return c;
}

void
token_miss_cache_free (TokenMissCache *c)
{
  if (c == NULL)
    return;
  g_hash_table_unref (c->entries);
  g_queue_clear_full (&c->order, (GDestroyNotify) entry_free);
  g_mutex_clear (&c->lock);
  g_free (c);
}

static void
remove_link (TokenMissCache *c, GList *link)
{
  Entry *e = link->data;
  g_hash_table_remove (c->entries, e->hash);
  g_queue_delete_link (&c->order, link);
  entry_free (e);
}

/* Drops expired entries from the old end. */
static void
expire (TokenMissCache *c, gint64 now)
{
  GList *link;
  while ((link = g_queue_peek_head_link (&c->order)) != NULL && ((Entry *) link->data)->expires <= now)
    remove_link (c, link);
}

gboolean
token_miss_cache_contains (TokenMissCache *c, const char *hash, gint64 now_usec)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&c->lock);
  expire (c, now_usec);
  return g_hash_table_contains (c->entries, hash);
}

void
token_miss_cache_add (TokenMissCache *c, const char *hash, gint64 now_usec)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&c->lock);
  expire (c, now_usec);
  GList *old = g_hash_table_lookup (c->entries, hash);
  if (old != NULL)
    remove_link (c, old);
  while (g_queue_get_length (&c->order) >= c->max)
    remove_link (c, g_queue_peek_head_link (&c->order));
  Entry *e = g_new0 (Entry, 1);
  e->hash = g_strdup (hash);
  e->expires = now_usec + c->ttl;
  g_queue_push_tail (&c->order, e);
  g_hash_table_insert (c->entries, e->hash, g_queue_peek_tail_link (&c->order));
}

void
token_miss_cache_forget (TokenMissCache *c, const char *hash)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&c->lock);
  GList *link = g_hash_table_lookup (c->entries, hash);
  if (link != NULL)
    remove_link (c, link);
}

guint
token_miss_cache_size (TokenMissCache *c)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&c->lock);
  return g_queue_get_length (&c->order);
}
