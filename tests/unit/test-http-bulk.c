/* SPDX-License-Identifier: Apache-2.0 */
/* Bulk streams of the HTTP server (cara_http_respond_stream_bulk, what relays a volume's tar):
 * a real server on loopback, a writer thread, libcurl as the client.  The body arrives whole and
 * in order, is not chunked (a chunked body's chunks are bounded by the connection's small memory
 * pool: one send() per few KiB), and ends with the connection; a plain stream stays chunked. */
#include "config.h"

#include <curl/curl.h>
#include <string.h>

#include "cara-http-server.h"

#define TOTAL (5 * 1024 * 1024 + 3)

static guint8
byte_at (gsize i)
{
  return (guint8) ((i * 2654435761u) >> 11);
}

static gpointer
writer_thread (gpointer data)
{
  CaraHttpStream *st = data;
  guint8 buf[100003];
  for (gsize done = 0; done < TOTAL;)
    {
      gsize n = MIN (sizeof buf, TOTAL - done);
      for (gsize i = 0; i < n; i++)
        buf[i] = byte_at (done + i);
      while (cara_http_stream_get_queued (st) > 1024 * 1024)
        g_usleep (200);
      if (!cara_http_stream_write (st, (const char *) buf, n))
        break;
      done += n;
    }
  cara_http_stream_close (st);
  cara_http_stream_unref (st);
  return NULL;
}

static void
serve (CaraHttpRequest *req, gpointer user_data)
{
  gboolean bulk = GPOINTER_TO_INT (user_data);
  CaraHttpStream *st = bulk ? cara_http_respond_stream_bulk (req, 200, "application/x-tar", NULL, NULL)
                            : cara_http_respond_stream (req, 200, "application/x-tar", NULL, NULL);
  g_thread_unref (g_thread_new ("writer", writer_thread, st));
}

static const CaraHttpRoute bulk_routes[] = { { "GET", "/bulk", serve, CARA_HTTP_ROLE_PUBLIC } };
static const CaraHttpRoute plain_routes[] = { { "GET", "/plain", serve, CARA_HTTP_ROLE_PUBLIC } };

typedef struct {
  gsize got, bad;
  gboolean chunked;
} Seen;

static size_t
on_header (char *data, size_t size, size_t n, void *user_data)
{
  Seen *s = user_data;
  if (g_ascii_strncasecmp (data, "Transfer-Encoding:", 18) == 0 && g_strstr_len (data, size * n, "chunked"))
    s->chunked = TRUE;
  return size * n;
}

static size_t
on_body (char *data, size_t size, size_t n, void *user_data)
{
  Seen *s = user_data;
  for (size_t i = 0; i < size * n; i++)
    s->bad += (guint8) data[i] != byte_at (s->got + i);
  s->got += size * n;
  return size * n;
}

static Seen
fetch (guint16 port, const char *path)
{
  Seen s = { 0 };
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
  CURL *curl = curl_easy_init ();
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (curl, CURLOPT_HEADERDATA, &s);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform (curl);
  long status = 0;
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup (curl);
  g_assert_cmpint (rc, ==, CURLE_OK);
  g_assert_cmpint (status, ==, 200);
  return s;
}

static void
test_bulk (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraHttpServer) s = cara_http_server_new ();
  cara_http_server_add_routes (s, bulk_routes, G_N_ELEMENTS (bulk_routes), GINT_TO_POINTER (TRUE));
  cara_http_server_add_routes (s, plain_routes, G_N_ELEMENTS (plain_routes), GINT_TO_POINTER (FALSE));
  g_assert_true (cara_http_server_start (s, -1, "127.0.0.1", 0, &error));
  g_assert_no_error (error);

  Seen bulk = fetch (cara_http_server_get_port (s), "/bulk");
  g_assert_cmpuint (bulk.got, ==, TOTAL);
  g_assert_cmpuint (bulk.bad, ==, 0);
  g_assert_false (bulk.chunked);

  Seen plain = fetch (cara_http_server_get_port (s), "/plain");
  g_assert_cmpuint (plain.got, ==, TOTAL);
  g_assert_cmpuint (plain.bad, ==, 0);
  g_assert_true (plain.chunked);
  cara_http_server_stop (s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  curl_global_init (CURL_GLOBAL_DEFAULT);
  g_test_add_func ("/http/bulk-stream", test_bulk);
  int r = g_test_run ();
  curl_global_cleanup ();
  return r;
}
