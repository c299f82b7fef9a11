/* SPDX-License-Identifier: Apache-2.0 */
/* Address literals (src/common/cara-netaddr.c): what a node may advertise as status.network.ip,
 * which the server's relays connect to, and which listening addresses are loopback only. */
#include "config.h"

#include "cara-error.h"
#include "cara-model.h"
#include "cara-netaddr.h"
#include "cara-validate.h"

static void
test_literal (void)
{
  const char *good[] = { "127.0.0.1", "10.1.2.3", "0.0.0.0", "::1", "fd00::1", "2001:db8::8:800:200c:417a",
                         "::ffff:192.0.2.1" };
  const char *bad[] = { "", "localhost", "example.com", "127.1", "0x7f.0.0.1", "127.0.0.1:8080", "[::1]",
                        "::1%eth0", "127.0.0.1/x", "@127.0.0.1", "127.0.0.1 ", " 10.0.0.1", "1.2.3.4.5",
                        "http://10.0.0.1", "10.0.0.1#", "256.0.0.1" };
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (cara_ip_is_literal (good[i]));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (cara_ip_is_literal (bad[i]));
      if (*bad[i] == '\0')
        continue;
      g_assert_false (cara_ip_check (bad[i], "network.ip", &error));
      g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "network.ip: "));
    }
  g_assert_true (cara_ip_check (NULL, "x", NULL));
  g_assert_true (cara_ip_check ("", "x", NULL));
}

static void
test_node (void)
{
  g_autoptr (CaraNode) n = cara_node_new ("n1");
  g_autoptr (GError) error = NULL;
  n->status.network.ip = g_strdup ("10.0.0.7");
  g_assert_true (cara_validate_node (n, &error));
  g_free (n->status.network.ip);
  n->status.network.ip = g_strdup ("internal.example:9999/x?");
  g_assert_false (cara_validate_node (n, &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "status.network.ip: "));
}

static void
test_loopback (void)
{
  const char *yes[] = { "127.0.0.1", "127.3.4.5", "::1", "localhost", "LOCALHOST" };
  const char *no[] = { "", "*", "0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "example.com", NULL };
  for (guint i = 0; i < G_N_ELEMENTS (yes); i++)
    g_assert_true (cara_listen_host_is_loopback (yes[i]));
  for (guint i = 0; i < G_N_ELEMENTS (no); i++)
    g_assert_false (cara_listen_host_is_loopback (no[i]));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/netaddr/literal", test_literal);
  g_test_add_func ("/netaddr/node", test_node);
  g_test_add_func ("/netaddr/loopback", test_loopback);
  return g_test_run ();
}
