/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "cara-json.h"
#include "inspect-cache.h"

typedef struct {
  guint64 seq;        /* events seen for the container */
  JsonObject *info;   /* NULL: ask Docker */
  char *expected;     /* an action of ours whose event is not news, once */
  gint64 expected_at; /* monotonic usec */
  gboolean removing;  /* being removed by us: none of its events is news */
} Entry;

/* An expected event that never came (the call failed) is forgotten after this. */
#define EXPECT_USEC (60 * G_USEC_PER_SEC)

static GMutex lock;
static GHashTable *entries; /* id -> Entry */

static void
entry_free (gpointer data)
{
  Entry *e = data;
  g_clear_pointer (&e->info, json_object_unref);
  g_free (e->expected);
  g_free (e);
}

static Entry *
entry_get_locked (const char *id)
{
  if (entries == NULL)
    entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  Entry *e = g_hash_table_lookup (entries, id);
  if (e == NULL)
    {
      e = g_new0 (Entry, 1);
      g_hash_table_insert (entries, g_strdup (id), e);
    }
  return e;
}

JsonObject *
inspect_cache_get (const char *id, guint64 *ret_seq)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  Entry *e = entry_get_locked (id);
  if (ret_seq)
    *ret_seq = e->seq;
  return e->info ? json_object_ref (e->info) : NULL;
}

void
inspect_cache_put (const char *id, guint64 seq, JsonObject *info)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  Entry *e = entry_get_locked (id);
  if (e->seq != seq)
    return;
  /* Only what observing and stopping need: a whole inspect is tens of kilobytes, and there may be
   * hundreds. */
  JsonObject *slim = json_object_new ();
  const char *keep[] = { "Id", "RestartCount", "State" };
  for (guint i = 0; i < G_N_ELEMENTS (keep); i++)
    {
      JsonNode *m = json_object_get_member (info, keep[i]);
      if (m != NULL)
        json_object_set_member (slim, keep[i], json_node_copy (m));
    }
  JsonObject *config = cara_json_object_object (info, "Config");
  JsonObject *slim_config = json_object_new ();
  JsonNode *t = config != NULL ? json_object_get_member (config, "StopTimeout") : NULL;
  if (t != NULL && JSON_NODE_HOLDS_VALUE (t))
    json_object_set_member (slim_config, "StopTimeout", json_node_copy (t));
  json_object_set_object_member (slim, "Config", slim_config);
  g_clear_pointer (&e->info, json_object_unref);
  e->info = slim;
}

guint64
inspect_cache_expect (const char *id, const char *action)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  Entry *e = entry_get_locked (id);
  g_free (e->expected);
  e->expected = g_strdup (action);
  e->expected_at = g_get_monotonic_time ();
  return e->seq;
}

gboolean
inspect_cache_event (const char *id, const char *action)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  Entry *e = entry_get_locked (id);
  if (e->expected != NULL && g_strcmp0 (e->expected, action) == 0
      && g_get_monotonic_time () - e->expected_at < EXPECT_USEC)
    {
      g_clear_pointer (&e->expected, g_free);
      return FALSE;
    }
  gboolean mine = e->removing;
  g_clear_pointer (&e->expected, g_free);
  e->seq++;
  g_clear_pointer (&e->info, json_object_unref);
  /* Gone for good: nothing more will come for it. */
  if (g_strcmp0 (action, "destroy") == 0)
    g_hash_table_remove (entries, id);
  return !mine;
}

void
inspect_cache_removing (const char *id)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  entry_get_locked (id)->removing = TRUE;
}

void
inspect_cache_forget (const char *id)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  Entry *e = entry_get_locked (id);
  e->seq++;
  g_clear_pointer (&e->info, json_object_unref);
  g_clear_pointer (&e->expected, g_free);
}

void
inspect_cache_invalidate (void)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  GHashTableIter it;
  gpointer v;
  if (entries == NULL)
    return;
  g_hash_table_iter_init (&it, entries);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      Entry *e = v;
      e->seq++;
      g_clear_pointer (&e->info, json_object_unref);
      g_clear_pointer (&e->expected, g_free);
    }
}

JsonObject *
inspect_cache_started (const char *id, gboolean has_healthcheck, JsonNode *stop_timeout)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *started = g_date_time_format_iso8601 (now);
  JsonObject *state = json_object_new ();
  json_object_set_string_member (state, "Status", "running");
  json_object_set_boolean_member (state, "Running", TRUE);
  json_object_set_int_member (state, "ExitCode", 0);
  json_object_set_string_member (state, "StartedAt", started);
  if (has_healthcheck)
    {
      JsonObject *health = json_object_new ();
      json_object_set_string_member (health, "Status", "starting");
      json_object_set_object_member (state, "Health", health);
    }
  JsonObject *info = json_object_new ();
  json_object_set_string_member (info, "Id", id);
  json_object_set_int_member (info, "RestartCount", 0);
  json_object_set_object_member (info, "State", state);
  JsonObject *config = json_object_new ();
  if (stop_timeout != NULL)
    json_object_set_member (config, "StopTimeout", json_node_copy (stop_timeout));
  json_object_set_object_member (info, "Config", config);
  return info;
}
