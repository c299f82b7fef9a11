/* SPDX-License-Identifier: Apache-2.0 */
/* The TLS policy (src/common/cara-tls.c): the default priority string is one GnuTLS takes and
 * allows nothing below TLS 1.2; bad strings are refused naming the option; certificate files
 * that hold nothing usable are refused with the file's name. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "cara-error.h"
#include "cara-tls.h"

static void
test_priority (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (cara_tls_priority_check (CARA_TLS_DEFAULT_PRIORITY, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (CARA_TLS_DEFAULT_PRIORITY, "-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"));
  g_assert_null (strstr (CARA_TLS_DEFAULT_PRIORITY, "TLS1.1"));
  g_assert_null (strstr (CARA_TLS_DEFAULT_PRIORITY, "TLS1.0"));
  g_assert_false (cara_tls_priority_check ("NORMAL:+NO-SUCH-THING", &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "tls_priority"));
  g_assert_nonnull (strstr (error->message, "NO-SUCH-THING"));
  g_clear_error (&error);
  /* the process default until set; "" and NULL mean the default */
  g_assert_cmpstr (cara_tls_get_priority (), ==, CARA_TLS_DEFAULT_PRIORITY);
  g_assert_true (cara_tls_set_priority ("NORMAL:-VERS-ALL:+VERS-TLS1.3", &error));
  g_assert_cmpstr (cara_tls_get_priority (), ==, "NORMAL:-VERS-ALL:+VERS-TLS1.3");
  g_assert_false (cara_tls_set_priority ("bogus", &error));
  g_clear_error (&error);
  g_assert_cmpstr (cara_tls_get_priority (), ==, "NORMAL:-VERS-ALL:+VERS-TLS1.3");
  g_assert_true (cara_tls_set_priority ("", &error));
  g_assert_cmpstr (cara_tls_get_priority (), ==, CARA_TLS_DEFAULT_PRIORITY);
}

static void
test_creds_refused (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("cara-tls-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *cert = g_build_filename (dir, "c.pem", NULL);
  g_autofree char *key = g_build_filename (dir, "k.pem", NULL);
  g_assert_true (g_file_set_contents (cert, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", -1, NULL));
  g_assert_true (g_file_set_contents (key, "garbage\n", -1, NULL));
  g_assert_null (cara_tls_creds_load (cert, key, &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, cert));
  g_clear_error (&error);
  g_autofree char *missing = g_build_filename (dir, "missing.pem", NULL);
  g_assert_null (cara_tls_creds_load (missing, key, &error));
  g_assert_nonnull (error);
  g_unlink (cert);
  g_unlink (key);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tls/priority", test_priority);
  g_test_add_func ("/tls/creds-refused", test_creds_refused);
  return g_test_run ();
}
