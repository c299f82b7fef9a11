/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets (SPEC §12): one row per Secret (no values) and one per value, sealed by secret-keys.c
 * with its key id.  Secrets are not watched: their rows write no watch event; a change instead
 * writes a new resourceVersion (and its MODIFIED event) to every project that uses the Secret,
 * so that their agents look at them again and roll what uses it. */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "cara-error.h"
#include "cara-json.h"
#include "secret-keys.h"
#include "store-private.h"

#define SECRET_COLUMNS \
  "name, type, resource_version, cara_usec(created_at), cara_usec(updated_at), labels::text, annotations::text"

/* The projects (not being deleted) whose spec names Secret $1, optionally only on node $2. */
#define USERS_SQL \
  "SELECT name FROM projects WHERE phase NOT IN ('Terminating', 'Terminated') AND ($2::text IS NULL OR node_ref = $2) " \
  "AND (jsonb_path_exists (spec, '$.services[*].env[*].valueFrom.secret ? (@ == $s)', jsonb_build_object ('s', $1::text)) " \
  "OR jsonb_path_exists (spec, '$.services[*].secrets[*].secret ? (@ == $s)', jsonb_build_object ('s', $1::text)) " \
  "OR jsonb_path_exists (spec, '$.imagePullSecrets[*] ? (@ == $s)', jsonb_build_object ('s', $1::text)) " \
  "OR jsonb_path_exists (spec, '$.ingress[*].tls.secret ? (@ == $s)', jsonb_build_object ('s', $1::text))) " \
  "ORDER BY name"

static void
set_not_found (const char *name, GError **error)
{
  g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "secret not found: %s: resource not found", name);
}

static CaraSecret *
secret_from_row (PGresult *r, int row, GError **error)
{
  g_autoptr (CaraSecret) s = cara_secret_new (PQgetvalue (r, row, 0));
  if (!cara_secret_type_from_string (PQgetvalue (r, row, 1), &s->type))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "stored secret %s: unknown type", s->metadata.name);
      return NULL;
    }
  s->metadata.resource_version = g_strdup (PQgetvalue (r, row, 2));
  s->metadata.created_at = store_usec_to_datetime (g_ascii_strtoll (PQgetvalue (r, row, 3), NULL, 10));
  s->metadata.updated_at = store_usec_to_datetime (g_ascii_strtoll (PQgetvalue (r, row, 4), NULL, 10));
  if (!store_map_from_text (PQgetvalue (r, row, 5), "metadata.labels", &s->metadata.labels, error)
      || !store_map_from_text (PQgetvalue (r, row, 6), "metadata.annotations", &s->metadata.annotations, error))
    return NULL;
  return g_steal_pointer (&s);
}

/* Adds keys[] (and the opened values when @with_values) of every secret in @by_name. */
static gboolean
add_values (PGconn *c, GHashTable *by_name, const char *where, int n, const char *const *p, gboolean with_values,
            GError **error)
{
  g_autofree char *sql = g_strdup_printf ("SELECT secret, key, size, key_id, %s FROM secret_values %s ORDER BY secret, key",
                                          with_values ? "sealed" : "''", where);
  g_autoptr (PGresult) r = c ? store_exec (c, sql, n, p, error) : store_exec_once (sql, n, p, error);
  if (r == NULL)
    return FALSE;
  for (int i = 0; i < PQntuples (r); i++)
    {
      CaraSecret *s = g_hash_table_lookup (by_name, PQgetvalue (r, i, 0));
      const char *key = PQgetvalue (r, i, 1);
      if (s == NULL)
        continue;
      if (with_values)
        {
          g_autoptr (GBytes) v = secret_keys_open (s->metadata.name, key, PQgetvalue (r, i, 3), PQgetvalue (r, i, 4),
                                                   error);
          if (v == NULL)
            return FALSE;
          cara_secret_set (s, key, v);
        }
      else
        {
          CaraSecretKey *k = g_new0 (CaraSecretKey, 1);
          k->name = g_strdup (key);
          k->size = g_ascii_strtoll (PQgetvalue (r, i, 2), NULL, 10);
          g_ptr_array_add (s->keys, k);
        }
    }
  return TRUE;
}

gboolean
store_get_secret (const char *name, gboolean with_values, CaraSecret **ret, GError **error)
{
  const char *p[] = { name };
  g_autoptr (PGresult) r = store_exec_once ("SELECT " SECRET_COLUMNS " FROM secrets WHERE name = $1", 1, p, error);
  if (r == NULL)
    return FALSE;
  if (PQntuples (r) == 0)
    {
      set_not_found (name, error);
      return FALSE;
    }
  g_autoptr (CaraSecret) s = secret_from_row (r, 0, error);
  if (s == NULL)
    return FALSE;
  g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (by_name, s->metadata.name, s);
  if (!add_values (NULL, by_name, "WHERE secret = $1", 1, p, with_values, error))
    return FALSE;
  *ret = g_steal_pointer (&s);
  return TRUE;
}

gboolean
store_list_secrets (const char *const *names, GPtrArray **ret, GError **error)
{
  g_autofree char *arr = names ? store_text_array (names) : NULL;
  const char *p[] = { arr };
  g_autoptr (PGresult) r = store_exec_once ("SELECT " SECRET_COLUMNS " FROM secrets WHERE ($1::text[] IS NULL OR name = ANY ($1)) "
                                            "ORDER BY name", 1, p, error);
  if (r == NULL)
    return FALSE;
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_secret_free);
  g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; i < PQntuples (r); i++)
    {
      CaraSecret *s = secret_from_row (r, i, error);
      if (s == NULL)
        return FALSE;
      g_ptr_array_add (items, s);
      g_hash_table_insert (by_name, s->metadata.name, s);
    }
  if (items->len > 0
      && !add_values (NULL, by_name, "WHERE ($1::text[] IS NULL OR secret = ANY ($1))", 1, p, FALSE, error))
    return FALSE;
  *ret = g_steal_pointer (&items);
  return TRUE;
}

static char **
users_in (PGconn *c, const char *name, const char *node, GError **error)
{
  const char *p[] = { name, node };
  g_autoptr (PGresult) r = c ? store_exec (c, USERS_SQL, 2, p, error) : store_exec_once (USERS_SQL, 2, p, error);
  if (r == NULL)
    return NULL;
  GStrvBuilder *b = g_strv_builder_new ();
  for (int i = 0; i < PQntuples (r); i++)
    g_strv_builder_add (b, PQgetvalue (r, i, 0));
  char **out = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return out;
}

gboolean
store_secret_users (const char *name, const char *node, char ***ret, GError **error)
{
  char **users = users_in (NULL, name, node, error);
  if (users == NULL)
    return FALSE;
  *ret = users;
  return TRUE;
}

/* Seals and writes every value of @s (its row is written), replacing what was there. */
static gboolean
write_values (PGconn *c, const CaraSecret *s, GError **error)
{
  const char *p[] = { s->metadata.name };
  g_autoptr (PGresult) d = store_exec (c, "DELETE FROM secret_values WHERE secret = $1", 1, p, error);
  if (d == NULL)
    return FALSE;
  for (guint i = 0; i < s->keys->len; i++)
    {
      const CaraSecretKey *k = g_ptr_array_index (s->keys, i);
      GBytes *v = g_hash_table_lookup (s->data, k->name);
      g_autofree char *key_id = NULL;
      g_autofree char *sealed = v ? secret_keys_seal (s->metadata.name, k->name, v, &key_id, error) : NULL;
      g_autofree char *size = g_strdup_printf ("%" G_GINT64_FORMAT, k->size);
      if (sealed == NULL)
        {
          if (v == NULL)
            g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "secret %s: no value for key %s", s->metadata.name,
                         k->name);
          return FALSE;
        }
      const char *q[] = { s->metadata.name, k->name, size, key_id, sealed };
      g_autoptr (PGresult) r = store_exec (c, "INSERT INTO secret_values (secret, key, size, key_id, sealed) "
                                           "VALUES ($1, $2, $3, $4, $5)", 5, q, error);
      if (r == NULL)
        return FALSE;
    }
  return TRUE;
}

static gboolean
stamp (PGconn *c, CaraSecret *s, gboolean insert, GError **error)
{
  gint64 rv, now;
  if (!store_next_rv (c, &rv, &now, error))
    return FALSE;
  g_free (s->metadata.resource_version);
  s->metadata.resource_version = g_strdup_printf ("%" G_GINT64_FORMAT, rv);
  g_clear_pointer (&s->metadata.updated_at, g_date_time_unref);
  s->metadata.updated_at = store_usec_to_datetime (now);
  if (insert)
    {
      g_clear_pointer (&s->metadata.created_at, g_date_time_unref);
      s->metadata.created_at = store_usec_to_datetime (now);
    }
  return TRUE;
}

gboolean
store_create_secret (CaraSecret *s, GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);
  if (t == NULL || !stamp (store_txn_conn (t), s, TRUE, error))
    return FALSE;
  g_autofree char *created = store_datetime_to_usec (s->metadata.created_at);
  g_autofree char *labels = store_map_to_text (s->metadata.labels);
  g_autofree char *annotations = store_map_to_text (s->metadata.annotations);
  const char *p[] = { s->metadata.name, cara_secret_type_to_string (s->type), s->metadata.resource_version, created,
                      labels, annotations };
  g_autoptr (GError) local = NULL;
  g_autoptr (PGresult) r = store_exec (store_txn_conn (t),
      "INSERT INTO secrets (name, type, resource_version, created_at, updated_at, labels, annotations) "
      "VALUES ($1, $2, $3, cara_ts($4), cara_ts($4), $5::jsonb, $6::jsonb)", 6, p, &local);
  if (r == NULL)
    {
      if (g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT))
        g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "secret already exists: %s: resource already exists",
                     s->metadata.name);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  /* Only now: a read put back of an existing Secret is a conflict (apply then replaces it). */
  if (s->keep->len > 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "data.%s: no value (reads never show values: give it in data or stringData)",
                   (const char *) s->keep->pdata[0]);
      return FALSE;
    }
  return write_values (store_txn_conn (t), s, error) && store_txn_commit (t, error);
}

static gboolean
same_map (GHashTable *a, GHashTable *b)
{
  GHashTableIter it;
  gpointer k, v;
  if (g_hash_table_size (a) != g_hash_table_size (b))
    return FALSE;
  g_hash_table_iter_init (&it, a);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (g_strcmp0 (v, g_hash_table_lookup (b, k)) != 0 || !g_hash_table_contains (b, k))
      return FALSE;
  return TRUE;
}

static gboolean
same_secret (const CaraSecret *a, const CaraSecret *b)
{
  if (a->type != b->type || a->keys->len != b->keys->len || !same_map (a->metadata.labels, b->metadata.labels)
      || !same_map (a->metadata.annotations, b->metadata.annotations))
    return FALSE;
  for (guint i = 0; i < a->keys->len; i++)
    {
      const char *k = ((CaraSecretKey *) a->keys->pdata[i])->name;
      GBytes *va = g_hash_table_lookup (a->data, k), *vb = g_hash_table_lookup (b->data, k);
      if (va == NULL || vb == NULL || !g_bytes_equal (va, vb))
        return FALSE;
    }
  return TRUE;
}

gboolean
store_replace_secret (CaraSecret *s, char ***ret_users, GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);
  const char *p[] = { s->metadata.name };
  PGconn *c;
  if (t == NULL)
    return FALSE;
  c = store_txn_conn (t);
  g_autoptr (PGresult) cur = store_exec (c, "SELECT " SECRET_COLUMNS " FROM secrets WHERE name = $1 FOR UPDATE", 1, p,
                                         error);
  if (cur == NULL)
    return FALSE;
  if (PQntuples (cur) == 0)
    {
      set_not_found (s->metadata.name, error);
      return FALSE;
    }
  g_autoptr (CaraSecret) old = secret_from_row (cur, 0, error);
  if (old == NULL)
    return FALSE;
  const char *body_rv = s->metadata.resource_version;
  if (body_rv != NULL && *body_rv != '\0' && g_strcmp0 (body_rv, old->metadata.resource_version) != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT,
                   "operation conflicts with current resource state: secret \"%s\" has resourceVersion %s, not %s",
                   s->metadata.name, old->metadata.resource_version, body_rv);
      return FALSE;
    }
  g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (by_name, old->metadata.name, old);
  if (!add_values (c, by_name, "WHERE secret = $1", 1, p, TRUE, error))
    return FALSE;
  /* Keys listed without a value (a read put back) keep what is stored. */
  for (guint i = 0; i < s->keep->len; i++)
    {
      const char *k = s->keep->pdata[i];
      GBytes *v = g_hash_table_lookup (old->data, k);
      if (v == NULL)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                       "data.%s: no value, and secret %s has none stored under that key", k, s->metadata.name);
          return FALSE;
        }
      cara_secret_set (s, k, v);
    }
  if (s->keep->len > 0 && !cara_secret_validate (s, error))
    return FALSE;
  g_clear_pointer (&s->metadata.created_at, g_date_time_unref);
  s->metadata.created_at = g_date_time_ref (old->metadata.created_at);
  if (same_secret (old, s))
    {
      /* Nothing changed (apply of the same manifest): nothing written, nothing rolled. */
      g_free (s->metadata.resource_version);
      s->metadata.resource_version = g_strdup (old->metadata.resource_version);
      g_clear_pointer (&s->metadata.updated_at, g_date_time_unref);
      s->metadata.updated_at = g_date_time_ref (old->metadata.updated_at);
      if (ret_users)
        *ret_users = g_new0 (char *, 1);
      return TRUE;
    }
  /* The projects' rows are locked before the resourceVersion lock is taken, in the order every
   * other writer takes them (row, then resourceVersion): no deadlock with the scheduler. */
  g_auto (GStrv) users = users_in (c, s->metadata.name, NULL, error);
  g_autofree char *user_array = users ? store_text_array ((const char *const *) users) : NULL;
  const char *up[] = { user_array };
  g_autoptr (PGresult) locked = users ? store_exec (c, "SELECT 1 FROM projects WHERE name = ANY ($1) ORDER BY name FOR UPDATE",
                                                    1, up, error) : NULL;
  if (locked == NULL || !stamp (c, s, FALSE, error))
    return FALSE;
  g_autofree char *labels = store_map_to_text (s->metadata.labels);
  g_autofree char *annotations = store_map_to_text (s->metadata.annotations);
  g_autofree char *updated = store_datetime_to_usec (s->metadata.updated_at);
  const char *q[] = { s->metadata.name, cara_secret_type_to_string (s->type), s->metadata.resource_version, updated,
                      labels, annotations };
  g_autoptr (PGresult) r = store_exec (c, "UPDATE secrets SET type = $2, resource_version = $3, updated_at = cara_ts($4), "
                                       "labels = $5::jsonb, annotations = $6::jsonb WHERE name = $1", 6, q, error);
  if (r == NULL || !write_values (c, s, error))
    return FALSE;
  /* Every project using it gets a new resourceVersion: its agent rolls what uses the Secret. */
  if (!store_touch_projects (c, (const char *const *) users, error) || !store_txn_commit (t, error))
    return FALSE;
  if (ret_users)
    *ret_users = g_steal_pointer (&users);
  return TRUE;
}

gboolean
store_delete_secret (const char *name, GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);
  const char *p[] = { name };
  if (t == NULL)
    return FALSE;
  g_autoptr (PGresult) cur = store_exec (store_txn_conn (t), "SELECT 1 FROM secrets WHERE name = $1 FOR UPDATE", 1, p,
                                         error);
  if (cur == NULL)
    return FALSE;
  if (PQntuples (cur) == 0)
    {
      set_not_found (name, error);
      return FALSE;
    }
  g_auto (GStrv) users = users_in (store_txn_conn (t), name, NULL, error);
  if (users == NULL)
    return FALSE;
  if (users[0] != NULL)
    {
      g_autofree char *list = g_strjoinv (", ", users);
      g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT,
                   "operation conflicts with current resource state: secret \"%s\" is used by project%s %s", name,
                   users[1] ? "s" : "", list);
      return FALSE;
    }
  g_autoptr (PGresult) d = store_exec (store_txn_conn (t), "DELETE FROM secrets WHERE name = $1", 1, p, error);
  return d != NULL && store_txn_commit (t, error);
}

gboolean
store_reseal_secrets (guint *ret_count, GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);
  if (t == NULL)
    return FALSE;
  PGconn *c = store_txn_conn (t);
  g_autoptr (PGresult) r = store_exec (c, "SELECT secret, key, key_id, sealed FROM secret_values ORDER BY secret, key "
                                       "FOR UPDATE", 0, NULL, error);
  if (r == NULL)
    return FALSE;
  for (int i = 0; i < PQntuples (r); i++)
    {
      const char *name = PQgetvalue (r, i, 0), *key = PQgetvalue (r, i, 1);
      g_autoptr (GBytes) v = secret_keys_open (name, key, PQgetvalue (r, i, 2), PQgetvalue (r, i, 3), error);
      g_autofree char *key_id = NULL;
      g_autofree char *sealed = v ? secret_keys_seal (name, key, v, &key_id, error) : NULL;
      if (sealed == NULL)
        return FALSE;
      const char *q[] = { name, key, key_id, sealed };
      g_autoptr (PGresult) u = store_exec (c, "UPDATE secret_values SET key_id = $3, sealed = $4 WHERE secret = $1 AND key = $2",
                                           4, q, error);
      if (u == NULL)
        return FALSE;
    }
  if (!store_txn_commit (t, error))
    return FALSE;
  *ret_count = (guint) PQntuples (r);
  return TRUE;
}

gboolean
store_count_sealed_values (gint64 *ret_count, GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);
  if (t == NULL)
    return FALSE;
  g_autoptr (PGresult) r = store_exec (store_txn_conn (t), "SELECT count(*) FROM secret_values", 0, NULL, error);
  if (r == NULL)
    return FALSE;
  *ret_count = g_ascii_strtoll (PQgetvalue (r, 0, 0), NULL, 10);
  return store_txn_commit (t, error);
}
