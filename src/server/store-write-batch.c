/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "store-write-batch.h"

#include <string.h>

#include "cara-error.h"

typedef struct {
  StoreBatchItem item;
  gboolean finished;
} Pending;

/* Rvs for @n rows under the rv lock, and the transaction's time. */
static gboolean
take_rvs (PGconn *c, guint n, gint64 *rvs, gint64 *ret_now, GError **error)
{
  g_autofree char *count = g_strdup_printf ("%u", n);
  const char *p[] = { count };
  g_autoptr (PGresult) r = store_exec (c, "SELECT cara_next_rv(), cara_usec(now()) FROM generate_series(1, $1::int)",
                                       1, p, error);
  if (r == NULL)
    return FALSE;
  if ((guint) PQntuples (r) != n)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "database error: %d resourceVersions for %u rows",
                   PQntuples (r), n);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    rvs[i] = g_ascii_strtoll (PQgetvalue (r, (int) i, 0), NULL, 10);
  *ret_now = g_ascii_strtoll (PQgetvalue (r, 0, 1), NULL, 10);
  return TRUE;
}

static gboolean
write_together (StoreWriteBatch *b, StoreBatchItem *items, guint n, GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);
  g_autofree gint64 *rvs = g_new0 (gint64, n);
  gint64 now = 0;

  return t != NULL && take_rvs (store_txn_conn (t), n, rvs, &now, error)
         && b->write (store_txn_conn (t), items, n, rvs, now, error) && store_txn_commit (t, error);
}

static void
write_batch (StoreWriteBatch *b, Pending **batch, guint n)
{
  g_autofree StoreBatchItem *items = g_new0 (StoreBatchItem, n);
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < n; i++)
    items[i].obj = batch[i]->item.obj;
  if (!write_together (b, items, n, &error))
    {
      for (guint i = 0; i < n; i++)
        g_clear_error (&items[i].error);
      if (n == 1 || g_error_matches (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE))
        for (guint i = 0; i < n; i++)
          items[i].error = g_error_copy (error);
      else
        {
          g_debug ("A batch of %u writes failed (%s): writing them one by one", n, error->message);
          for (guint i = 0; i < n; i++)
            b->write_one (items[i].obj, &items[i].error);
        }
    }
  for (guint i = 0; i < n; i++)
    batch[i]->item.error = items[i].error;
}

gboolean
store_write_batch_submit (StoreWriteBatch *b, gpointer obj, GError **error)
{
  Pending me = { { obj, NULL }, FALSE };

  g_mutex_lock (&b->lock);
  if (b->queue == NULL)
    b->queue = g_ptr_array_new ();
  g_ptr_array_add (b->queue, &me);
  while (!me.finished)
    {
      if (b->writing)
        {
          g_cond_wait (&b->done, &b->lock);
          continue;
        }
      /* This thread writes what is queued (its own item among the first b->max, or a later batch). */
      guint n = MIN (b->queue->len, MAX (b->max, 1));
      g_autofree Pending **batch = g_new (Pending *, n);
      memcpy (batch, b->queue->pdata, n * sizeof (Pending *));
      g_ptr_array_remove_range (b->queue, 0, n);
      b->writing = TRUE;
      g_mutex_unlock (&b->lock);
      write_batch (b, batch, n);
      g_mutex_lock (&b->lock);
      for (guint i = 0; i < n; i++)
        batch[i]->finished = TRUE;
      b->writing = FALSE;
      g_cond_broadcast (&b->done);
    }
  g_mutex_unlock (&b->lock);
  if (me.item.error != NULL)
    {
      g_propagate_error (error, me.item.error);
      return FALSE;
    }
  return TRUE;
}
