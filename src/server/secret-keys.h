/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The key ring of Secret values at rest (SPEC §12): secret.key in the state directory, or
 * $CARA_SECRET_KEY_FILE, generated (0600) on first start.  Beside it, while a rotation runs and
 * after, "<file>.new" and "<file>.old" are in the ring too, so that every value opens whichever of
 * them sealed it.  The files are looked at again when they change (a rotation by another
 * process), so running servers keep working across `cara-server --rotate-secret-key`.
 *
 * A key that cannot be read never stops the server: sealing and opening then fail with
 * CARA_ERROR_UNAVAILABLE and a message naming the file (never a value). */

#include <glib.h>

#include "cara-crypto.h"

/* Chooses the key file (@state_dir/secret.key unless $CARA_SECRET_KEY_FILE) and loads it,
 * creating it when absent and the database holds no sealed value (@n_sealed 0).  Returns FALSE
 * (logged by the caller, not fatal) when it cannot. */
gboolean secret_keys_setup (const char *state_dir, gint64 n_sealed, GError **error);
const char *secret_keys_path (void);

/* Seals @value for secret @name, key @key (both bound as associated data); *@ret_key_id: the
 * id of the key used. */
char *secret_keys_seal (const char *name, const char *key, GBytes *value, char **ret_key_id, GError **error);
/* Opens what secret_keys_seal made under the key @key_id. */
GBytes *secret_keys_open (const char *name, const char *key, const char *key_id, const char *sealed, GError **error);

/* `cara-server --rotate-secret-key`: a new key, every value re-sealed under it in one transaction
 * (store_reseal_secrets), then the new key becomes the file and the old one "<file>.old". */
gboolean secret_keys_rotate (guint *ret_count, GError **error);
