/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-http-client"

#include <gio/gio.h>
#include <string.h>

#include "cara-cleanup.h"
#include "cara-error.h"
#include "cara-http-client.h"
#include "cara-json.h"
#include "cara-tls.h"

struct _CaraHttpClient {
  CURL *curl;
  char *base_url;   /* what requests are prefixed with: "http://host:port" */
  char *unix_path;  /* non-NULL for unix:// */
  char *given_url;
  char *token;
  GPtrArray *headers; /* "Name: value" sent with every request, or NULL */
  char *ca_file;
  char *cert, *key;
  char *user_agent;
  guint timeout_ms;
  guint connect_timeout_ms;
  guint buffer_size; /* CURLOPT_BUFFERSIZE; 0: libcurl's default */
};

static void
ensure_curl_global (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      curl_global_init (CURL_GLOBAL_DEFAULT);
      g_once_init_leave (&once, 1);
    }
}

CaraHttpClient *
cara_http_client_new (const char *base_url)
{
  ensure_curl_global ();
  CaraHttpClient *c = g_new0 (CaraHttpClient, 1);
  c->given_url = g_strdup (base_url);
  if (g_str_has_prefix (base_url, "unix://"))
    {
      c->unix_path = g_strdup (base_url + strlen ("unix://"));
      c->base_url = g_strdup ("http://localhost");
    }
  else if (g_str_has_prefix (base_url, "tcp://"))
    c->base_url = g_strconcat ("http://", base_url + strlen ("tcp://"), NULL);
  else
    c->base_url = g_strdup (base_url);
  /* "http://host:8080/" -> "http://host:8080" so paths can start with '/'. */
  gsize l = strlen (c->base_url);
  while (l > 0 && c->base_url[l - 1] == '/')
    c->base_url[--l] = '\0';
  c->connect_timeout_ms = 5000;
  c->user_agent = g_strdup ("caravanserai/" PACKAGE_VERSION);
  c->curl = curl_easy_init ();
  return c;
}

void
cara_http_client_free (CaraHttpClient *c)
{
  if (c == NULL)
    return;
  if (c->curl)
    curl_easy_cleanup (c->curl);
  g_free (c->base_url);
  g_free (c->unix_path);
  g_free (c->given_url);
  if (c->token)
    memset (c->token, 0, strlen (c->token));
  g_free (c->token);
  if (c->headers)
    g_ptr_array_unref (c->headers);
  g_free (c->ca_file);
  g_free (c->cert);
  g_free (c->key);
  g_free (c->user_agent);
  g_free (c);
}

const char *
cara_http_client_get_base_url (CaraHttpClient *c)
{
  return c->given_url;
}

void
cara_http_client_set_token (CaraHttpClient *c, const char *bearer_token)
{
  g_free (c->token);
  c->token = (bearer_token && *bearer_token) ? g_strdup (bearer_token) : NULL;
}

void
cara_http_client_add_header (CaraHttpClient *c, const char *name, const char *value)
{
  if (c->headers == NULL)
    c->headers = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (c->headers, g_strdup_printf ("%s: %s", name, value));
}

void
cara_http_client_set_ca_file (CaraHttpClient *c, const char *ca_file)
{
  g_free (c->ca_file);
  c->ca_file = g_strdup (ca_file);
}

void
cara_http_client_set_client_cert (CaraHttpClient *c, const char *cert, const char *key)
{
  g_free (c->cert);
  g_free (c->key);
  c->cert = g_strdup (cert);
  c->key = g_strdup (key);
}

void
cara_http_client_set_timeout (CaraHttpClient *c, guint timeout_ms)
{
  c->timeout_ms = timeout_ms;
}

void
cara_http_client_set_connect_timeout (CaraHttpClient *c, guint timeout_ms)
{
  c->connect_timeout_ms = timeout_ms;
}

void
cara_http_client_set_buffer_size (CaraHttpClient *c, guint bytes)
{
  c->buffer_size = bytes;
}

void
cara_http_client_set_user_agent (CaraHttpClient *c, const char *ua)
{
  g_free (c->user_agent);
  c->user_agent = g_strdup (ua);
}

void
cara_http_response_free (CaraHttpResponse *r)
{
  if (r == NULL)
    return;
  g_free (r->content_type);
  if (r->body)
    g_bytes_unref (r->body);
  g_free (r);
}

typedef struct {
  GByteArray *buf;          /* whole-body mode */
  CaraHttpDataFunc on_data; /* streaming mode (only for 2xx) */
  gpointer user_data;
  GCancellable *cancellable;
  CURL *curl;
  gboolean stopped;
  gboolean cancelled;
} Transfer;

static size_t
write_cb (char *ptr, size_t size, size_t nmemb, void *userdata)
{
  Transfer *t = userdata;
  size_t len = size * nmemb;
  if (t->cancellable && g_cancellable_is_cancelled (t->cancellable))
    {
      t->cancelled = TRUE;
      return 0;
    }
  long status = 0;
  curl_easy_getinfo (t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->on_data && status >= 200 && status < 300)
    {
      if (!t->on_data (ptr, len, t->user_data))
        {
          t->stopped = TRUE;
          return 0;
        }
      return len;
    }
  g_byte_array_append (t->buf, (const guint8 *) ptr, len);
  return len;
}

static int
progress_cb (void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
  Transfer *t = userdata;
  if (t->cancellable && g_cancellable_is_cancelled (t->cancellable))
    {
      t->cancelled = TRUE;
      return 1;
    }
  return 0;
}

static CaraHttpResponse *
perform (CaraHttpClient *c, const char *method, const char *path, const char *content_type,
         const char *body, gsize body_len, Transfer *t, GError **error)
{
  CURL *curl = c->curl;
  curl_easy_reset (curl);
  g_autofree char *url = g_strconcat (c->base_url, path, NULL);
  g_autoptr (CaraCurlSlist) headers = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *ctype = NULL;
  char errbuf[CURL_ERROR_SIZE] = "";

  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_USERAGENT, c->user_agent);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, (long) c->connect_timeout_ms);
  if (c->timeout_ms)
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, (long) c->timeout_ms);
  if (c->buffer_size)
    curl_easy_setopt (curl, CURLOPT_BUFFERSIZE, (long) c->buffer_size);
  if (c->unix_path)
    curl_easy_setopt (curl, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
  cara_tls_setup_curl (curl);
  if (c->ca_file)
    curl_easy_setopt (curl, CURLOPT_CAINFO, c->ca_file);
  if (c->cert)
    curl_easy_setopt (curl, CURLOPT_SSLCERT, c->cert);
  if (c->key)
    curl_easy_setopt (curl, CURLOPT_SSLKEY, c->key);
  if (g_strcmp0 (method, "GET") != 0)
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
  if (g_strcmp0 (method, "HEAD") == 0)
    curl_easy_setopt (curl, CURLOPT_NOBODY, 1L);

  /* Always send a body for methods that take one, so Content-Length: 0 goes out when empty. */
  if (body != NULL || g_strcmp0 (method, "POST") == 0 || g_strcmp0 (method, "PUT") == 0
      || g_strcmp0 (method, "PATCH") == 0)
    {
      curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (body ? body_len : 0));
      curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body ? body : "");
    }
  if (content_type)
    {
      ctype = g_strconcat ("Content-Type: ", content_type, NULL);
      headers = curl_slist_append (headers, ctype);
    }
  headers = curl_slist_append (headers, "Expect:");
  if (c->token)
    {
      auth = g_strconcat ("Authorization: Bearer ", c->token, NULL);
      headers = curl_slist_append (headers, auth);
    }
  for (guint i = 0; c->headers && i < c->headers->len; i++)
    headers = curl_slist_append (headers, g_ptr_array_index (c->headers, i));
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);

  t->curl = curl;
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, t);
  if (t->cancellable)
    {
      curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
      curl_easy_setopt (curl, CURLOPT_XFERINFODATA, t);
      curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
    }

  CURLcode rc = curl_easy_perform (curl);
  /* Don't keep pointers to our stack in the handle. */
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, NULL);

  if (t->cancelled)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Operation was cancelled");
      return NULL;
    }
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t->stopped))
    {
      const char *why = errbuf[0] ? errbuf : curl_easy_strerror (rc);
      int code = CARA_ERROR_FAILED;
      /* Refused, unresolvable, the peer went away mid-request, or it did not answer in time (a
       * daemon restarting: dockerd accepts on its socket long before it answers). */
      if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY
          || rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR
          || rc == CURLE_OPERATION_TIMEDOUT)
        code = CARA_ERROR_UNREACHABLE;
      g_set_error (error, CARA_ERROR, code, "%s %s%s: %s", method,
                   c->unix_path ? c->given_url : c->base_url, path, why);
      return NULL;
    }

  CaraHttpResponse *r = g_new0 (CaraHttpResponse, 1);
  long status = 0;
  char *ct = NULL;
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo (curl, CURLINFO_CONTENT_TYPE, &ct);
  r->status = (guint) status;
  r->content_type = g_strdup (ct);
  return r;
}

CaraHttpResponse *
cara_http_client_request (CaraHttpClient *c, const char *method, const char *path, const char *content_type,
                          const char *body, gsize body_len, GError **error)
{
  Transfer t = { .buf = g_byte_array_new () };
  CaraHttpResponse *r = perform (c, method, path, content_type, body, body_len, &t, error);
  if (r == NULL)
    {
      g_byte_array_unref (t.buf);
      return NULL;
    }
  r->body = g_byte_array_free_to_bytes (t.buf);
  return r;
}

GError *
cara_http_error_from_response (const CaraHttpResponse *r)
{
  gsize len = 0;
  const char *data = r->body ? g_bytes_get_data (r->body, &len) : NULL;
  int code = cara_error_code_from_http_status (r->status);
  const char *reason = cara_http_status_title (r->status);

  if (data && len > 0)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      if (cara_json_check_depth (data, (gssize) len, NULL)
          && json_parser_load_from_data (parser, data, (gssize) len, NULL)
          && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          JsonObject *o = json_node_get_object (json_parser_get_root (parser));
          const char *title = json_object_get_string_member_with_default (o, "title", "");
          const char *detail = json_object_get_string_member_with_default (o, "detail", "");
          g_autoptr (GString) errs = g_string_new (NULL);
          if (json_object_has_member (o, "errors") && JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "errors")))
            {
              JsonArray *a = json_object_get_array_member (o, "errors");
              for (guint i = 0; i < json_array_get_length (a); i++)
                {
                  JsonNode *e = json_array_get_element (a, i);
                  if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING)
                    g_string_append_printf (errs, "%s%s", errs->len ? "; " : "", json_node_get_string (e));
                }
            }
          if (*title)
            {
              if (*detail)
                return g_error_new (CARA_ERROR, code, "%s: %s", title, detail);
              if (errs->len)
                return g_error_new (CARA_ERROR, code, "%s: %s", title, errs->str);
              return g_error_new_literal (CARA_ERROR, code, title);
            }
          if (*detail)
            return g_error_new_literal (CARA_ERROR, code, detail);
          if (errs->len)
            return g_error_new_literal (CARA_ERROR, code, errs->str);
        }
      g_autofree char *text = g_strstrip (g_strndup (data, MIN (len, 4096)));
      return g_error_new (CARA_ERROR, code, "server returned %u %s: %s", r->status, reason, text);
    }
  return g_error_new (CARA_ERROR, code, "server returned %u %s", r->status, reason);
}

gboolean
cara_http_client_json (CaraHttpClient *c, const char *method, const char *path, JsonNode *body,
                       guint *ret_status, JsonNode **ret_json, GError **error)
{
  g_autofree char *data = body ? cara_json_to_string (body, FALSE) : NULL;
  g_autoptr (CaraHttpResponse) r = cara_http_client_request (c, method, path, data ? "application/json" : NULL,
                                                              data, data ? strlen (data) : 0, error);
  if (r == NULL)
    return FALSE;
  if (r->status < 200 || r->status >= 300)
    {
      g_propagate_error (error, cara_http_error_from_response (r));
      return FALSE;
    }
  JsonNode *json = NULL;
  gsize len = 0;
  const char *bytes = g_bytes_get_data (r->body, &len);
  if (len > 0 && ret_json != NULL)
    {
      json = cara_json_parse (bytes, (gssize) len, error);
      if (json == NULL)
        {
          g_prefix_error (error, "decode response: ");
          return FALSE;
        }
    }
  if (ret_status)
    *ret_status = r->status;
  if (ret_json)
    *ret_json = json;
  return TRUE;
}

gboolean
cara_http_client_stream (CaraHttpClient *c, const char *method, const char *path, const char *content_type,
                         const char *body, gsize body_len, CaraHttpDataFunc on_data, gpointer user_data,
                         GCancellable *cancellable, GError **error)
{
  Transfer t = { .buf = g_byte_array_new (), .on_data = on_data, .user_data = user_data, .cancellable = cancellable };
  g_autoptr (CaraHttpResponse) r = perform (c, method, path, content_type, body, body_len, &t, error);
  if (r == NULL)
    {
      g_byte_array_unref (t.buf);
      return FALSE;
    }
  r->body = g_byte_array_free_to_bytes (t.buf);
  if (r->status < 200 || r->status >= 300)
    {
      g_propagate_error (error, cara_http_error_from_response (r));
      return FALSE;
    }
  return TRUE;
}

char *
cara_http_escape (const char *s)
{
  return g_uri_escape_string (s, NULL, FALSE);
}
