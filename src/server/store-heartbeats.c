/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "store-private.h"

gboolean
store_mark_node_heartbeat (const char *name, const char *resource_version, const char *digest, GError **error)
{
  const char *p[] = { name, resource_version, digest };
  g_autoptr (PGresult) r = store_exec_once (
      "UPDATE nodes SET heartbeat_digest = $3 WHERE name = $1 AND resource_version = $2::bigint", 3, p, error);
  return r != NULL;
}

static char *
text_array (guint n, const char * const *values)
{
  g_autofree const char **v = g_new0 (const char *, n + 1);
  for (guint i = 0; i < n; i++)
    v[i] = values[i];
  return store_text_array (v);
}

gboolean
store_flush_heartbeats (guint n, const char * const *names, const char * const *times,
                        const char * const *digests, GHashTable *ret_marked, GError **error)
{
  g_autofree char *name_array = text_array (n, names);
  g_autofree char *time_array = text_array (n, times);
  g_autofree char *digest_array = text_array (n, digests);
  const char *p[] = { name_array, time_array, digest_array };
  /* One statement for the batch; the Ready condition's lastHeartbeatTime moves with the time, as
   * the full path would write it.  A heartbeat is not a change of the object (SPEC §16). */
  g_autoptr (PGresult) r = store_exec_once (
      "WITH t AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS v(name, at, digest)) "
      "UPDATE nodes AS n SET last_heartbeat = t.at::timestamptz, "
      "status = jsonb_set(jsonb_set(n.status, '{lastHeartbeat}', to_jsonb(t.at)), '{conditions}', "
      "  COALESCE((SELECT jsonb_agg(CASE WHEN c->>'type' = 'Ready' THEN jsonb_set(c, '{lastHeartbeatTime}', "
      "            to_jsonb(t.at)) ELSE c END ORDER BY i) "
      "            FROM jsonb_array_elements(n.status->'conditions') WITH ORDINALITY AS a(c, i)), '[]'::jsonb)) "
      "FROM t WHERE n.name = t.name AND (n.last_heartbeat IS NULL OR n.last_heartbeat < t.at::timestamptz) "
      "RETURNING n.name, n.heartbeat_digest IS NOT DISTINCT FROM t.digest",
      3, p, error);
  if (r == NULL)
    return FALSE;
  for (int i = 0; i < PQntuples (r); i++)
    if (PQgetvalue (r, i, 1)[0] == 't')
      g_hash_table_add (ret_marked, g_strdup (PQgetvalue (r, i, 0)));
  return TRUE;
}
