/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-json.h"
#include "store-private.h"

static char *database_url;
/* Whether the last statement or connection attempt reached PostgreSQL (for STATUS=). */
static gint available = 1;

gboolean
store_is_available (void)
{
  return g_atomic_int_get (&available);
}

/* One connection per thread, closed when the thread exits. */
typedef struct {
  PGconn *conn;
  GHashTable *prepared; /* SQL text -> statement name */
  guint n_prepared;
} ThreadConn;

static void
thread_conn_free (ThreadConn *t)
{
  PQfinish (t->conn);
  g_hash_table_unref (t->prepared);
  g_free (t);
}

static GPrivate thread_conn = G_PRIVATE_INIT ((GDestroyNotify) thread_conn_free);

static PGconn *
thread_conn_get (void)
{
  ThreadConn *t = g_private_get (&thread_conn);
  return t ? t->conn : NULL;
}

gboolean
store_setup (const char *url, GError **error)
{
  g_free (database_url);
  database_url = g_strdup (url);
  PGconn *c = store_thread_conn (error);
  if (c == NULL)
    return FALSE;
  return store_migrate (c, error);
}

const char *
store_get_database_url (void)
{
  return database_url;
}

static void
ignore_notice (void *arg, const char *message)
{
  g_debug ("PostgreSQL: %s", message);
}

PGconn *
store_connect_new (GError **error)
{
  /* connect_timeout first so the URL may override it; application_name helps pg_stat_activity. */
  const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
  const char *values[] = { "5", "cara-server", database_url ? database_url : "", NULL };
  g_autoptr (PGconn) c = PQconnectdbParams (keys, values, 1);
  if (c == NULL || PQstatus (c) != CONNECTION_OK)
    {
      g_autofree char *msg = g_strdup (c ? PQerrorMessage (c) : "out of memory");
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "database unavailable: %s", g_strchomp (msg));
      g_atomic_int_set (&available, 0);
      return NULL;
    }
  /* Quiet NOTICEs (e.g. "relation already exists, skipping"). */
  PQsetNoticeProcessor (c, ignore_notice, NULL);
  PQclear (PQexec (c, "SET TIME ZONE 'UTC'"));
  return g_steal_pointer (&c);
}

PGconn *
store_thread_conn (GError **error)
{
  PGconn *c = thread_conn_get ();
  if (c != NULL && PQstatus (c) == CONNECTION_OK)
    return c;
  if (c != NULL)
    g_private_replace (&thread_conn, NULL);
  c = store_connect_new (error);
  if (c == NULL)
    return NULL;
  ThreadConn *t = g_new0 (ThreadConn, 1);
  t->conn = c;
  t->prepared = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_private_set (&thread_conn, t);
  return c;
}

void
store_thread_disconnect (void)
{
  g_private_replace (&thread_conn, NULL);
}

static gboolean
sqlstate_is_unavailable (const char *state)
{
  return state != NULL && (g_str_has_prefix (state, "08") || strcmp (state, "57P01") == 0
                           || strcmp (state, "57P02") == 0 || strcmp (state, "57P03") == 0);
}

/* On a thread's own connection every statement is prepared once (statements are constant
 * strings), saving PostgreSQL the parse and plan of each request. */
static PGresult *
exec_params (PGconn *c, const char *sql, int n_params, const char * const *params)
{
  ThreadConn *t = g_private_get (&thread_conn);
  if (t == NULL || t->conn != c)
    return PQexecParams (c, sql, n_params, NULL, params, NULL, NULL, 0);
  const char *name = g_hash_table_lookup (t->prepared, sql);
  if (name == NULL)
    {
      g_autofree char *new_name = g_strdup_printf ("cara_%u", t->n_prepared++);
      PGresult *r = PQprepare (c, new_name, sql, n_params, NULL);
      if (r == NULL || PQresultStatus (r) != PGRES_COMMAND_OK)
        return r;
      PQclear (r);
      name = new_name;
      g_hash_table_insert (t->prepared, g_strdup (sql), g_steal_pointer (&new_name));
    }
  return PQexecPrepared (c, name, n_params, params, NULL, NULL, 0);
}

/* Failed statements, for cara_db_errors_total (a unique violation is an answer, not an error). */
static guint64 db_errors;

guint64
store_get_error_count (void)
{
  return __atomic_load_n (&db_errors, __ATOMIC_RELAXED);
}

PGresult *
store_exec (PGconn *c, const char *sql, int n_params, const char * const *params, GError **error)
{
  g_autoptr (PGresult) r = exec_params (c, sql, n_params, params);
  ExecStatusType st = r ? PQresultStatus (r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
    {
      g_atomic_int_set (&available, 1);
      return g_steal_pointer (&r);
    }

  const char *state = r ? PQresultErrorField (r, PG_DIAG_SQLSTATE) : NULL;
  g_autofree char *msg = g_strdup (r ? PQresultErrorMessage (r) : PQerrorMessage (c));
  g_strchomp (msg);
  if (PQstatus (c) != CONNECTION_OK || sqlstate_is_unavailable (state))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "database unavailable: %s", msg);
      g_atomic_int_set (&available, 0);
      /* Forget the broken connection so the next call reconnects. */
      if (thread_conn_get () == c)
        g_private_replace (&thread_conn, NULL);
    }
  else if (g_strcmp0 (state, "23505") == 0)
    g_set_error_literal (error, CARA_ERROR, CARA_ERROR_CONFLICT, "resource already exists");
  else
    g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "database error: %s", msg);
  if (g_strcmp0 (state, "23505") != 0)
    __atomic_add_fetch (&db_errors, 1, __ATOMIC_RELAXED);
  return NULL;
}

PGresult *
store_exec_once (const char *sql, int n_params, const char * const *params, GError **error)
{
  for (int attempt = 0;; attempt++)
    {
      g_autoptr (GError) local = NULL;
      PGconn *c = store_thread_conn (error);
      if (c == NULL)
        return NULL;
      PGresult *r = store_exec (c, sql, n_params, params, &local);
      if (r != NULL)
        return r;
      /* A connection that broke while idle is retried once on a fresh one. */
      if (attempt == 0 && g_error_matches (local, CARA_ERROR, CARA_ERROR_UNAVAILABLE))
        {
          g_debug ("Reconnecting to the database: %s", local->message);
          continue;
        }
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
}

struct _StoreTxn {
  PGconn *conn; /* not owned */
  gboolean on_thread_conn;
  gboolean open;
};

static StoreTxn *
txn_new (PGconn *c, gboolean on_thread_conn)
{
  StoreTxn *t = g_new0 (StoreTxn, 1);
  t->conn = c;
  t->on_thread_conn = on_thread_conn;
  t->open = TRUE;
  return t;
}

StoreTxn *
store_txn_begin (const char *begin_sql, GError **error)
{
  g_autoptr (PGresult) r = store_exec_once (begin_sql ? begin_sql : "BEGIN", 0, NULL, error);
  if (r == NULL)
    return NULL;
  return txn_new (thread_conn_get (), TRUE);
}

StoreTxn *
store_txn_begin_on (PGconn *c, GError **error)
{
  g_autoptr (PGresult) r = store_exec (c, "BEGIN", 0, NULL, error);
  if (r == NULL)
    return NULL;
  return txn_new (c, FALSE);
}

PGconn *
store_txn_conn (StoreTxn *t)
{
  return t->conn;
}

gboolean
store_txn_commit (StoreTxn *t, GError **error)
{
  g_autoptr (PGresult) r = store_exec (t->conn, "COMMIT", 0, NULL, error);
  /* A failed COMMIT ends the transaction too (PostgreSQL rolls it back). */
  t->open = FALSE;
  return r != NULL;
}

void
store_txn_free (StoreTxn *t)
{
  if (t == NULL)
    return;
  /* store_exec drops the thread's connection when it broke: then there is nothing to roll back. */
  if (t->open && (!t->on_thread_conn || thread_conn_get () == t->conn) && PQstatus (t->conn) == CONNECTION_OK)
    PQclear (PQexec (t->conn, "ROLLBACK"));
  g_free (t);
}

gboolean
store_next_rv (PGconn *c, gint64 *ret_rv, gint64 *ret_now_usec, GError **error)
{
  g_autoptr (PGresult) r = store_exec (c, "SELECT cara_next_rv(), cara_usec(now())", 0, NULL, error);
  if (r == NULL)
    return FALSE;
  *ret_rv = g_ascii_strtoll (PQgetvalue (r, 0, 0), NULL, 10);
  *ret_now_usec = g_ascii_strtoll (PQgetvalue (r, 0, 1), NULL, 10);
  return TRUE;
}

gboolean
store_append_event (PGconn *c, gint64 rv, const char *kind, const char *name, const char *type,
                    const char *object_json, GError **error)
{
  g_autofree char *rvs = g_strdup_printf ("%" G_GINT64_FORMAT, rv);
  const char *p[] = { rvs, kind, name, type, object_json };
  g_autoptr (PGresult) r = store_exec (c,
      "WITH e AS (INSERT INTO events (rv, kind, name, type, object) VALUES ($1, $2, $3, $4, $5::jsonb)) "
      "SELECT pg_notify('cara_events', $2 || '/' || $3 || '/' || $1)", 5, p, error);
  return r != NULL;
}

gboolean
store_snapshot_rv (PGconn *c, gint64 *ret_rv, GError **error)
{
  g_autoptr (PGresult) r = store_exec (c, "SELECT coalesce(max(rv), 0) FROM events", 0, NULL, error);
  if (r == NULL)
    return FALSE;
  *ret_rv = g_ascii_strtoll (PQgetvalue (r, 0, 0), NULL, 10);
  return TRUE;
}

/* ---- conversions ---- */

GDateTime *
store_usec_to_datetime (gint64 usec)
{
  g_autoptr (GDateTime) s = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  gint64 rem = usec % G_USEC_PER_SEC;
  if (rem < 0)
    rem += G_USEC_PER_SEC, s = (g_date_time_unref (s), g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC - 1));
  return g_date_time_add (s, rem);
}

char *
store_datetime_to_usec (GDateTime *t)
{
  if (t == NULL)
    return NULL;
  return g_strdup_printf ("%" G_GINT64_FORMAT,
                          g_date_time_to_unix (t) * G_USEC_PER_SEC + g_date_time_get_microsecond (t));
}

char *
store_json_text (JsonNode *node)
{
  g_autoptr (JsonNode) n = node;
  return cara_json_to_string (n, FALSE);
}

char *
store_map_to_text (GHashTable *map)
{
  return store_json_text (cara_string_map_to_json (map));
}

gboolean
store_map_from_text (const char *text, const char *path, GHashTable **ret, GError **error)
{
  g_autoptr (JsonNode) n = cara_json_parse (text, -1, error);
  if (n == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  return cara_string_map_from_json (n, path, ret, error);
}

char *
store_text_array (const char * const *values)
{
  GString *s = g_string_new ("{");
  for (guint i = 0; values[i] != NULL; i++)
    {
      g_string_append (s, i ? ",\"" : "\"");
      for (const char *p = values[i]; *p; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (s, '\\');
          g_string_append_c (s, *p);
        }
      g_string_append_c (s, '"');
    }
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

/* ---- events ---- */

void
store_event_free (StoreEvent *e)
{
  if (e == NULL)
    return;
  g_free (e->kind);
  g_free (e->name);
  g_free (e->type);
  g_free (e->object);
  g_free (e);
}

gboolean
store_events_since (gint64 after_rv, const char *kind, guint limit, GPtrArray **ret_events, GError **error)
{
  g_autofree char *rvs = g_strdup_printf ("%" G_GINT64_FORMAT, after_rv);
  g_autofree char *lim = g_strdup_printf ("%u", limit ? limit : G_MAXINT32);
  const char *p[] = { rvs, kind, lim };
  g_autoptr (PGresult) r = store_exec_once (
      "SELECT rv, kind, name, type, object::text, cara_usec(at) FROM events "
      "WHERE rv > $1 AND ($2::text IS NULL OR kind = $2) ORDER BY rv LIMIT $3", 3, p, error);
  if (r == NULL)
    return FALSE;
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) store_event_free);
  for (int i = 0; i < PQntuples (r); i++)
    {
      StoreEvent *e = g_new0 (StoreEvent, 1);
      e->rv = g_ascii_strtoll (PQgetvalue (r, i, 0), NULL, 10);
      e->kind = g_strdup (PQgetvalue (r, i, 1));
      e->name = g_strdup (PQgetvalue (r, i, 2));
      e->type = g_strdup (PQgetvalue (r, i, 3));
      e->object = g_strdup (PQgetvalue (r, i, 4));
      e->at_usec = g_ascii_strtoll (PQgetvalue (r, i, 5), NULL, 10);
      g_ptr_array_add (events, e);
    }
  *ret_events = g_steal_pointer (&events);
  return TRUE;
}

gboolean
store_events_range (gint64 *ret_oldest, gint64 *ret_newest, GError **error)
{
  g_autoptr (PGresult) r = store_exec_once ("SELECT coalesce(min(rv), 0), coalesce(max(rv), 0) FROM events",
                                            0, NULL, error);
  if (r == NULL)
    return FALSE;
  if (ret_oldest)
    *ret_oldest = g_ascii_strtoll (PQgetvalue (r, 0, 0), NULL, 10);
  if (ret_newest)
    *ret_newest = g_ascii_strtoll (PQgetvalue (r, 0, 1), NULL, 10);
  return TRUE;
}

gboolean
store_trim_events (guint keep, gint64 max_age_usec, GError **error)
{
  g_autofree char *k = g_strdup_printf ("%u", keep);
  g_autofree char *age = g_strdup_printf ("%" G_GINT64_FORMAT, max_age_usec);
  const char *p[] = { k, age };
  g_autoptr (PGresult) r = store_exec_once (
      "DELETE FROM events WHERE rv <= (SELECT coalesce(max(rv), 0) FROM events) - $1::bigint "
      "OR at < now() - $2::bigint * interval '1 microsecond'", 2, p, error);
  return r != NULL;
}
