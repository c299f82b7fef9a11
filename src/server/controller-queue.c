/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "controller-queue.h"

struct _ControllerQueue {
  gint64 base_usec;
  gint64 max_usec;
  GQueue ready;          /* char* keys, FIFO; owned */
  GHashTable *ready_set; /* key -> NULL; keys borrowed from @ready */
  GHashTable *delayed;   /* key (owned) -> gint64* due time (owned) */
  GHashTable *failures;  /* key (owned) -> GUINT_TO_POINTER (count) */
};

ControllerQueue *
controller_queue_new (gint64 base_usec, gint64 max_usec)
{
  ControllerQueue *q = g_new0 (ControllerQueue, 1);
  q->base_usec = MAX (base_usec, 1);
  q->max_usec = MAX (max_usec, q->base_usec);
  g_queue_init (&q->ready);
  q->ready_set = g_hash_table_new (g_str_hash, g_str_equal);
  q->delayed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  q->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return q;
}

void
controller_queue_free (ControllerQueue *q)
{
  if (q == NULL)
    return;
  g_queue_clear_full (&q->ready, g_free);
  g_hash_table_unref (q->ready_set);
  g_hash_table_unref (q->delayed);
  g_hash_table_unref (q->failures);
  g_free (q);
}

static void
push_ready (ControllerQueue *q, const char *key)
{
  char *k;

  if (g_hash_table_contains (q->ready_set, key))
    return;
  k = g_strdup (key);
  g_queue_push_tail (&q->ready, k);
  g_hash_table_add (q->ready_set, k);
}

void
controller_queue_add (ControllerQueue *q, const char *key)
{
  g_hash_table_remove (q->delayed, key);
  push_ready (q, key);
}

void
controller_queue_add_after (ControllerQueue *q, const char *key, gint64 delay_usec, gint64 now)
{
  gint64 *due;

  if (delay_usec <= 0)
    {
      controller_queue_add (q, key);
      return;
    }
  if (g_hash_table_contains (q->ready_set, key))
    return;
  due = g_hash_table_lookup (q->delayed, key);
  if (due != NULL)
    {
      *due = MIN (*due, now + delay_usec);
      return;
    }
  due = g_new (gint64, 1);
  *due = now + delay_usec;
  g_hash_table_insert (q->delayed, g_strdup (key), due);
}

guint
controller_queue_failures (ControllerQueue *q, const char *key)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (q->failures, key));
}

void
controller_queue_add_rate_limited (ControllerQueue *q, const char *key, gint64 now)
{
  guint n = controller_queue_failures (q, key);
  gint64 delay = q->base_usec;

  /* Stop doubling once the cap is reached so the shift cannot overflow. */
  for (guint i = 0; i < n && delay < q->max_usec; i++)
    delay *= 2;
  delay = MIN (delay, q->max_usec);
  g_hash_table_insert (q->failures, g_strdup (key), GUINT_TO_POINTER (n + 1));
  controller_queue_add_after (q, key, delay, now);
}

void
controller_queue_forget (ControllerQueue *q, const char *key)
{
  g_hash_table_remove (q->failures, key);
}

typedef struct {
  char *key;
  gint64 due;
} DueKey;

static gint
due_key_cmp (gconstpointer a, gconstpointer b)
{
  const DueKey *x = a, *y = b;
  return (x->due > y->due) - (x->due < y->due);
}

static void
promote_due (ControllerQueue *q, gint64 now)
{
  GHashTableIter it;
  gpointer k, v;
  g_autoptr (GArray) due = g_array_new (FALSE, FALSE, sizeof (DueKey));

  g_hash_table_iter_init (&it, q->delayed);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (*(gint64 *) v <= now)
      {
        DueKey d = { g_strdup (k), *(gint64 *) v };
        g_array_append_val (due, d);
      }
  /* Earliest deadline first keeps the order fair. */
  g_array_sort (due, due_key_cmp);
  for (guint i = 0; i < due->len; i++)
    {
      DueKey *d = &g_array_index (due, DueKey, i);
      g_hash_table_remove (q->delayed, d->key);
      push_ready (q, d->key);
      g_free (d->key);
    }
}

char *
controller_queue_pop (ControllerQueue *q, gint64 now)
{
  char *key;

  if (g_hash_table_size (q->delayed) > 0)
    promote_due (q, now);
  key = g_queue_pop_head (&q->ready);
  if (key != NULL)
    g_hash_table_remove (q->ready_set, key);
  return key;
}

gint64
controller_queue_next_deadline (ControllerQueue *q)
{
  GHashTableIter it;
  gpointer v;
  gint64 best = -1;

  g_hash_table_iter_init (&it, q->delayed);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (best < 0 || *(gint64 *) v < best)
      best = *(gint64 *) v;
  return best;
}

guint
controller_queue_ready_length (ControllerQueue *q)
{
  return q->ready.length;
}

guint
controller_queue_delayed_length (ControllerQueue *q)
{
  return g_hash_table_size (q->delayed);
}
