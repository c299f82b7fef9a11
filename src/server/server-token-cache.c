/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-server"
#include "config.h"

#include "server-token-cache.h"

#define SERVER_CACHE_MAX 4096
#define SERVER_CACHE_TTL (10 * G_USEC_PER_SEC)

typedef struct {
  char *hash;
  char *node;
  gint64 expires;
  GList *link; /* in TokenCache.order */
} Entry;

struct _TokenCache {
  GMutex lock;
  GHashTable *entries; /* hash -> Entry */
  GQueue order;        /* Entry, oldest first */
  guint max;
  gint64 ttl;
  guint64 generation; /* bumped by every forget */
};

static void
entry_free (Entry *e)
{
  g_free (e->hash);
  g_free (e->node);
  g_free (e);
}

TokenCache *
token_cache_new (guint max_entries, gint64 ttl_usec)
{
  TokenCache *c = g_new0 (TokenCache, 1);
  g_mutex_init (&c->lock);
  c->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) entry_free);
  g_queue_init (&c->order);
  c->max = MAX (max_entries, 1);
  c->ttl = ttl_usec;
  return c;
}

void
token_cache_free (TokenCache *c)
{
  if (c == NULL)
    return;
  g_queue_clear (&c->order);
  g_hash_table_unref (c->entries);
  g_mutex_clear (&c->lock);
  g_free (c);
}

/* Under the lock. */
static void
remove_entry (TokenCache *c, Entry *e)
{
  g_queue_delete_link (&c->order, e->link);
  g_hash_table_remove (c->entries, e->hash);
}

char *
token_cache_lookup (TokenCache *c, const char *token_hash, gint64 now_usec)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&c->lock);
  Entry *e = g_hash_table_lookup (c->entries, token_hash);

  if (e == NULL)
    return NULL;
  if (now_usec >= e->expires)
    {
      remove_entry (c, e);
      return NULL;
    }
  return g_strdup (e->node);
}

guint64
token_cache_generation (TokenCache *c)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&c->lock);
  return c->generation;
}

void
token_cache_add (TokenCache *c, const char *token_hash, const char *node, guint64 generation, gint64 now_usec)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&c->lock);
  Entry *e = g_hash_table_lookup (c->entries, token_hash);

  if (generation != c->generation)
    return;
  if (e != NULL)
    remove_entry (c, e);
  while (g_hash_table_size (c->entries) >= c->max)
    remove_entry (c, g_queue_peek_head (&c->order));
  e = g_new0 (Entry, 1);
  e->hash = g_strdup (token_hash);
  e->node = g_strdup (node);
  e->expires = now_usec + c->ttl;
  g_queue_push_tail (&c->order, e);
  e->link = g_queue_peek_tail_link (&c->order);
  g_hash_table_insert (c->entries, e->hash, e);
}

void
token_cache_forget_node (TokenCache *c, const char *node)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&c->lock);
  GList *l = c->order.head;

  c->generation++;
  while (l != NULL)
    {
      Entry *e = l->data;
      l = l->next;
      if (g_strcmp0 (e->node, node) == 0)
        remove_entry (c, e);
    }
}

guint
token_cache_size (TokenCache *c)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&c->lock);
  return g_hash_table_size (c->entries);
}

static TokenCache *
server_cache (void)
{
  static TokenCache *cache;

  if (g_once_init_enter (&cache))
    g_once_init_leave (&cache, token_cache_new (SERVER_CACHE_MAX, SERVER_CACHE_TTL));
  return cache;
}

char *
server_token_cache_lookup (const char *token_hash)
{
  return token_cache_lookup (server_cache (), token_hash, g_get_monotonic_time ());
}

guint64
server_token_cache_generation (void)
{
  return token_cache_generation (server_cache ());
}

void
server_token_cache_add (const char *token_hash, const char *node, guint64 generation)
{
  token_cache_add (server_cache (), token_hash, node, generation, g_get_monotonic_time ());
}

void
server_token_cache_forget_node (const char *node)
{
  token_cache_forget_node (server_cache (), node);
}
