/* SPDX-License-Identifier: Apache-2.0 */
/* The server's cache of unknown bearer tokens (src/server/token-miss-cache.c): entries expire,
 * the set is bounded (oldest out first), a bound token is forgotten.  Times are given, not read. */
#include "config.h"

#include "token-miss-cache.h"

#define SEC G_USEC_PER_SEC

static void
test_expiry (void)
{
  g_autoptr (TokenMissCache) c = token_miss_cache_new (8, 5 * SEC);
  g_assert_false (token_miss_cache_contains (c, "a", 100 * SEC));
  token_miss_cache_add (c, "a", 100 * SEC);
  g_assert_true (token_miss_cache_contains (c, "a", 100 * SEC));
  g_assert_true (token_miss_cache_contains (c, "a", 104 * SEC));
  g_assert_false (token_miss_cache_contains (c, "a", 105 * SEC));
  g_assert_cmpuint (token_miss_cache_size (c), ==, 0);
  /* adding again renews */
  token_miss_cache_add (c, "b", 200 * SEC);
  token_miss_cache_add (c, "b", 203 * SEC);
  g_assert_cmpuint (token_miss_cache_size (c), ==, 1);
  g_assert_true (token_miss_cache_contains (c, "b", 207 * SEC));
}

static void
test_bounded (void)
{
  g_autoptr (TokenMissCache) c = token_miss_cache_new (3, 60 * SEC);
  token_miss_cache_add (c, "a", 1);
  token_miss_cache_add (c, "b", 2);
  token_miss_cache_add (c, "c", 3);
  token_miss_cache_add (c, "d", 4);
  g_assert_cmpuint (token_miss_cache_size (c), ==, 3);
  g_assert_false (token_miss_cache_contains (c, "a", 5));
  g_assert_true (token_miss_cache_contains (c, "b", 5));
  g_assert_true (token_miss_cache_contains (c, "d", 5));
  for (int i = 0; i < 1000; i++)
    {
      g_autofree char *k = g_strdup_printf ("k%d", i);
      token_miss_cache_add (c, k, 10 + i);
    }
  g_assert_cmpuint (token_miss_cache_size (c), ==, 3);
  g_assert_true (token_miss_cache_contains (c, "k999", 2000));
}

static void
test_forget (void)
{
  g_autoptr (TokenMissCache) c = token_miss_cache_new (8, 60 * SEC);
  token_miss_cache_add (c, "a", 1);
  token_miss_cache_add (c, "b", 1);
  token_miss_cache_forget (c, "a");
  token_miss_cache_forget (c, "nosuch");
  g_assert_false (token_miss_cache_contains (c, "a", 2));
  g_assert_true (token_miss_cache_contains (c, "b", 2));
  g_assert_cmpuint (token_miss_cache_size (c), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/token-miss-cache/expiry", test_expiry);
  g_test_add_func ("/token-miss-cache/bounded", test_bounded);
  g_test_add_func ("/token-miss-cache/forget", test_forget);
  return g_test_run ();
}
