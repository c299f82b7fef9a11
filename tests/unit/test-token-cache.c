/* SPDX-License-Identifier: Apache-2.0 */
/* The server's node-token cache: expiry, the bound, forgetting a node, the race with a rebind. */
#include "config.h"

#include "server-token-cache.h"

#define SEC ((gint64) G_USEC_PER_SEC)
#define T0 (1000 * SEC)

static void
test_expiry (void)
{
  g_autoptr (TokenCache) c = token_cache_new (8, 10 * SEC);
  g_autofree char *miss = token_cache_lookup (c, "h1", T0);
  g_assert_null (miss);
  token_cache_add (c, "h1", "n1", token_cache_generation (c), T0);
  g_autofree char *hit = token_cache_lookup (c, "h1", T0 + 10 * SEC - 1);
  g_assert_cmpstr (hit, ==, "n1");
  /* Expired exactly @ttl after it was added, and gone from the table. */
  g_autofree char *expired = token_cache_lookup (c, "h1", T0 + 10 * SEC);
  g_assert_null (expired);
  g_assert_cmpuint (token_cache_size (c), ==, 0);
  /* Adding again starts a new lifetime. */
  token_cache_add (c, "h1", "n1", token_cache_generation (c), T0 + 20 * SEC);
  g_autofree char *again = token_cache_lookup (c, "h1", T0 + 29 * SEC);
  g_assert_cmpstr (again, ==, "n1");
}

static void
test_bounded (void)
{
  g_autoptr (TokenCache) c = token_cache_new (3, 10 * SEC);
  guint64 g = token_cache_generation (c);
  token_cache_add (c, "h1", "n1", g, T0);
  token_cache_add (c, "h2", "n2", g, T0);
  token_cache_add (c, "h3", "n3", g, T0);
  token_cache_add (c, "h1", "n1", g, T0 + 1); /* re-added: now the newest */
  token_cache_add (c, "h4", "n4", g, T0 + 2);
  g_assert_cmpuint (token_cache_size (c), ==, 3);
  g_autofree char *h2 = token_cache_lookup (c, "h2", T0 + 3); /* the oldest went first */
  g_autofree char *h1 = token_cache_lookup (c, "h1", T0 + 3);
  g_autofree char *h4 = token_cache_lookup (c, "h4", T0 + 3);
  g_assert_null (h2);
  g_assert_cmpstr (h1, ==, "n1");
  g_assert_cmpstr (h4, ==, "n4");
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *h = g_strdup_printf ("x%u", i);
      token_cache_add (c, h, "n", g, T0);
    }
  g_assert_cmpuint (token_cache_size (c), ==, 3);
}

static void
test_forget_node (void)
{
  g_autoptr (TokenCache) c = token_cache_new (8, 10 * SEC);
  guint64 g = token_cache_generation (c);
  token_cache_add (c, "old", "n1", g, T0);
  token_cache_add (c, "other", "n2", g, T0);
  token_cache_forget_node (c, "n1");
  g_autofree char *old = token_cache_lookup (c, "old", T0);
  g_autofree char *other = token_cache_lookup (c, "other", T0);
  g_assert_null (old);
  g_assert_cmpstr (other, ==, "n2");
  token_cache_forget_node (c, "nosuch");
  g_assert_cmpuint (token_cache_size (c), ==, 1);
}

/* A lookup that asked the database before a rebind answers with what was bound then: it must not
 * be kept after the rebind dropped the node. */
static void
test_rebind_race (void)
{
  g_autoptr (TokenCache) c = token_cache_new (8, 10 * SEC);
  guint64 before = token_cache_generation (c);
  token_cache_forget_node (c, "n1");
  token_cache_add (c, "old", "n1", before, T0);
  g_autofree char *stale = token_cache_lookup (c, "old", T0);
  g_assert_null (stale);
  token_cache_add (c, "new", "n1", token_cache_generation (c), T0);
  g_autofree char *fresh = token_cache_lookup (c, "new", T0);
  g_assert_cmpstr (fresh, ==, "n1");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/token-cache/expiry", test_expiry);
  g_test_add_func ("/token-cache/bounded", test_bounded);
  g_test_add_func ("/token-cache/forget-node", test_forget_node);
  g_test_add_func ("/token-cache/rebind-race", test_rebind_race);
  return g_test_run ();
}
