/* SPDX-License-Identifier: Apache-2.0 */
/* The logs and port-forward relays.  Each open stream runs on its own thread (bounded by
 * MAX_STREAMS), never on an MHD worker: a worker only resolves the target and waits for the
 * agent's first answer (status line), which is what lets us pass the agent's errors through. */
#define G_LOG_DOMAIN "cara-streams"
#include "config.h"

#include "api.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "api-streams.h"
#include "cara-config.h"
#include "cara-error.h"
#include "cara-http-client.h"
#include "cara-model.h"
#include "cara-netaddr.h"
#include "cara-tls.h"
#include "cara-websocket.h"
#include "cara-ws-client.h"
#include "store.h"

#define MAX_STREAMS 512
#define RELAY_CHUNK (64 * 1024)
#define RELAY_BUFFER (256 * 1024)  /* per direction of a forwarded connection */
#define QUEUE_LIMIT (1024 * 1024)   /* log bytes queued for a slow reader before we stop reading */
#define ANSWER_TIMEOUT_USEC (15 * G_USEC_PER_SEC)
#define ERROR_BODY_LIMIT (64 * 1024)

static gint active_streams;

static gboolean
slot_take (void)
{
  if (g_atomic_int_add (&active_streams, 1) >= MAX_STREAMS)
    {
      g_atomic_int_add (&active_streams, -1);
      return FALSE;
    }
  return TRUE;
}

static void
slot_release (void)
{
  g_atomic_int_add (&active_streams, -1);
}

/* TLS to agents: [server] agent_tls / $CARA_AGENT_TLS makes every relay use https,
 * verified with [server] agent_ca / $CARA_AGENT_CA (else the system CAs).  The relays authenticate
 * to each agent with the secret bound to its node when it registered (cara-token.h): an agent
 * takes no other caller. */
static const char *agent_scheme = "http";
static char *agent_ca_value;

static void
respond_problem_printf (CaraHttpRequest *req, guint status, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static void
respond_problem_printf (CaraHttpRequest *req, guint status, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *detail = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  cara_http_respond_problem (req, status, detail);
}

/* Passes an agent's non-2xx answer through (its problem+json), or a 502 when it sent none. */
static void
respond_agent_answer (CaraHttpRequest *req, guint status, GBytes *body, const char *node)
{
  gsize len = 0;
  const char *data = body ? g_bytes_get_data (body, &len) : NULL;
  if (status == 401 || status == 403)
    {
      /* Not the user's credential that failed, but ours: the user must not see a 401/403. */
      respond_problem_printf (req, 502, "the agent of node %s refused the server's credential (status %u): "
                              "it has not registered with this server since it started", node, status);
      return;
    }
  if (status < 400 || data == NULL || len == 0 || data[0] != '{')
    {
      respond_problem_printf (req, 502, "the agent of node %s answered with status %u", node, status);
      return;
    }
  g_autofree char *text = g_strndup (data, len);
  cara_http_respond_text (req, status, "application/problem+json", text);
}

/* Finds the agent serving @project: "http://ip:port" of its node and the secret to present to it
 * (NULL when none is bound).  Responds and returns FALSE when there is none (404 unknown
 * project/service, 409 not placed/running, 502 no address). */
static gboolean
resolve_agent (CaraHttpRequest *req, const char *service, gboolean need_running, CaraProject **ret_project,
               char **ret_node, char **ret_url, char **ret_secret)
{
  const char *name = cara_http_request_get_param (req, "name");
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraProject) project = NULL;
  if (!store_get_project (name, &project, &error))
    {
      cara_http_respond_error (req, error);
      return FALSE;
    }
  if (service && cara_project_find_service (project, service) == NULL)
    {
      respond_problem_printf (req, 404, "service %s not found in project %s", service, name);
      return FALSE;
    }
  const char *phase = cara_project_phase_to_string (project->status.phase);
  if (project->status.node_ref == NULL || *project->status.node_ref == '\0'
      || project->status.phase == CARA_PROJECT_PHASE_TERMINATED)
    {
      respond_problem_printf (req, 409, "project %s is not running on any node (phase %s)", name,
                              *phase ? phase : "<none>");
      return FALSE;
    }
  if (need_running && project->status.phase != CARA_PROJECT_PHASE_RUNNING)
    {
      respond_problem_printf (req, 409, "project %s is not running (phase %s)", name, *phase ? phase : "<none>");
      return FALSE;
    }
  g_autoptr (CaraNode) node = NULL;
  if (!store_get_node (project->status.node_ref, &node, &error))
    {
      if (g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        respond_problem_printf (req, 502, "node %s of project %s is not registered", project->status.node_ref, name);
      else
        cara_http_respond_error (req, error);
      return FALSE;
    }
  const char *ip = node->status.network.ip;
  /* Only the address the node registered, as a literal (rows from before that was checked may
   * hold anything): never a name to resolve or a string to paste into a URL. */
  if (ip == NULL || !cara_ip_is_literal (ip))
    {
      respond_problem_printf (req, 502, "node %s has no IP address to reach its agent", node->metadata.name);
      return FALSE;
    }
  g_autofree char *secret = NULL;
  if (!store_get_node_agent_secret (node->metadata.name, &secret, &error))
    {
      cara_http_respond_error (req, error);
      return FALSE;
    }
  guint port = node->status.network.agent_port > 0 ? (guint) node->status.network.agent_port : 9090;
  *ret_url = strchr (ip, ':') ? g_strdup_printf ("%s://[%s]:%u", agent_scheme, ip, port)
                               : g_strdup_printf ("%s://%s:%u", agent_scheme, ip, port);
  *ret_node = g_strdup (node->metadata.name);
  *ret_secret = g_steal_pointer (&secret);
  *ret_project = g_steal_pointer (&project);
  return TRUE;
}

/* Go's strconv.ParseBool, as the agent reads it. */
static gboolean
query_bool (CaraHttpRequest *req, const char *key)
{
  const char *v = cara_http_request_get_query (req, key);
  static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True", NULL };
  return v && g_strv_contains (yes, v);
}

/* ================================================================ logs */

typedef struct _LogRelay LogRelay;

typedef struct {
  LogRelay *r;
  char *service;
  char *url;
  /* under r->lock */
  gboolean decided; /* the agent's answer is known (or the transfer failed) */
  gboolean ok;      /* 2xx: the body is the log */
  guint status;
  char *failure;    /* transport error */
  GByteArray *err_body;
  /* thread-local */
  GString *line;    /* partial line, with the prefix */
} LogLeg;

struct _LogRelay {
  GMutex lock;
  GCond cond;
  CaraHttpStream *stream; /* set once we answered 200 */
  gint cancelled;         /* atomic: client gone or we answered with an error */
  guint undecided;
  guint running;
  gboolean prefix;        /* several services: "service | line" */
  char *secret;           /* presented to the agent (may be NULL) */
  GPtrArray *legs;        /* LogLeg* */
};

static void
log_leg_free (LogLeg *l)
{
  g_free (l->service);
  g_free (l->url);
  g_free (l->failure);
  g_byte_array_unref (l->err_body);
  g_string_free (l->line, TRUE);
  g_free (l);
}

static void
log_relay_clear (gpointer data)
{
  LogRelay *r = data;
  g_ptr_array_unref (r->legs);
  g_free (r->secret);
  if (r->stream)
    cara_http_stream_unref (r->stream);
  g_mutex_clear (&r->lock);
  g_cond_clear (&r->cond);
  slot_release ();
}

static void
log_relay_unref (LogRelay *r)
{
  g_atomic_rc_box_release_full (r, log_relay_clear);
}

static void
log_relay_cancel (LogRelay *r)
{
  g_atomic_int_set (&r->cancelled, 1);
  g_mutex_lock (&r->lock);
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
}

static void
log_stream_closed (gpointer data)
{
  LogRelay *r = data;
  log_relay_cancel (r);
  log_relay_unref (r);
}

static void
leg_decide_locked (LogLeg *l)
{
  if (l->decided)
    return;
  l->decided = TRUE;
  l->r->undecided--;
  g_cond_broadcast (&l->r->cond);
}

static size_t
leg_header (char *data, size_t size, size_t n, void *user_data)
{
  LogLeg *l = user_data;
  size_t len = size * n;
  guint status = 0;
  if (len > 5 && strncmp (data, "HTTP/", 5) == 0 && sscanf (data, "HTTP/%*s %u", &status) == 1)
    l->status = status;
  else if ((len == 2 && data[0] == '\r') || (len == 1 && data[0] == '\n'))
    {
      /* End of a head: a final 2xx means the log body follows; errors are decided at the end. */
      if (l->status >= 200 && l->status < 300)
        {
          g_mutex_lock (&l->r->lock);
          l->ok = TRUE;
          leg_decide_locked (l);
          g_mutex_unlock (&l->r->lock);
        }
    }
  return len;
}

/* Writes complete lines (with the prefix) or, for one service, the data as it comes. */
static gboolean
leg_emit (LogLeg *l, const char *data, gsize len)
{
  LogRelay *r = l->r;
  /* Back-pressure: while the client lags, stop reading from the agent. */
  while (cara_http_stream_get_queued (r->stream) > QUEUE_LIMIT && cara_http_stream_is_open (r->stream)
         && !g_atomic_int_get (&r->cancelled))
    g_usleep (5000);
  if (!r->prefix)
    return cara_http_stream_write (r->stream, data, len);
  for (gsize i = 0; i < len; i++)
    {
      if (l->line->len == 0)
        g_string_append_printf (l->line, "%s | ", l->service);
      g_string_append_c (l->line, data[i]);
      if (data[i] == '\n')
        {
          /* One write per line keeps lines of different services whole. */
          if (!cara_http_stream_write (r->stream, l->line->str, l->line->len))
            return FALSE;
          g_string_truncate (l->line, 0);
        }
    }
  return TRUE;
}

void
api_streams_keep_error_body (GByteArray *err_body, const char *data, size_t len)
{
  if (err_body->len < ERROR_BODY_LIMIT)
    g_byte_array_append (err_body, (const guint8 *) data, (guint) MIN (len, ERROR_BODY_LIMIT - err_body->len));
}

gboolean
api_streams_wait_answered (GMutex *lock, GCond *cond, CaraHttpStream *const *stream, gint *cancelled)
{
  g_mutex_lock (lock);
  while (*stream == NULL && !g_atomic_int_get (cancelled))
    g_cond_wait (cond, lock);
  g_mutex_unlock (lock);
  return !g_atomic_int_get (cancelled);
}

static size_t
leg_write (char *data, size_t size, size_t n, void *user_data)
{
  LogLeg *l = user_data;
  LogRelay *r = l->r;
  size_t len = size * n;
  if (!l->ok)
    {
      api_streams_keep_error_body (l->err_body, data, len);
      return len;
    }
  /* Wait until the handler has answered 200 (or given up). */
  if (!api_streams_wait_answered (&r->lock, &r->cond, &r->stream, &r->cancelled))
    return 0;
  return leg_emit (l, data, len) ? len : 0;
}

static int
leg_progress (void *user_data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
  LogLeg *l = user_data;
  return g_atomic_int_get (&l->r->cancelled) ? 1 : 0;
}

static gpointer
leg_thread (gpointer data)
{
  LogLeg *l = data;
  LogRelay *r = l->r;
  CURL *curl = curl_easy_init ();
  struct curl_slist *headers = NULL;
  const char *token = r->secret;
  if (token && *token)
    {
      g_autofree char *h = g_strdup_printf ("Authorization: Bearer %s", token);
      headers = curl_slist_append (headers, h);
    }
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt (curl, CURLOPT_URL, l->url);
  cara_tls_setup_curl (curl);
  if (agent_ca_value)
    curl_easy_setopt (curl, CURLOPT_CAINFO, agent_ca_value);
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, leg_header);
  curl_easy_setopt (curl, CURLOPT_HEADERDATA, l);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, leg_write);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, l);
  curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, leg_progress);
  curl_easy_setopt (curl, CURLOPT_XFERINFODATA, l);
  CURLcode rc = curl_easy_perform (curl);
  curl_easy_cleanup (curl);
  curl_slist_free_all (headers);

  g_mutex_lock (&r->lock);
  if (l->ok && r->prefix && l->line->len > 0 && r->stream && !g_atomic_int_get (&r->cancelled))
    {
      g_string_append_c (l->line, '\n'); /* a last line without its newline */
      cara_http_stream_write (r->stream, l->line->str, l->line->len);
    }
  if (!l->decided && rc != CURLE_OK && l->status < 300)
    l->failure = g_strdup (*errbuf ? errbuf : curl_easy_strerror (rc));
  leg_decide_locked (l);
  if (l->ok && rc != CURLE_OK && !g_atomic_int_get (&r->cancelled))
    {
      const char *why = *errbuf ? errbuf : curl_easy_strerror (rc);
      g_message ("Log stream of %s ended: %s", l->service, why);
      if (r->prefix && r->stream)
        {
          /* Interleaved output can say so in-band; a single service's body stays the raw log. */
          g_autofree char *line = g_strdup_printf ("%s | (log stream from the agent lost: %s)\n", l->service, why);
          cara_http_stream_write (r->stream, line, strlen (line));
        }
    }
  if (--r->running == 0 && r->stream)
    cara_http_stream_close (r->stream);
  g_mutex_unlock (&r->lock);
  log_relay_unref (r);
  return NULL;
}

/* "Title: detail" of a failed leg, for the interleaved output. */
static char *
leg_error_text (LogLeg *l)
{
  if (l->failure)
    return g_strdup (l->failure);
  if (!l->decided)
    return g_strdup ("the agent did not answer");
  CaraHttpResponse resp = { .status = l->status, .body = g_bytes_new (l->err_body->data, l->err_body->len) };
  g_autoptr (GError) e = cara_http_error_from_response (&resp);
  g_bytes_unref (resp.body);
  return g_strdup (e->message);
}

void
api_projects_logs (CaraHttpRequest *req, gpointer user_data)
{
  const char *service = cara_http_request_get_query (req, "service");
  if (service && *service == '\0')
    service = NULL;
  const char *tail = cara_http_request_get_query (req, "tail");
  if (tail && *tail && !g_str_equal (tail, "all") && !g_ascii_string_to_unsigned (tail, 10, 0, G_MAXINT, NULL, NULL))
    {
      respond_problem_printf (req, 400, "invalid tail: %s (a number of lines or all)", tail);
      return;
    }
  g_autoptr (CaraProject) project = NULL;
  g_autofree char *node = NULL, *base = NULL, *secret = NULL;
  if (!resolve_agent (req, service, FALSE, &project, &node, &base, &secret))
    return;
  if (!slot_take ())
    {
      cara_http_respond_problem (req, 503, "too many open streams on this server");
      return;
    }

  gboolean follow = query_bool (req, "follow");
  g_autoptr (GString) query = g_string_new (NULL);
  if (follow)
    g_string_append (query, "&follow=true");
  if (tail && *tail && !g_str_equal (tail, "all"))
    g_string_append_printf (query, "&tail=%s", tail);
  if (query_bool (req, "timestamps"))
    g_string_append (query, "&timestamps=true");
  if (query->len)
    query->str[0] = '?';

  LogRelay *r = g_atomic_rc_box_new0 (LogRelay);
  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  r->legs = g_ptr_array_new_with_free_func ((GDestroyNotify) log_leg_free);
  r->prefix = service == NULL;
  r->secret = g_steal_pointer (&secret);
  g_autofree char *esc_project = cara_http_escape (project->metadata.name);
  for (guint i = 0; i < project->spec.services->len; i++)
    {
      CaraService *s = g_ptr_array_index (project->spec.services, i);
      if (service && !g_str_equal (s->name, service))
        continue;
      LogLeg *l = g_new0 (LogLeg, 1);
      l->r = r;
      l->service = g_strdup (s->name);
      g_autofree char *esc_service = cara_http_escape (s->name);
      l->url = g_strdup_printf ("%s/api/v1/logs/%s/%s%s", base, esc_project, esc_service, query->str);
      l->err_body = g_byte_array_new ();
      l->line = g_string_new (NULL);
      g_ptr_array_add (r->legs, l);
    }
  r->undecided = r->running = r->legs->len;
  for (guint i = 0; i < r->legs->len; i++)
    {
      g_atomic_rc_box_acquire (r); /* the thread's */
      g_thread_unref (g_thread_new ("logs-relay", leg_thread, g_ptr_array_index (r->legs, i)));
    }

  /* Wait for the agent's answers (status lines: milliseconds), not for the logs. */
  gint64 deadline = g_get_monotonic_time () + ANSWER_TIMEOUT_USEC;
  g_mutex_lock (&r->lock);
  while (r->undecided > 0 && g_cond_wait_until (&r->cond, &r->lock, deadline))
    ;
  guint n_ok = 0;
  LogLeg *first_bad = NULL;
  for (guint i = 0; i < r->legs->len; i++)
    {
      LogLeg *l = g_ptr_array_index (r->legs, i);
      if (l->ok)
        n_ok++;
      else if (first_bad == NULL)
        first_bad = l;
    }
  g_autofree char *bad_text = NULL;
  guint bad_status = 0;
  g_autoptr (GBytes) bad_body = NULL;
  g_autofree char *bad_failure = NULL;
  gboolean bad_decided = FALSE;
  if (first_bad)
    {
      bad_text = leg_error_text (first_bad);
      bad_status = first_bad->status;
      bad_body = g_bytes_new (first_bad->err_body->data, first_bad->err_body->len);
      bad_failure = g_strdup (first_bad->failure);
      bad_decided = first_bad->decided;
    }
  g_mutex_unlock (&r->lock);

  if (n_ok == 0)
    {
      log_relay_cancel (r);
      if (r->legs->len == 0)
        cara_http_respond_problem (req, 404, "the project has no services");
      else if (bad_failure)
        respond_problem_printf (req, 502, "cannot reach the agent of node %s: %s", node, bad_failure);
      else if (!bad_decided)
        respond_problem_printf (req, 504, "the agent of node %s did not answer", node);
      else
        respond_agent_answer (req, bad_status, bad_body, node);
      log_relay_unref (r);
      return;
    }

  cara_http_request_add_response_header (req, "X-Content-Type-Options", "nosniff");
  CaraHttpStream *st = cara_http_respond_stream (req, 200, "text/plain; charset=utf-8", log_stream_closed,
                                                 g_atomic_rc_box_acquire (r));
  g_mutex_lock (&r->lock);
  r->stream = st;
  /* Services whose logs cannot be had say so in the interleaved output. */
  for (guint i = 0; i < r->legs->len; i++)
    {
      LogLeg *l = g_ptr_array_index (r->legs, i);
      if (l->ok)
        continue;
      g_autofree char *why = leg_error_text (l);
      g_autofree char *line = g_strdup_printf ("%s | (no logs: %s)\n", l->service, why);
      cara_http_stream_write (st, line, strlen (line));
    }
  if (r->running == 0)
    cara_http_stream_close (st);
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
  log_relay_unref (r);
}

/* ================================================================ port-forward */

typedef struct {
  CaraWsClient *agent;
  struct MHD_UpgradeResponseHandle *urh;
  MHD_socket client;
  GByteArray *client_extra; /* bytes MHD read past the client's handshake */
  char *what;               /* "project/service:port" for the log */
} Forward;

static void
forward_free (Forward *f)
{
  cara_ws_client_free (f->agent);
  if (f->client_extra)
    g_byte_array_unref (f->client_extra);
  g_free (f->what);
  g_free (f);
}

/* Both sides speak the same WebSocket (the client masks toward us, we must mask toward the
 * agent: the client's frames already are; the agent's frames are unmasked, as ours to the
 * client must be), so the relay passes frames through byte for byte, pings and closes included.
 * Non-blocking both ways with a bounded buffer per direction: a full side stops us reading the
 * other one (back-pressure) but never stops the opposite direction (no echo deadlock). */
static gpointer
forward_thread (gpointer data)
{
  Forward *f = data;
  g_autofree guint8 *buf = g_malloc (RELAY_CHUNK);
  g_autoptr (GByteArray) to_agent = g_byte_array_new ();
  g_autoptr (GByteArray) to_client = g_byte_array_new ();
  int afd = cara_ws_client_get_fd (f->agent);
  gboolean client_eof = FALSE, agent_eof = FALSE, failed = FALSE;
  const char *ended = "done";

  g_autoptr (GBytes) pending = cara_ws_client_take_pending (f->agent);
  if (pending)
    g_byte_array_append (to_client, g_bytes_get_data (pending, NULL), (guint) g_bytes_get_size (pending));
  if (f->client_extra)
    g_byte_array_append (to_agent, f->client_extra->data, f->client_extra->len);
  int flags = fcntl (f->client, F_GETFL);
  fcntl (f->client, F_SETFL, flags | O_NONBLOCK);

  while (!failed)
    {
      /* One side ended and what it sent is delivered: the tunnel is over. */
      if ((client_eof && to_agent->len == 0) || (agent_eof && to_client->len == 0))
        break;
      struct pollfd p[2] = { { .fd = f->client }, { .fd = afd } };
      if (!client_eof && to_agent->len < RELAY_BUFFER)
        p[0].events |= POLLIN;
      if (to_client->len > 0)
        p[0].events |= POLLOUT;
      if (!agent_eof && to_client->len < RELAY_BUFFER)
        p[1].events |= POLLIN;
      if (to_agent->len > 0)
        p[1].events |= POLLOUT;
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if ((p[0].events & POLLIN) && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          ssize_t n = recv (f->client, buf, RELAY_CHUNK, 0);
          if (n > 0)
            g_byte_array_append (to_agent, buf, (guint) n);
          else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            {
              client_eof = TRUE;
              ended = "client closed";
            }
        }
      if ((p[1].events & POLLIN) && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
        /* Drain what libcurl has (TLS may hold more than one poll shows). */
        while (to_client->len < RELAY_BUFFER)
          {
            gssize n = cara_ws_client_recv (f->agent, buf, RELAY_CHUNK);
            if (n == -2)
              break;
            if (n <= 0)
              {
                agent_eof = TRUE;
                ended = "agent closed";
                break;
              }
            g_byte_array_append (to_client, buf, (guint) n);
          }
      if (to_client->len > 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP)))
        {
          ssize_t n = send (f->client, to_client->data, to_client->len, MSG_NOSIGNAL);
          if (n > 0)
            g_byte_array_remove_range (to_client, 0, (guint) n);
          else if (n < 0 && errno != EINTR && errno != EAGAIN)
            {
              failed = TRUE;
              ended = "client gone";
            }
        }
      if (to_agent->len > 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP)))
        {
          gssize n = cara_ws_client_send (f->agent, to_agent->data, to_agent->len);
          if (n > 0)
            g_byte_array_remove_range (to_agent, 0, (guint) n);
          else if (n == -1)
            {
              failed = TRUE;
              ended = "agent connection lost";
            }
        }
    }
  g_debug ("relay %s: %s", f->what, ended);
  MHD_upgrade_action (f->urh, MHD_UPGRADE_ACTION_CLOSE);
  forward_free (f);
  slot_release ();
  return NULL;
}

static void
forward_upgraded (void *cls, struct MHD_Connection *connection, void *req_cls, const char *extra_in,
                  size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
  Forward *f = cls;
  f->urh = urh;
  f->client = sock;
  /* Relayed frames must not wait for Nagle (each one is a complete message). */
  int one = 1;
  setsockopt (sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (extra_in_size)
    {
      f->client_extra = g_byte_array_new ();
      g_byte_array_append (f->client_extra, (const guint8 *) extra_in, (guint) extra_in_size);
    }
  g_thread_unref (g_thread_new ("forward-relay", forward_thread, f));
}

void
api_projects_portforward (CaraHttpRequest *req, gpointer user_data)
{
  const char *service = cara_http_request_get_query (req, "service");
  const char *port_s = cara_http_request_get_query (req, "port");
  if (service == NULL || *service == '\0')
    {
      cara_http_respond_problem (req, 400, "the service query parameter is required");
      return;
    }
  guint64 port = 0;
  if (port_s == NULL || !g_ascii_string_to_unsigned (port_s, 10, 1, 65535, &port, NULL))
    {
      respond_problem_printf (req, 400, "invalid port: %s", port_s ? port_s : "");
      return;
    }
  const char *key = cara_http_request_websocket_key (req);
  if (key == NULL)
    return;
  g_autoptr (CaraProject) project = NULL;
  g_autofree char *node = NULL, *base = NULL, *secret = NULL;
  if (!resolve_agent (req, service, TRUE, &project, &node, &base, &secret))
    return;
  g_autofree char *esc_project = cara_http_escape (project->metadata.name);
  g_autofree char *esc_service = cara_http_escape (service);
  g_autofree char *path = g_strdup_printf ("/api/v1/forward/%s/%s/%u", esc_project, esc_service, (guint) port);
  g_autofree char *what = g_strdup_printf ("port-forward %s/%s:%u", project->metadata.name, service, (guint) port);
  api_streams_relay_websocket (req, key, node, base, secret, path, NULL, what);
}

gboolean
api_streams_resolve_agent (CaraHttpRequest *req, const char *service, gboolean need_running,
                           CaraProject **ret_project, char **ret_node, char **ret_url, char **ret_secret)
{
  return resolve_agent (req, service, need_running, ret_project, ret_node, ret_url, ret_secret);
}

void
api_streams_relay_websocket (CaraHttpRequest *req, const char *key, const char *node, const char *base,
                             const char *secret, const char *path, const char *protocol, const char *what)
{
  if (!slot_take ())
    {
      cara_http_respond_problem (req, 503, "too many open streams on this server");
      return;
    }

  /* Open the agent's side first, so its errors (404/503/502) reach the client as they are. */
  CaraWsClientOptions opts = { .token = secret, .ca_file = agent_ca_value, .timeout_ms = 10000, .protocol = protocol };
  guint status = 0;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GError) error = NULL;
  CaraWsClient *agent = cara_ws_client_connect (base, path, &opts, &status, &body, &error);
  if (agent == NULL)
    {
      slot_release ();
      if (status == 0 || status == 101)
        respond_problem_printf (req, 502, "cannot reach the agent of node %s: %s", node, error->message);
      else
        respond_agent_answer (req, status, body, node);
      return;
    }

  Forward *f = g_new0 (Forward, 1);
  f->agent = agent;
  f->what = g_strdup (what);
  struct MHD_Response *resp = MHD_create_response_for_upgrade (forward_upgraded, f);
  if (resp == NULL)
    {
      forward_free (f);
      slot_release ();
      cara_http_respond_problem (req, 500, "cannot upgrade the connection");
      return;
    }
  g_autofree char *accept = cara_ws_accept_key (key);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
  MHD_add_response_header (resp, "Sec-WebSocket-Accept", accept);
  if (protocol)
    MHD_add_response_header (resp, "Sec-WebSocket-Protocol", protocol);
  cara_http_respond_mhd (req, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
  /* If the client vanishes before MHD completes the upgrade, @f and its slot leak (rare). */
}

void
api_streams_configure (GKeyFile *kf)
{
  gboolean tls = FALSE;
  g_autoptr (GError) error = NULL;
  if (!cara_config_boolean (kf, "server", "agent_tls", "CARA_AGENT_TLS", NULL, FALSE, &tls, &error))
    g_warning ("agent_tls: %s; using plain HTTP to agents", error->message);
  agent_scheme = tls ? "https" : "http";
  g_free (agent_ca_value);
  agent_ca_value = cara_config_string (kf, "server", "agent_ca", "CARA_AGENT_CA", NULL, NULL);
  if (agent_ca_value && !*agent_ca_value)
    g_clear_pointer (&agent_ca_value, g_free);
}

char *
api_streams_agent_url (const CaraNode *node)
{
  const char *ip = node->status.network.ip;
  if (ip == NULL || *ip == '\0')
    return NULL;
  guint port = node->status.network.agent_port > 0 ? (guint) node->status.network.agent_port : 9090;
  return strchr (ip, ':') ? g_strdup_printf ("%s://[%s]:%u", agent_scheme, ip, port)
                          : g_strdup_printf ("%s://%s:%u", agent_scheme, ip, port);
}

const char *
api_streams_agent_scheme (void)
{
  return agent_scheme;
}

const char *
api_streams_agent_ca (void)
{
  return agent_ca_value;
}
