/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-docker"

#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cara-error.h"
#include "docker-exec.h"

#define HEAD_LIMIT (16 * 1024)
#define START_TIMEOUT_USEC (30 * G_USEC_PER_SEC)

gboolean
docker_exec_create (DockerClient *dc, const char *container_id, const char *const *argv, gboolean attach_stdin,
                    gboolean tty, char **ret_exec_id, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "AttachStdin");
  json_builder_add_boolean_value (b, attach_stdin);
  json_builder_set_member_name (b, "AttachStdout");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "AttachStderr");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "Tty");
  json_builder_add_boolean_value (b, tty);
  json_builder_set_member_name (b, "Cmd");
  json_builder_begin_array (b);
  for (guint i = 0; argv[i]; i++)
    json_builder_add_string_value (b, argv[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) body = json_builder_get_root (b);
  g_autofree char *path = g_strdup_printf ("/containers/%s/exec", container_id);
  g_autoptr (JsonNode) answer = NULL;
  if (!docker_call (dc, "POST", path, body, &answer, error))
    return FALSE;
  const char *id = answer && JSON_NODE_HOLDS_OBJECT (answer)
                     ? json_object_get_string_member_with_default (json_node_get_object (answer), "Id", NULL)
                     : NULL;
  if (id == NULL || *id == '\0')
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Docker created an exec instance without an Id");
      return FALSE;
    }
  *ret_exec_id = g_strdup (id);
  return TRUE;
}

gboolean
docker_exec_resize (DockerClient *dc, const char *exec_id, guint width, guint height, GError **error)
{
  g_autofree char *path = g_strdup_printf ("/exec/%s/resize?h=%u&w=%u", exec_id, height, width);
  return docker_call (dc, "POST", path, NULL, NULL, error);
}

gboolean
docker_exec_inspect (DockerClient *dc, const char *exec_id, gboolean *ret_running, int *ret_exit_code,
                     GError **error)
{
  g_autofree char *path = g_strdup_printf ("/exec/%s/json", exec_id);
  g_autoptr (JsonNode) answer = NULL;
  if (!docker_call (dc, "GET", path, NULL, &answer, error))
    return FALSE;
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "bad answer to GET %s", path);
      return FALSE;
    }
  JsonObject *o = json_node_get_object (answer);
  *ret_running = json_object_get_boolean_member_with_default (o, "Running", FALSE);
  *ret_exit_code = (int) json_object_get_int_member_with_default (o, "ExitCode", -1);
  return TRUE;
}

/* ---------------------------------------------------------------- the hijacked stream */

struct _DockerHijack {
  CURL *curl;
  curl_socket_t fd;
  GBytes *pending;
};

void
docker_hijack_free (DockerHijack *h)
{
  if (h == NULL)
    return;
  if (h->curl)
    curl_easy_cleanup (h->curl);
  if (h->pending)
    g_bytes_unref (h->pending);
  g_free (h);
}

int
docker_hijack_get_fd (DockerHijack *h)
{
  return (int) h->fd;
}

GBytes *
docker_hijack_take_pending (DockerHijack *h)
{
  return g_steal_pointer (&h->pending);
}

gssize
docker_hijack_recv (DockerHijack *h, guint8 *buf, gsize len)
{
  size_t n = 0;
  CURLcode rc = curl_easy_recv (h->curl, buf, len, &n);
  if (rc == CURLE_AGAIN)
    return -2;
  return rc == CURLE_OK ? (gssize) n : -1;
}

gssize
docker_hijack_send (DockerHijack *h, const guint8 *data, gsize len)
{
  size_t n = 0;
  CURLcode rc = curl_easy_send (h->curl, data, len, &n);
  if (rc == CURLE_AGAIN)
    return -2;
  return rc == CURLE_OK ? (gssize) n : -1;
}

void
docker_hijack_close_write (DockerHijack *h)
{
  /* Plain unix or TCP socket (no TLS to Docker), so the kernel's half-close is what Docker sees. */
  shutdown (h->fd, SHUT_WR);
}

static gboolean
send_all (DockerHijack *h, const char *data, gsize len, gint64 deadline)
{
  while (len > 0)
    {
      gssize n = docker_hijack_send (h, (const guint8 *) data, len);
      if (n == -1)
        return FALSE;
      if (n == -2)
        {
          struct pollfd p = { .fd = h->fd, .events = POLLOUT };
          gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
          if (left <= 0 || poll (&p, 1, (int) left) <= 0)
            return FALSE;
          continue;
        }
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

DockerHijack *
docker_exec_start (DockerClient *dc, const char *exec_id, gboolean tty, GError **error)
{
  const char *host = cara_http_client_get_base_url (docker_client_get_http (dc));
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_USEC;
  g_autoptr (DockerHijack) h = g_new0 (DockerHijack, 1);
  h->curl = curl_easy_init ();
  if (g_str_has_prefix (host, "unix://"))
    {
      curl_easy_setopt (h->curl, CURLOPT_UNIX_SOCKET_PATH, host + strlen ("unix://"));
      curl_easy_setopt (h->curl, CURLOPT_URL, "http://localhost/");
    }
  else
    {
      g_autofree char *url = g_str_has_prefix (host, "tcp://") ? g_strconcat ("http://", host + 6, "/", NULL)
                                                                 : g_strdup (host);
      curl_easy_setopt (h->curl, CURLOPT_URL, url);
    }
  curl_easy_setopt (h->curl, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt (h->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  CURLcode rc = curl_easy_perform (h->curl);
  if (rc != CURLE_OK)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot connect to Docker at %s: %s", host,
                   curl_easy_strerror (rc));
      return NULL;
    }
  curl_easy_getinfo (h->curl, CURLINFO_ACTIVESOCKET, &h->fd);

  g_autofree char *body = g_strdup_printf ("{\"Detach\":false,\"Tty\":%s}", tty ? "true" : "false");
  g_autofree char *req = g_strdup_printf ("POST /v%s/exec/%s/start HTTP/1.1\r\nHost: docker\r\n"
                                          "User-Agent: caravanserai\r\nContent-Type: application/json\r\n"
                                          "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %zu\r\n\r\n%s",
                                          docker_client_get_api_version (dc), exec_id, strlen (body), body);
  if (!send_all (h, req, strlen (req), deadline))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot send the exec start request to Docker");
      return NULL;
    }

  /* The answer's head: 101 (upgraded) or 200 (older daemons), then the raw stream. */
  g_autoptr (GByteArray) in = g_byte_array_new ();
  guint8 buf[4096];
  const guint8 *end = NULL;
  while ((end = in->len ? memmem (in->data, in->len, "\r\n\r\n", 4) : NULL) == NULL)
    {
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      if (in->len > HEAD_LIMIT || left <= 0)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "no answer from Docker to the exec start");
          return NULL;
        }
      gssize n = docker_hijack_recv (h, buf, sizeof buf);
      if (n == -2)
        {
          struct pollfd p = { .fd = h->fd, .events = POLLIN };
          poll (&p, 1, (int) left);
          continue;
        }
      if (n <= 0)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Docker closed the connection of the exec start");
          return NULL;
        }
      g_byte_array_append (in, buf, (guint) n);
    }
  gsize head_len = (gsize) (end - in->data);
  g_autofree char *head = g_strndup ((const char *) in->data, head_len);
  guint status = 0;
  if (sscanf (head, "HTTP/1.%*d %u", &status) != 1)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Docker did not answer the exec start with HTTP");
      return NULL;
    }
  gsize rest = in->len - head_len - 4;
  if (status != 101 && status != 200)
    {
      g_autofree char *msg = g_strstrip (g_strndup ((const char *) in->data + head_len + 4, MIN (rest, 1024)));
      g_set_error (error, CARA_ERROR, status == 404 ? CARA_ERROR_NOT_FOUND
                                      : status == 409 ? CARA_ERROR_CONFLICT : CARA_ERROR_FAILED,
                   "Docker refused the exec start (status %u): %s", status, msg);
      return NULL;
    }
  if (rest > 0)
    h->pending = g_bytes_new (in->data + head_len + 4, rest);
  return g_steal_pointer (&h);
}
