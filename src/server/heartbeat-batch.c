/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-heartbeats"
#include "config.h"

#include "heartbeat-batch.h"

#include "cara-json.h"
#include "store.h"

typedef struct {
  char *digest;      /* of the body the row holds */
  gint64 pending;    /* time of a heartbeat taken and not written yet, 0: none */
} Entry;

static void
entry_free (Entry *e)
{
  g_free (e->digest);
  g_free (e);
}

static GMutex lock;
static GCond wake;
static GHashTable *entries;  /* node name -> Entry, only nodes whose row holds the mark */
static GThread *flusher;
static gboolean stopping;
static gint64 interval_usec;

char *
heartbeat_batch_digest (const char *body, gsize len)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) (body ? body : ""), body ? len : 0);
}

gboolean
heartbeat_batch_absorb (const char *name, const char *digest)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  Entry *e = entries ? g_hash_table_lookup (entries, name) : NULL;

  if (e == NULL || g_strcmp0 (e->digest, digest) != 0)
    return FALSE;
  e->pending = g_get_real_time ();
  return TRUE;
}

void
heartbeat_batch_written (const char *name, const char *resource_version, const char *digest)
{
  g_autoptr (GError) error = NULL;

  if (entries == NULL)
    return;
  if (!store_mark_node_heartbeat (name, resource_version, digest, &error))
    {
      g_debug ("Heartbeat of %s: %s", name, error->message);
      return;
    }
  Entry *e = g_new0 (Entry, 1);
  e->digest = g_strdup (digest);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  g_hash_table_replace (entries, g_strdup (name), e);
}

/* Takes the pending heartbeats out of the table (under the lock). */
static guint
take_pending (GPtrArray *names, GPtrArray *times, GPtrArray *digests)
{
  GHashTableIter it;
  gpointer k, v;

  g_hash_table_iter_init (&it, entries);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      Entry *e = v;
      if (e->pending == 0)
        continue;
      g_autoptr (GDateTime) s = g_date_time_new_from_unix_utc (e->pending / G_USEC_PER_SEC);
      g_autoptr (GDateTime) t = g_date_time_add (s, e->pending % G_USEC_PER_SEC);
      g_ptr_array_add (names, g_strdup (k));
      g_ptr_array_add (times, cara_time_format (t));
      g_ptr_array_add (digests, g_strdup (e->digest));
      e->pending = 0;
    }
  return names->len;
}

/* Forgets the marks of the nodes whose rows no longer hold them (all of them when the write
 * failed): their next heartbeat takes the full path (which makes a NotReady node Ready again, and
 * reports a database error or a deleted node to the agent). */
static void
forget_unmarked (GPtrArray *names, GPtrArray *digests, GHashTable *marked)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  for (guint i = 0; i < names->len; i++)
    {
      Entry *e = g_hash_table_lookup (entries, names->pdata[i]);
      if (marked != NULL && g_hash_table_contains (marked, names->pdata[i]))
        continue;
      if (e != NULL && g_strcmp0 (e->digest, digests->pdata[i]) == 0)
        g_hash_table_remove (entries, names->pdata[i]);
    }
}

static void
flush (void)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) times = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) digests = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) marked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GError) error = NULL;

  g_mutex_lock (&lock);
  guint n = take_pending (names, times, digests);
  g_mutex_unlock (&lock);
  if (n == 0)
    return;
  if (!store_flush_heartbeats (n, (const char * const *) names->pdata, (const char * const *) times->pdata,
                               (const char * const *) digests->pdata, marked, &error))
    {
      g_warning ("Writing %u heartbeat times: %s", n, error->message);
      forget_unmarked (names, digests, NULL);
      return;
    }
  if (g_hash_table_size (marked) < n)
    forget_unmarked (names, digests, marked);
}

static gpointer
flusher_main (gpointer data)
{
  g_mutex_lock (&lock);
  while (!stopping)
    {
      gint64 until = g_get_monotonic_time () + interval_usec;
      while (!stopping && g_cond_wait_until (&wake, &lock, until))
        ;
      g_mutex_unlock (&lock);
      flush ();
      g_mutex_lock (&lock);
    }
  g_mutex_unlock (&lock);
  flush ();
  store_thread_disconnect ();
  return NULL;
}

void
heartbeat_batch_start (gint64 heartbeat_timeout_usec)
{
  interval_usec = CLAMP (heartbeat_timeout_usec / 10, 50 * 1000, G_USEC_PER_SEC);
  entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_free);
  stopping = FALSE;
  flusher = g_thread_new ("heartbeats", flusher_main, NULL);
}

void
heartbeat_batch_stop (void)
{
  if (flusher == NULL)
    return;
  g_mutex_lock (&lock);
  stopping = TRUE;
  g_cond_signal (&wake);
  g_mutex_unlock (&lock);
  g_thread_join (g_steal_pointer (&flusher));
  g_mutex_lock (&lock);
  g_clear_pointer (&entries, g_hash_table_unref);
  g_mutex_unlock (&lock);
}
