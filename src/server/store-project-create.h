/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "store-write-batch.h"

/* The StoreBatchWriteFunc of project creates: CaraProjects stamped with their rv and the
 * transaction's time and inserted together; a name already taken (or twice in the batch) fails
 * that item alone with CONFLICT. */
gboolean store_project_batch_write (PGconn *c, StoreBatchItem *items, guint n, const gint64 *rvs, gint64 now_usec,
                                    GError **error);
