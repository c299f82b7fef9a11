/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Kind Secret (SPEC §12): {apiVersion, kind, metadata, type, data{KEY: base64}, stringData{KEY:
 * text}}.  Values are held as GBytes while a request handles them and are never encoded into what
 * the API answers, except for the one route an agent fetches its values from. */

#include <json-glib/json-glib.h>

#include "cara-model.h"

/* At most this many bytes of values per Secret (more: CARA_ERROR_TOO_LARGE, 413). */
#define CARA_SECRET_MAX_BYTES (1024 * 1024)

typedef enum {
  CARA_SECRET_TYPE_OPAQUE,
  CARA_SECRET_TYPE_REGISTRY,
} CaraSecretType;

const char *cara_secret_type_to_string (CaraSecretType t);
gboolean cara_secret_type_from_string (const char *s, CaraSecretType *ret); /* "" -> Opaque */

typedef struct {
  char *name;
  gint64 size;
} CaraSecretKey;

typedef struct {
  CaraObjectMeta metadata;
  CaraSecretType type;
  GHashTable *data; /* key -> GBytes* (the values); never NULL, empty when read without values */
  GPtrArray *keys;  /* CaraSecretKey*, sorted by name; never NULL */
  /* Names listed in a document's keys[] without a value in data/stringData (a read put back):
   * kept as stored by a PUT, refused by a POST.  Never NULL. */
  GPtrArray *keep;  /* char* */
} CaraSecret;

CaraSecret *cara_secret_new (const char *name);
void cara_secret_free (CaraSecret *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraSecret, cara_secret_free)

/* Sets @key to @value (and keys[]); takes a reference on @value. */
void cara_secret_set (CaraSecret *s, const char *key, GBytes *value);
/* The key's entry in keys[], or NULL. */
const CaraSecretKey *cara_secret_find_key (const CaraSecret *s, const char *key);
/* The value of @key as a NUL-terminated string (values are bytes; a NUL inside ends it), or NULL. */
char *cara_secret_get_string (const CaraSecret *s, const char *key);

/* Decodes a Secret document: "data" values must be base64 ("data.KEY: ..."), "stringData" wins
 * over "data" for the same key; names in "keys" (what reads show) without a value go to keep[]. */
CaraSecret *cara_secret_from_json (JsonNode *node, GError **error);
/* Name, keys, type (Registry: server, username and password), total size (TOO_LARGE). */
gboolean cara_secret_validate (const CaraSecret *s, GError **error);

/* What every read shows: metadata, type and keys[]{name, size}; never a value. */
JsonNode *cara_secret_to_json (const CaraSecret *s);
JsonNode *cara_secret_list_to_json (GPtrArray *secrets); /* kind SecretList */
/* The same plus data{KEY: base64}: only for GET /api/v1/nodes/{node}/secrets/{name}. */
JsonNode *cara_secret_to_json_with_values (const CaraSecret *s);

/* Registry credentials (type Registry). */
/* The registry host of an image reference, as Docker reads it: the first path component when it
 * has a '.' or ':' or is "localhost", else "docker.io". */
char *cara_image_registry_host (const char *image);
/* A "server" value's host[:port]: scheme and path dropped; Docker Hub's names become "docker.io". */
char *cara_registry_server_host (const char *server);
/* Docker's X-Registry-Auth value for @s: base64url of {"username","password","serveraddress"}. */
char *cara_secret_registry_auth (const CaraSecret *s);
