/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The events of persistent data and moves (SPEC §14), in one place: a journal message with
 * CARA_PROJECT= and a record in the events API (server-events.h). */

#include <glib.h>

/* @type: "Normal" or "Warning"; @reason: CamelCase (DataOnNode, DataDiscarded, MoveFailed...). */
void migration_event (const char *project, const char *type, const char *reason, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);
