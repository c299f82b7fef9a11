/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "cara-crypto.h"
#include "cara-error.h"

static void
set_id (CaraCryptoKey *k)
{
  g_autoptr (GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (c, k->key, sizeof k->key);
  g_strlcpy (k->id, g_checksum_get_string (c), sizeof k->id);
}

void
cara_crypto_key_free (CaraCryptoKey *k)
{
  if (k == NULL)
    return;
  gnutls_memset (k, 0, sizeof *k);
  g_free (k);
}

CaraCryptoKey *
cara_crypto_key_generate (GError **error)
{
  g_autoptr (CaraCryptoKey) k = g_new0 (CaraCryptoKey, 1);
  int rc = gnutls_rnd (GNUTLS_RND_KEY, k->key, sizeof k->key);
  if (rc < 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot make a secret key: %s", gnutls_strerror (rc));
      return NULL;
    }
  set_id (k);
  return g_steal_pointer (&k);
}

static gboolean
parse_key (const char *data, gsize len, CaraCryptoKey *k)
{
  if (len == CARA_CRYPTO_KEY_SIZE)
    {
      memcpy (k->key, data, len);
      return TRUE;
    }
  while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
    len--;
  if (len != 2 * CARA_CRYPTO_KEY_SIZE)
    return FALSE;
  for (gsize i = 0; i < CARA_CRYPTO_KEY_SIZE; i++)
    {
      int hi = g_ascii_xdigit_value (data[2 * i]), lo = g_ascii_xdigit_value (data[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return FALSE;
      k->key[i] = (guint8) (hi << 4 | lo);
    }
  return TRUE;
}

gboolean
cara_crypto_key_save (const CaraCryptoKey *k, const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot create %s: %s", dir, g_strerror (errno));
      return FALSE;
    }
  g_autofree char *tmp = g_strdup_printf ("%s.XXXXXX", path);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot write %s: %s", path, g_strerror (errno));
      return FALSE;
    }
  char hex[2 * CARA_CRYPTO_KEY_SIZE + 1];
  for (gsize i = 0; i < CARA_CRYPTO_KEY_SIZE; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", k->key[i]);
  hex[2 * CARA_CRYPTO_KEY_SIZE] = '\n';
  gboolean ok = write (fd, hex, sizeof hex) == (ssize_t) sizeof hex && fsync (fd) == 0;
  int saved = errno;
  gnutls_memset (hex, 0, sizeof hex);
  if (close (fd) != 0 && ok)
    {
      ok = FALSE;
      saved = errno;
    }
  if (!ok || g_rename (tmp, path) != 0)
    {
      if (ok)
        saved = errno;
      g_unlink (tmp);
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot write %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

CaraCryptoKey *
cara_crypto_key_load (const char *path, gboolean create, gboolean *ret_created, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, &local))
    {
      if (!create || !g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot read the secret key: %s", local->message);
          return NULL;
        }
      g_autoptr (CaraCryptoKey) k = cara_crypto_key_generate (error);
      if (k == NULL || !cara_crypto_key_save (k, path, error))
        return NULL;
      if (ret_created)
        *ret_created = TRUE;
      return g_steal_pointer (&k);
    }
  g_autoptr (CaraCryptoKey) k = g_new0 (CaraCryptoKey, 1);
  gboolean ok = parse_key (data, len, k);
  gnutls_memset (data, 0, len);
  if (!ok)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED,
                   "%s is not a secret key (32 bytes, or 64 hexadecimal digits)", path);
      return NULL;
    }
  set_id (k);
  if (ret_created)
    *ret_created = FALSE;
  return g_steal_pointer (&k);
}

typedef gnutls_aead_cipher_hd_t CaraAead;
static void
aead_free (CaraAead h)
{
  if (h)
    gnutls_aead_cipher_deinit (h);
}

static CaraAead
aead_new (const CaraCryptoKey *k, GError **error)
{
  gnutls_datum_t key = { (unsigned char *) k->key, CARA_CRYPTO_KEY_SIZE };
  CaraAead h = NULL;
  int rc = gnutls_aead_cipher_init (&h, GNUTLS_CIPHER_AES_256_GCM, &key);
  if (rc < 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "AES-256-GCM: %s", gnutls_strerror (rc));
      return NULL;
    }
  return h;
}

char *
cara_crypto_seal (const CaraCryptoKey *k, const guint8 *data, gsize len, const char *aad, GError **error)
{
  CaraAead h = aead_new (k, error);
  if (h == NULL)
    return NULL;
  gsize out_len = len + CARA_CRYPTO_TAG_SIZE;
  g_autofree guint8 *buf = g_malloc (CARA_CRYPTO_NONCE_SIZE + out_len);
  int rc = gnutls_rnd (GNUTLS_RND_NONCE, buf, CARA_CRYPTO_NONCE_SIZE);
  if (rc >= 0)
    rc = gnutls_aead_cipher_encrypt (h, buf, CARA_CRYPTO_NONCE_SIZE, aad, aad ? strlen (aad) : 0,
                                     CARA_CRYPTO_TAG_SIZE, data, len, buf + CARA_CRYPTO_NONCE_SIZE, &out_len);
  aead_free (h);
  if (rc < 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot encrypt: %s", gnutls_strerror (rc));
      return NULL;
    }
  return g_base64_encode (buf, CARA_CRYPTO_NONCE_SIZE + out_len);
}

GBytes *
cara_crypto_open (const CaraCryptoKey *k, const char *sealed, const char *aad, GError **error)
{
  gsize len = 0;
  g_autofree guint8 *buf = g_base64_decode (sealed, &len);
  if (len < CARA_CRYPTO_NONCE_SIZE + CARA_CRYPTO_TAG_SIZE)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot decrypt: value too short");
      return NULL;
    }
  CaraAead h = aead_new (k, error);
  if (h == NULL)
    return NULL;
  gsize out_len = len - CARA_CRYPTO_NONCE_SIZE;
  guint8 *out = g_malloc (out_len + 1);
  int rc = gnutls_aead_cipher_decrypt (h, buf, CARA_CRYPTO_NONCE_SIZE, aad, aad ? strlen (aad) : 0,
                                       CARA_CRYPTO_TAG_SIZE, buf + CARA_CRYPTO_NONCE_SIZE,
                                       len - CARA_CRYPTO_NONCE_SIZE, out, &out_len);
  aead_free (h);
  if (rc < 0)
    {
      g_free (out);
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot decrypt: %s", gnutls_strerror (rc));
      return NULL;
    }
  return g_bytes_new_take (out, out_len);
}
