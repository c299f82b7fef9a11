/* SPDX-License-Identifier: Apache-2.0 */
/* Node credentials (SPEC §9): which token hash is bound to which node, and the secret the server's
 * relays present to that node's agent.  Binding changes no resourceVersion and sends no event:
 * the credential is not part of the Node object. */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "cara-error.h"
#include "store-private.h"

static void
set_token_taken (GError **error)
{
  g_set_error_literal (error, CARA_ERROR, CARA_ERROR_CONFLICT,
                       "this node token is already bound to another node: give every node its own token");
}

gboolean
store_node_credential_write (PGconn *c, const char *name, const StoreNodeCredential *cred, GError **error)
{
  const char *p[] = { name, cred->token_hash, cred->agent_secret };
  g_autoptr (GError) local = NULL;
  g_autoptr (PGresult) r = store_exec (c, "UPDATE nodes SET token_hash = $2, agent_secret = $3 WHERE name = $1",
                                       G_N_ELEMENTS (p), p, &local);
  if (r != NULL)
    return TRUE;
  if (g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT))
    set_token_taken (error);
  else
    g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

gboolean
store_bind_node_credential (const char *name, const StoreNodeCredential *cred, gboolean claim_unbound,
                            GError **error)
{
  g_autoptr (StoreTxn) t = store_txn_begin (NULL, error);
  g_autoptr (PGresult) r = NULL;
  const char *p[] = { name };

  if (t == NULL)
    return FALSE;
  r = store_exec (store_txn_conn (t), "SELECT token_hash FROM nodes WHERE name = $1 FOR UPDATE", 1, p, error);
  if (r == NULL)
    return FALSE;
  if (PQntuples (r) == 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "node not found: %s: resource not found", name);
      return FALSE;
    }
  if (!PQgetisnull (r, 0, 0) && g_strcmp0 (PQgetvalue (r, 0, 0), cred->token_hash) != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FORBIDDEN,
                   "node %s is registered with another node token; if this machine replaces it, delete the node "
                   "first (caractrl delete node %s)", name, name);
      return FALSE;
    }
  if (PQgetisnull (r, 0, 0) && !claim_unbound)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FORBIDDEN,
                   "node %s exists without a node token (registered while authorisation was off); the join "
                   "token may only create new nodes: an administrator binds a token to it with "
                   "caractrl node reset-token %s", name, name);
      return FALSE;
    }
  return store_node_credential_write (store_txn_conn (t), name, cred, error) && store_txn_commit (t, error);
}

gboolean
store_reset_node_credential (const char *name, const StoreNodeCredential *cred, GError **error)
{
  const char *p[] = { name, cred->token_hash, cred->agent_secret };
  g_autoptr (GError) local = NULL;
  g_autoptr (PGresult) r = store_exec_once ("UPDATE nodes SET token_hash = $2, agent_secret = $3 WHERE name = $1",
                                            G_N_ELEMENTS (p), p, &local);
  if (r == NULL)
    {
      if (g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT))
        set_token_taken (error);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (g_strcmp0 (PQcmdTuples (r), "0") == 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "node %s not found", name);
      return FALSE;
    }
  return TRUE;
}

gboolean
store_find_node_by_token_hash (const char *token_hash, char **ret_name, GError **error)
{
  const char *p[] = { token_hash };
  g_autoptr (PGresult) r = store_exec_once ("SELECT name FROM nodes WHERE token_hash = $1", 1, p, error);
  if (r == NULL)
    return FALSE;
  if (PQntuples (r) == 0)
    {
      g_set_error_literal (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "no node has this token");
      return FALSE;
    }
  *ret_name = g_strdup (PQgetvalue (r, 0, 0));
  return TRUE;
}

gboolean
store_get_node_agent_secret (const char *name, char **ret_secret, GError **error)
{
  const char *p[] = { name };
  g_autoptr (PGresult) r = store_exec_once ("SELECT agent_secret FROM nodes WHERE name = $1", 1, p, error);
  if (r == NULL)
    return FALSE;
  *ret_secret = PQntuples (r) > 0 && !PQgetisnull (r, 0, 0) ? g_strdup (PQgetvalue (r, 0, 0)) : NULL;
  return TRUE;
}
