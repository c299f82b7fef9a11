/* SPDX-License-Identifier: Apache-2.0 */
/* Human-readable cluster events (store.h "cluster events"): one table, written in batches of
 * three statements whatever their size (the scheduler records one per placement). */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "cara-error.h"
#include "cara-event.h"
#include "cara-json.h"
#include "store-private.h"

gboolean
store_cluster_events_insert (GPtrArray *events, GError **error)
{
  if (events == NULL || events->len == 0)
    return TRUE;
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);
  if (t == NULL)
    return FALSE;
  PGconn *c = store_txn_conn (t);
  /* The ids: resourceVersions, handed out under the rv lock held to commit (store.h). */
  g_autofree char *n = g_strdup_printf ("%u", events->len);
  const char *np[] = { n };
  g_autoptr (PGresult) ids = store_exec (c, "SELECT cara_next_rv(), cara_usec(now()) FROM generate_series(1, $1::int)",
                                         1, np, error);
  if (ids == NULL)
    return FALSE;
  g_autoptr (JsonArray) rows = json_array_new ();
  for (guint i = 0; i < events->len; i++)
    {
      CaraEvent *e = events->pdata[i];
      e->id = g_ascii_strtoll (PQgetvalue (ids, (int) i, 0), NULL, 10);
      if (e->time_usec == 0)
        e->time_usec = g_ascii_strtoll (PQgetvalue (ids, (int) i, 1), NULL, 10);
      JsonObject *o = json_object_new ();
      json_object_set_int_member (o, "id", e->id);
      json_object_set_int_member (o, "at", e->time_usec);
      json_object_set_string_member (o, "type", cara_event_type_to_string (e->type));
      json_object_set_string_member (o, "reason", e->reason);
      json_object_set_string_member (o, "kind", e->object_kind);
      json_object_set_string_member (o, "name", e->object_name);
      json_object_set_string_member (o, "node", e->node ? e->node : "");
      json_object_set_string_member (o, "message", e->message ? e->message : "");
      json_object_set_member (o, "event", cara_event_to_json (e));
      json_array_add_object_element (rows, o);
    }
  g_autoptr (JsonNode) root = json_node_init_array (json_node_alloc (), rows);
  g_autofree char *text = cara_json_to_string (root, FALSE);
  const char *p[] = { text };
  g_autoptr (PGresult) ins = store_exec (c,
      "INSERT INTO cluster_events (id, at, type, reason, object_kind, object_name, node, message) "
      "SELECT (e->>'id')::bigint, cara_ts((e->>'at')::bigint), e->>'type', e->>'reason', e->>'kind', e->>'name', "
      "e->>'node', e->>'message' FROM jsonb_array_elements($1::jsonb) e", 1, p, error);
  if (ins == NULL)
    return FALSE;
  g_autoptr (PGresult) feed = store_exec (c,
      "WITH i AS (INSERT INTO events (rv, kind, name, type, object) "
      "  SELECT (e->>'id')::bigint, 'Event', e->>'id', 'ADDED', e->'event' FROM jsonb_array_elements($1::jsonb) e) "
      "SELECT pg_notify('cara_events', 'Event/' || (max((e->>'id')::bigint))::text) "
      "FROM jsonb_array_elements($1::jsonb) e", 1, p, error);
  if (feed == NULL)
    return FALSE;
  return store_txn_commit (t, error);
}

static CaraEvent *
event_from_row (PGresult *r, int row)
{
  CaraEventType type = CARA_EVENT_NORMAL;
  cara_event_type_from_string (PQgetvalue (r, row, 2), &type);
  CaraEvent *e = cara_event_new (type, PQgetvalue (r, row, 3), PQgetvalue (r, row, 4), PQgetvalue (r, row, 5),
                                 PQgetvalue (r, row, 6), PQgetvalue (r, row, 7));
  e->id = g_ascii_strtoll (PQgetvalue (r, row, 0), NULL, 10);
  e->time_usec = g_ascii_strtoll (PQgetvalue (r, row, 1), NULL, 10);
  return e;
}

gboolean
store_cluster_events_list (const StoreClusterEventFilter *f, GPtrArray **ret_events, gint64 *ret_rv, GError **error)
{
  static const StoreClusterEventFilter none = { 0 };
  if (f == NULL)
    f = &none;
  g_autofree char *since = f->since_usec ? g_strdup_printf ("%" G_GINT64_FORMAT, f->since_usec) : NULL;
  g_autofree char *limit = f->limit ? g_strdup_printf ("%u", f->limit) : NULL;
  const char *p[] = { f->project, f->node, f->type, since, limit };
  /* The newest @limit that match, then oldest first. */
  static const char sql[] =
      "SELECT * FROM (SELECT id, cara_usec(at) AS usec, type, reason, object_kind, object_name, node, message "
      "  FROM cluster_events "
      "  WHERE ($1::text IS NULL OR (object_kind = 'Project' AND object_name = $1)) "
      "    AND ($2::text IS NULL OR node = $2) AND ($3::text IS NULL OR type = $3) "
      "    AND ($4::bigint IS NULL OR at >= cara_ts($4::bigint)) "
      "  ORDER BY at DESC, id DESC LIMIT $5::bigint) s ORDER BY usec, id";
  g_autoptr (PGresult) r = NULL;
  gint64 rv = 0;
  if (ret_rv != NULL)
    {
      g_autoptr (StoreTxn) t = store_txn_begin ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", error);
      if (t == NULL)
        return FALSE;
      r = store_exec (store_txn_conn (t), sql, G_N_ELEMENTS (p), p, error);
      if (r == NULL || !store_snapshot_rv (store_txn_conn (t), &rv, error) || !store_txn_commit (t, error))
        return FALSE;
    }
  else if ((r = store_exec_once (sql, G_N_ELEMENTS (p), p, error)) == NULL)
    return FALSE;
  g_autoptr (GPtrArray) out = g_ptr_array_new_full ((guint) PQntuples (r), (GDestroyNotify) cara_event_free);
  for (int i = 0; i < PQntuples (r); i++)
    g_ptr_array_add (out, event_from_row (r, i));
  *ret_events = g_steal_pointer (&out);
  if (ret_rv != NULL)
    *ret_rv = rv;
  return TRUE;
}

gboolean
store_cluster_events_trim (guint keep, gint64 max_age_usec, GError **error)
{
  g_autofree char *k = g_strdup_printf ("%u", keep);
  g_autofree char *age = g_strdup_printf ("%" G_GINT64_FORMAT, max_age_usec);
  const char *p[] = { k, age };
  g_autoptr (PGresult) r = store_exec_once (
      "DELETE FROM cluster_events WHERE at < now() - $2::bigint * interval '1 microsecond' "
      "OR id <= (SELECT id FROM cluster_events ORDER BY id DESC OFFSET $1::bigint LIMIT 1)", 2, p, error);
  return r != NULL;
}
