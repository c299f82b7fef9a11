/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-json.h"
#include "cara-secret.h"
#include "cara-validate.h"

const char *
cara_secret_type_to_string (CaraSecretType t)
{
  switch (t)
    {
    case CARA_SECRET_TYPE_OPAQUE:
      return "Opaque";
    case CARA_SECRET_TYPE_REGISTRY:
      return "Registry";
    default:
      return NULL;
    }
}

gboolean
cara_secret_type_from_string (const char *s, CaraSecretType *ret)
{
  if (s == NULL || *s == '\0' || strcmp (s, "Opaque") == 0)
    *ret = CARA_SECRET_TYPE_OPAQUE;
  else if (strcmp (s, "Registry") == 0)
    *ret = CARA_SECRET_TYPE_REGISTRY;
  else
    return FALSE;
  return TRUE;
}

static void
key_free (CaraSecretKey *k)
{
  g_free (k->name);
  g_free (k);
}

CaraSecret *
cara_secret_new (const char *name)
{
  CaraSecret *s = g_new0 (CaraSecret, 1);
  cara_object_meta_init (&s->metadata, name);
  s->data = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  s->keys = g_ptr_array_new_with_free_func ((GDestroyNotify) key_free);
  s->keep = g_ptr_array_new_with_free_func (g_free);
  return s;
}

void
cara_secret_free (CaraSecret *s)
{
  if (s == NULL)
    return;
  cara_object_meta_clear (&s->metadata);
  g_hash_table_unref (s->data);
  g_ptr_array_unref (s->keys);
  g_ptr_array_unref (s->keep);
  g_free (s);
}

static gint
key_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(CaraSecretKey **) a)->name, (*(CaraSecretKey **) b)->name);
}

void
cara_secret_set (CaraSecret *s, const char *key, GBytes *value)
{
  g_hash_table_insert (s->data, g_strdup (key), g_bytes_ref (value));
  for (guint i = 0; i < s->keys->len; i++)
    {
      CaraSecretKey *k = g_ptr_array_index (s->keys, i);
      if (strcmp (k->name, key) == 0)
        {
          k->size = (gint64) g_bytes_get_size (value);
          return;
        }
    }
  CaraSecretKey *k = g_new0 (CaraSecretKey, 1);
  k->name = g_strdup (key);
  k->size = (gint64) g_bytes_get_size (value);
  g_ptr_array_add (s->keys, k);
  g_ptr_array_sort (s->keys, key_cmp);
}

const CaraSecretKey *
cara_secret_find_key (const CaraSecret *s, const char *key)
{
  for (guint i = 0; i < s->keys->len; i++)
    {
      const CaraSecretKey *k = g_ptr_array_index (s->keys, i);
      if (strcmp (k->name, key) == 0)
        return k;
    }
  return NULL;
}

char *
cara_secret_get_string (const CaraSecret *s, const char *key)
{
  GBytes *v = g_hash_table_lookup (s->data, key);
  gsize len = 0;
  const char *d;
  if (v == NULL)
    return NULL;
  d = g_bytes_get_data (v, &len);
  return g_strndup (d ? d : "", len);
}

/* ---- decoding ---- */

static gboolean
is_base64 (const char *s)
{
  gsize n = strlen (s), pad = 0;
  if (n % 4 != 0)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      char c = s[i];
      if (c == '=')
        {
          if (i < n - 2)
            return FALSE;
          pad++;
        }
      else if (pad > 0 || !(g_ascii_isalnum (c) || c == '+' || c == '/'))
        return FALSE;
    }
  return TRUE;
}

static gboolean
decode_values (CaraSecret *s, JsonObject *root, const char *member, gboolean base64, GError **error)
{
  JsonNode *n = json_object_get_member (root, member);
  JsonObjectIter it;
  const char *key;
  JsonNode *value;

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (n))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: expected an object of KEY: %s", member,
                   base64 ? "base64 value" : "text value");
      return FALSE;
    }
  json_object_iter_init_ordered (&it, json_node_get_object (n));
  while (json_object_iter_next_ordered (&it, &key, &value))
    {
      const char *text;
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s.%s: expected a string", member, key);
          return FALSE;
        }
      text = json_node_get_string (value);
      if (base64)
        {
          gsize len = 0;
          if (!is_base64 (text))
            {
              g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s.%s: not valid base64", member, key);
              return FALSE;
            }
          guchar *raw = *text ? g_base64_decode (text, &len) : NULL;
          g_autoptr (GBytes) b = g_bytes_new_take (raw, len);
          cara_secret_set (s, key, b);
        }
      else
        {
          g_autoptr (GBytes) b = g_bytes_new (text, strlen (text));
          cara_secret_set (s, key, b);
        }
    }
  return TRUE;
}

CaraSecret *
cara_secret_from_json (JsonNode *node, GError **error)
{
  g_autoptr (CaraSecret) s = cara_secret_new (NULL);
  JsonObject *root;
  const char *kind, *type;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "expected a Secret object");
      return NULL;
    }
  root = json_node_get_object (node);
  kind = json_object_get_string_member_with_default (root, "kind", "");
  if (*kind != '\0' && strcmp (kind, "Secret") != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "kind: expected \"Secret\", got \"%s\"", kind);
      return NULL;
    }
  if (!cara_json_meta_from_object (root, &s->metadata, error))
    return NULL;
  JsonNode *tn = json_object_get_member (root, "type");
  if (tn != NULL && !JSON_NODE_HOLDS_NULL (tn)
      && (!JSON_NODE_HOLDS_VALUE (tn) || json_node_get_value_type (tn) != G_TYPE_STRING))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "type: expected a string");
      return NULL;
    }
  type = tn && JSON_NODE_HOLDS_VALUE (tn) ? json_node_get_string (tn) : NULL;
  if (!cara_secret_type_from_string (type, &s->type))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "type: unknown secret type \"%s\" (expected Opaque or Registry)",
                   type);
      return NULL;
    }
  if (!decode_values (s, root, "data", TRUE, error) || !decode_values (s, root, "stringData", FALSE, error))
    return NULL;
  JsonNode *kn = json_object_get_member (root, "keys");
  if (kn != NULL && JSON_NODE_HOLDS_ARRAY (kn))
    {
      JsonArray *a = json_node_get_array (kn);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          JsonObject *ko = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
          const char *k = ko ? json_object_get_string_member_with_default (ko, "name", NULL) : NULL;
          if (k == NULL)
            {
              g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "keys[%u].name: expected a string", i);
              return NULL;
            }
          if (!g_hash_table_contains (s->data, k))
            g_ptr_array_add (s->keep, g_strdup (k));
        }
    }
  return g_steal_pointer (&s);
}

static gboolean
valid_key (const char *k)
{
  if (*k == '\0' || strlen (k) > 253 || strcmp (k, ".") == 0 || strcmp (k, "..") == 0)
    return FALSE;
  for (const char *c = k; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '-' && *c != '_' && *c != '.')
      return FALSE;
  return TRUE;
}

gboolean
cara_secret_validate (const CaraSecret *s, GError **error)
{
  gint64 total = 0;

  if (s->metadata.name == NULL || *s->metadata.name == '\0')
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "metadata.name is required");
      return FALSE;
    }
  if (!cara_validate_node_name (s->metadata.name, error))
    {
      g_prefix_error (error, "metadata.name: ");
      return FALSE;
    }
  if (!cara_validate_label_map (s->metadata.labels, "metadata.labels", error))
    return FALSE;
  for (guint i = 0; i < s->keys->len; i++)
    {
      const CaraSecretKey *k = g_ptr_array_index (s->keys, i);
      if (!valid_key (k->name))
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                       "data.%s: invalid key (letters, digits, '-', '_' and '.', at most 253)", k->name);
          return FALSE;
        }
      total += k->size;
    }
  if (total > CARA_SECRET_MAX_BYTES)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_TOO_LARGE, "secret %s: values of %" G_GINT64_FORMAT
                   " bytes exceed the limit of 1 MiB", s->metadata.name, total);
      return FALSE;
    }
  if (s->type == CARA_SECRET_TYPE_REGISTRY)
    {
      static const char *const needed[] = { "server", "username", "password" };
      for (guint i = 0; i < G_N_ELEMENTS (needed); i++)
        if (cara_secret_find_key (s, needed[i]) == NULL
            && !g_ptr_array_find_with_equal_func (s->keep, needed[i], g_str_equal, NULL))
          {
            g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "data.%s: required for a Secret of type Registry",
                         needed[i]);
            return FALSE;
          }
    }
  return TRUE;
}

/* ---- encoding ---- */

/* json_node_init_object takes a reference of its own: the node then holds the only one. */
static JsonNode *
object_node (JsonObject *o)
{
  JsonNode *n = json_node_init_object (json_node_alloc (), o);
  json_object_unref (o);
  return n;
}

static JsonObject *
encode (const CaraSecret *s)
{
  JsonObject *o = json_object_new ();
  JsonArray *keys = json_array_new ();

  json_object_set_string_member (o, "apiVersion", CARA_API_VERSION_STRING);
  json_object_set_string_member (o, "kind", "Secret");
  json_object_set_member (o, "metadata", cara_json_meta_to_json (&s->metadata));
  json_object_set_string_member (o, "type", cara_secret_type_to_string (s->type));
  for (guint i = 0; i < s->keys->len; i++)
    {
      const CaraSecretKey *k = g_ptr_array_index (s->keys, i);
      JsonObject *ko = json_object_new ();
      json_object_set_string_member (ko, "name", k->name);
      json_object_set_int_member (ko, "size", k->size);
      json_array_add_object_element (keys, ko);
    }
  json_object_set_array_member (o, "keys", keys);
  return o;
}

JsonNode *
cara_secret_to_json (const CaraSecret *s)
{
  return object_node (encode (s));
}

JsonNode *
cara_secret_to_json_with_values (const CaraSecret *s)
{
  JsonObject *o = encode (s);
  JsonObject *data = json_object_new ();

  for (guint i = 0; i < s->keys->len; i++)
    {
      const CaraSecretKey *k = g_ptr_array_index (s->keys, i);
      GBytes *v = g_hash_table_lookup (s->data, k->name);
      gsize len = 0;
      const guchar *d = v ? g_bytes_get_data (v, &len) : NULL;
      g_autofree char *b64 = g_base64_encode (d, len);
      json_object_set_string_member (data, k->name, b64);
    }
  json_object_set_object_member (o, "data", data);
  return object_node (o);
}

JsonNode *
cara_secret_list_to_json (GPtrArray *secrets)
{
  JsonObject *o = json_object_new ();
  JsonArray *items = json_array_new ();

  json_object_set_string_member (o, "apiVersion", CARA_API_VERSION_STRING);
  json_object_set_string_member (o, "kind", "SecretList");
  for (guint i = 0; secrets != NULL && i < secrets->len; i++)
    json_array_add_element (items, cara_secret_to_json (g_ptr_array_index (secrets, i)));
  json_object_set_array_member (o, "items", items);
  return object_node (o);
}

/* ---- registry credentials ---- */

char *
cara_image_registry_host (const char *image)
{
  const char *slash = strchr (image, '/');
  if (slash == NULL)
    return g_strdup ("docker.io");
  g_autofree char *first = g_strndup (image, (gsize) (slash - image));
  if (strchr (first, '.') == NULL && strchr (first, ':') == NULL && strcmp (first, "localhost") != 0)
    return g_strdup ("docker.io");
  return g_ascii_strdown (first, -1);
}

char *
cara_registry_server_host (const char *server)
{
  const char *s = server;
  const char *scheme = strstr (s, "://");
  if (scheme != NULL)
    s = scheme + 3;
  gsize n = strcspn (s, "/");
  g_autofree char *host = g_ascii_strdown (s, (gssize) n);
  if (strcmp (host, "index.docker.io") == 0 || strcmp (host, "registry-1.docker.io") == 0
      || strcmp (host, "registry.hub.docker.com") == 0)
    return g_strdup ("docker.io");
  return g_steal_pointer (&host);
}

char *
cara_secret_registry_auth (const CaraSecret *s)
{
  g_autofree char *user = cara_secret_get_string (s, "username");
  g_autofree char *pass = cara_secret_get_string (s, "password");
  g_autofree char *server = cara_secret_get_string (s, "server");
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "username");
  json_builder_add_string_value (b, user ? user : "");
  json_builder_set_member_name (b, "password");
  json_builder_add_string_value (b, pass ? pass : "");
  json_builder_set_member_name (b, "serveraddress");
  json_builder_add_string_value (b, server ? server : "");
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, FALSE);
  char *b64 = g_base64_encode ((const guchar *) text, strlen (text));
  for (char *c = b64; *c; c++)
    if (*c == '+')
      *c = '-';
    else if (*c == '/')
      *c = '_';
  return b64;
}
