/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "volume-hold.h"

typedef struct {
  VolumeHoldKind kind;
  gint64 since;
} Hold;

static GMutex lock;
static GHashTable *holds; /* project -> Hold* */

void
volume_hold_set (const char *project, VolumeHoldKind kind, gint64 now)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  if (holds == NULL)
    holds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  Hold *h = g_new0 (Hold, 1);
  h->kind = kind;
  h->since = now;
  g_hash_table_replace (holds, g_strdup (project), h);
}

void
volume_hold_clear (const char *project)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  if (holds)
    g_hash_table_remove (holds, project);
}

static gboolean
deleted (const CaraProject *p)
{
  return p->status.phase == CARA_PROJECT_PHASE_TERMINATING || p->status.phase == CARA_PROJECT_PHASE_TERMINATED;
}

gboolean
volume_hold_skip (const char *project, const CaraProject *p, const char *self, gint64 now)
{
  const CaraMigration *m = p ? p->status.migration : NULL;
  {
    G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
    Hold *h = holds ? g_hash_table_lookup (holds, project) : NULL;
    if (h != NULL && h->kind == VOLUME_HOLD_SOURCE)
      {
        /* Moved away or deleted (torn down as usual), or a move that ended without telling us. */
        if (p == NULL || deleted (p)
            || ((m == NULL || !cara_migration_active (m)) && now - h->since > VOLUME_HOLD_RELEASE_USEC))
          {
            g_hash_table_remove (holds, project);
            return FALSE;
          }
        return TRUE;
      }
    if (h != NULL && h->kind == VOLUME_HOLD_RECEIVER)
      {
        if (p != NULL) /* placed here now: start what was prepared */
          {
            g_hash_table_remove (holds, project);
            return FALSE;
          }
        return TRUE;
      }
  }
  /* After a restart of ours in the middle of a move: the server's record holds it. */
  return m != NULL && (m->phase == CARA_MIGRATION_PHASE_STOPPING || m->phase == CARA_MIGRATION_PHASE_COPYING)
      && g_strcmp0 (m->from, self) == 0 && !deleted (p);
}
