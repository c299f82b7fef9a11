/* SPDX-License-Identifier: Apache-2.0 */
/* Bearer tokens (src/common/cara-token.c): generation, token files, comparison, node credentials. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "cara-error.h"
#include "cara-token.h"

static void
test_generate (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *a = cara_token_generate (&error);
  g_autofree char *b = cara_token_generate (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (a), ==, 64);
  for (const char *p = a; *p; p++)
    g_assert_true (g_ascii_isxdigit (*p) && !g_ascii_isupper (*p));
  g_assert_cmpstr (a, !=, b);
  g_assert_true (cara_token_check (a, "t", &error));
}

static void
test_equal (void)
{
  g_assert_true (cara_token_equal ("secret-token", "secret-token"));
  g_assert_false (cara_token_equal ("secret-tokem", "secret-token"));
  g_assert_false (cara_token_equal ("secret", "secret-token"));       /* a prefix */
  g_assert_false (cara_token_equal ("secret-token-x", "secret-token")); /* longer */
  g_assert_false (cara_token_equal ("", "secret-token"));
  g_assert_false (cara_token_equal ("x", ""));    /* an empty expected token matches nothing */
  g_assert_false (cara_token_equal ("", ""));
  g_assert_false (cara_token_equal (NULL, "x"));
  g_assert_false (cara_token_equal ("x", NULL));
}

static void
test_check (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (cara_token_check ("0123456789abcdef", "t", &error));
  g_assert_false (cara_token_check ("0123456789abcde", "the header", &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "the header must be 16 to 256 characters long (it has 15)"));
  g_clear_error (&error);
  g_autofree char *long_one = g_strnfill (257, 'a');
  g_assert_false (cara_token_check (long_one, "t", &error));
  g_clear_error (&error);
  g_assert_false (cara_token_check ("0123456789 abcdef", "t", &error)); /* space */
  g_assert_nonnull (strstr (error->message, "printable"));
  g_clear_error (&error);
  g_assert_false (cara_token_check ("0123456789\nabcdef", "t", &error)); /* header injection */
  g_clear_error (&error);
  g_assert_false (cara_token_check ("0123456789abcdef\xc3\xa9", "t", &error)); /* not ASCII */
  g_clear_error (&error);
  g_assert_false (cara_token_check (NULL, "t", &error));
}

static void
test_node_credentials (void)
{
  /* Fixed vectors, also computed by the tests' Python (hashlib, hmac): server and agent agree. */
  const char *t = "abcdefghijklmnop0123456789";
  g_autofree char *hash = cara_node_token_hash (t);
  g_autofree char *secret = cara_node_token_agent_secret (t);
  g_assert_cmpstr (hash, ==, "f4b3ad5e78c5b8fd0e52622bf32e90b8d217eff73c7b745a217062fec45342f1");
  g_assert_cmpstr (secret, ==, "f844a39c8f18b3099825614e33740e8e7b8441d6e2568b0d67faee1887c61f25");
}

static void
test_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("cara-token-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *sub = g_build_filename (dir, "state", NULL);
  g_autofree char *path = g_build_filename (sub, "node-n1.token", NULL);
  gboolean created = FALSE;
  g_autofree char *first = cara_token_load_or_create (path, &created, &error);
  g_assert_no_error (error);
  g_assert_true (created);
  struct stat st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (sub, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_autofree char *again = cara_token_load_or_create (path, &created, &error);
  g_assert_false (created);
  g_assert_cmpstr (first, ==, again);
  /* a token written by hand, with a newline, is read as it is */
  g_assert_true (g_file_set_contents (path, "  hand-written-token-123\n", -1, &error));
  g_autofree char *hand = cara_token_load_or_create (path, &created, &error);
  g_assert_cmpstr (hand, ==, "hand-written-token-123");
  /* an unwritable place is an error naming the path */
  g_autofree char *bad = cara_token_load_or_create ("/proc/cara-no/such.token", NULL, &error);
  g_assert_null (bad);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "/proc/cara-no"));
  g_unlink (path);
  g_rmdir (sub);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/token/generate", test_generate);
  g_test_add_func ("/token/equal", test_equal);
  g_test_add_func ("/token/check", test_check);
  g_test_add_func ("/token/node-credentials", test_node_credentials);
  g_test_add_func ("/token/file", test_file);
  return g_test_run ();
}
