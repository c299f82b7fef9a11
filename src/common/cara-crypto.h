/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Secret values at rest (SPEC §12): AES-256-GCM through GnuTLS, a random 96-bit nonce per value,
 * a 32-byte key kept in a 0600 file, and the key's id stored with every value so that a key ring
 * (the current key and one being rotated to) can open what either sealed. */

#include <glib.h>

#define CARA_CRYPTO_KEY_SIZE 32
#define CARA_CRYPTO_NONCE_SIZE 12
#define CARA_CRYPTO_TAG_SIZE 16

typedef struct {
  guint8 key[CARA_CRYPTO_KEY_SIZE];
  char id[17]; /* 16 hex digits of SHA-256 (key): names the key, reveals nothing of it */
} CaraCryptoKey;

void cara_crypto_key_free (CaraCryptoKey *k); /* wipes it */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraCryptoKey, cara_crypto_key_free)

/* A new random key. */
CaraCryptoKey *cara_crypto_key_generate (GError **error);
/* The key in @path (32 raw bytes, or 64 hex digits and an optional newline).  Absent and
 * @create: a new key is written there (mode 0600, directory made 0700) and *@ret_created set.
 * A file that is not a key is an error naming the path, never a key. */
CaraCryptoKey *cara_crypto_key_load (const char *path, gboolean create, gboolean *ret_created, GError **error);
/* Writes @k to @path (0600, written aside and renamed). */
gboolean cara_crypto_key_save (const CaraCryptoKey *k, const char *path, GError **error);

/* Seals @data: base64 (nonce || ciphertext || tag).  @aad (may be NULL) is authenticated, not
 * stored: the same @aad must be given to open it (it binds a value to its secret and key). */
char *cara_crypto_seal (const CaraCryptoKey *k, const guint8 *data, gsize len, const char *aad, GError **error);
/* Opens what cara_crypto_seal made with the same key and @aad; anything else (another key, a
 * changed byte, another @aad) is CARA_ERROR_FAILED "cannot decrypt", never garbage. */
GBytes *cara_crypto_open (const CaraCryptoKey *k, const char *sealed, const char *aad, GError **error);
