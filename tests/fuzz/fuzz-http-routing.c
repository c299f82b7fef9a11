/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for HTTP routing and query parsing (cara-http-server.c on libmicrohttpd): a real
 * server on loopback with route patterns like the API's; each input is sent as the raw request
 * bytes ("\n" alone becomes "\r\n" so the corpus stays readable).  Handlers read every parameter,
 * query value and header they could; the server must answer or close, never crash or hang. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cara-http-server.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
echo (CaraHttpRequest *r, gpointer user_data)
{
  (void) user_data;
  g_autoptr (GString) out = g_string_new (cara_http_request_get_method (r));
  g_string_append_printf (out, " %s", cara_http_request_get_path (r));
  for (const char *const *k = (const char *const[]) { "name", "svc", NULL }; *k; k++)
    {
      const char *v = cara_http_request_get_param (r, *k);
      g_string_append_printf (out, " %s=%s", *k, v ? v : "-");
    }
  for (const char *const *k = (const char *const[]) { "watch", "resourceVersion", "labelSelector", "tail", "", NULL }; *k; k++)
    {
      const char *v = cara_http_request_get_query (r, *k);
      const char *const *all = cara_http_request_get_query_all (r, *k);
      g_string_append_printf (out, " %s=%s/%u", *k, v ? v : "-", all ? g_strv_length ((char **) all) : 0);
    }
  const char *h = cara_http_request_get_header (r, "Content-Type");
  gsize len = 0;
  (void) cara_http_request_get_body (r, &len);
  g_string_append_printf (out, " ct=%s body=%" G_GSIZE_FORMAT " has=%d\n", h ? h : "-", len,
                          cara_http_request_has_body (r));
  if (g_str_has_suffix (cara_http_request_get_path (r), "/problem"))
    cara_http_respond_problem (r, 400, out->str);
  else
    cara_http_respond_text (r, 200, "text/plain", out->str);
}

static const CaraHttpRoute routes[] = {
  { "GET", "/api/healthz", echo, CARA_HTTP_ROLE_PUBLIC },
  { "GET", "/api/v1/projects", echo, CARA_HTTP_ROLE_READ },
  { "POST", "/api/v1/projects", echo, CARA_HTTP_ROLE_ADMIN },
  { "GET", "/api/v1/projects/{name}", echo, CARA_HTTP_ROLE_READ },
  { "PUT", "/api/v1/projects/{name}", echo, CARA_HTTP_ROLE_ADMIN },
  { "DELETE", "/api/v1/projects/{name}", echo, CARA_HTTP_ROLE_ADMIN },
  { "PATCH", "/api/v1/projects/{name}/status", echo, CARA_HTTP_ROLE_AGENT },
  { "GET", "/api/v1/projects/{name}/logs/{svc}", echo, CARA_HTTP_ROLE_READ },
  { "POST", "/api/v1/nodes/{name}/problem", echo, CARA_HTTP_ROLE_AGENT },
};

static guint16 port;

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      g_autoptr (GError) error = NULL;
      CaraHttpServer *s = cara_http_server_new ();  /* lives for the whole run */
      cara_http_server_add_routes (s, routes, G_N_ELEMENTS (routes), NULL);
      cara_http_server_set_threads (s, 1);
      if (!cara_http_server_start (s, -1, "127.0.0.1", 0, &error))
        g_error ("%s", error->message);
      port = cara_http_server_get_port (s);
      g_once_init_leave (&once, 1);
    }

  g_autoptr (GByteArray) req = g_byte_array_sized_new (size + 16);
  for (gsize i = 0; i < size; i++)
    {
      if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
        g_byte_array_append (req, (const guint8 *) "\r", 1);
      g_byte_array_append (req, data + i, 1);
    }

  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port) };
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  /* MHD does not close a connection whose request stays incomplete when the client half-closes:
   * giving up after 5 ms (as a client would) keeps the run at ~200 inputs/s instead of ~60. */
  struct timeval tv = { .tv_usec = 5000 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  /* Close with a reset: hundreds of connections a second would otherwise fill the ephemeral port
   * range with TIME_WAIT sockets within a minute and connect() would fail. */
  struct linger lg = { .l_onoff = 1, .l_linger = 0 };
  setsockopt (fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    abort ();
  const guint8 *p = req->data;
  gsize left = req->len;
  gssize n;
  while (left > 0 && (n = send (fd, p, left, MSG_NOSIGNAL)) > 0)
    p += n, left -= (gsize) n;
  shutdown (fd, SHUT_WR);
  /* Drain the answer(s); a truncated request leaves the connection waiting: the timeout ends it. */
  char buf[4096];
  while ((n = recv (fd, buf, sizeof buf, 0)) > 0)
    ;
  close (fd);
  return 0;
}
