/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Store functions only the controllers need, on top of store-private.h. */

#include <glib.h>

#include "store.h"

/* Writes the status (phase, nodeRef, conditions, ...) of many projects in one transaction: each
 * CaraProject in @projects was read by the caller and changed in memory; it is written only if its
 * row still has @expected_rvs[i] (else ret_written[i] = FALSE and it is left alone).  Rows are
 * locked before resourceVersions are taken, the order store.c uses, so this cannot deadlock with
 * it.  Written projects get their new resourceVersion and updatedAt, and one MODIFIED event each. */
gboolean store_controllers_write_statuses (GPtrArray *projects, const char * const *expected_rvs,
                                           gboolean *ret_written, GError **error);
