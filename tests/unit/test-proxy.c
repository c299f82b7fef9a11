/* SPDX-License-Identifier: Apache-2.0 */
/* The ingress proxy's request target and access.scope rules. */
#include "config.h"

#include "cara-cleanup.h"
#include "cara-error.h"
#include "proxy.h"

static char *
upstream (const char *backend, const char *target, GError **error)
{
  g_autoptr (CURLU) u = proxy_upstream_url (backend, target, error);
  char *s = NULL;
  if (u == NULL)
    return NULL;
  g_assert_cmpint (curl_url_get (u, CURLUPART_URL, &s, 0), ==, CURLUE_OK);
  char *out = g_strdup (s);
  curl_free (s);
  return out;
}

static void
test_upstream_url (void)
{
  g_autoptr (GError) error = NULL;
  const char *b = "http://10.213.0.2:80";
  struct { const char *target, *want; } ok[] = {
    { "/", "http://10.213.0.2:80/" },
    { "/cgi-bin/env?x=1&y=two", "http://10.213.0.2:80/cgi-bin/env?x=1&y=two" },
    { "/@127.0.0.1:8080/api/v1/version", "http://10.213.0.2:80/@127.0.0.1:8080/api/v1/version" },
    { "//127.0.0.1:8080/x", "http://10.213.0.2:80//127.0.0.1:8080/x" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autofree char *u = upstream (b, ok[i].target, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (u, ==, ok[i].want);
      g_autoptr (CURLU) h = proxy_upstream_url (b, ok[i].target, NULL);
      char *host = NULL;
      curl_url_get (h, CURLUPART_HOST, &host, 0);
      g_assert_cmpstr (host, ==, "10.213.0.2");
      curl_free (host);
    }
  const char *bad[] = { "@127.0.0.1:8080/api/v1/version", "http://127.0.0.1:8080/", "127.0.0.1:8080", "*", "",
                        "/a#frag" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_null (upstream (b, bad[i], &error));
      g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
      g_clear_error (&error);
    }
  g_assert_null (proxy_upstream_url (b, NULL, &error));
  g_clear_error (&error);
}

static void
test_internal_scope (void)
{
  const char *local[] = { "192.0.2.10", "10.213.0.1", NULL };
  const char *net = "10.213.0.2/26";
  g_assert_true (proxy_internal_allowed ("127.0.0.1", local, net));
  g_assert_true (proxy_internal_allowed ("127.3.4.5", local, net));
  g_assert_true (proxy_internal_allowed ("::1", local, net));
  g_assert_true (proxy_internal_allowed ("192.0.2.10", local, net));
  g_assert_true (proxy_internal_allowed ("10.213.0.5", local, net));
  g_assert_true (proxy_internal_allowed ("10.213.0.63", local, net));
  g_assert_false (proxy_internal_allowed ("10.213.0.64", local, net)); /* another project's network */
  g_assert_false (proxy_internal_allowed ("198.51.100.7", local, net));
  g_assert_false (proxy_internal_allowed ("198.51.100.7", local, NULL));
  g_assert_false (proxy_internal_allowed ("", local, net));
  g_assert_false (proxy_internal_allowed (NULL, local, net));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/proxy/upstream-url", test_upstream_url);
  g_test_add_func ("/proxy/internal-scope", test_internal_scope);
  return g_test_run ();
}
