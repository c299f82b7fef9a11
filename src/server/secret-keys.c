/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-secrets"
#include "config.h"

#include <errno.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "cara-error.h"
#include "secret-keys.h"
#include "store.h"

static GMutex lock;
static char *key_path;
/* What the files held when last read: the current key first. */
static GPtrArray *ring; /* CaraCryptoKey* */
static char *ring_error; /* why the current key is missing, or NULL */
static char *ring_stamp; /* "ino:size:mtime" of the three files */

static char *
file_stamp (void)
{
  GString *s = g_string_new (NULL);
  static const char *const suffixes[] = { "", ".new", ".old" };
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (key_path, suffixes[i], NULL);
      GStatBuf st;
      if (g_stat (p, &st) == 0)
        g_string_append_printf (s, "%lu:%ld:%ld.%ld;", (unsigned long) st.st_ino, (long) st.st_size,
                                (long) st.st_mtim.tv_sec, (long) st.st_mtim.tv_nsec);
      else
        g_string_append (s, "-;");
    }
  return g_string_free (s, FALSE);
}

/* With the lock held. */
static void
ring_load (gboolean create)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_crypto_key_free);
  gboolean created = FALSE;
  CaraCryptoKey *k = cara_crypto_key_load (key_path, create, &created, &error);

  g_clear_pointer (&ring_error, g_free);
  if (k != NULL)
    g_ptr_array_add (keys, k);
  else
    ring_error = g_strdup (error->message);
  if (created)
    g_info ("Generated the secret key %s (key id %s)", key_path, k->id);
  GStatBuf st;
  if (k != NULL && !created && g_stat (key_path, &st) == 0 && (st.st_mode & 077) != 0)
    g_warning ("The secret key %s can be read by others (mode %04o); chmod 0600 it", key_path,
               (unsigned) (st.st_mode & 07777));
  static const char *const extra[] = { ".new", ".old" };
  for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
    {
      g_autofree char *p = g_strconcat (key_path, extra[i], NULL);
      CaraCryptoKey *x = g_file_test (p, G_FILE_TEST_EXISTS) ? cara_crypto_key_load (p, FALSE, NULL, NULL) : NULL;
      if (x != NULL)
        g_ptr_array_add (keys, x);
    }
  g_clear_pointer (&ring, g_ptr_array_unref);
  ring = g_steal_pointer (&keys);
  g_free (ring_stamp);
  ring_stamp = file_stamp ();
}

/* With the lock held: reloads when a file changed since. */
static void
ring_refresh (void)
{
  g_autofree char *now = file_stamp ();
  if (g_strcmp0 (now, ring_stamp) != 0)
    ring_load (FALSE);
}

gboolean
secret_keys_setup (const char *state_dir, gint64 n_sealed, GError **error)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  const char *env = g_getenv ("CARA_SECRET_KEY_FILE");

  g_free (key_path);
  key_path = env != NULL && *env != '\0' ? g_strdup (env) : g_build_filename (state_dir, "secret.key", NULL);
  /* A new key only for a database without values: one made beside sealed values would open none
   * of them and seal new ones apart from the rest, hiding a lost or misplaced key file. */
  gboolean missing = !g_file_test (key_path, G_FILE_TEST_EXISTS);
  ring_load (n_sealed == 0);
  if (ring_error != NULL && missing && n_sealed > 0)
    {
      g_free (ring_error);
      ring_error = g_strdup_printf ("the secret key file %s is missing and %" G_GINT64_FORMAT " stored values are "
                                    "sealed with a key: put the key file back (a new key would open none of them)",
                                    key_path, n_sealed);
    }
  if (ring_error != NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "%s", ring_error);
      return FALSE;
    }
  return TRUE;
}

const char *
secret_keys_path (void)
{
  return key_path;
}

static char *
aad_for (const char *name, const char *key)
{
  return g_strdup_printf ("caravanserai/secret/%s/%s", name, key);
}

char *
secret_keys_seal (const char *name, const char *key, GBytes *value, char **ret_key_id, GError **error)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  g_autofree char *aad = aad_for (name, key);
  gsize len = 0;
  const guint8 *data;

  if (key_path == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "secret values are unavailable: no secret key");
      return NULL;
    }
  ring_refresh ();
  if (ring_error != NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "secret values are unavailable: %s", ring_error);
      return NULL;
    }
  const CaraCryptoKey *k = g_ptr_array_index (ring, 0);
  data = g_bytes_get_data (value, &len);
  char *sealed = cara_crypto_seal (k, data, len, aad, error);
  if (sealed != NULL)
    *ret_key_id = g_strdup (k->id);
  return sealed;
}

GBytes *
secret_keys_open (const char *name, const char *key, const char *key_id, const char *sealed, GError **error)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  g_autofree char *aad = aad_for (name, key);
  g_autoptr (GError) local = NULL;

  if (key_path == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "secret values are unavailable: no secret key");
      return NULL;
    }
  ring_refresh ();
  for (guint i = 0; i < ring->len; i++)
    {
      const CaraCryptoKey *k = g_ptr_array_index (ring, i);
      if (g_strcmp0 (k->id, key_id) != 0)
        continue;
      GBytes *b = cara_crypto_open (k, sealed, aad, &local);
      if (b == NULL)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "secret %s, key %s: %s (the stored value is damaged)",
                       name, key, local->message);
          return NULL;
        }
      return b;
    }
  g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE,
               "secret %s, key %s: sealed with key id %s, which %s does not hold%s%s", name, key, key_id, key_path,
               ring_error ? ": " : " (wrong secret key file?)", ring_error ? ring_error : "");
  return NULL;
}

gboolean
secret_keys_rotate (guint *ret_count, GError **error)
{
  g_autofree char *new_path = NULL, *old_path = NULL;
  g_autoptr (CaraCryptoKey) fresh = NULL;
  g_autoptr (CaraCryptoKey) current = NULL;

  {
    G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
    if (ring_error != NULL)
      {
        g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot rotate: %s", ring_error);
        return FALSE;
      }
    new_path = g_strconcat (key_path, ".new", NULL);
    old_path = g_strconcat (key_path, ".old", NULL);
    current = cara_crypto_key_load (key_path, FALSE, NULL, error);
    if (current == NULL)
      return FALSE;
    /* The new key is on disk before any value is sealed under it: a crash at any point leaves
     * every value openable. */
    fresh = cara_crypto_key_generate (error);
    if (fresh == NULL || !cara_crypto_key_save (fresh, new_path, error))
      return FALSE;
    ring_load (FALSE);
    /* Seal under the new key from here on: it goes first. */
    for (guint i = 0; i < ring->len; i++)
      if (g_strcmp0 (((CaraCryptoKey *) ring->pdata[i])->id, fresh->id) == 0)
        {
          gpointer k = ring->pdata[i];
          ring->pdata[i] = ring->pdata[0];
          ring->pdata[0] = k;
        }
  }
  if (!store_reseal_secrets (ret_count, error))
    {
      g_unlink (new_path);
      return FALSE;
    }
  if (!cara_crypto_key_save (current, old_path, error))
    return FALSE;
  if (g_rename (new_path, key_path) != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot rename %s to %s: %s", new_path, key_path,
                   g_strerror (errno));
      return FALSE;
    }
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  ring_load (FALSE);
  return TRUE;
}
