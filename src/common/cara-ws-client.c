/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-ws"
#include "config.h"

#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "cara-error.h"
#include "cara-http-client.h"
#include "cara-tls.h"
#include "cara-websocket.h"
#include "cara-ws-client.h"

#define HEAD_LIMIT (16 * 1024)
#define ERROR_BODY_LIMIT (64 * 1024)

struct _CaraWsClient {
  CURL *curl;
  curl_socket_t fd;
  GBytes *pending;
};

void
cara_ws_client_free (CaraWsClient *c)
{
  if (c == NULL)
    return;
  if (c->curl)
    curl_easy_cleanup (c->curl);
  if (c->pending)
    g_bytes_unref (c->pending);
  g_free (c);
}

int
cara_ws_client_get_fd (CaraWsClient *c)
{
  return (int) c->fd;
}

GBytes *
cara_ws_client_take_pending (CaraWsClient *c)
{
  return g_steal_pointer (&c->pending);
}

static gboolean
wait_fd (curl_socket_t fd, short events, int timeout_ms)
{
  struct pollfd p = { .fd = fd, .events = events };
  return poll (&p, 1, timeout_ms) > 0;
}

gssize
cara_ws_client_recv (CaraWsClient *c, guint8 *buf, gsize len)
{
  size_t n = 0;
  CURLcode rc = curl_easy_recv (c->curl, buf, len, &n);
  if (rc == CURLE_AGAIN)
    return -2;
  if (rc != CURLE_OK)
    return -1;
  return (gssize) n;
}

gssize
cara_ws_client_send (CaraWsClient *c, const guint8 *data, gsize len)
{
  size_t n = 0;
  CURLcode rc = curl_easy_send (c->curl, data, len, &n);
  if (rc == CURLE_AGAIN)
    return -2;
  if (rc != CURLE_OK)
    return -1;
  return (gssize) n;
}

gboolean
cara_ws_client_send_all (CaraWsClient *c, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      size_t n = 0;
      CURLcode rc = curl_easy_send (c->curl, data, len, &n);
      if (rc == CURLE_AGAIN)
        {
          if (!wait_fd (c->fd, POLLOUT, 60000))
            return FALSE;
          continue;
        }
      if (rc != CURLE_OK)
        return FALSE;
      data += n;
      len -= n;
    }
  return TRUE;
}

/* The value of header @name in the answer's head (lines after the status line), or NULL. */
static char *
head_value (char **lines, const char *name)
{
  gsize nlen = strlen (name);
  for (guint i = 1; lines[i]; i++)
    if (g_ascii_strncasecmp (lines[i], name, nlen) == 0 && lines[i][nlen] == ':')
      return g_strstrip (g_strdup (lines[i] + nlen + 1));
  return NULL;
}

/* "Host:" for the request, from the URL (libcurl's URL parser). */
static char *
url_host (const char *url)
{
  CURLU *u = curl_url ();
  char *host = NULL, *port = NULL;
  char *ret = NULL;
  if (curl_url_set (u, CURLUPART_URL, url, 0) == CURLUE_OK && curl_url_get (u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
    {
      if (curl_url_get (u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
        ret = g_strdup_printf ("%s:%s", host, port);
      else
        ret = g_strdup (host);
    }
  curl_free (host);
  curl_free (port);
  curl_url_cleanup (u);
  return ret;
}

CaraWsClient *
cara_ws_client_connect (const char *base_url, const char *path, const CaraWsClientOptions *opts, guint *ret_status,
                        GBytes **ret_body, GError **error)
{
  guint timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : 10000;
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  *ret_status = 0;
  if (ret_body)
    *ret_body = NULL;

  g_autofree char *url = g_strconcat (base_url, path, NULL);
  g_autofree char *host = url_host (url);
  if (host == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid URL %s", url);
      return NULL;
    }
  g_autoptr (CaraWsClient) c = g_new0 (CaraWsClient, 1);
  c->curl = curl_easy_init ();
  curl_easy_setopt (c->curl, CURLOPT_URL, url);
  curl_easy_setopt (c->curl, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt (c->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c->curl, CURLOPT_CONNECTTIMEOUT_MS, (long) timeout_ms);
  cara_tls_setup_curl (c->curl);
  if (opts && opts->ca_file)
    curl_easy_setopt (c->curl, CURLOPT_CAINFO, opts->ca_file);
  CURLcode rc = curl_easy_perform (c->curl);
  if (rc != CURLE_OK)
    {
      int code = (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_OPERATION_TIMEDOUT)
                   ? CARA_ERROR_UNREACHABLE : CARA_ERROR_FAILED;
      g_set_error (error, CARA_ERROR, code, "cannot connect to %s: %s", base_url, curl_easy_strerror (rc));
      return NULL;
    }
  curl_easy_getinfo (c->curl, CURLINFO_ACTIVESOCKET, &c->fd);

  g_autofree char *key = cara_ws_new_client_key ();
  g_autoptr (GString) req = g_string_new (NULL);
  g_string_printf (req,
                   "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nUser-Agent: caravanserai\r\n",
                   path, host, key);
  if (opts && opts->token && *opts->token)
    g_string_append_printf (req, "Authorization: Bearer %s\r\n", opts->token);
  if (opts && opts->protocol)
    g_string_append_printf (req, "Sec-WebSocket-Protocol: %s\r\n", opts->protocol);
  g_string_append (req, "\r\n");
  if (!cara_ws_client_send_all (c, (const guint8 *) req->str, req->len))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot send the WebSocket handshake to %s", base_url);
      return NULL;
    }

  /* Read the answer's head (up to the blank line). */
  g_autoptr (GByteArray) in = g_byte_array_new ();
  guint8 buf[4096];
  const guint8 *end = NULL;
  while ((end = (in->len ? memmem (in->data, in->len, "\r\n\r\n", 4) : NULL)) == NULL)
    {
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      if (in->len > HEAD_LIMIT || left <= 0)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "no WebSocket handshake answer from %s", base_url);
          return NULL;
        }
      gssize n = cara_ws_client_recv (c, buf, sizeof buf);
      if (n == -2)
        {
          wait_fd (c->fd, POLLIN, (int) left);
          continue;
        }
      if (n <= 0)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "%s closed the connection during the WebSocket handshake",
                       base_url);
          return NULL;
        }
      g_byte_array_append (in, buf, (guint) n);
    }
  gsize head_len = (gsize) (end - in->data);
  g_autofree char *head = g_strndup ((const char *) in->data, head_len);
  g_auto (GStrv) lines = g_strsplit (head, "\r\n", -1);
  guint status = 0;
  if (sscanf (lines[0], "HTTP/1.%*d %u", &status) != 1)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "%s did not answer with HTTP", base_url);
      return NULL;
    }
  *ret_status = status;
  gsize rest = in->len - head_len - 4;
  g_byte_array_remove_range (in, 0, (guint) (head_len + 4));

  if (status == 101)
    {
      g_autofree char *accept = head_value (lines, "Sec-WebSocket-Accept");
      g_autofree char *want = cara_ws_accept_key (key);
      if (g_strcmp0 (accept, want) != 0)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "%s answered with a wrong Sec-WebSocket-Accept", base_url);
          return NULL;
        }
      g_autofree char *protocol = head_value (lines, "Sec-WebSocket-Protocol");
      if (opts && opts->protocol && g_strcmp0 (protocol, opts->protocol) != 0)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "%s does not speak the WebSocket subprotocol %s",
                       base_url, opts->protocol);
          return NULL;
        }
      if (rest > 0)
        c->pending = g_bytes_new (in->data, rest);
      return g_steal_pointer (&c);
    }

  /* Another answer: read its body (Content-Length, else until the peer closes) for the error. */
  g_autofree char *clen = head_value (lines, "Content-Length");
  g_autofree char *ctype = head_value (lines, "Content-Type");
  gsize want = clen ? (gsize) g_ascii_strtoull (clen, NULL, 10) : ERROR_BODY_LIMIT;
  want = MIN (want, ERROR_BODY_LIMIT);
  while (in->len < want)
    {
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      if (left <= 0)
        break;
      gssize n = cara_ws_client_recv (c, buf, sizeof buf);
      if (n == -2)
        {
          wait_fd (c->fd, POLLIN, (int) left);
          continue;
        }
      if (n <= 0)
        break;
      g_byte_array_append (in, buf, (guint) n);
    }
  g_byte_array_set_size (in, (guint) MIN (in->len, want));
  CaraHttpResponse r = { .status = status, .content_type = ctype, .body = g_bytes_new (in->data, in->len) };
  if (error)
    *error = cara_http_error_from_response (&r);
  if (ret_body)
    *ret_body = g_bytes_ref (r.body);
  g_bytes_unref (r.body);
  return NULL;
}
