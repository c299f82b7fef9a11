/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-server"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cara-config.h"
#include "cara-error.h"
#include "server-auth.h"

#define GROUP "server"

struct _ServerAuth {
  gboolean enabled;
  char *admin;
  char *join;
  char **read; /* may be NULL */
};

void
server_auth_free (ServerAuth *a)
{
  if (a == NULL)
    return;
  g_free (a->admin);
  g_free (a->join);
  g_strfreev (a->read);
  g_free (a);
}

static char *
random_token (GError **error)
{
  guint8 bytes[32];
  if (getrandom (bytes, sizeof bytes, 0) != (ssize_t) sizeof bytes)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "getrandom: %s", g_strerror (errno));
      return NULL;
    }
  GString *s = g_string_sized_new (2 * sizeof bytes);
  for (gsize i = 0; i < sizeof bytes; i++)
    g_string_append_printf (s, "%02x", bytes[i]);
  return g_string_free (s, FALSE);
}

/* The token in <state dir>/<name>.token, created (0600) when missing. */
static char *
token_from_file (const char *state_dir, const char *name, GError **error)
{
  g_autofree char *path = g_strdup_printf ("%s/%s.token", state_dir, name);
  g_autofree char *contents = NULL;
  if (g_file_get_contents (path, &contents, NULL, NULL))
    {
      g_strstrip (contents);
      if (*contents != '\0')
        return g_steal_pointer (&contents);
    }
  g_autofree char *token = random_token (error);
  if (token == NULL)
    return NULL;
  if (g_mkdir_with_parents (state_dir, 0700) != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Cannot create %s: %s", state_dir, g_strerror (errno));
      return NULL;
    }
  /* Written aside and renamed: a reader never sees a half-written token. */
  g_autofree char *tmp = g_strdup_printf ("%s.XXXXXX", path);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Cannot write %s: %s", path, g_strerror (errno));
      return NULL;
    }
  g_autofree char *line = g_strdup_printf ("%s\n", token);
  gboolean ok = write (fd, line, strlen (line)) == (ssize_t) strlen (line);
  close (fd);
  if (!ok || g_rename (tmp, path) != 0)
    {
      g_unlink (tmp);
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Cannot write %s: %s", path, g_strerror (errno));
      return NULL;
    }
  g_message ("Generated the %s token in %s", name, path);
  return g_steal_pointer (&token);
}

ServerAuth *
server_auth_new (GKeyFile *kf, const char *state_dir, GError **error)
{
  g_autoptr (ServerAuth) a = g_new0 (ServerAuth, 1);
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
  a->admin = cara_config_string (kf, GROUP, "admin_token", "CARA_ADMIN_TOKEN", NULL, NULL);
  a->join = cara_config_string (kf, GROUP, "join_token", "CARA_JOIN_TOKEN", NULL, NULL);
  if (a->admin == NULL || *a->admin == '\0')
    {
      g_free (a->admin);
      if ((a->admin = token_from_file (state_dir, "admin", error)) == NULL)
        return NULL;
    }
  if (a->join == NULL || *a->join == '\0')
    {
      g_free (a->join);
      if ((a->join = token_from_file (state_dir, "join", error)) == NULL)
        return NULL;
    }
  g_autofree char *read = cara_config_string (kf, GROUP, "read_tokens", "CARA_READ_TOKENS", NULL, NULL);
  if (read != NULL && *read != '\0')
    {
      a->read = g_strsplit (read, ",", -1);
      for (guint i = 0; a->read[i]; i++)
        g_strstrip (a->read[i]);
    }
  return g_steal_pointer (&a);
}

gboolean
server_auth_enabled (ServerAuth *a)
{
  return a->enabled;
}

/* Constant-time comparison, so response timing reveals nothing about a token. */
static gboolean
token_equal (const char *given, const char *expected)
{
  if (expected == NULL || *expected == '\0')
    return FALSE;
  gsize a = strlen (given), b = strlen (expected);
  guint8 diff = a != b;
  for (gsize i = 0; i < a; i++)
    diff |= (guint8) (given[i] ^ expected[i % b]);
  return diff == 0;
}

typedef enum { CALLER_NONE, CALLER_READ, CALLER_AGENT, CALLER_ADMIN } Caller;

gboolean
server_auth_authorize (CaraHttpRequest *req, CaraHttpRole role, gpointer user_data, GError **error)
{
  ServerAuth *a = user_data;
  if (!a->enabled || role == CARA_HTTP_ROLE_PUBLIC)
    return TRUE;
  const char *header = cara_http_request_get_header (req, "Authorization");
  Caller caller = CALLER_NONE;
  if (header != NULL && g_ascii_strncasecmp (header, "Bearer ", 7) == 0)
    {
      const char *given = header + 7;
      if (token_equal (given, a->admin))
        caller = CALLER_ADMIN;
      else if (token_equal (given, a->join))
        caller = CALLER_AGENT;
      else
        for (guint i = 0; a->read && a->read[i]; i++)
          if (token_equal (given, a->read[i]))
            caller = CALLER_READ;
    }
  if (caller == CALLER_NONE)
    {
      g_set_error_literal (error, CARA_ERROR, CARA_ERROR_UNAUTHORIZED,
                           header ? "invalid bearer token" : "a bearer token is required (Authorization: Bearer ...)");
      return FALSE;
    }
  gboolean allowed = caller == CALLER_ADMIN
                  || (role == CARA_HTTP_ROLE_READ)
                  || (role == CARA_HTTP_ROLE_AGENT && caller == CALLER_AGENT);
  if (!allowed)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FORBIDDEN, "the %s token may not %s %s",
                   caller == CALLER_AGENT ? "join" : "read-only", cara_http_request_get_method (req),
                   cara_http_request_get_path (req));
      return FALSE;
    }
  return TRUE;
}
