/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the agent's Docker API response decoding: the real DockerClient (docker.c
 * over cara-http-client/libcurl) talks to a unix socket whose every answer is the fuzz input.
 * Input: byte 0 picks the call, byte 1 the HTTP status (high bit: the rest is sent raw, status line
 * and headers included), the rest is the body.  Nothing may crash or leak, whatever Docker says. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../src/agent/docker.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static GMutex lock;
static GBytes *answer;   /* what the fake socket sends next */
static char *host;       /* "unix://<tmp>/docker.sock" */

static const guint statuses[] = { 200, 201, 204, 304, 400, 404, 409, 500, 200, 200, 200, 200, 301, 101, 999, 0 };

/* Reads one request (headers, then Content-Length bytes), answers with `answer`, closes. */
static gpointer
serve (gpointer fdp)
{
  int lfd = GPOINTER_TO_INT (fdp);
  for (;;)
    {
      int c = accept (lfd, NULL, NULL);
      if (c < 0)
        {
          if (errno == EINTR)
            continue;
          return NULL;
        }
      g_autoptr (GString) req = g_string_new (NULL);
      char buf[4096];
      gssize n;
      while ((n = read (c, buf, sizeof buf)) > 0)
        {
          g_string_append_len (req, buf, n);
          const char *end = strstr (req->str, "\r\n\r\n");
          if (end == NULL)
            continue;
          const char *cl = g_strstr_len (req->str, end - req->str, "Content-Length: ");
          gsize want = (end - req->str) + 4 + (cl ? g_ascii_strtoull (cl + 16, NULL, 10) : 0);
          if (req->len >= want)
            break;
        }
      g_mutex_lock (&lock);
      g_autoptr (GBytes) a = answer ? g_bytes_ref (answer) : NULL;
      g_mutex_unlock (&lock);
      if (a != NULL)
        {
          gsize len;
          const char *p = g_bytes_get_data (a, &len);
          while (len > 0 && (n = write (c, p, len)) > 0)
            p += n, len -= (gsize) n;
        }
      close (c);
    }
}

static void
set_answer (guint status, gboolean raw, const guint8 *body, gsize len)
{
  g_autoptr (GByteArray) b = g_byte_array_new ();
  if (!raw)
    {
      g_autofree char *head = g_strdup_printf ("HTTP/1.1 %u X\r\nContent-Type: application/json\r\n"
                                               "Content-Length: %" G_GSIZE_FORMAT "\r\nConnection: close\r\n\r\n",
                                               status, len);
      g_byte_array_append (b, (const guint8 *) head, strlen (head));
    }
  g_byte_array_append (b, body, len);
  g_mutex_lock (&lock);
  g_clear_pointer (&answer, g_bytes_unref);
  answer = g_byte_array_free_to_bytes (g_steal_pointer (&b));
  g_mutex_unlock (&lock);
}

static void
setup (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cara-fuzz-docker-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "docker.sock", NULL);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_strlcpy (sa.sun_path, path, sizeof sa.sun_path);
  if (fd < 0 || bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (fd, 16) < 0)
    g_error ("fake docker socket %s: %s", path, g_strerror (errno));
  host = g_strconcat ("unix://", path, NULL);
  g_thread_unref (g_thread_new ("fake-docker", serve, GINT_TO_POINTER (fd)));
  /* Negotiate once with a sane /version (the version is cached per host). */
  static const char version[] = "{\"ApiVersion\":\"1.41\"}";
  set_answer (200, FALSE, (const guint8 *) version, sizeof version - 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (DockerClient) dc = docker_client_new (host, &error);
  if (dc == NULL)
    g_error ("%s", error->message);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      setup ();
      g_once_init_leave (&once, 1);
    }
  if (size < 2)
    return 0;
  guint op = data[0] % 8;
  gboolean raw = (data[1] & 0x80) != 0;
  set_answer (statuses[data[1] % G_N_ELEMENTS (statuses)], raw, data + 2, size - 2);

  g_autoptr (GError) error = NULL;
  g_autoptr (DockerClient) dc = docker_client_new (host, &error);
  if (dc == NULL)
    abort ();  /* the version is cached: no request is made */
  const char *filters[] = { "cara.node=n1", "cara.project=p", NULL };
  switch (op)
    {
    case 0:
      {
        g_autoptr (JsonArray) a = docker_container_list (dc, filters, &error);
        for (guint i = 0; a && i < json_array_get_length (a); i++)
          {
            JsonNode *e = json_array_get_element (a, i);
            if (JSON_NODE_HOLDS_OBJECT (e))
              (void) docker_labels_get (json_node_get_object (e), "cara.project");
          }
        break;
      }
    case 1:
      {
        g_autoptr (JsonObject) o = docker_container_inspect (dc, "c1", &error);
        if (o)
          (void) docker_labels_get (o, "cara.spec-hash");
        break;
      }
    case 2:
      {
        g_autofree char *id = NULL;
        g_autoptr (JsonNode) cfg = json_from_string ("{\"Image\":\"busybox\"}", NULL);
        (void) docker_container_create (dc, "c1", cfg, &id, &error);
        break;
      }
    case 3:
      (void) docker_ping (dc, &error);
      break;
    case 4:
      {
        g_autoptr (JsonArray) a = docker_network_list (dc, filters, &error);
        if (a != NULL)
          (void) json_array_get_length (a);
        break;
      }
    case 5:
      {
        g_autoptr (JsonObject) o = docker_network_inspect (dc, "net", &error);
        if (o != NULL)
          (void) json_object_get_size (o);
        break;
      }
    case 6:
      {
        g_autoptr (JsonNode) n = NULL;
        (void) docker_call (dc, "GET", "/info", NULL, &n, &error);
        break;
      }
    default:
      {
        g_autofree char *v = g_strndup ((const char *) data + 2, size - 2);
        g_autofree char *picked = docker_negotiate_version (v);
        if (picked == NULL)
          abort ();
        (void) docker_container_remove (dc, "c1", &error);
        break;
      }
    }
  return 0;
}
