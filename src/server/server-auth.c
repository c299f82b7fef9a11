/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-server"
#include "config.h"

#include <string.h>

#include "cara-config.h"
#include "cara-error.h"
#include "cara-token.h"
#include "server-auth.h"
#include "server-token-cache.h"
#include "store.h"
#include "token-miss-cache.h"

#define GROUP "server"

/* Unknown bearer tokens remembered for a short while (each costs a query otherwise); short, since
 * another replica may bind a token meanwhile. */
#define MISS_CACHE_ENTRIES 4096
#define MISS_CACHE_TTL_USEC (5 * G_USEC_PER_SEC)
static TokenMissCache *misses;

typedef struct {
  char *admin;
  char *join;
  char **read; /* may be NULL */
} Tokens;

struct _ServerAuth {
  gboolean enabled;
  char *state_dir;
  GMutex lock; /* guards @tokens against a reload (SIGHUP) */
  Tokens *tokens;
};

static void
tokens_free (Tokens *t)
{
  if (t == NULL)
    return;
  g_free (t->admin);
  g_free (t->join);
  g_strfreev (t->read);
  g_free (t);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Tokens, tokens_free)

void
server_auth_free (ServerAuth *a)
{
  if (a == NULL)
    return;
  tokens_free (a->tokens);
  g_free (a->state_dir);
  g_mutex_clear (&a->lock);
  g_free (a);
}

/* A token typed into a configuration must be hard to guess: 32 characters at least. */
static gboolean
configured_token_check (const char *token, const char *what, GError **error)
{
  if (strlen (token) < CARA_CONFIGURED_TOKEN_MIN_LENGTH)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "%s is too short: a configured token needs at least %d characters (it has %zu); "
                   "make one with: openssl rand -hex 32", what, CARA_CONFIGURED_TOKEN_MIN_LENGTH, strlen (token));
      return FALSE;
    }
  return cara_token_check (token, what, error);
}

/* The configured token, else the one in <state dir>/<name>.token (generated when missing). */
static char *
token_setting (GKeyFile *kf, const char *state_dir, const char *name, const char *key, const char *env,
               GError **error)
{
  g_autofree char *t = cara_config_string (kf, GROUP, key, env, NULL, NULL);
  if (t != NULL && *t != '\0')
    {
      g_autofree char *what = g_strdup_printf ("%s (%s)", env, key);
      return configured_token_check (t, what, error) ? g_steal_pointer (&t) : NULL;
    }
  g_autofree char *path = g_strdup_printf ("%s/%s.token", state_dir, name);
  gboolean created = FALSE;
  char *token = cara_token_load_or_create (path, &created, error);
  if (created)
    g_message ("Generated the %s token in %s", name, path);
  return token;
}

static Tokens *
tokens_load (GKeyFile *kf, const char *state_dir, GError **error)
{
  g_autoptr (Tokens) t = g_new0 (Tokens, 1);
  if ((t->admin = token_setting (kf, state_dir, "admin", "admin_token", "CARA_ADMIN_TOKEN", error)) == NULL
      || (t->join = token_setting (kf, state_dir, "join", "join_token", "CARA_JOIN_TOKEN", error)) == NULL)
    return NULL;
  g_autofree char *read = cara_config_string (kf, GROUP, "read_tokens", "CARA_READ_TOKENS", NULL, NULL);
  if (read != NULL && *read != '\0')
    {
      t->read = g_strsplit (read, ",", -1);
      for (guint i = 0; t->read[i]; i++)
        if (!configured_token_check (g_strstrip (t->read[i]), "CARA_READ_TOKENS (read_tokens)", error))
          return NULL;
    }
  return g_steal_pointer (&t);
}

ServerAuth *
server_auth_new (GKeyFile *kf, const char *state_dir, GError **error)
{
  g_autoptr (ServerAuth) a = g_new0 (ServerAuth, 1);
  g_mutex_init (&a->lock);
  a->state_dir = g_strdup (state_dir);
  g_autofree char *mode = cara_config_string (kf, GROUP, "auth", "CARA_AUTH", NULL, "token");
  if (g_strcmp0 (mode, "none") == 0)
    {
      g_warning ("Authorisation is off (CARA_AUTH=none): anyone reaching the API controls the cluster");
      return g_steal_pointer (&a);
    }
  if (g_strcmp0 (mode, "token") != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "CARA_AUTH: unknown mode \"%s\" (token or none)", mode);
      return NULL;
    }
  a->enabled = TRUE;
  if ((a->tokens = tokens_load (kf, state_dir, error)) == NULL)
    return NULL;
  if (misses == NULL)
    misses = token_miss_cache_new (MISS_CACHE_ENTRIES, MISS_CACHE_TTL_USEC);
  return g_steal_pointer (&a);
}

gboolean
server_auth_reload (ServerAuth *a, GKeyFile *kf, GError **error)
{
  if (!a->enabled)
    return TRUE;
  Tokens *t = tokens_load (kf, a->state_dir, error);
  if (t == NULL)
    return FALSE;
  g_mutex_lock (&a->lock);
  Tokens *old = a->tokens;
  a->tokens = t;
  g_mutex_unlock (&a->lock);
  tokens_free (old);
  return TRUE;
}

gboolean
server_auth_enabled (ServerAuth *a)
{
  return a->enabled;
}

typedef enum { CALLER_NONE, CALLER_READ, CALLER_JOIN, CALLER_NODE, CALLER_ADMIN } Caller;

/* Which of the configured tokens @given is (not a node token: those live in the database). */
static Caller
match_token (ServerAuth *a, const char *given)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&a->lock);
  const Tokens *t = a->tokens;
  if (cara_token_equal (given, t->admin))
    return CALLER_ADMIN;
  if (cara_token_equal (given, t->join))
    return CALLER_JOIN;
  for (guint i = 0; t->read && t->read[i]; i++)
    if (cara_token_equal (given, t->read[i]))
      return CALLER_READ;
  return CALLER_NONE;
}

/* The request data of a join-token request (a node token's request carries its node's name). */
static char join_marker[] = "join token";
/* ... and of a read-only token's (an admin's, or any with authorisation off, carries none). */
static char read_marker[] = "read-only token";

static gboolean
forbid (GError **error, CaraHttpRequest *req, const char *who)
{
  g_set_error (error, CARA_ERROR, CARA_ERROR_FORBIDDEN, "%s may not %s %s", who, cara_http_request_get_method (req),
               cara_http_request_get_path (req));
  return FALSE;
}

/* A node token's reach: the route's scope says where the node it concerns is named. */
static gboolean
authorize_node (CaraHttpRequest *req, const CaraHttpRoute *route, const char *node, GError **error)
{
  g_autofree char *who = g_strdup_printf ("the token of node %s", node);
  const char *named = NULL;
  switch (route->role == CARA_HTTP_ROLE_ADMIN ? CARA_HTTP_NODE_NONE : route->node_scope)
    {
    case CARA_HTTP_NODE_HANDLER:
      return TRUE;
    case CARA_HTTP_NODE_PATH:
      named = cara_http_request_get_param (req, "name");
      break;
    case CARA_HTTP_NODE_QUERY:
      named = cara_http_request_get_query (req, "nodeRef");
      if (g_strcmp0 (named, node) != 0)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FORBIDDEN,
                       "%s may only list the projects placed on that node (?nodeRef=%s)", who, node);
          return FALSE;
        }
      return TRUE;
    case CARA_HTTP_NODE_NONE:
    default:
      return forbid (error, req, who);
    }
  if (g_strcmp0 (named, node) != 0)
    return forbid (error, req, who);
  return TRUE;
}

gboolean
server_auth_authorize (CaraHttpRequest *req, const CaraHttpRoute *route, gpointer user_data, GError **error)
{
  ServerAuth *a = user_data;
  if (!a->enabled || route->role == CARA_HTTP_ROLE_PUBLIC)
    return TRUE;
  const char *header = cara_http_request_get_header (req, "Authorization");
  const char *given = header != NULL && g_ascii_strncasecmp (header, "Bearer ", 7) == 0 ? header + 7 : NULL;
  Caller caller = given ? match_token (a, given) : CALLER_NONE;
  g_autofree char *node = NULL;
  if (caller == CALLER_NONE && given != NULL && *given != '\0')
    {
      g_autoptr (GError) local = NULL;
      g_autofree char *hash = cara_node_token_hash (given);
      gint64 now = g_get_monotonic_time ();
      guint64 generation = server_token_cache_generation ();
      if (misses != NULL && token_miss_cache_contains (misses, hash, now))
        ; /* nobody's a moment ago: no query */
      else if ((node = server_token_cache_lookup (hash)) != NULL)
        caller = CALLER_NODE;
      else if (store_find_node_by_token_hash (hash, &node, &local))
        {
          caller = CALLER_NODE;
          server_token_cache_add (hash, node, generation);
        }
      else if (!g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      else if (misses != NULL)
        token_miss_cache_add (misses, hash, now);
    }
  if (caller == CALLER_NONE)
    {
      g_set_error_literal (error, CARA_ERROR, CARA_ERROR_UNAUTHORIZED,
                           header ? "invalid bearer token" : "a bearer token is required (Authorization: Bearer ...)");
      return FALSE;
    }
  switch (caller)
    {
    case CALLER_ADMIN:
      return TRUE;
    case CALLER_READ:
      if (route->role != CARA_HTTP_ROLE_READ)
        return forbid (error, req, "the read-only token");
      cara_http_request_set_data (req, read_marker, NULL);
      return TRUE;
    case CALLER_JOIN:
      if (route->role == CARA_HTTP_ROLE_JOIN)
        {
          cara_http_request_set_data (req, join_marker, NULL);
          return TRUE;
        }
      g_set_error (error, CARA_ERROR, CARA_ERROR_FORBIDDEN,
                   "the join token only registers nodes (POST /api/v1/nodes); an agent then uses its node "
                   "token: it may not %s %s", cara_http_request_get_method (req), cara_http_request_get_path (req));
      return FALSE;
    case CALLER_NODE:
      if (!authorize_node (req, route, node, error))
        return FALSE;
      cara_http_request_set_data (req, g_steal_pointer (&node), g_free);
      return TRUE;
    case CALLER_NONE:
    default:
      return FALSE;
    }
}

const char *
server_auth_request_node (CaraHttpRequest *req)
{
  const char *data = cara_http_request_get_data (req);
  return data == join_marker || data == read_marker ? NULL : data;
}

const char *
server_auth_request_role (CaraHttpRequest *req)
{
  const char *data = cara_http_request_get_data (req);
  if (data == NULL)
    return "admin";
  if (data == read_marker)
    return "read";
  if (data == join_marker)
    return "join";
  return "node";
}

gboolean
server_auth_request_is_join (CaraHttpRequest *req)
{
  return cara_http_request_get_data (req) == join_marker;
}

gboolean
server_auth_check_node (CaraHttpRequest *req, const char *node, const char *what, GError **error)
{
  const char *caller = server_auth_request_node (req);
  if (caller == NULL || g_strcmp0 (caller, node) == 0)
    return TRUE;
  g_set_error (error, CARA_ERROR, CARA_ERROR_FORBIDDEN, "the token of node %s may not act for %s", caller, what);
  return FALSE;
}

void
server_auth_token_bound (const char *token_hash)
{
  if (misses != NULL && token_hash != NULL)
    token_miss_cache_forget (misses, token_hash);
}
