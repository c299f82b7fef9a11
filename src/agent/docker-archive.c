/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-docker"
#include "config.h"

#include <curl/curl.h>
#include <string.h>

#include "cara-error.h"
#include "docker-archive.h"

gboolean
docker_archive_get (DockerClient *dc, const char *id, const char *path, CaraHttpDataFunc on_data, gpointer user_data,
                    GCancellable *cancellable, GError **error)
{
  CaraHttpClient *http = docker_client_get_http (dc);
  g_autofree char *esc = cara_http_escape (path);
  g_autofree char *req = g_strdup_printf ("/v%s/containers/%s/archive?path=%s", docker_client_get_api_version (dc),
                                          id, esc);
  cara_http_client_set_timeout (http, 0);
  cara_http_client_set_buffer_size (http, 512 * 1024);
  gboolean ok = cara_http_client_stream (http, "GET", req, NULL, NULL, 0, on_data, user_data, cancellable, error);
  cara_http_client_set_buffer_size (http, 0);
  cara_http_client_set_timeout (http, 60000);
  if (!ok)
    g_prefix_error (error, "read %s of container %.12s: ", path, id);
  return ok;
}

typedef struct {
  CaraBytePipe *pipe;
  GByteArray *answer;
} PutState;

static size_t
put_read (char *buf, size_t size, size_t n, void *user_data)
{
  PutState *s = user_data;
  return cara_byte_pipe_read (s->pipe, buf, size * n); /* 0: the end of the tar */
}

static size_t
put_write (char *data, size_t size, size_t n, void *user_data)
{
  PutState *s = user_data;
  if (s->answer->len < 64 * 1024)
    g_byte_array_append (s->answer, (const guint8 *) data, (guint) (size * n));
  return size * n;
}

gboolean
docker_archive_put_pipe (const char *docker_host, const char *api_version, const char *id, const char *dir,
                         CaraBytePipe *pipe, GError **error)
{
  g_autoptr (GByteArray) answer = g_byte_array_new ();
  PutState s = { .pipe = pipe, .answer = answer };
  g_autofree char *esc = cara_http_escape (dir);
  g_autofree char *url = NULL;
  const char *unix_path = NULL;
  if (g_str_has_prefix (docker_host, "unix://"))
    {
      unix_path = docker_host + strlen ("unix://");
      url = g_strdup_printf ("http://localhost/v%s/containers/%s/archive?path=%s", api_version, id, esc);
    }
  else
    url = g_strdup_printf ("http://%s/v%s/containers/%s/archive?path=%s",
                           g_str_has_prefix (docker_host, "tcp://") ? docker_host + 6 : docker_host, api_version, id,
                           esc);
  CURL *curl = curl_easy_init ();
  struct curl_slist *headers = curl_slist_append (NULL, "Content-Type: application/x-tar");
  headers = curl_slist_append (headers, "Expect:");
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt (curl, CURLOPT_URL, url);
  if (unix_path)
    curl_easy_setopt (curl, CURLOPT_UNIX_SOCKET_PATH, unix_path);
  curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt (curl, CURLOPT_READFUNCTION, put_read);
  curl_easy_setopt (curl, CURLOPT_READDATA, &s);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, put_write);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt (curl, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024L);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform (curl);
  cara_byte_pipe_close_read (pipe);
  long status = 0;
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup (curl);
  curl_slist_free_all (headers);
  if (rc != CURLE_OK)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "write %s of container %.12s: %s", dir, id,
                   *errbuf ? errbuf : curl_easy_strerror (rc));
      return FALSE;
    }
  if (status < 200 || status >= 300)
    {
      g_autofree char *text = g_strndup ((const char *) answer->data, answer->len);
      g_strstrip (text);
      g_set_error (error, CARA_ERROR, status == 404 ? CARA_ERROR_NOT_FOUND : CARA_ERROR_FAILED,
                   "write %s of container %.12s: Docker answered %ld: %s", dir, id, status, text);
      return FALSE;
    }
  return TRUE;
}
