/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "list-cache.h"

static GMutex lock;
static gint64 kept_stamp;
static GBytes *kept_body;

GBytes *
list_cache_lookup (gint64 stamp)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  return stamp != 0 && stamp == kept_stamp && kept_body != NULL ? g_bytes_ref (kept_body) : NULL;
}

void
list_cache_store (gint64 stamp, GBytes *body)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  /* A slow request that read an older snapshot must not replace a newer list. */
  if (stamp == 0 || stamp < kept_stamp)
    return;
  g_clear_pointer (&kept_body, g_bytes_unref);
  kept_body = g_bytes_ref (body);
  kept_stamp = stamp;
}

void
list_cache_clear (void)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  g_clear_pointer (&kept_body, g_bytes_unref);
  kept_stamp = 0;
}
