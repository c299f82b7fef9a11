/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cara-error.h"
#include "cara-token.h"

char *
cara_token_generate (GError **error)
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

char *
cara_token_load_or_create (const char *path, gboolean *ret_created, GError **error)
{
  g_autofree char *contents = NULL;
  if (g_file_get_contents (path, &contents, NULL, NULL))
    {
      g_strstrip (contents);
      if (*contents != '\0')
        {
          if (ret_created)
            *ret_created = FALSE;
          return g_steal_pointer (&contents);
        }
    }
  g_autofree char *token = cara_token_generate (error);
  if (token == NULL)
    return NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Cannot create %s: %s", dir, g_strerror (errno));
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
  gboolean ok = write (fd, line, strlen (line)) == (ssize_t) strlen (line) && fsync (fd) == 0;
  int saved = errno;
  close (fd);
  if (!ok || g_rename (tmp, path) != 0)
    {
      saved = ok ? errno : saved;
      g_unlink (tmp);
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Cannot write %s: %s", path, g_strerror (saved));
      return NULL;
    }
  if (ret_created)
    *ret_created = TRUE;
  return g_steal_pointer (&token);
}

gboolean
cara_token_equal (const char *given, const char *expected)
{
  if (given == NULL || expected == NULL || *expected == '\0')
    return FALSE;
  /* Compare fixed-size digests, so that neither the time nor anything else depends on where the
   * tokens differ or on how long the expected one is. */
  guint8 a[32], b[32];
  gsize alen = sizeof a, blen = sizeof b;
  g_autoptr (GChecksum) ca = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr (GChecksum) cb = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (ca, (const guchar *) given, -1);
  g_checksum_update (cb, (const guchar *) expected, -1);
  g_checksum_get_digest (ca, a, &alen);
  g_checksum_get_digest (cb, b, &blen);
  guint8 diff = 0;
  for (gsize i = 0; i < sizeof a; i++)
    diff |= (guint8) (a[i] ^ b[i]);
  return diff == 0;
}

gboolean
cara_token_check (const char *token, const char *what, GError **error)
{
  gsize len = token ? strlen (token) : 0;
  if (len < CARA_TOKEN_MIN_LENGTH || len > CARA_TOKEN_MAX_LENGTH)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s must be %d to %d characters long (it has %zu)", what,
                   CARA_TOKEN_MIN_LENGTH, CARA_TOKEN_MAX_LENGTH, len);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isgraph (token[i]))
      {
        g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                     "%s may hold only printable ASCII characters without spaces", what);
        return FALSE;
      }
  return TRUE;
}

char *
cara_node_token_hash (const char *node_token)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, node_token, -1);
}

char *
cara_node_token_agent_secret (const char *node_token)
{
  static const char purpose[] = "caravanserai agent API v1";
  return g_compute_hmac_for_data (G_CHECKSUM_SHA256, (const guchar *) node_token, strlen (node_token),
                                  (const guchar *) purpose, sizeof purpose - 1);
}
