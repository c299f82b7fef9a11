/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-http"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "cara-cleanup.h"
#include "cara-error.h"
#include "cara-http-server.h"
#include "cara-json.h"
#include "cara-netaddr.h"
#include "cara-tls.h"

typedef struct {
  const CaraHttpRoute *route;
  char **segments;
  gpointer user_data;
} RouteEntry;

struct _CaraHttpServer {
  struct MHD_Daemon *daemon;
  GArray *routes; /* RouteEntry */
  CaraHttpAuthorizer auth;
  gpointer auth_data;
  CaraHttpLogFunc log_func;
  gpointer log_data;
  CaraHttpObserveFunc observe_func;
  gpointer observe_data;
  guint threads;
  guint max_connections;            /* in all (MHD_OPTION_CONNECTION_LIMIT) */
  guint max_connections_per_client; /* per client address; 0: no limit */
  guint header_timeout_s;           /* until a request's headers are in */
  guint idle_timeout_s;             /* once they are: body, handler, response */
  int fd;
  guint16 port;
  GMutex lock;
  GHashTable *streams; /* CaraHttpStream* set, under lock */
  char *tls_cert;      /* PEM file names, NULL: plain HTTP */
  char *tls_key;
  GMutex tls_lock;
  CaraTlsCreds *creds; /* what handshakes get now, under tls_lock */
  GPtrArray *old_creds; /* replaced ones: a handshake may still use them */
  int tls_slot;        /* index in tls_slots while serving, else -1 */
};

struct _CaraHttpStream {
  gint ref;
  GMutex lock;
  CaraHttpServer *server;
  struct MHD_Connection *conn;
  GByteArray *buf;
  gsize off;          /* bytes of buf already handed to MHD */
  gboolean closed;    /* no more writes; end after the queue */
  gboolean gone;      /* the connection ended */
  gboolean suspended; /* MHD connection suspended waiting for data */
  gboolean bulk;      /* hand MHD full blocks only (until closed): one wake-up per block */
  GDestroyNotify on_closed;
  gpointer user_data;
};

struct _CaraHttpRequest {
  CaraHttpServer *server;
  struct MHD_Connection *conn;
  char *method;
  char *path;
  gint64 start_usec;
  GByteArray *body;
  gboolean has_body;
  gboolean too_large;
  GHashTable *params;  /* char* -> char* */
  GHashTable *query;   /* char* -> GPtrArray of char* (NULL-terminated), built lazily */
  GPtrArray *resp_headers; /* name, value, name, value ... */
  guint status;
  gboolean responded;
  gpointer data;
  GDestroyNotify data_destroy;
  gboolean large_response; /* trim the heap once it is sent */
  CaraHttpStream *stream;
  const RouteEntry *route; /* matched when the headers came in (NULL: 404 or 405) */
  char *allow;             /* the Allow header of a 405 */
  gboolean authorized;     /* the authorizer accepted the headers */
  gboolean upgraded;       /* answered 101: the socket left MHD's hands */
};

/* ---------------------------------------------------------------------------------------------- */

CaraHttpServer *
cara_http_server_new (void)
{
  CaraHttpServer *s = g_new0 (CaraHttpServer, 1);
  s->routes = g_array_new (FALSE, TRUE, sizeof (RouteEntry));
  s->threads = 4;
  s->max_connections = 1000;
  s->header_timeout_s = CARA_HTTP_HEADER_TIMEOUT;
  s->idle_timeout_s = 120;
  s->fd = -1;
  s->tls_slot = -1;
  g_mutex_init (&s->lock);
  g_mutex_init (&s->tls_lock);
  s->old_creds = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_tls_creds_free);
  s->streams = g_hash_table_new (NULL, NULL);
  return s;
}

void
cara_http_server_free (CaraHttpServer *s)
{
  if (s == NULL)
    return;
  cara_http_server_stop (s);
  for (guint i = 0; i < s->routes->len; i++)
    g_strfreev (g_array_index (s->routes, RouteEntry, i).segments);
  g_array_unref (s->routes);
  g_hash_table_unref (s->streams);
  g_free (s->tls_cert);
  g_free (s->tls_key);
  cara_tls_creds_free (s->creds);
  g_ptr_array_unref (s->old_creds);
  g_mutex_clear (&s->tls_lock);
  g_mutex_clear (&s->lock);
  g_free (s);
}

void
cara_http_server_add_routes (CaraHttpServer *s, const CaraHttpRoute *routes, gsize n_routes, gpointer user_data)
{
  for (gsize i = 0; i < n_routes; i++)
    {
      RouteEntry e = { &routes[i], g_strsplit (routes[i].pattern, "/", -1), user_data };
      g_array_append_val (s->routes, e);
    }
}

void
cara_http_server_set_authorizer (CaraHttpServer *s, CaraHttpAuthorizer auth, gpointer user_data)
{
  s->auth = auth;
  s->auth_data = user_data;
}

void
cara_http_server_set_connection_limits (CaraHttpServer *s, guint total, guint per_client)
{
  s->max_connections = MAX (total, 1);
  s->max_connections_per_client = per_client;
}

void
cara_http_server_set_timeouts (CaraHttpServer *s, guint header_s, guint idle_s)
{
  s->header_timeout_s = MAX (header_s, 1);
  s->idle_timeout_s = MAX (idle_s, s->header_timeout_s);
}

void
cara_http_server_set_threads (CaraHttpServer *s, guint n_threads)
{
  s->threads = MAX (n_threads, 1);
}

void
cara_http_server_set_log_func (CaraHttpServer *s, CaraHttpLogFunc func, gpointer user_data)
{
  s->log_func = func;
  s->log_data = user_data;
}

void
cara_http_server_set_observer (CaraHttpServer *s, CaraHttpObserveFunc func, gpointer user_data)
{
  s->observe_func = func;
  s->observe_data = user_data;
}

static char *
read_pem (const char *what, const char *file, const char *marker, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (file, &text, NULL, error))
    {
      g_prefix_error (error, "TLS %s: ", what);
      return NULL;
    }
  if (strstr (text, marker) == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "TLS %s: %s holds no PEM %s", what, file, what);
      return NULL;
    }
  return g_steal_pointer (&text);
}

gboolean
cara_http_server_set_tls_files (CaraHttpServer *s, const char *cert_file, const char *key_file, GError **error)
{
  if (MHD_is_feature_supported (MHD_FEATURE_TLS) != MHD_YES)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "TLS: libmicrohttpd was built without TLS support");
      return FALSE;
    }
  if (cert_file == NULL || key_file == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "TLS needs both a certificate and a key file");
      return FALSE;
    }
  g_autofree char *cert = read_pem ("certificate", cert_file, "-----BEGIN CERTIFICATE-----", error);
  if (cert == NULL)
    return FALSE;
  g_autofree char *key = read_pem ("key", key_file, "PRIVATE KEY-----", error);
  if (key == NULL)
    return FALSE;
  memset (key, 0, strlen (key));
  CaraTlsCreds *creds = cara_tls_creds_load (cert_file, key_file, error);
  if (creds == NULL)
    return FALSE;
  if (s->daemon != NULL && s->creds == NULL)
    {
      cara_tls_creds_free (creds);
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "TLS: this server was started without TLS");
      return FALSE;
    }
  g_mutex_lock (&s->tls_lock);
  if (s->creds != NULL)
    g_ptr_array_add (s->old_creds, s->creds);
  s->creds = creds;
  g_mutex_unlock (&s->tls_lock);
  if (s->tls_cert != cert_file)
    {
      g_free (s->tls_cert);
      s->tls_cert = g_strdup (cert_file);
    }
  if (s->tls_key != key_file)
    {
      g_free (s->tls_key);
      s->tls_key = g_strdup (key_file);
    }
  return TRUE;
}

gboolean
cara_http_server_reload_tls (CaraHttpServer *s, GError **error)
{
  if (s->creds == NULL)
    return TRUE;
  return cara_http_server_set_tls_files (s, s->tls_cert, s->tls_key, error);
}

/* GnuTLS asks for the certificate on every handshake (MHD_OPTION_HTTPS_CERT_CALLBACK), with no
 * user data: one trampoline per serving TLS server, each bound to a slot. */
#define TLS_SLOTS 8
static GMutex tls_slots_lock;
static CaraHttpServer *tls_slots[TLS_SLOTS];

static int
retrieve_cert (int slot, gnutls_pcert_st **pcert, unsigned int *n, gnutls_privkey_t *key)
{
  g_mutex_lock (&tls_slots_lock);
  CaraHttpServer *s = tls_slots[slot];
  g_mutex_unlock (&tls_slots_lock);
  if (s == NULL)
    return -1;
  void *k = NULL;
  g_mutex_lock (&s->tls_lock);
  int rc = cara_tls_creds_retrieve (s->creds, pcert, n, &k);
  g_mutex_unlock (&s->tls_lock);
  *key = k;
  return rc;
}

#define TLS_TRAMPOLINE(i)                                                                                   \
  static int retrieve_cert_##i (gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,      \
                                const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,                \
                                gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *key) \
  {                                                                                                         \
    return retrieve_cert (i, pcert, pcert_length, key);                                                     \
  }
TLS_TRAMPOLINE (0)
TLS_TRAMPOLINE (1)
TLS_TRAMPOLINE (2)
TLS_TRAMPOLINE (3)
TLS_TRAMPOLINE (4)
TLS_TRAMPOLINE (5)
TLS_TRAMPOLINE (6)
TLS_TRAMPOLINE (7)
static gnutls_certificate_retrieve_function2 *const tls_trampolines[TLS_SLOTS] = {
  retrieve_cert_0, retrieve_cert_1, retrieve_cert_2, retrieve_cert_3,
  retrieve_cert_4, retrieve_cert_5, retrieve_cert_6, retrieve_cert_7,
};

static int
tls_slot_take (CaraHttpServer *s)
{
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&tls_slots_lock);
  for (int i = 0; i < TLS_SLOTS; i++)
    if (tls_slots[i] == NULL)
      {
        tls_slots[i] = s;
        return i;
      }
  return -1;
}

static void
tls_slot_release (CaraHttpServer *s)
{
  if (s->tls_slot < 0)
    return;
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&tls_slots_lock);
  tls_slots[s->tls_slot] = NULL;
  s->tls_slot = -1;
}

gboolean
cara_http_server_get_tls (CaraHttpServer *s)
{
  return s->creds != NULL;
}

gboolean
cara_http_server_is_loopback_only (CaraHttpServer *s)
{
  return cara_socket_is_loopback (s->fd);
}

guint16
cara_http_server_get_port (CaraHttpServer *s)
{
  return s->port;
}

/* ---------------------------------------------------------------------------------------------- */
/* streams */

CaraHttpStream *
cara_http_stream_ref (CaraHttpStream *st)
{
  g_atomic_int_inc (&st->ref);
  return st;
}

void
cara_http_stream_unref (CaraHttpStream *st)
{
  if (st == NULL || !g_atomic_int_dec_and_test (&st->ref))
    return;
  g_byte_array_unref (st->buf);
  g_mutex_clear (&st->lock);
  g_free (st);
}

/* The connection ended: no more writes, tell the owner once. */
static void
stream_mark_gone (CaraHttpStream *st)
{
  g_mutex_lock (&st->lock);
  gboolean was_gone = st->gone;
  st->gone = TRUE;
  st->suspended = FALSE;
  g_mutex_unlock (&st->lock);
  if (was_gone)
    return;
  g_mutex_lock (&st->server->lock);
  g_hash_table_remove (st->server->streams, st);
  g_mutex_unlock (&st->server->lock);
  if (st->on_closed)
    st->on_closed (st->user_data);
}

static ssize_t
stream_reader (void *cls, uint64_t pos, char *buf, size_t max)
{
  CaraHttpStream *st = cls;
  g_mutex_lock (&st->lock);
  /* A bulk stream waits for a full block: a writer's every small piece would otherwise cost a
   * resume, a wake-up of the worker, a short send() and a suspend again. */
  gboolean enough = !st->bulk || st->buf->len - st->off >= CARA_HTTP_BULK_BLOCK || st->closed || st->gone;
  if (st->buf->len > st->off && enough)
    {
      size_t n = MIN (max, st->buf->len - st->off);
      memcpy (buf, st->buf->data + st->off, n);
      st->off += n;
      /* Move what is left to the front only when most of the buffer is consumed, not per block: a
       * large queue (a volume relayed with back-pressure) is then not moved again for every 16 KiB. */
      if (st->off == st->buf->len)
        {
          g_byte_array_set_size (st->buf, 0);
          st->off = 0;
        }
      else if (st->off >= 64 * 1024 && st->off * 2 >= st->buf->len)
        {
          g_byte_array_remove_range (st->buf, 0, (guint) st->off);
          st->off = 0;
        }
      g_mutex_unlock (&st->lock);
      return (ssize_t) n;
    }
  if (st->closed || st->gone)
    {
      g_mutex_unlock (&st->lock);
      return MHD_CONTENT_READER_END_OF_STREAM;
    }
  /* Nothing to send: park the connection until a write resumes it, so it holds no worker. */
  st->suspended = TRUE;
  MHD_suspend_connection (st->conn);
  g_mutex_unlock (&st->lock);
  return 0;
}

static void
stream_reader_free (void *cls)
{
  CaraHttpStream *st = cls;
  stream_mark_gone (st);
  cara_http_stream_unref (st);
}

static void
stream_wake_locked (CaraHttpStream *st)
{
  if (st->bulk && st->buf->len - st->off < CARA_HTTP_BULK_BLOCK && !st->closed)
    return;
  if (st->suspended && !st->gone)
    {
      st->suspended = FALSE;
      MHD_resume_connection (st->conn);
    }
}

gboolean
cara_http_stream_write (CaraHttpStream *st, const char *data, gsize len)
{
  g_mutex_lock (&st->lock);
  if (st->gone || st->closed)
    {
      g_mutex_unlock (&st->lock);
      return FALSE;
    }
  g_byte_array_append (st->buf, (const guint8 *) data, len);
  stream_wake_locked (st);
  g_mutex_unlock (&st->lock);
  return TRUE;
}

void
cara_http_stream_close (CaraHttpStream *st)
{
  g_mutex_lock (&st->lock);
  st->closed = TRUE;
  stream_wake_locked (st);
  g_mutex_unlock (&st->lock);
}

gboolean
cara_http_stream_is_open (CaraHttpStream *st)
{
  g_mutex_lock (&st->lock);
  gboolean open = !st->gone && !st->closed;
  g_mutex_unlock (&st->lock);
  return open;
}

gsize
cara_http_stream_get_queued (CaraHttpStream *st)
{
  g_mutex_lock (&st->lock);
  gsize n = st->buf->len - st->off;
  g_mutex_unlock (&st->lock);
  return n;
}

/* ---------------------------------------------------------------------------------------------- */
/* requests */

static void
request_free (CaraHttpRequest *r)
{
  if (r->data_destroy)
    r->data_destroy (r->data);
  if (r->stream)
    {
      stream_mark_gone (r->stream);
      cara_http_stream_unref (r->stream);
    }
  g_free (r->method);
  g_free (r->path);
  g_free (r->allow);
  g_byte_array_unref (r->body);
  g_clear_pointer (&r->params, g_hash_table_unref);
  g_clear_pointer (&r->query, g_hash_table_unref);
  g_ptr_array_unref (r->resp_headers);
  g_free (r);
}

const char *
cara_http_request_get_method (CaraHttpRequest *r)
{
  return r->method;
}

const char *
cara_http_request_get_path (CaraHttpRequest *r)
{
  return r->path;
}

const char *
cara_http_request_get_param (CaraHttpRequest *r, const char *name)
{
  return r->params ? g_hash_table_lookup (r->params, name) : NULL;
}

static enum MHD_Result
collect_query (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  GHashTable *q = cls;
  GPtrArray *values = g_hash_table_lookup (q, key);
  if (values == NULL)
    {
      values = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (values, NULL);
      g_hash_table_insert (q, g_strdup (key), values);
    }
  /* keep the array NULL-terminated */
  g_ptr_array_index (values, values->len - 1) = g_strdup (value ? value : "");
  g_ptr_array_add (values, NULL);
  return MHD_YES;
}

static GHashTable *
request_query (CaraHttpRequest *r)
{
  if (r->query == NULL)
    {
      r->query = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
      MHD_get_connection_values (r->conn, MHD_GET_ARGUMENT_KIND, collect_query, r->query);
    }
  return r->query;
}

/* Names and query values end up in SQL parameters, Docker names and logs: every decoded piece
 * of the URL must be UTF-8 text, checked once here for every handler.  NULL when it is. */
static char *
request_text_problem (CaraHttpRequest *r)
{
  if (!g_utf8_validate (r->path, -1, NULL))
    return g_strdup ("the request path is not valid UTF-8");
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, request_query (r));
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      GPtrArray *values = value;
      if (!g_utf8_validate (key, -1, NULL))
        return g_strdup ("a query parameter name is not valid UTF-8");
      for (guint i = 0; i + 1 < values->len; i++)
        if (!g_utf8_validate (g_ptr_array_index (values, i), -1, NULL))
          return g_strdup_printf ("query parameter \"%s\" is not valid UTF-8", (const char *) key);
    }
  return NULL;
}

const char *
cara_http_request_get_query (CaraHttpRequest *r, const char *key)
{
  GPtrArray *values = g_hash_table_lookup (request_query (r), key);
  return values ? g_ptr_array_index (values, 0) : NULL;
}

const char * const *
cara_http_request_get_query_all (CaraHttpRequest *r, const char *key)
{
  static const char *none[] = { NULL };
  GPtrArray *values = g_hash_table_lookup (request_query (r), key);
  return values ? (const char * const *) values->pdata : none;
}

static gboolean
header_has_token (const char *value, const char *token)
{
  if (value == NULL)
    return FALSE;
  g_auto (GStrv) parts = g_strsplit (value, ",", -1);
  for (char **p = parts; *p; p++)
    if (g_ascii_strcasecmp (g_strstrip (*p), token) == 0)
      return TRUE;
  return FALSE;
}

const char *
cara_http_request_websocket_key (CaraHttpRequest *r)
{
  const char *key = cara_http_request_get_header (r, "Sec-WebSocket-Key");
  if (!header_has_token (cara_http_request_get_header (r, "Upgrade"), "websocket")
      || !header_has_token (cara_http_request_get_header (r, "Connection"), "upgrade")
      || g_strcmp0 (cara_http_request_get_header (r, "Sec-WebSocket-Version"), "13") != 0 || key == NULL
      || *key == '\0')
    {
      cara_http_respond_problem (r, 400, "expected a WebSocket handshake (Upgrade: websocket, "
                                         "Sec-WebSocket-Version: 13, Sec-WebSocket-Key)");
      return NULL;
    }
  return key;
}

const char *
cara_http_request_get_header (CaraHttpRequest *r, const char *name)
{
  return MHD_lookup_connection_value (r->conn, MHD_HEADER_KIND, name);
}

const char *
cara_http_request_get_body (CaraHttpRequest *r, gsize *ret_len)
{
  if (ret_len)
    *ret_len = r->body->len;
  /* NUL-terminate for parsers that want a string, without counting it. */
  g_byte_array_append (r->body, (const guint8 *) "", 1);
  g_byte_array_set_size (r->body, r->body->len - 1);
  return (const char *) r->body->data;
}

gboolean
cara_http_request_has_body (CaraHttpRequest *r)
{
  return r->has_body;
}

void
cara_http_request_set_data (CaraHttpRequest *r, gpointer data, GDestroyNotify destroy)
{
  if (r->data_destroy)
    r->data_destroy (r->data);
  r->data = data;
  r->data_destroy = destroy;
}

gpointer
cara_http_request_get_data (CaraHttpRequest *r)
{
  return r->data;
}

struct MHD_Connection *
cara_http_request_get_connection (CaraHttpRequest *r)
{
  return r->conn;
}

void
cara_http_request_add_response_header (CaraHttpRequest *r, const char *name, const char *value)
{
  g_ptr_array_add (r->resp_headers, g_strdup (name));
  g_ptr_array_add (r->resp_headers, g_strdup (value));
}

/* ---------------------------------------------------------------------------------------------- */
/* responses */

void
cara_http_respond_mhd (CaraHttpRequest *r, guint status, struct MHD_Response *response)
{
  g_autoptr (CaraMhdResponse) resp = response;
  if (r->responded)
    {
      g_critical ("%s %s: second response ignored", r->method, r->path);
      return;
    }
  r->responded = TRUE;
  r->status = status;
  r->upgraded = status == MHD_HTTP_SWITCHING_PROTOCOLS;
  for (guint i = 0; i + 1 < r->resp_headers->len; i += 2)
    MHD_add_response_header (resp, g_ptr_array_index (r->resp_headers, i),
                             g_ptr_array_index (r->resp_headers, i + 1));
  if (MHD_queue_response (r->conn, status, resp) != MHD_YES)
    g_debug ("%s %s: failed to queue the response", r->method, r->path);
}

static void
respond_buffer (CaraHttpRequest *r, guint status, const char *content_type, const char *data, gsize len)
{
  struct MHD_Response *resp = MHD_create_response_from_buffer (len, (void *) data, MHD_RESPMEM_MUST_COPY);
  if (content_type)
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  cara_http_respond_mhd (r, status, resp);
}

/* Past this size a response is handed to MHD without a copy, and the memory it took is given
 * back to the system once it is sent (a list of 10,000 projects is ~6 MB of JSON, built from many
 * small allocations in the worker's malloc arena, which glibc otherwise keeps). */
#define LARGE_RESPONSE (256 * 1024)

void
cara_http_respond_json_text (CaraHttpRequest *r, guint status, char *json_text)
{
  g_autofree char *text = json_text;
  gsize len = strlen (text);
  if (len < LARGE_RESPONSE)
    {
      respond_buffer (r, status, "application/json", text, len);
      return;
    }
  struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback (len, g_steal_pointer (&text), g_free);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  r->large_response = TRUE;
  cara_http_respond_mhd (r, status, resp);
}

static void
bytes_unref (void *cls)
{
  g_bytes_unref (cls);
}

void
cara_http_respond_bytes (CaraHttpRequest *r, guint status, const char *content_type, GBytes *body)
{
  gsize len = 0;
  const void *data = g_bytes_get_data (body, &len);
  struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls (
      len, (void *) data, bytes_unref, g_bytes_ref (body));
  if (content_type)
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  cara_http_respond_mhd (r, status, resp);
}

typedef struct {
  guint n, i;
  gsize off; /* into piece i */
  CaraHttpPieceFunc piece;
  gpointer data;
  GDestroyNotify destroy;
} Pieces;

static ssize_t
pieces_reader (void *cls, uint64_t pos, char *buf, size_t max)
{
  Pieces *p = cls;
  size_t filled = 0;

  while (filled < max && p->i < p->n)
    {
      gsize len;
      const char *text = p->piece (p->data, p->i, &len);
      gsize take = MIN (len - p->off, max - filled);
      memcpy (buf + filled, text + p->off, take);
      filled += take;
      p->off += take;
      if (p->off == len)
        {
          p->i++;
          p->off = 0;
        }
    }
  return filled > 0 ? (ssize_t) filled : MHD_CONTENT_READER_END_OF_STREAM;
}

static void
pieces_free (void *cls)
{
  Pieces *p = cls;
  if (p->destroy)
    p->destroy (p->data);
  g_free (p);
}

void
cara_http_respond_pieces (CaraHttpRequest *r, guint status, const char *content_type, guint n_pieces,
                          CaraHttpPieceFunc piece, gpointer data, GDestroyNotify destroy)
{
  Pieces *p = g_new0 (Pieces, 1);
  guint64 total = 0;

  p->n = n_pieces;
  p->piece = piece;
  p->data = data;
  p->destroy = destroy;
  for (guint i = 0; i < n_pieces; i++)
    {
      gsize len;
      piece (data, i, &len);
      total += len;
    }
  struct MHD_Response *resp = MHD_create_response_from_callback (total, 64 * 1024, pieces_reader, p, pieces_free);
  if (content_type)
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  r->large_response = total >= LARGE_RESPONSE;
  cara_http_respond_mhd (r, status, resp);
}

void
cara_http_respond_json (CaraHttpRequest *r, guint status, JsonNode *body)
{
  cara_http_respond_json_text (r, status, cara_json_to_string (body, FALSE));
}

void
cara_http_respond_text (CaraHttpRequest *r, guint status, const char *content_type, const char *text)
{
  respond_buffer (r, status, content_type, text, strlen (text));
}

void
cara_http_respond_empty (CaraHttpRequest *r, guint status)
{
  respond_buffer (r, status, NULL, "", 0);
}

void
cara_http_respond_problem (CaraHttpRequest *r, guint status, const char *detail)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autofree char *type = g_strdup_printf ("https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/%u", status);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "title");
  json_builder_add_string_value (b, cara_http_status_title (status));
  json_builder_set_member_name (b, "status");
  json_builder_add_int_value (b, status);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_set_member_name (b, "detail");
  json_builder_add_string_value (b, detail ? detail : "");
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = cara_json_to_string (root, FALSE);
  respond_buffer (r, status, "application/problem+json", text, strlen (text));
}

void
cara_http_respond_error (CaraHttpRequest *r, const GError *error)
{
  guint status = cara_error_to_http_status (error);
  if (status == 500)
    {
      g_warning ("%s %s: %s", r->method, r->path, error ? error->message : "unknown error");
      cara_http_respond_problem (r, 500, "Internal server error");
      return;
    }
  cara_http_respond_problem (r, status, error->message);
}

static CaraHttpStream *
respond_stream (CaraHttpRequest *r, guint status, const char *content_type, gboolean bulk,
                GDestroyNotify on_closed, gpointer user_data)
{
  CaraHttpStream *st = g_new0 (CaraHttpStream, 1);
  st->ref = 3; /* the caller, the MHD response, the request */
  g_mutex_init (&st->lock);
  st->server = r->server;
  st->conn = r->conn;
  st->buf = g_byte_array_new ();
  st->on_closed = on_closed;
  st->user_data = user_data;
  st->bulk = bulk;
  r->stream = st;
  /* Its queue held megabytes: give them back to the system once it is over. */
  if (bulk)
    r->large_response = TRUE;

  g_mutex_lock (&r->server->lock);
  g_hash_table_add (r->server->streams, st);
  g_mutex_unlock (&r->server->lock);

  struct MHD_Response *resp = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN,
                                                                 bulk ? CARA_HTTP_BULK_BLOCK : 16 * 1024,
                                                                 stream_reader, st, stream_reader_free);
  if (bulk)
    MHD_set_response_options (resp, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END);
  if (content_type)
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  MHD_add_response_header (resp, "X-Content-Type-Options", "nosniff");
  cara_http_respond_mhd (r, status, resp);
  return st;
}

CaraHttpStream *
cara_http_respond_stream (CaraHttpRequest *r, guint status, const char *content_type,
                          GDestroyNotify on_closed, gpointer user_data)
{
  return respond_stream (r, status, content_type, FALSE, on_closed, user_data);
}

CaraHttpStream *
cara_http_respond_stream_bulk (CaraHttpRequest *r, guint status, const char *content_type,
                               GDestroyNotify on_closed, gpointer user_data)
{
  return respond_stream (r, status, content_type, TRUE, on_closed, user_data);
}

/* ---------------------------------------------------------------------------------------------- */
/* dispatch */

static gboolean
route_match (const RouteEntry *e, char **path_segs, GHashTable **ret_params)
{
  guint n = g_strv_length (e->segments);
  if (n != g_strv_length (path_segs))
    return FALSE;
  g_autoptr (GHashTable) params = NULL;
  for (guint i = 0; i < n; i++)
    {
      const char *p = e->segments[i];
      gsize plen = strlen (p);
      if (plen > 2 && p[0] == '{' && p[plen - 1] == '}')
        {
          if (path_segs[i][0] == '\0')
            return FALSE;
          if (params == NULL)
            params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
          g_hash_table_insert (params, g_strndup (p + 1, plen - 2), g_strdup (path_segs[i]));
        }
      else if (strcmp (p, path_segs[i]) != 0)
        return FALSE;
    }
  *ret_params = g_steal_pointer (&params);
  return TRUE;
}

static gboolean
method_matches (const char *route_method, const char *method)
{
  return strcmp (route_method, method) == 0
      || (strcmp (method, "HEAD") == 0 && strcmp (route_method, "GET") == 0);
}

/* Finds the route of @r (r->route), or the methods its path allows (r->allow, for a 405). */
static void
route_request (CaraHttpRequest *r)
{
  CaraHttpServer *s = r->server;
  g_auto (GStrv) segs = g_strsplit (r->path, "/", -1);
  g_autoptr (GString) allow = NULL;

  for (guint i = 0; i < s->routes->len; i++)
    {
      const RouteEntry *e = &g_array_index (s->routes, RouteEntry, i);
      g_autoptr (GHashTable) params = NULL;
      if (!route_match (e, segs, &params))
        continue;
      if (method_matches (e->route->method, r->method))
        {
          r->route = e;
          r->params = g_steal_pointer (&params);
          return;
        }
      if (allow == NULL)
        allow = g_string_new (NULL);
      if (!strstr (allow->str, e->route->method))
        g_string_append_printf (allow, "%s%s", allow->len ? ", " : "", e->route->method);
      if (strcmp (e->route->method, "GET") == 0 && !strstr (allow->str, "HEAD"))
        g_string_append (allow, ", HEAD");
    }
  if (allow != NULL)
    r->allow = g_string_free (g_steal_pointer (&allow), FALSE);
}

/* Runs the authorizer on @r's headers; FALSE when it refused (the answer sent). */
static gboolean
authorize (CaraHttpRequest *r)
{
  CaraHttpServer *s = r->server;
  g_autoptr (GError) error = NULL;
  if (s->auth == NULL || r->authorized)
    return TRUE;
  if (!s->auth (r, r->route->route, s->auth_data, &error))
    {
      if (cara_error_to_http_status (error) == 401)
        cara_http_request_add_response_header (r, "WWW-Authenticate", "Bearer");
      cara_http_respond_error (r, error);
      return FALSE;
    }
  r->authorized = TRUE;
  return TRUE;
}

/* Once the headers are in, before any body is read: an unauthorised caller gets its 401/403 now,
 * so nobody without a token makes the server buffer a body (MHD then reads none of it and closes
 * the connection after the answer). */
static void
headers_in (CaraHttpRequest *r)
{
  route_request (r);
  if (r->route == NULL)
    return;
  g_autofree char *bad_input = request_text_problem (r);
  if (bad_input == NULL)
    authorize (r);
}

static void
dispatch (CaraHttpRequest *r)
{
  if (r->route == NULL && r->allow != NULL)
    {
      cara_http_request_add_response_header (r, "Allow", r->allow);
      cara_http_respond_text (r, 405, "text/plain; charset=utf-8", "Method Not Allowed\n");
      return;
    }
  if (r->route == NULL)
    {
      cara_http_respond_text (r, 404, "text/plain; charset=utf-8", "404 page not found\n");
      return;
    }
  if (r->too_large)
    {
      g_autofree char *detail = g_strdup_printf ("request body exceeds the limit of %d bytes", CARA_HTTP_BODY_LIMIT);
      cara_http_respond_problem (r, 413, detail);
      return;
    }
  g_autofree char *bad_input = request_text_problem (r);
  if (bad_input != NULL)
    {
      cara_http_respond_problem (r, 400, bad_input);
      return;
    }
  if (!authorize (r))
    return;
  r->route->route->handler (r, r->route->user_data);
  if (!r->responded)
    {
      g_critical ("%s %s: handler did not respond", r->method, r->path);
      cara_http_respond_problem (r, 500, "Internal server error");
    }
}

static enum MHD_Result
access_handler (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  CaraHttpServer *s = cls;
  CaraHttpRequest *r = *con_cls;

  if (r == NULL)
    {
      r = g_new0 (CaraHttpRequest, 1);
      r->server = s;
      r->conn = conn;
      r->method = g_strdup (method);
      r->path = g_strdup (url);
      r->start_usec = g_get_monotonic_time ();
      r->body = g_byte_array_new ();
      r->resp_headers = g_ptr_array_new_with_free_func (g_free);
      const char *cl = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      const char *te = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
      guint64 len = cl ? g_ascii_strtoull (cl, NULL, 10) : 0;
      r->has_body = len > 0 || (te != NULL && g_ascii_strcasecmp (te, "identity") != 0);
      r->too_large = len > CARA_HTTP_BODY_LIMIT;
      *con_cls = r;
      /* The headers are in: from now on the longer timeout applies (body, handler, answer). */
      MHD_set_connection_option (conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned int) s->idle_timeout_s);
      headers_in (r);
      return MHD_YES;
    }

  if (*upload_data_size > 0)
    {
      /* Over the limit: keep reading (so the client gets to read our 413) but keep nothing. */
      if (!r->too_large && r->body->len + *upload_data_size > CARA_HTTP_BODY_LIMIT)
        {
          r->too_large = TRUE;
          g_byte_array_set_size (r->body, 0);
        }
      if (!r->too_large)
        g_byte_array_append (r->body, (const guint8 *) upload_data, *upload_data_size);
      *upload_data_size = 0;
      return MHD_YES;
    }

  if (r->responded)
    return MHD_YES;
  dispatch (r);
  return MHD_YES;
}

static void
request_completed (void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
  CaraHttpServer *s = cls;
  CaraHttpRequest *r = *con_cls;
  if (r == NULL)
    return;
  *con_cls = NULL;
  /* Kept alive for the next request: its headers get the short timeout again. */
  if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && !r->upgraded)
    MHD_set_connection_option (conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned int) s->header_timeout_s);
  gint64 elapsed = g_get_monotonic_time () - r->start_usec;
  if (s->log_func)
    s->log_func (r->method, r->path, r->status, elapsed / 1000.0, s->log_data);
  if (s->observe_func)
    s->observe_func (r->method, r->route ? r->route->route->pattern : NULL, r->status, (double) elapsed / G_USEC_PER_SEC,
                     r->stream != NULL || r->status == 101, s->observe_data);
  gboolean trim = r->large_response;
  request_free (r);
  if (trim)
    malloc_trim (0);
}

/* MHD hands us its own printf format. */
G_GNUC_PRINTF (2, 0) static void
mhd_logger (void *cls, const char *fm, va_list ap)
{
  g_autofree char *msg = g_strdup_vprintf (fm, ap);
  g_debug ("libmicrohttpd: %s", g_strchomp (msg));
}

/* ---------------------------------------------------------------------------------------------- */

static int
bind_socket (const char *host, guint16 port, GError **error)
{
  struct addrinfo hints = { 0 };
  struct addrinfo *res = NULL;
  char portstr[16];
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  g_snprintf (portstr, sizeof portstr, "%u", port);
  const char *h = (host == NULL || *host == '\0' || strcmp (host, "*") == 0) ? NULL : host;
  int rc = getaddrinfo (h, portstr, &hints, &res);
  if (rc != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Cannot resolve %s: %s", host, gai_strerror (rc));
      return -1;
    }
  int fd = -1;
  int last_errno = 0;
  for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
    {
      fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
      if (fd < 0)
        {
          last_errno = errno;
          continue;
        }
      int one = 1;
      setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind (fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen (fd, 1024) == 0)
        break;
      last_errno = errno;
      close (fd);
      fd = -1;
    }
  freeaddrinfo (res);
  if (fd < 0)
    g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Cannot listen on %s:%u: %s", host ? host : "*", port,
                 g_strerror (last_errno));
  return fd;
}

static guint16
socket_port (int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname (fd, (struct sockaddr *) &ss, &len) != 0)
    return 0;
  if (ss.ss_family == AF_INET)
    return g_ntohs (((struct sockaddr_in *) &ss)->sin_port);
  if (ss.ss_family == AF_INET6)
    return g_ntohs (((struct sockaddr_in6 *) &ss)->sin6_port);
  return 0;
}

gboolean
cara_http_server_start (CaraHttpServer *s, int fd, const char *host, guint16 port, GError **error)
{
  g_return_val_if_fail (s->daemon == NULL, FALSE);
  if (fd < 0)
    {
      fd = bind_socket (host, port, error);
      if (fd < 0)
        return FALSE;
    }
  else
    {
      /* MHD's thread pool shares the socket: it must not block in accept(). */
      int flags = fcntl (fd, F_GETFL);
      fcntl (fd, F_SETFL, flags | O_NONBLOCK);
    }
  s->fd = fd;
  s->port = socket_port (fd);

  unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
  /* Without TLS the certificate options are MHD_OPTION_END-terminated here, so nothing changes. */
  gboolean tls = s->creds != NULL;
  if (tls && (s->tls_slot = tls_slot_take (s)) < 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Cannot start the HTTPS server: too many TLS servers");
      close (fd);
      s->fd = -1;
      return FALSE;
    }
  struct MHD_OptionItem tls_opts[] = {
    { MHD_OPTION_HTTPS_CERT_CALLBACK, 0, tls ? (void *) tls_trampolines[s->tls_slot] : NULL },
    { MHD_OPTION_HTTPS_PRIORITIES, 0, (void *) cara_tls_get_priority () },
    { MHD_OPTION_END, 0, NULL },
  };
  if (tls)
    flags |= MHD_USE_TLS;
  /* The logger goes first, so that MHD's complaints about later options reach it. */
  s->daemon = MHD_start_daemon (flags, 0, NULL, NULL, access_handler, s,
                                MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
                                MHD_OPTION_ARRAY, tls ? tls_opts : &tls_opts[2],
                                MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
                                MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) s->threads,
                                MHD_OPTION_NOTIFY_COMPLETED, request_completed, s,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) s->header_timeout_s,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned int) s->max_connections,
                                MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) s->max_connections_per_client,
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) (64 * 1024),
                                MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int) 1,
                                MHD_OPTION_END);
  if (s->daemon == NULL)
    {
      tls_slot_release (s);
      if (tls)
        g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED,
                     "Cannot start the HTTPS server (libmicrohttpd; TLS priority \"%s\")", cara_tls_get_priority ());
      else
        g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Cannot start the HTTP server (libmicrohttpd)");
      close (fd);
      s->fd = -1;
      return FALSE;
    }
  return TRUE;
}

void
cara_http_server_stop (CaraHttpServer *s)
{
  if (s->daemon == NULL)
    return;
  /* Stop accepting first, then end every stream so no connection stays suspended. */
  MHD_socket lfd = MHD_quiesce_daemon (s->daemon);
  g_mutex_lock (&s->lock);
  g_autoptr (GPtrArray) streams = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_http_stream_unref);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, s->streams);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (streams, cara_http_stream_ref (key));
  g_mutex_unlock (&s->lock);
  for (guint i = 0; i < streams->len; i++)
    cara_http_stream_close (g_ptr_array_index (streams, i));
  MHD_stop_daemon (s->daemon);
  s->daemon = NULL;
  tls_slot_release (s);
  if (lfd != MHD_INVALID_SOCKET)
    close (lfd);
  else if (s->fd >= 0)
    close (s->fd);
  s->fd = -1;
}
