/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-agent"

#include "observed.h"

#include "cara-model.h"
#include "event-reporter.h"

typedef struct {
  char *container_id;
  gint64 restart_count;
  char *health;
} Seen;

static void
seen_free (Seen *s)
{
  g_free (s->container_id);
  g_free (s->health);
  g_free (s);
}

/* project -> (service -> Seen*), under lock */
static GHashTable *projects;
static GMutex lock;

void
observed_services (const char *project, GPtrArray *services)
{
  g_mutex_lock (&lock);
  if (projects == NULL)
    projects = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
  if (services == NULL)
    {
      g_hash_table_remove (projects, project);
      g_mutex_unlock (&lock);
      return;
    }
  GHashTable *seen = g_hash_table_lookup (projects, project);
  if (seen == NULL)
    {
      seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) seen_free);
      g_hash_table_insert (projects, g_strdup (project), seen);
    }
  for (guint i = 0; i < services->len; i++)
    {
      const CaraServiceStatus *st = services->pdata[i];
      if (st->container_id == NULL || *st->container_id == '\0')
        continue;
      Seen *old = g_hash_table_lookup (seen, st->name);
      gboolean same = old != NULL && g_strcmp0 (old->container_id, st->container_id) == 0;
      if (same && st->restart_count > old->restart_count)
        agent_event (CARA_EVENT_WARNING, "Restarted", project,
                     "Container %.12s of service %s restarted (%" G_GINT64_FORMAT " restart%s)", st->container_id,
                     st->name, st->restart_count, st->restart_count == 1 ? "" : "s");
      if (g_strcmp0 (st->health, "unhealthy") == 0 && !(same && g_strcmp0 (old->health, "unhealthy") == 0))
        agent_event (CARA_EVENT_WARNING, "Unhealthy", project, "Service %s failed its healthcheck (container %.12s)",
                     st->name, st->container_id);
      Seen *now = g_new0 (Seen, 1);
      now->container_id = g_strdup (st->container_id);
      now->restart_count = st->restart_count;
      now->health = g_strdup (st->health);
      g_hash_table_replace (seen, g_strdup (st->name), now);
    }
  g_mutex_unlock (&lock);
}
