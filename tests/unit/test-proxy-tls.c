/* SPDX-License-Identifier: Apache-2.0 */
/* The ingress proxy's certificate store (SPEC §13): PEM certificate and key per host, checked
 * (parse errors name tls.crt or tls.key, a key of another certificate is refused), reloaded only
 * when the text changes, hosts matched case-insensitively; the interim directory source. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "cara-error.h"
#include "proxy-tls.h"

static char *
data (const char *name)
{
  g_autofree char *path = g_build_filename (TEST_DATA_DIR, name, NULL);
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static void
test_store (void)
{
  g_autoptr (ProxyTls) t = proxy_tls_new ();
  g_autofree char *crt_a = data ("tls-a.crt");
  g_autofree char *key_a = data ("tls-a.key");
  g_autofree char *crt_b = data ("tls-b.crt");
  g_autofree char *key_b = data ("tls-b.key");
  g_autoptr (GError) error = NULL;

  g_assert_false (proxy_tls_has_certificate (t, "web.p.local"));
  g_assert_true (proxy_tls_set_certificate (t, "Web.P.local", crt_a, key_a, &error));
  g_assert_no_error (error);
  g_assert_true (proxy_tls_has_certificate (t, "web.p.local"));
  g_assert_cmpuint (proxy_tls_generation (t, "web.p.local"), ==, 1);
  /* the same text again: no reload */
  g_assert_true (proxy_tls_set_certificate (t, "web.p.local", crt_a, key_a, &error));
  g_assert_cmpuint (proxy_tls_generation (t, "web.p.local"), ==, 1);
  /* another certificate: reloaded */
  g_assert_true (proxy_tls_set_certificate (t, "web.p.local", crt_b, key_b, &error));
  g_assert_cmpuint (proxy_tls_generation (t, "web.p.local"), ==, 2);
  /* refused, and the loaded one stays */
  g_assert_false (proxy_tls_set_certificate (t, "web.p.local", crt_a, key_b, &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "tls.key is not the key of tls.crt"));
  g_clear_error (&error);
  g_assert_false (proxy_tls_set_certificate (t, "web.p.local", "not a certificate", key_a, &error));
  g_assert_nonnull (strstr (error->message, "tls.crt"));
  g_clear_error (&error);
  g_assert_false (proxy_tls_set_certificate (t, "web.p.local", crt_a, "-----BEGIN PRIVATE KEY-----\nxx\n", &error));
  g_assert_nonnull (strstr (error->message, "tls.key"));
  g_clear_error (&error);
  g_assert_cmpuint (proxy_tls_generation (t, "web.p.local"), ==, 2);
  proxy_tls_remove_certificate (t, "WEB.p.local");
  g_assert_false (proxy_tls_has_certificate (t, "web.p.local"));
}

static void
test_dir_source (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cara-tls-XXXXXX", NULL);
  g_autofree char *sub = g_build_filename (dir, "web-tls", NULL);
  g_autofree char *crt_path = g_build_filename (sub, "tls.crt", NULL);
  g_autofree char *key_path = g_build_filename (sub, "tls.key", NULL);
  g_autofree char *crt = data ("tls-a.crt");
  g_autofree char *key = data ("tls-a.key");
  char *got_crt = NULL, *got_key = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  g_setenv ("PROXY_TLS_CERT_DIR", dir, TRUE);
  g_assert_false (proxy_tls_source_dir ("p", "web-tls", &got_crt, &got_key, &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (crt_path, crt, -1, NULL) && g_file_set_contents (key_path, key, -1, NULL));
  g_assert_true (proxy_tls_get_source () ("p", "web-tls", &got_crt, &got_key, &error));
  g_assert_cmpstr (got_crt, ==, crt);
  g_assert_cmpstr (got_key, ==, key);
  g_free (got_crt);
  g_free (got_key);
  g_unsetenv ("PROXY_TLS_CERT_DIR");
  g_assert_false (proxy_tls_source_dir ("p", "web-tls", &got_crt, &got_key, &error));
  g_assert_nonnull (strstr (error->message, "PROXY_TLS_CERT_DIR"));
  g_unlink (crt_path);
  g_unlink (key_path);
  g_rmdir (sub);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/proxy-tls/store", test_store);
  g_test_add_func ("/proxy-tls/dir-source", test_dir_source);
  return g_test_run ();
}
