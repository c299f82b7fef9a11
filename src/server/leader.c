/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "leader.h"

#include "cara-cleanup.h"
#include "cara-error.h"
#include "store.h"

gboolean
leader_try_acquire (PGconn *conn, gboolean *ret_acquired, GError **error)
{
  g_autofree char *k1 = g_strdup_printf ("%d", STORE_LOCK_KEY1);
  g_autofree char *k2 = g_strdup_printf ("%d", LEADER_LOCK_KEY2);
  const char *params[] = { k1, k2 };
  g_autoptr (PGresult) r = PQexecParams (conn, "SELECT pg_try_advisory_lock($1::int, $2::int)", 2, NULL,
                                         params, NULL, NULL, 0);

  if (PQresultStatus (r) != PGRES_TUPLES_OK)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "pg_try_advisory_lock: %s",
                   PQerrorMessage (conn));
      return FALSE;
    }
  *ret_acquired = g_str_equal (PQgetvalue (r, 0, 0), "t");
  return TRUE;
}

gboolean
leader_check (PGconn *conn, GError **error)
{
  g_autoptr (PGresult) r = NULL;

  if (PQstatus (conn) != CONNECTION_OK)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "lock connection lost: %s",
                   PQerrorMessage (conn));
      return FALSE;
    }
  r = PQexec (conn, "SELECT 1");
  if (PQresultStatus (r) != PGRES_TUPLES_OK)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "lock connection lost: %s",
                   PQerrorMessage (conn));
      return FALSE;
    }
  return TRUE;
}
