/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Group commit (SPEC §16): concurrent writes of one kind are queued, and whichever request thread
 * finds no batch being written writes all that are queued in one transaction (the rv lock once,
 * many rows, one COMMIT) while the others wait for their own answer.  A row that cannot be written
 * (its name is taken) fails alone; a batch that fails as a whole for another reason than an
 * unreachable database is written again one item at a time, so that one bad item cannot fail the
 * others.  Events stay visible in rv order: the batch takes its rvs under the same lock as every
 * other write and holds it to its COMMIT. */

#include "store-private.h"

typedef struct {
  gpointer obj;
  GError *error; /* set by the batch writer for an item that was not written */
} StoreBatchItem;

/* In @c's transaction: writes @items (the rv lock is taken: @rvs[i] is item i's resourceVersion,
 * @now_usec the transaction's time).  Sets an item's error for an item that must fail alone;
 * returns FALSE with @error when the batch as a whole failed. */
typedef gboolean (*StoreBatchWriteFunc) (PGconn *c, StoreBatchItem *items, guint n, const gint64 *rvs,
                                         gint64 now_usec, GError **error);
/* One item in a transaction of its own (the way back when a batch failed). */
typedef gboolean (*StoreBatchOneFunc) (gpointer obj, GError **error);

typedef struct {
  StoreBatchWriteFunc write;
  StoreBatchOneFunc write_one;
  guint max; /* items per transaction */
  /* private */
  GMutex lock;
  GCond done;
  GPtrArray *queue; /* Pending */
  gboolean writing;
} StoreWriteBatch;

#define STORE_WRITE_BATCH_INIT(WRITE, ONE, MAX) { .write = (WRITE), .write_one = (ONE), .max = (MAX) }

/* Queues @obj and returns when it is written (TRUE) or failed. */
gboolean store_write_batch_submit (StoreWriteBatch *b, gpointer obj, GError **error);
