/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The last whole list of projects sent (GET /api/v1/projects with no filter and no paging), with
 * the newest project change it holds (store_project_change_stamp).  A list asked for while that
 * stamp is still the database's newest is the same bytes: it is sent from here, with one indexed
 * query instead of reading every row (SPEC §16: 50 lists of 10,000 projects a second).  Each
 * server keeps its own; the stamp comes from the database, so changes made through any replica
 * are seen. */

#include <glib.h>

/* A reference to the body kept for @stamp, or NULL. */
GBytes *list_cache_lookup (gint64 stamp);
/* Keeps @body (a reference is taken) unless a newer list is kept already. */
void list_cache_store (gint64 stamp, GBytes *body);
void list_cache_clear (void);
