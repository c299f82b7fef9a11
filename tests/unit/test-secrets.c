/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets (SPEC §12): AES-256-GCM sealing (cara-crypto.c), the Secret kind's JSON (never a value in
 * what reads show), registry hosts and X-Registry-Auth (cara-secret.c), and the shape of a
 * project's references (cara-validate-secrets.c). */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "cara-crypto.h"
#include "cara-error.h"
#include "cara-fields.h"
#include "cara-json.h"
#include "cara-secret.h"
#include "cara-validate.h"

static void
test_seal_open (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraCryptoKey) k = cara_crypto_key_generate (&error);
  g_autoptr (CaraCryptoKey) other = cara_crypto_key_generate (&error);
  const char *plain = "s3cr3t-password";
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (k->id), ==, 16);
  g_assert_cmpstr (k->id, !=, other->id);

  g_autofree char *a = cara_crypto_seal (k, (const guint8 *) plain, strlen (plain), "db/password", &error);
  g_autofree char *b = cara_crypto_seal (k, (const guint8 *) plain, strlen (plain), "db/password", &error);
  g_assert_no_error (error);
  /* A random nonce per value: the same value seals differently, and the text shows nothing of it. */
  g_assert_cmpstr (a, !=, b);
  g_assert_null (strstr (a, plain));

  g_autoptr (GBytes) back = cara_crypto_open (k, a, "db/password", &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), plain, strlen (plain));

  /* Another key, another place (aad), one changed byte: an error, never garbage. */
  g_assert_null (cara_crypto_open (other, a, "db/password", &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_null (cara_crypto_open (k, a, "db/user", &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_FAILED);
  g_clear_error (&error);
  gsize len = 0;
  g_autofree guint8 *raw = g_base64_decode (a, &len);
  raw[len - 1] ^= 1;
  g_autofree char *tampered = g_base64_encode (raw, len);
  g_assert_null (cara_crypto_open (k, tampered, "db/password", &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_null (cara_crypto_open (k, "AAAA", "db/password", &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_FAILED);
  g_clear_error (&error);

  /* An empty value seals too. */
  g_autofree char *e = cara_crypto_seal (k, (const guint8 *) "", 0, NULL, &error);
  g_autoptr (GBytes) eb = cara_crypto_open (k, e, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (eb), ==, 0);
}

static void
test_key_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("cara-key-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "sub", "secret.key", NULL);
  gboolean created = FALSE;
  g_autoptr (CaraCryptoKey) k = cara_crypto_key_load (path, TRUE, &created, &error);
  g_assert_no_error (error);
  g_assert_true (created);
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_autoptr (CaraCryptoKey) again = cara_crypto_key_load (path, TRUE, &created, &error);
  g_assert_no_error (error);
  g_assert_false (created);
  g_assert_cmpstr (again->id, ==, k->id);
  g_assert_cmpmem (again->key, sizeof again->key, k->key, sizeof k->key);

  /* Not a key: an error naming the file; absent without create: an error. */
  g_autofree char *bad = g_build_filename (dir, "bad.key", NULL);
  g_assert_true (g_file_set_contents (bad, "not a key\n", -1, NULL));
  g_assert_null (cara_crypto_key_load (bad, TRUE, NULL, &error));
  g_assert_nonnull (strstr (error->message, "bad.key"));
  g_clear_error (&error);
  g_autofree char *none = g_build_filename (dir, "none.key", NULL);
  g_assert_null (cara_crypto_key_load (none, FALSE, NULL, &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_FAILED);
  g_clear_error (&error);

  g_unlink (bad);
  g_unlink (path);
  g_autofree char *sub = g_path_get_dirname (path);
  g_rmdir (sub);
  g_rmdir (dir);
}

static CaraSecret *
secret_from (const char *json, GError **error)
{
  g_autoptr (JsonNode) n = cara_json_parse (json, -1, error);
  return n ? cara_secret_from_json (n, error) : NULL;
}

static void
test_secret_json (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraSecret) s = secret_from ("{\"apiVersion\":\"caravanserai/v1\",\"kind\":\"Secret\","
                                          "\"metadata\":{\"name\":\"db\"},\"data\":{\"user\":\"YWRtaW4=\"},"
                                          "\"stringData\":{\"password\":\"hunter2\"}}", &error);
  g_assert_no_error (error);
  g_assert_true (cara_secret_validate (s, &error));
  g_assert_cmpuint (s->keys->len, ==, 2);
  g_autofree char *user = cara_secret_get_string (s, "user");
  g_assert_cmpstr (user, ==, "admin");
  g_assert_cmpint (cara_secret_find_key (s, "password")->size, ==, 7);

  /* Reads: keys and sizes, never a value. */
  g_autoptr (JsonNode) out = cara_secret_to_json (s);
  g_autofree char *text = cara_json_to_string (out, FALSE);
  g_assert_null (strstr (text, "hunter2"));
  g_assert_null (strstr (text, "YWRtaW4"));
  g_assert_null (strstr (text, "\"data\""));
  g_assert_nonnull (strstr (text, "\"keys\":[{\"name\":\"password\",\"size\":7},{\"name\":\"user\",\"size\":5}]"));

  /* The agent's answer carries them, and decodes back. */
  g_autoptr (JsonNode) with = cara_secret_to_json_with_values (s);
  g_autoptr (CaraSecret) back = cara_secret_from_json (with, &error);
  g_assert_no_error (error);
  g_autofree char *pw = cara_secret_get_string (back, "password");
  g_assert_cmpstr (pw, ==, "hunter2");

  /* A read shown back is a valid document (keys[] is known). */
  g_autoptr (GPtrArray) problems = cara_fields_check (out, NULL, CARA_FIELDS_ALL);
  g_assert_cmpuint (problems->len, ==, 0);
  g_autoptr (JsonNode) typo = cara_json_parse ("{\"kind\":\"Secret\",\"stringdata\":{}}", -1, NULL);
  g_autoptr (GPtrArray) p2 = cara_fields_check (typo, NULL, CARA_FIELDS_ALL);
  g_assert_cmpuint (p2->len, ==, 1);
  g_assert_nonnull (strstr (((GError *) p2->pdata[0])->message, "stringData"));
}

static void
test_secret_invalid (void)
{
  static const struct {
    const char *json;
    const char *message;
    int code;
  } cases[] = {
    { "{\"metadata\":{\"name\":\"a\"},\"data\":{\"k\":\"not base64!\"}}", "data.k: not valid base64", CARA_ERROR_INVALID },
    { "{\"metadata\":{\"name\":\"a\"},\"stringData\":{\"k\":1}}", "stringData.k: expected a string", CARA_ERROR_INVALID },
    { "{\"metadata\":{\"name\":\"a\"},\"type\":\"Tls\"}", "type: unknown secret type", CARA_ERROR_INVALID },
    { "{\"metadata\":{\"name\":\"a\"},\"stringData\":{\"a/b\":\"x\"}}", "data.a/b: invalid key", CARA_ERROR_INVALID },
    { "{\"metadata\":{\"name\":\"A_b\"}}", "metadata.name", CARA_ERROR_INVALID },
    { "{\"metadata\":{}}", "metadata.name is required", CARA_ERROR_INVALID },
    { "{\"metadata\":{\"name\":\"r\"},\"type\":\"Registry\",\"stringData\":{\"server\":\"h\",\"username\":\"u\"}}",
      "data.password: required", CARA_ERROR_INVALID },
    { "{\"kind\":\"Project\",\"metadata\":{\"name\":\"a\"}}", "kind: expected \"Secret\"", CARA_ERROR_INVALID },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (CaraSecret) s = secret_from (cases[i].json, &error);
      if (s != NULL)
        g_assert_false (cara_secret_validate (s, &error));
      g_assert_nonnull (error);
      if (strstr (error->message, cases[i].message) == NULL)
        g_error ("case %u: \"%s\" lacks \"%s\"", i, error->message, cases[i].message);
      g_assert_cmpint (error->code, ==, cases[i].code);
    }

  /* Over 1 MiB of values: TOO_LARGE (413). */
  g_autoptr (CaraSecret) big = cara_secret_new ("big");
  g_autofree char *blob = g_malloc0 (CARA_SECRET_MAX_BYTES + 1);
  g_autoptr (GBytes) b = g_bytes_new_take (g_steal_pointer (&blob), CARA_SECRET_MAX_BYTES + 1);
  cara_secret_set (big, "blob", b);
  g_autoptr (GError) error = NULL;
  g_assert_false (cara_secret_validate (big, &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_TOO_LARGE);
}

static void
test_registry (void)
{
  static const char *const images[][2] = {
    { "busybox", "docker.io" },
    { "library/busybox:1.36", "docker.io" },
    { "127.0.0.1:5000/team/app:v1", "127.0.0.1:5000" },
    { "localhost/app", "localhost" },
    { "Registry.Example.com/app@sha256:abc", "registry.example.com" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (images); i++)
    {
      g_autofree char *h = cara_image_registry_host (images[i][0]);
      g_assert_cmpstr (h, ==, images[i][1]);
    }
  static const char *const servers[][2] = {
    { "127.0.0.1:5000", "127.0.0.1:5000" },
    { "https://registry.example.com/v2/", "registry.example.com" },
    { "https://index.docker.io/v1/", "docker.io" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (servers); i++)
    {
      g_autofree char *h = cara_registry_server_host (servers[i][0]);
      g_assert_cmpstr (h, ==, servers[i][1]);
    }

  g_autoptr (CaraSecret) s = cara_secret_new ("reg");
  g_autoptr (GBytes) u = g_bytes_new_static ("alice", 5);
  g_autoptr (GBytes) p = g_bytes_new_static ("p?>>", 4);
  g_autoptr (GBytes) h = g_bytes_new_static ("127.0.0.1:5000", 14);
  cara_secret_set (s, "username", u);
  cara_secret_set (s, "password", p);
  cara_secret_set (s, "server", h);
  g_autofree char *auth = cara_secret_registry_auth (s);
  g_assert_null (strpbrk (auth, "+/"));
  g_autofree char *std = g_strdup (auth);
  for (char *c = std; *c; c++)
    *c = *c == '-' ? '+' : *c == '_' ? '/' : *c;
  gsize len = 0;
  g_autofree char *json = (char *) g_base64_decode (std, &len);
  g_autofree char *text = g_strndup (json, len);
  g_assert_cmpstr (text, ==, "{\"username\":\"alice\",\"password\":\"p?>>\",\"serveraddress\":\"127.0.0.1:5000\"}");
}

static CaraProject *
project_from (const char *spec)
{
  g_autofree char *json = g_strdup_printf ("{\"metadata\":{\"name\":\"p\"},\"spec\":%s}", spec);
  g_autoptr (GError) error = NULL;
  CaraProject *p = cara_project_from_data (json, -1, &error);
  g_assert_no_error (error);
  return p;
}

static void
test_project_refs (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraProject) ok = project_from (
      "{\"imagePullSecrets\":[\"reg\"],\"services\":[{\"name\":\"web\",\"image\":\"busybox\","
      "\"env\":[{\"name\":\"PW\",\"valueFrom\":{\"secret\":\"db\",\"key\":\"password\"}}],"
      "\"secrets\":[{\"secret\":\"db\"},{\"secret\":\"tls\",\"key\":\"crt\",\"path\":\"/etc/tls.crt\",\"mode\":\"0440\"}]}]}");
  g_assert_true (cara_validate_project (ok, &error));
  g_assert_no_error (error);
  CaraService *s = g_ptr_array_index (ok->spec.services, 0);
  g_assert_cmpint (((CaraSecretMount *) g_ptr_array_index (s->secrets, 1))->mode, ==, 0440);
  /* What is read is written back unchanged. */
  g_autofree char *text = cara_project_to_data (ok);
  g_assert_nonnull (strstr (text, "\"valueFrom\":{\"secret\":\"db\",\"key\":\"password\"}"));
  g_assert_nonnull (strstr (text, "\"imagePullSecrets\":[\"reg\"]"));
  g_autoptr (CaraProject) again = cara_project_from_data (text, -1, &error);
  g_autofree char *text2 = cara_project_to_data (again);
  g_assert_cmpstr (text, ==, text2);

  static const struct {
    const char *spec;
    const char *message;
  } bad[] = {
    { "{\"services\":[{\"name\":\"w\",\"image\":\"b\",\"env\":[{\"name\":\"X\",\"value\":\"v\",\"valueFrom\":{\"secret\":\"s\",\"key\":\"k\"}}]}]}",
      "spec.services[0].env[0].valueFrom: service w: env X has both value and valueFrom" },
    { "{\"services\":[{\"name\":\"w\",\"image\":\"b\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"secret\":\"s\"}}]}]}",
      "spec.services[0].env[0].valueFrom.key:" },
    { "{\"services\":[{\"name\":\"w\",\"image\":\"b\",\"secrets\":[{\"key\":\"k\"}]}]}",
      "spec.services[0].secrets[0].secret: a Secret name is required" },
    { "{\"services\":[{\"name\":\"w\",\"image\":\"b\",\"secrets\":[{\"secret\":\"s\",\"path\":\"rel\"}]}]}",
      "spec.services[0].secrets[0].path:" },
    { "{\"services\":[{\"name\":\"w\",\"image\":\"b\",\"secrets\":[{\"secret\":\"s\",\"mode\":4096}]}]}",
      "spec.services[0].secrets[0].mode:" },
    { "{\"services\":[{\"name\":\"w\",\"image\":\"b\",\"secrets\":[{\"secret\":\"s\"},{\"secret\":\"s\"}]}]}",
      "spec.services[0].secrets[1].path: service w: /run/secrets/s is already used" },
    { "{\"imagePullSecrets\":[\"Bad_Name\"],\"services\":[{\"name\":\"w\",\"image\":\"b\"}]}",
      "spec.imagePullSecrets[0]" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (CaraProject) p = project_from (bad[i].spec);
      g_autoptr (GError) e = NULL;
      g_assert_false (cara_validate_project (p, &e));
      if (strstr (e->message, bad[i].message) == NULL)
        g_error ("case %u: \"%s\" lacks \"%s\"", i, e->message, bad[i].message);
      /* The collecting validator (caractrl) reports it too. */
      g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
      cara_validate_project_all (p, problems);
      g_assert_cmpuint (problems->len, >=, 1);
    }

  /* An octal mode that is not one. */
  g_autoptr (CaraProject) none = NULL;
  none = cara_project_from_data ("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"services\":[{\"name\":\"w\",\"image\":\"b\","
                                 "\"secrets\":[{\"secret\":\"s\",\"mode\":\"0999\"}]}]}}", -1, &error);
  g_assert_null (none);
  g_assert_nonnull (strstr (error->message, "spec.services[0].secrets[0].mode: expected an octal file mode"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/secrets/seal-open", test_seal_open);
  g_test_add_func ("/secrets/key-file", test_key_file);
  g_test_add_func ("/secrets/json", test_secret_json);
  g_test_add_func ("/secrets/invalid", test_secret_invalid);
  g_test_add_func ("/secrets/registry", test_registry);
  g_test_add_func ("/secrets/project-refs", test_project_refs);
  return g_test_run ();
}
