/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-proxy"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "cara-cleanup.h"
#include "cara-error.h"
#include "cara-log.h"
#include "cara-tls.h"
#include "proxy-tls.h"
#include "proxy.h"

#define BODY_LIMIT (64 * 1024 * 1024)
/* Request bodies buffered by all connections together: 256 connections could otherwise hold
 * 64 MiB each.  A request that would go past it gets 503. */
#define BODY_BUDGET ((gssize) 256 * 1024 * 1024)
#define MAX_CONNECTIONS 256
#define MAX_CONNECTIONS_PER_CLIENT 64
#define HEADER_TIMEOUT_S 10 /* until a request's headers are in */
#define IDLE_TIMEOUT_S 120  /* then: its body, the backend's answer */

static gssize body_bytes; /* atomic: bytes buffered in request bodies, all connections */

struct _Proxy {
  struct MHD_Daemon *daemon;
  GMutex lock;
  GHashTable *routes;   /* host -> "http://ip:port" */
  GHashTable *internal; /* host -> "ip/prefix" of the project network, for access.scope Internal */
  GHashTable *projects; /* project -> GPtrArray of hosts */
  GHashTable *in_flight; /* backend "http://ip:port" -> requests being forwarded to it (GUINT) */
  /* HTTPS (SPEC §13): PROXY_TLS_LISTEN_ADDR, certificates by SNI */
  struct MHD_Daemon *tls_daemon;
  guint16 tls_port;
  ProxyTls *tls;
  GHashTable *tls_hosts; /* hosts whose ingress has tls set: plain HTTP is redirected (308) */
};

typedef struct {
  char *uri; /* raw request target, with the query */
  GByteArray *body;
  gboolean too_big;
  gboolean over_budget;
  gssize counted; /* bytes of @body counted in body_bytes */
} Request;

char *
proxy_resolve_host (const char *host, const char *project)
{
  if (host && strchr (host, '.'))
    return g_strdup (host);
  return g_strdup_printf ("%s.%s.local", host ? host : "", project);
}

static const char *const hop_by_hop[] = { "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                                          "te", "trailer", "trailers", "transfer-encoding", "upgrade", "content-length",
                                          NULL };

static gboolean
is_hop_by_hop (const char *name)
{
  for (const char *const *h = hop_by_hop; *h; h++)
    if (g_ascii_strcasecmp (name, *h) == 0)
      return TRUE;
  return FALSE;
}

static enum MHD_Result
respond_page (struct MHD_Connection *conn, guint status, const char *title, const char *detail)
{
  g_autofree char *esc = g_markup_escape_text (detail, -1);
  g_autofree char *page = g_strdup_printf (
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%u %s</title></head>\n"
      "<body style=\"font-family: sans-serif; text-align: center; margin-top: 10%%\">\n"
      "<h1 style=\"font-size: 4em\">%u</h1>\n<h2>%s</h2>\n<p>%s</p>\n<hr><small>Caravanserai Proxy</small>\n"
      "</body></html>\n",
      status, title, status, title, esc);
  struct MHD_Response *r = MHD_create_response_from_buffer (strlen (page), page, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header (r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
  enum MHD_Result ret = MHD_queue_response (conn, status, r);
  MHD_destroy_response (r);
  return ret;
}

typedef struct {
  struct curl_slist *headers;
  struct MHD_Connection *conn;
} HeaderCopy;

static enum MHD_Result
copy_header (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  HeaderCopy *hc = cls;
  if (is_hop_by_hop (key) || g_ascii_strncasecmp (key, "x-forwarded-", 12) == 0)
    return MHD_YES;
  g_autofree char *line = g_strdup_printf ("%s: %s", key, value ? value : "");
  hc->headers = curl_slist_append (hc->headers, line);
  return MHD_YES;
}

typedef struct {
  GByteArray *body;
  GPtrArray *headers; /* "Name: value" */
} Upstream;

static size_t
on_body (char *ptr, size_t size, size_t n, void *ud)
{
  Upstream *u = ud;
  g_byte_array_append (u->body, (const guint8 *) ptr, (guint) (size * n));
  return size * n;
}

static size_t
on_header (char *ptr, size_t size, size_t n, void *ud)
{
  Upstream *u = ud;
  gsize len = size * n;
  g_autofree char *line = g_strstrip (g_strndup (ptr, len));
  if (g_str_has_prefix (line, "HTTP/"))
    g_ptr_array_set_size (u->headers, 0); /* a new response (after 100 Continue) */
  else if (*line && strchr (line, ':'))
    g_ptr_array_add (u->headers, g_steal_pointer (&line));
  return len;
}

static char *
client_ip (struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char buf[INET6_ADDRSTRLEN] = "";
  if (ci && ci->client_addr)
    {
      if (ci->client_addr->sa_family == AF_INET)
        inet_ntop (AF_INET, &((struct sockaddr_in *) ci->client_addr)->sin_addr, buf, sizeof buf);
      else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop (AF_INET6, &((struct sockaddr_in6 *) ci->client_addr)->sin6_addr, buf, sizeof buf);
    }
  return g_strdup (buf);
}

CURLU *
proxy_upstream_url (const char *backend, const char *target, GError **error)
{
  /* Origin-form only: an absolute or authority form ("@127.0.0.1:8080/...") would name another
   * host once joined to the backend. */
  if (target == NULL || target[0] != '/' || strchr (target, '#'))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "the request target \"%s\" is not a path beginning with \"/\"", target ? target : "");
      return NULL;
    }
  const char *q = strchr (target, '?');
  g_autofree char *path = q ? g_strndup (target, (gsize) (q - target)) : g_strdup (target);
  g_autoptr (CURLU) u = curl_url ();
  CURLUcode rc = curl_url_set (u, CURLUPART_URL, backend, 0);
  if (rc == CURLUE_OK)
    rc = curl_url_set (u, CURLUPART_PATH, path, 0);
  if (rc == CURLUE_OK && q && q[1])
    rc = curl_url_set (u, CURLUPART_QUERY, q + 1, 0);
  if (rc != CURLUE_OK)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "the request target \"%s\": %s", target,
                   curl_url_strerror (rc));
      return NULL;
    }
  return g_steal_pointer (&u);
}

/* @cidr: "address/prefix"; the address may have host bits set (a container's own address). */
static gboolean
ip_in_cidr (const char *ip, const char *cidr)
{
  const char *slash = cidr ? strchr (cidr, '/') : NULL;
  guint64 prefix = 0;
  if (slash == NULL || !g_ascii_string_to_unsigned (slash + 1, 10, 0, 128, &prefix, NULL))
    return FALSE;
  g_autofree char *net_s = g_strndup (cidr, (gsize) (slash - cidr));
  g_autoptr (GInetAddress) a = g_inet_address_new_from_string (ip);
  g_autoptr (GInetAddress) net = g_inet_address_new_from_string (net_s);
  if (a == NULL || net == NULL || g_inet_address_get_family (a) != g_inet_address_get_family (net)
      || prefix > 8 * g_inet_address_get_native_size (a))
    return FALSE;
  const guint8 *x = g_inet_address_to_bytes (a), *y = g_inet_address_to_bytes (net);
  for (guint64 bit = 0; bit < prefix; bit++)
    if (((x[bit / 8] ^ y[bit / 8]) >> (7 - bit % 8)) & 1)
      return FALSE;
  return TRUE;
}

gboolean
proxy_internal_allowed (const char *client_ip, const char *const *local_addrs, const char *project_net)
{
  if (client_ip == NULL || *client_ip == '\0')
    return FALSE;
  if (ip_in_cidr (client_ip, "127.0.0.0/8") || g_strcmp0 (client_ip, "::1") == 0)
    return TRUE;
  for (const char *const *l = local_addrs; l && *l; l++)
    if (g_strcmp0 (*l, client_ip) == 0)
      return TRUE;
  return ip_in_cidr (client_ip, project_net);
}

/* The node's own addresses, as text. */
static GStrv
local_addresses (void)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  struct ifaddrs *ifs = NULL;
  if (getifaddrs (&ifs) == 0)
    {
      for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
        {
          char buf[INET6_ADDRSTRLEN] = "";
          if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET)
            inet_ntop (AF_INET, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, buf, sizeof buf);
          else if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6)
            inet_ntop (AF_INET6, &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr, buf, sizeof buf);
          if (*buf)
            g_strv_builder_add (b, buf);
        }
      freeifaddrs (ifs);
    }
  return g_strv_builder_end (b);
}

/* Requests in flight per backend, so that an update stops the old container only once the
 * requests it still serves are answered (SPEC §13). */
static void
in_flight_add (Proxy *px, const char *backend, int delta)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&px->lock);
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (px->in_flight, backend));
  n = delta > 0 ? n + 1 : (n > 0 ? n - 1 : 0);
  if (n == 0)
    g_hash_table_remove (px->in_flight, backend);
  else
    g_hash_table_replace (px->in_flight, g_strdup (backend), GUINT_TO_POINTER (n));
}

guint
proxy_in_flight_to (Proxy *px, const char *ip)
{
  if (px == NULL || ip == NULL)
    return 0;
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&px->lock);
  g_autofree char *prefix = g_strdup_printf ("http://%s:", ip);
  guint total = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, px->in_flight);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (g_str_has_prefix (k, prefix))
      total += GPOINTER_TO_UINT (v);
  return total;
}

/* One libcurl handle per proxy thread (a thread per client connection), reset between requests:
 * its connections to backends stay open, HTTP/1.1 keep-alive. */
static void
curl_handle_free (gpointer h)
{
  curl_easy_cleanup (h);
}

static GPrivate thread_curl = G_PRIVATE_INIT (curl_handle_free);

static CURL *
thread_curl_handle (void)
{
  CURL *h = g_private_get (&thread_curl);
  if (h == NULL)
    {
      h = curl_easy_init ();
      g_private_set (&thread_curl, h);
    }
  else
    curl_easy_reset (h);
  return h;
}

static gboolean
connection_is_tls (Proxy *px, struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info (conn, MHD_CONNECTION_INFO_DAEMON);
  return px->tls_daemon != NULL && ci != NULL && ci->daemon == px->tls_daemon;
}

static enum MHD_Result
redirect_to_https (Proxy *px, struct MHD_Connection *conn, const char *host, const char *uri)
{
  g_autofree char *location = px->tls_port == 443 ? g_strdup_printf ("https://%s%s", host, uri)
                                                   : g_strdup_printf ("https://%s:%u%s", host, px->tls_port, uri);
  struct MHD_Response *r = MHD_create_response_from_buffer (0, (void *) "", MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header (r, MHD_HTTP_HEADER_LOCATION, location);
  enum MHD_Result ret = MHD_queue_response (conn, 308, r);
  MHD_destroy_response (r);
  return ret;
}

static enum MHD_Result
forward (Proxy *px, struct MHD_Connection *conn, const char *method, Request *rq)
{
  const char *host_hdr = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
  g_autofree char *host = g_strdup (host_hdr ? host_hdr : "");
  char *colon = strrchr (host, ':');
  if (colon && !strchr (colon, ']'))
    *colon = '\0';

  g_mutex_lock (&px->lock);
  g_autofree char *backend = g_strdup (g_hash_table_lookup (px->routes, host));
  gboolean internal = g_hash_table_contains (px->internal, host);
  g_autofree char *project_net = g_strdup (g_hash_table_lookup (px->internal, host));
  gboolean wants_tls = g_hash_table_contains (px->tls_hosts, host);
  g_mutex_unlock (&px->lock);
  gboolean tls = connection_is_tls (px, conn);
  if (backend != NULL && wants_tls && !tls && px->tls_daemon != NULL)
    return redirect_to_https (px, conn, host, rq->uri);
  if (backend == NULL)
    {
      /* No ingress names this host: nothing here to reach (a 404, not a failing gateway). */
      g_autofree char *detail = g_strdup_printf ("No ingress on this node serves the host \"%s\".", host);
      return respond_page (conn, 404, "Not Found", detail);
    }

  g_autofree char *ip = client_ip (conn);
  if (internal)
    {
      g_auto (GStrv) local = local_addresses ();
      if (!proxy_internal_allowed (ip, (const char *const *) local, project_net))
        {
          g_autofree char *detail = g_strdup_printf ("Host \"%s\" is reachable only from the node and its project "
                                                     "network (access.scope Internal).", host);
          return respond_page (conn, 403, "Forbidden", detail);
        }
    }
  g_autoptr (GError) url_error = NULL;
  g_autoptr (CURLU) url = proxy_upstream_url (backend, rq->uri, &url_error);
  if (url == NULL)
    return respond_page (conn, 400, "Bad Request", url_error->message);
  in_flight_add (px, backend, 1);

  HeaderCopy hc = { .conn = conn };
  MHD_get_connection_values (conn, MHD_HEADER_KIND, copy_header, &hc);
  g_autofree char *xff = g_strdup_printf ("X-Forwarded-For: %s", ip);
  g_autofree char *xfh = g_strdup_printf ("X-Forwarded-Host: %s", host_hdr ? host_hdr : "");
  hc.headers = curl_slist_append (hc.headers, xff);
  hc.headers = curl_slist_append (hc.headers, xfh);
  hc.headers = curl_slist_append (hc.headers, tls ? "X-Forwarded-Proto: https" : "X-Forwarded-Proto: http");
  hc.headers = curl_slist_append (hc.headers, "Expect:");
  g_autoptr (CaraCurlSlist) headers = hc.headers;

  Upstream up = { .body = g_byte_array_new (), .headers = g_ptr_array_new_with_free_func (g_free) };
  CURL *curl = thread_curl_handle ();
  curl_easy_setopt (curl, CURLOPT_CURLU, url);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, 120000L);
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
  if (g_ascii_strcasecmp (method, "HEAD") == 0)
    curl_easy_setopt (curl, CURLOPT_NOBODY, 1L);
  if (rq->body->len > 0 || g_strcmp0 (method, "POST") == 0 || g_strcmp0 (method, "PUT") == 0
      || g_strcmp0 (method, "PATCH") == 0)
    {
      curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) rq->body->len);
      curl_easy_setopt (curl, CURLOPT_POSTFIELDS, rq->body->len ? (const char *) rq->body->data : "");
    }
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, &up);
  curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (curl, CURLOPT_HEADERDATA, &up);
  CURLcode rc = curl_easy_perform (curl);
  enum MHD_Result ret;
  if (rc != CURLE_OK)
    {
      g_debug ("backend %s for %s: %s", backend, host, curl_easy_strerror (rc));
      g_autofree char *detail = g_strdup_printf ("Backend \"%s\" is unreachable.", host);
      ret = respond_page (conn, 502, "Bad Gateway", detail);
    }
  else
    {
      long status = 0;
      curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
      struct MHD_Response *r = MHD_create_response_from_buffer (up.body->len, up.body->data, MHD_RESPMEM_MUST_COPY);
      for (guint i = 0; i < up.headers->len; i++)
        {
          char *line = g_ptr_array_index (up.headers, i);
          char *sep = strchr (line, ':');
          *sep = '\0';
          if (!is_hop_by_hop (line))
            MHD_add_response_header (r, line, g_strstrip (sep + 1));
        }
      ret = MHD_queue_response (conn, (unsigned int) status, r);
      MHD_destroy_response (r);
    }
  in_flight_add (px, backend, -1);
  /* The handle outlives this request's URL and headers: let go of them. */
  curl_easy_setopt (curl, CURLOPT_CURLU, NULL);
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, NULL);
  g_byte_array_unref (up.body);
  g_ptr_array_unref (up.headers);
  return ret;
}

static enum MHD_Result
access_handler (void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
                const char *upload_data, size_t *upload_data_size, void **req_cls)
{
  Proxy *px = cls;
  Request *rq = *req_cls;
  if (rq == NULL)
    *req_cls = rq = g_new0 (Request, 1);
  if (rq->body == NULL)
    {
      rq->body = g_byte_array_new ();
      if (rq->uri == NULL || rq->uri[0] != '/')
        return respond_page (conn, 400, "Bad Request", "The request target must be a path beginning with \"/\".");
      /* Too large by its own account: answered before any of it is read. */
      const char *cl = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      if (cl != NULL && g_ascii_strtoull (cl, NULL, 10) > BODY_LIMIT)
        return respond_page (conn, 413, "Content Too Large", "The request body is too large.");
      /* The headers are in: the longer timeout applies from now on. */
      MHD_set_connection_option (conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned int) IDLE_TIMEOUT_S);
      return MHD_YES; /* headers only; the body (if any) comes next */
    }
  if (*upload_data_size > 0)
    {
      gssize n = (gssize) *upload_data_size;
      if (rq->body->len + *upload_data_size > BODY_LIMIT)
        rq->too_big = TRUE;
      else if (!rq->too_big && !rq->over_budget && g_atomic_pointer_add (&body_bytes, n) + n > BODY_BUDGET)
        {
          g_atomic_pointer_add (&body_bytes, -n);
          rq->over_budget = TRUE;
        }
      else if (!rq->too_big && !rq->over_budget)
        {
          rq->counted += n;
          g_byte_array_append (rq->body, (const guint8 *) upload_data, (guint) *upload_data_size);
        }
      if (rq->too_big || rq->over_budget)
        g_byte_array_set_size (rq->body, 0);
      *upload_data_size = 0;
      return MHD_YES;
    }
  if (rq->too_big)
    return respond_page (conn, 413, "Content Too Large", "The request body is too large.");
  if (rq->over_budget)
    return respond_page (conn, 503, "Service Unavailable", "The proxy is busy; try again later.");
  return forward (px, conn, method, rq);
}

/* Keeps the raw request target (MHD's url lacks the query string). */
static void *
uri_log (void *cls, const char *uri, struct MHD_Connection *conn)
{
  Request *rq = g_new0 (Request, 1);
  rq->uri = g_strdup (uri);
  return rq;
}

static void
request_done (void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
  Request *rq = *req_cls;
  if (rq == NULL)
    return;
  if (rq->counted > 0)
    g_atomic_pointer_add (&body_bytes, -rq->counted);
  /* Kept alive for the next request: its headers get the short timeout again. */
  if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
    MHD_set_connection_option (conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned int) HEADER_TIMEOUT_S);
  g_free (rq->uri);
  if (rq->body)
    g_byte_array_unref (rq->body);
  g_free (rq);
  *req_cls = NULL;
}

/* MHD hands us its own printf format. */
G_GNUC_PRINTF (2, 0) static void
mhd_log (void *cls, const char *fmt, va_list ap)
{
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  g_debug ("libmicrohttpd: %s", g_strchomp (msg));
}

static gboolean
parse_listen_addr (const char *listen_addr, struct sockaddr_in *ret, GError **error)
{
  const char *colon = listen_addr ? strrchr (listen_addr, ':') : NULL;
  guint64 port = 0;
  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &port, NULL))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid proxy address \"%s\" (want HOST:PORT or :PORT)",
                   listen_addr ? listen_addr : "");
      return FALSE;
    }
  g_autofree char *host = g_strndup (listen_addr, (gsize) (colon - listen_addr));
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((guint16) port) };
  if (*host == '\0' || g_strcmp0 (host, "0.0.0.0") == 0)
    sa.sin_addr.s_addr = htonl (INADDR_ANY);
  else if (g_strcmp0 (host, "localhost") == 0)
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  else if (inet_pton (AF_INET, host, &sa.sin_addr) != 1)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid proxy address \"%s\" (IPv4 only)", listen_addr);
      return FALSE;
    }
  *ret = sa;
  return TRUE;
}

/* Both listeners (HTTP and HTTPS) with the same limits: connections in all and per client, and the
 * short timeout until a request's headers are in; HTTPS with the one TLS policy (SPEC §9). */
static struct MHD_Daemon *
start_listener (Proxy *px, struct sockaddr_in *sa, gboolean tls)
{
  struct MHD_OptionItem tls_opts[] = {
    { MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *) proxy_tls_callback () },
    { MHD_OPTION_HTTPS_PRIORITIES, 0, (void *) cara_tls_get_priority () },
    { MHD_OPTION_END, 0, NULL },
  };
  /* A thread per connection: a proxied request blocks while the backend answers. */
  return MHD_start_daemon (MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG
                               | (tls ? MHD_USE_TLS : 0),
                           0, NULL, NULL, access_handler, px,
                           MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, to see the rest */
                           MHD_OPTION_ARRAY, tls ? tls_opts : &tls_opts[2],
                           MHD_OPTION_SOCK_ADDR, (struct sockaddr *) sa,
                           MHD_OPTION_URI_LOG_CALLBACK, uri_log, NULL,
                           MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
                           MHD_OPTION_CONNECTION_LIMIT, (unsigned int) MAX_CONNECTIONS,
                           MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) MAX_CONNECTIONS_PER_CLIENT,
                           MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) HEADER_TIMEOUT_S,
                           MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int) 1,
                           MHD_OPTION_END);
}

Proxy *
proxy_start (const char *listen_addr, GError **error)
{
  struct sockaddr_in sa;
  if (!parse_listen_addr (listen_addr, &sa, error))
    return NULL;
  Proxy *px = g_new0 (Proxy, 1);
  g_mutex_init (&px->lock);
  px->routes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  px->internal = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  px->projects = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  px->in_flight = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  px->tls_hosts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  px->daemon = start_listener (px, &sa, FALSE);
  if (px->daemon == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot listen on %s", listen_addr);
      proxy_stop (px);
      return NULL;
    }
  return px;
}

void
proxy_stop (Proxy *px)
{
  if (px == NULL)
    return;
  if (px->daemon)
    MHD_stop_daemon (px->daemon);
  if (px->tls_daemon)
    MHD_stop_daemon (px->tls_daemon);
  proxy_tls_set_active (NULL);
  proxy_tls_free (px->tls);
  g_hash_table_unref (px->tls_hosts);
  g_hash_table_unref (px->routes);
  g_hash_table_unref (px->internal);
  g_hash_table_unref (px->projects);
  g_hash_table_unref (px->in_flight);
  g_mutex_clear (&px->lock);
  g_free (px);
}

gboolean
proxy_start_tls (Proxy *px, const char *listen_addr, GError **error)
{
  struct sockaddr_in sa;
  if (!parse_listen_addr (listen_addr, &sa, error))
    return FALSE;
  px->tls = proxy_tls_new ();
  proxy_tls_set_active (px->tls);
  px->tls_port = ntohs (sa.sin_port);
  px->tls_daemon = start_listener (px, &sa, TRUE);
  if (px->tls_daemon == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot serve HTTPS on %s", listen_addr);
      return FALSE;
    }
  return TRUE;
}

static void
remove_locked (Proxy *px, const char *project)
{
  GPtrArray *hosts = g_hash_table_lookup (px->projects, project);
  for (guint i = 0; hosts && i < hosts->len; i++)
    {
      g_hash_table_remove (px->routes, g_ptr_array_index (hosts, i));
      g_hash_table_remove (px->internal, g_ptr_array_index (hosts, i));
      g_hash_table_remove (px->tls_hosts, g_ptr_array_index (hosts, i));
    }
  g_hash_table_remove (px->projects, project);
}

void
proxy_remove (Proxy *px, const char *project)
{
  if (px == NULL)
    return;
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&px->lock);
  remove_locked (px, project);
}

static gboolean
container_is_next (JsonObject *c)
{
  JsonNode *names = json_object_get_member (c, "Names");
  JsonArray *a = names && JSON_NODE_HOLDS_ARRAY (names) ? json_node_get_array (names) : NULL;
  for (guint i = 0; a && i < json_array_get_length (a); i++)
    if (g_str_has_suffix (json_array_get_string_element (a, i), AGENT_ROLLOUT_NEXT_SUFFIX))
      return TRUE;
  return FALSE;
}

/* The certificate of @in's Secret for @host, (re)loaded when its text changed: connections made
 * with the old one carry on with it. */
static void
load_certificate (Proxy *px, const char *project, const CaraIngress *in, const char *host)
{
  g_autofree char *crt = NULL;
  g_autofree char *key = NULL;
  g_autoptr (GError) error = NULL;
  guint before = proxy_tls_generation (px->tls, host);
  if (!proxy_tls_get_source () (project, in->tls.secret, &crt, &key, &error)
      || !proxy_tls_set_certificate (px->tls, host, crt, key, &error))
    {
      cara_log_project (G_LOG_LEVEL_WARNING, project, "Ingress %s: no certificate for %s: %s", in->name, host,
                        error->message);
      return;
    }
  if (proxy_tls_generation (px->tls, host) != before)
    cara_log_project (G_LOG_LEVEL_INFO, project, "Ingress %s: %s certificate for %s from Secret %s", in->name,
                      before ? "reloaded the" : "loaded the", host, in->tls.secret);
}

void
proxy_update (Proxy *px, DockerClient *dc, const AgentConfig *cfg, const CaraProject *p)
{
  if (px == NULL)
    return;
  const char *project = p->metadata.name;
  g_autoptr (GPtrArray) hosts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) backends = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) scope_nets = g_ptr_array_new_with_free_func (g_free); /* NULL: no scope */
  g_autoptr (GPtrArray) tls_flags = g_ptr_array_new ();
  for (guint i = 0; i < p->spec.ingress->len; i++)
    {
      const CaraIngress *in = g_ptr_array_index (p->spec.ingress, i);
      g_autofree char *f_node = g_strdup_printf (AGENT_LABEL_NODE "=%s", cfg->node_name);
      g_autofree char *f_project = g_strdup_printf (AGENT_LABEL_PROJECT "=%s", project);
      g_autofree char *f_service = g_strdup_printf (AGENT_LABEL_SERVICE "=%s", in->target.service);
      const char *filters[] = { f_node, f_project, f_service, NULL };
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonArray) list = docker_container_list (dc, filters, &error);
      const char *ip = NULL;
      gint64 prefix = 32;
      /* Two containers during an update (SPEC §13): the new one (running, under its temporary
       * name) once the update switches to it; nothing else updates routes while it runs. */
      JsonObject *c = NULL;
      gint c_rank = -1;
      for (guint j = 0; list && j < json_array_get_length (list); j++)
        {
          JsonObject *o = json_array_get_object_element (list, j);
          gint rank = (g_strcmp0 (json_object_get_string_member_with_default (o, "State", ""), "running") == 0) * 2
                    + container_is_next (o);
          if (rank > c_rank)
            {
              c = o;
              c_rank = rank;
            }
        }
      JsonNode *ns = c ? json_object_get_member (c, "NetworkSettings") : NULL;
      JsonNode *nets = ns && JSON_NODE_HOLDS_OBJECT (ns) ? json_object_get_member (json_node_get_object (ns), "Networks")
                                                         : NULL;
      if (nets && JSON_NODE_HOLDS_OBJECT (nets))
        {
          g_autoptr (GList) names = json_object_get_members (json_node_get_object (nets));
          for (GList *l = names; l; l = l->next)
            {
              JsonNode *n = json_object_get_member (json_node_get_object (nets), l->data);
              const char *a = n && JSON_NODE_HOLDS_OBJECT (n)
                                  ? json_object_get_string_member_with_default (json_node_get_object (n), "IPAddress", "")
                                  : "";
              if (*a && (ip == NULL || g_str_has_prefix (l->data, "cara-")))
                {
                  ip = a;
                  prefix = json_object_get_int_member_with_default (json_node_get_object (n), "IPPrefixLen", 32);
                }
            }
        }
      if (ip == NULL)
        {
          cara_log_service (G_LOG_LEVEL_DEBUG, project, in->target.service, "Ingress %s: service has no address yet",
                            in->name);
          continue;
        }
      g_ptr_array_add (hosts, proxy_resolve_host (in->host, project));
      g_ptr_array_add (backends, g_strdup_printf ("http://%s:%" G_GINT64_FORMAT, ip, in->target.port));
      g_ptr_array_add (tls_flags, GINT_TO_POINTER (in->tls.secret != NULL));
      if (in->tls.secret != NULL && px->tls != NULL)
        load_certificate (px, project, in, g_ptr_array_index (hosts, hosts->len - 1));
      g_ptr_array_add (scope_nets, in->access.scope == CARA_INGRESS_SCOPE_INTERNAL
                                 ? g_strdup_printf ("%s/%" G_GINT64_FORMAT, ip, prefix) : NULL);
    }

  g_mutex_lock (&px->lock);
  remove_locked (px, project);
  if (hosts->len > 0)
    {
      GPtrArray *owned = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < hosts->len; i++)
        {
          g_hash_table_replace (px->routes, g_strdup (g_ptr_array_index (hosts, i)),
                                g_strdup (g_ptr_array_index (backends, i)));
          if (g_ptr_array_index (scope_nets, i))
            g_hash_table_replace (px->internal, g_strdup (g_ptr_array_index (hosts, i)),
                                  g_strdup (g_ptr_array_index (scope_nets, i)));
          if (g_ptr_array_index (tls_flags, i))
            g_hash_table_add (px->tls_hosts, g_strdup (g_ptr_array_index (hosts, i)));
          g_ptr_array_add (owned, g_strdup (g_ptr_array_index (hosts, i)));
        }
      g_hash_table_replace (px->projects, g_strdup (project), owned);
    }
  g_mutex_unlock (&px->lock);
}
