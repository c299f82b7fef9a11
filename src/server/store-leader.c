/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "store-leader.h"

#include "cara-error.h"
#include "store-private.h"

/* Second key of the two-int advisory lock; the first is STORE_LOCK_KEY1 (store.h). */
#define LEADER_LOCK_KEY2 3

struct _StoreLeaderLock {
  PGconn *conn;
};

StoreLeaderLock *
store_leader_lock_new (void)
{
  return g_new0 (StoreLeaderLock, 1);
}

static gboolean
lost (StoreLeaderLock *lock, const char *what, GError **error)
{
  g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "%s: %s", what, PQerrorMessage (lock->conn));
  store_leader_release (lock);
  return FALSE;
}

gboolean
store_leader_try_acquire (StoreLeaderLock *lock, gboolean *ret_acquired, GError **error)
{
  g_autofree char *k1 = g_strdup_printf ("%d", STORE_LOCK_KEY1);
  g_autofree char *k2 = g_strdup_printf ("%d", LEADER_LOCK_KEY2);
  const char *params[] = { k1, k2 };
  g_autoptr (PGresult) r = NULL;

  if (lock->conn == NULL && (lock->conn = store_connect_new (error)) == NULL)
    return FALSE;
  r = PQexecParams (lock->conn, "SELECT pg_try_advisory_lock($1::int, $2::int)", 2, NULL, params, NULL,
                    NULL, 0);
  if (PQresultStatus (r) != PGRES_TUPLES_OK)
    return lost (lock, "pg_try_advisory_lock", error);
  *ret_acquired = g_str_equal (PQgetvalue (r, 0, 0), "t");
  return TRUE;
}

gboolean
store_leader_check (StoreLeaderLock *lock, GError **error)
{
  g_autoptr (PGresult) r = NULL;

  if (lock->conn == NULL)
    {
      g_set_error_literal (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "lock connection lost");
      return FALSE;
    }
  if (PQstatus (lock->conn) != CONNECTION_OK)
    return lost (lock, "lock connection lost", error);
  r = PQexec (lock->conn, "SELECT 1");
  if (PQresultStatus (r) != PGRES_TUPLES_OK)
    return lost (lock, "lock connection lost", error);
  return TRUE;
}

void
store_leader_release (StoreLeaderLock *lock)
{
  g_clear_pointer (&lock->conn, PQfinish);
}

void
store_leader_lock_free (StoreLeaderLock *lock)
{
  if (lock == NULL)
    return;
  store_leader_release (lock);
  g_free (lock);
}
