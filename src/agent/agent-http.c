/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-agent-http"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <microhttpd.h>

#include "agent-http.h"
#include "agent-metrics.h"
#include "cara-daemon.h"
#include "cara-error.h"
#include "cara-http-server.h"
#include "cara-log.h"
#include "cara-metrics.h"
#include "cara-token.h"
#include "cara-websocket.h"
#include "docker.h"
#include "volume-copy.h"
#include "cara-json.h"

/* Bounds on the threads streams may hold (one per followed log or forwarded connection). */
#define MAX_STREAMS 256
#define RELAY_CHUNK (32 * 1024)

struct _AgentHttp {
  const AgentConfig *cfg;
  CaraHttpServer *server;
  gint streams; /* atomic */
};

/* ---------------------------------------------------------------- helpers */

static gboolean
query_bool (CaraHttpRequest *req, const char *key)
{
  const char *v = cara_http_request_get_query (req, key);
  return v && (g_ascii_strcasecmp (v, "true") == 0 || g_strcmp0 (v, "1") == 0 || g_ascii_strcasecmp (v, "t") == 0);
}

/* Our container of @project/@service (found by labels, so suffixed names work too), inspected. */
static JsonObject *
find_container (AgentHttp *h, DockerClient *dc, const char *project, const char *service, GError **error)
{
  g_autofree char *f_node = g_strdup_printf (AGENT_LABEL_NODE "=%s", h->cfg->node_name);
  g_autofree char *f_project = g_strdup_printf (AGENT_LABEL_PROJECT "=%s", project);
  g_autofree char *f_service = g_strdup_printf (AGENT_LABEL_SERVICE "=%s", service);
  const char *filters[] = { f_node, f_project, f_service, NULL };
  g_autoptr (JsonArray) list = docker_container_list (dc, filters, error);
  if (list == NULL)
    return NULL;
  if (json_array_get_length (list) == 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "container %s/%s: container not found", project, service);
      return NULL;
    }
  const char *id = json_object_get_string_member_with_default (json_array_get_object_element (list, 0), "Id", "");
  return docker_container_inspect (dc, id, error);
}

static gboolean
container_running (JsonObject *info)
{
  JsonObject *st = cara_json_object_object (info, "State");
  return st && json_object_get_boolean_member_with_default (st, "Running", FALSE);
}

static gboolean
stream_slot_take (AgentHttp *h)
{
  if (g_atomic_int_add (&h->streams, 1) >= MAX_STREAMS)
    {
      g_atomic_int_add (&h->streams, -1);
      return FALSE;
    }
  return TRUE;
}

static void
stream_slot_release (AgentHttp *h)
{
  g_atomic_int_add (&h->streams, -1);
}

static void
handle_healthz (CaraHttpRequest *req, gpointer user_data)
{
  cara_http_respond_text (req, 200, "text/plain; charset=utf-8", "OK");
}

/* ---------------------------------------------------------------- logs */

typedef struct {
  AgentHttp *h;
  CaraHttpStream *stream;
  GCancellable *cancel;
  char *id;
  gboolean follow;
  gboolean timestamps;
  char *tail;
  char *project, *service;
} LogJob;

static void
log_job_free (LogJob *j)
{
  cara_http_stream_unref (j->stream);
  g_object_unref (j->cancel);
  g_free (j->id);
  g_free (j->tail);
  g_free (j->project);
  g_free (j->service);
  g_free (j);
}

static void
log_stream_closed (gpointer data)
{
  /* The client went away (or the stream ended): stop reading from Docker. */
  g_cancellable_cancel (G_CANCELLABLE (data));
  g_object_unref (data);
}

static gboolean
log_chunk (const char *data, gsize len, gpointer user_data)
{
  LogJob *j = user_data;
  /* Back-pressure: a slow reader makes us stop reading from Docker. */
  while (cara_http_stream_get_queued (j->stream) > 1024 * 1024 && cara_http_stream_is_open (j->stream))
    g_usleep (10000);
  return cara_http_stream_write (j->stream, data, len);
}

static gpointer
log_thread (gpointer data)
{
  LogJob *j = data;
  g_autoptr (GError) error = NULL;
  DockerClient *dc = docker_client_for_thread (j->h->cfg->docker_host, &error);
  if (dc && !docker_container_logs (dc, j->id, j->follow, j->tail, j->timestamps, log_chunk, j, j->cancel, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    cara_log_service (G_LOG_LEVEL_DEBUG, j->project, j->service, "Log stream ended: %s", error->message);
  cara_http_stream_close (j->stream);
  stream_slot_release (j->h);
  log_job_free (j);
  return NULL;
}

static void
handle_logs (CaraHttpRequest *req, gpointer user_data)
{
  AgentHttp *h = user_data;
  const char *project = cara_http_request_get_param (req, "project");
  const char *service = cara_http_request_get_param (req, "service");
  gboolean follow = query_bool (req, "follow");
  g_autoptr (GError) error = NULL;
  DockerClient *dc = docker_client_for_thread (h->cfg->docker_host, &error);
  g_autoptr (JsonObject) info = dc ? find_container (h, dc, project, service, &error) : NULL;
  if (info == NULL)
    {
      if (!g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        {
          cara_http_respond_problem (req, 502, error->message);
          return;
        }
      cara_http_respond_problem (req, 404, error->message);
      return;
    }
  if (follow && !container_running (info))
    {
      g_autofree char *detail = g_strdup_printf ("container %s/%s: container not running", project, service);
      cara_http_respond_problem (req, 409, detail);
      return;
    }
  if (!stream_slot_take (h))
    {
      cara_http_respond_problem (req, 503, "too many open streams");
      return;
    }
  LogJob *j = g_new0 (LogJob, 1);
  j->h = h;
  j->cancel = g_cancellable_new ();
  j->id = g_strdup (json_object_get_string_member_with_default (info, "Id", ""));
  j->follow = follow;
  j->timestamps = query_bool (req, "timestamps");
  const char *tail = cara_http_request_get_query (req, "tail");
  j->tail = g_strdup (tail && *tail ? tail : "all");
  j->project = g_strdup (project);
  j->service = g_strdup (service);
  cara_http_request_add_response_header (req, "X-Content-Type-Options", "nosniff");
  j->stream = cara_http_respond_stream (req, 200, "text/plain; charset=utf-8", log_stream_closed,
                                        g_object_ref (j->cancel));
  /* on_closed's user data holds one reference of the cancellable, dropped here when it fires. */
  g_thread_unref (g_thread_new ("logs", log_thread, j));
}

/* ---------------------------------------------------------------- port-forward */

typedef struct {
  AgentHttp *h;
  int tcp;                 /* to the container */
  char *target;            /* "ip:port" for logs */
  struct MHD_UpgradeResponseHandle *urh;
  MHD_socket ws;
  GByteArray *extra;       /* bytes MHD read past the handshake */
} Forward;

static void
forward_free (Forward *f)
{
  if (f->tcp >= 0)
    close (f->tcp);
  g_free (f->target);
  if (f->extra)
    g_byte_array_unref (f->extra);
  g_free (f);
}

gboolean
agent_http_write_all (int fd, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = send (fd, data, len, MSG_NOSIGNAL);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            {
              struct pollfd p = { .fd = fd, .events = POLLOUT };
              if (poll (&p, 1, 30000) <= 0)
                return FALSE;
              continue;
            }
          return FALSE;
        }
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

typedef struct {
  Forward *f;
  gboolean closed;  /* the peer sent CLOSE */
  gboolean failed;
} WsState;

static gboolean
on_ws_frame (CaraWsOpcode op, gboolean fin, const guint8 *payload, gsize len, gpointer user_data)
{
  WsState *s = user_data;
  switch (op)
    {
    case CARA_WS_OP_TEXT:
    case CARA_WS_OP_BINARY:
      if (!agent_http_write_all (s->f->tcp, payload, len))
        {
          s->failed = TRUE;
          return FALSE;
        }
      return TRUE;
    case CARA_WS_OP_PING:
      {
        g_autoptr (GByteArray) out = g_byte_array_new ();
        cara_ws_frame_append (out, CARA_WS_OP_PONG, TRUE, payload, len, FALSE);
        if (!agent_http_write_all (s->f->ws, out->data, out->len))
          s->failed = TRUE;
        return !s->failed;
      }
    case CARA_WS_OP_CLOSE:
      s->closed = TRUE;
      return FALSE;
    case CARA_WS_OP_PONG:
    case CARA_WS_OP_CONTINUATION:
    default:
      return TRUE;
    }
}

static gpointer
forward_thread (gpointer data)
{
  Forward *f = data;
  g_autoptr (CaraWsDecoder) dec = cara_ws_decoder_new (TRUE, 0);
  WsState st = { .f = f };
  g_autofree guint8 *buf = g_malloc (RELAY_CHUNK);
  guint16 close_code = CARA_WS_CLOSE_NORMAL;
  gboolean tcp_eof = FALSE;
  g_autoptr (GError) error = NULL;

  if (f->extra && f->extra->len
      && !cara_ws_decoder_feed (dec, f->extra->data, f->extra->len, on_ws_frame, &st, &error))
    st.failed = TRUE;

  while (!st.closed && !st.failed && !tcp_eof)
    {
      struct pollfd p[2] = { { .fd = f->ws, .events = POLLIN }, { .fd = f->tcp, .events = POLLIN } };
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t n = recv (f->ws, buf, RELAY_CHUNK, 0);
          if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (n <= 0)
            break; /* the client vanished without a close frame */
          if (!cara_ws_decoder_feed (dec, buf, (gsize) n, on_ws_frame, &st, &error))
            {
              close_code = cara_ws_decoder_error_code (dec);
              cara_log_full (G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, NULL, NULL, NULL, "forward %s: %s", f->target,
                             error->message);
              break;
            }
        }
      if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t n = recv (f->tcp, buf, RELAY_CHUNK, 0);
          if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (n <= 0)
            {
              tcp_eof = TRUE;
              break;
            }
          g_autoptr (GByteArray) out = g_byte_array_sized_new ((guint) n + 14);
          cara_ws_frame_append (out, CARA_WS_OP_BINARY, TRUE, buf, (gsize) n, FALSE);
          if (!agent_http_write_all (f->ws, out->data, out->len))
            st.failed = TRUE;
        }
    }

  /* Say goodbye properly (RFC 6455 §5.5.1); the Go agent just dropped the connection. */
  if (!st.failed)
    {
      g_autoptr (GByteArray) out = g_byte_array_new ();
      cara_ws_close_append (out, close_code, tcp_eof ? "target closed" : NULL, FALSE);
      agent_http_write_all (f->ws, out->data, out->len);
    }
  shutdown (f->tcp, SHUT_RDWR);
  MHD_upgrade_action (f->urh, MHD_UPGRADE_ACTION_CLOSE);
  stream_slot_release (f->h);
  forward_free (f);
  return NULL;
}

static void
upgraded (void *cls, struct MHD_Connection *connection, void *req_cls, const char *extra_in, size_t extra_in_size,
          MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
  Forward *f = cls;
  f->urh = urh;
  f->ws = sock;
  if (extra_in_size)
    {
      f->extra = g_byte_array_new ();
      g_byte_array_append (f->extra, (const guint8 *) extra_in, (guint) extra_in_size);
    }
  g_thread_unref (g_thread_new ("forward", forward_thread, f));
}

static int
dial (const char *ip, guint port, GError **error)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((guint16) port) };
  if (inet_pton (AF_INET, ip, &sa.sin_addr) != 1)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_BAD_GATEWAY, "bad container address %s", ip);
      return -1;
    }
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *) &sa, sizeof sa) != 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, CARA_ERROR, CARA_ERROR_BAD_GATEWAY, "cannot reach %s:%u: %s: port unreachable", ip, port,
                   g_strerror (e));
      return -1;
    }
  int one = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* The container's address: on our project network (cara-*) if it has one, else any. */
static char *
container_ip (JsonObject *info)
{
  JsonObject *nets = cara_json_object_object (cara_json_object_object (info, "NetworkSettings"), "Networks");
  if (nets == NULL)
    return NULL;
  g_autofree char *any = NULL;
  g_autoptr (GList) names = json_object_get_members (nets);
  for (GList *l = names; l; l = l->next)
    {
      const char *ip = json_object_get_string_member_with_default (cara_json_object_object (nets, l->data), "IPAddress", "");
      if (*ip == '\0')
        continue;
      if (g_str_has_prefix (l->data, "cara-"))
        return g_strdup (ip);
      g_free (any);
      any = g_strdup (ip);
    }
  return g_steal_pointer (&any);
}

static void
handle_forward (CaraHttpRequest *req, gpointer user_data)
{
  AgentHttp *h = user_data;
  const char *project = cara_http_request_get_param (req, "project");
  const char *service = cara_http_request_get_param (req, "service");
  const char *port_s = cara_http_request_get_param (req, "port");
  guint64 port = 0;
  if (!g_ascii_string_to_unsigned (port_s, 10, 1, 65535, &port, NULL))
    {
      g_autofree char *detail = g_strdup_printf ("invalid port: %s", port_s);
      cara_http_respond_problem (req, 400, detail);
      return;
    }
  g_autoptr (GError) error = NULL;
  DockerClient *dc = docker_client_for_thread (h->cfg->docker_host, &error);
  g_autoptr (JsonObject) info = dc ? find_container (h, dc, project, service, &error) : NULL;
  g_autofree char *cname = g_strdup_printf ("%s-%s", project, service);
  if (info == NULL)
    {
      g_autofree char *detail = g_strdup_printf ("container %s: container not found", cname);
      cara_http_respond_problem (req, 404, detail);
      return;
    }
  if (!container_running (info))
    {
      g_autofree char *detail = g_strdup_printf ("container %s: container not running", cname);
      cara_http_respond_problem (req, 503, detail);
      return;
    }
  g_autofree char *ip = container_ip (info);
  if (ip == NULL)
    {
      g_autofree char *detail = g_strdup_printf ("container %s has no IP address", cname);
      cara_http_respond_problem (req, 502, detail);
      return;
    }
  /* The handshake must be a WebSocket one before we dial anything. */
  const char *key = cara_http_request_websocket_key (req);
  if (key == NULL)
    return;
  int fd = dial (ip, (guint) port, &error);
  if (fd < 0)
    {
      cara_http_respond_problem (req, 502, error->message);
      return;
    }
  if (!stream_slot_take (h))
    {
      close (fd);
      cara_http_respond_problem (req, 503, "too many open streams");
      return;
    }
  Forward *f = g_new0 (Forward, 1);
  f->h = h;
  f->tcp = fd;
  f->target = g_strdup_printf ("%s:%u", ip, (guint) port);
  struct MHD_Response *resp = MHD_create_response_for_upgrade (upgraded, f);
  if (resp == NULL)
    {
      stream_slot_release (h);
      forward_free (f);
      cara_http_respond_problem (req, 500, "cannot upgrade the connection");
      return;
    }
  g_autofree char *accept = cara_ws_accept_key (key);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
  MHD_add_response_header (resp, "Sec-WebSocket-Accept", accept);
  cara_log_service (G_LOG_LEVEL_DEBUG, project, service, "Forwarding a connection to %s", f->target);
  cara_http_respond_mhd (req, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
  /* If MHD never calls upgraded() (client gone), @f leaks its socket: accepted, rare. */
}

/* ---------------------------------------------------------------- for agent-exec.c */

const AgentConfig *
agent_http_get_config (AgentHttp *h)
{
  return h->cfg;
}

JsonObject *
agent_http_find_container (AgentHttp *h, DockerClient *dc, const char *project, const char *service, GError **error)
{
  return find_container (h, dc, project, service, error);
}

gboolean
agent_http_container_running (JsonObject *info)
{
  return container_running (info);
}

gboolean
agent_http_stream_slot_take (AgentHttp *h)
{
  return stream_slot_take (h);
}

void
agent_http_stream_slot_release (AgentHttp *h)
{
  stream_slot_release (h);
}

/* ---------------------------------------------------------------- server */

/* The agent's metrics (agent-metrics.h), for the server's relay. */
static void
handle_metrics (CaraHttpRequest *req, gpointer user_data)
{
  g_autofree char *text = agent_metrics_render ();
  cara_http_respond_text (req, 200, CARA_METRICS_CONTENT_TYPE, text);
}

static const CaraHttpRoute routes[] = {
  { "GET", "/healthz", handle_healthz, CARA_HTTP_ROLE_PUBLIC, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/logs/{project}/{service}", handle_logs, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/forward/{project}/{service}/{port}", handle_forward, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/exec/{project}/{service}", agent_exec_handle, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "GET", "/metrics", handle_metrics, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "POST", "/api/v1/migrate/{project}/stop", volume_copy_handle_stop, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "POST", "/api/v1/migrate/{project}/resume", volume_copy_handle_resume, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/migrate/{project}/archive", volume_copy_handle_archive, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "GET", "/api/v1/migrate/transfers/{id}", volume_copy_handle_transfer, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "POST", "/api/v1/migrate/{project}/receive", volume_copy_handle_receive, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
  { "POST", "/api/v1/migrate/{project}/purge", volume_copy_handle_purge, CARA_HTTP_ROLE_ADMIN, CARA_HTTP_NODE_NONE },
};

/* SPEC §9: logs and forward take only the server, which presents the secret derived from this
 * node's token (cara-token.h) - not a user's token, not the join token, not another node's.
 * Without a join token (CARA_AUTH=none setups) they are open like the Go agent's. */
static gboolean
authorize (CaraHttpRequest *req, const CaraHttpRoute *route, gpointer user_data, GError **error)
{
  AgentHttp *h = user_data;
  if (route->role == CARA_HTTP_ROLE_PUBLIC || h->cfg->agent_secret == NULL)
    return TRUE;
  const char *auth = cara_http_request_get_header (req, "Authorization");
  if (auth == NULL || g_ascii_strncasecmp (auth, "Bearer ", 7) != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAUTHORIZED, "a bearer token is required");
      return FALSE;
    }
  if (!cara_token_equal (auth + 7, h->cfg->agent_secret))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FORBIDDEN,
                   "only the server may use the agent API: call GET /api/v1/projects/{name}/logs, "
                   "/portforward or /exec on the server instead");
      return FALSE;
    }
  return TRUE;
}

AgentHttp *
agent_http_start (const AgentConfig *cfg, GError **error)
{
  int fd = -1;
  if (!cara_daemon_listen_fd ("api", &fd, error))
    return NULL;
  AgentHttp *h = g_new0 (AgentHttp, 1);
  h->cfg = cfg;
  h->server = cara_http_server_new ();
  cara_http_server_add_routes (h->server, routes, G_N_ELEMENTS (routes), h);
  cara_http_server_set_authorizer (h->server, authorize, h);
  /* Its legitimate caller is the server, with at most 512 relayed streams (api-streams.c). */
  cara_http_server_set_connection_limits (h->server, 1000, 512);
  /* TLS: the server must then be told agent_tls=true */
  if (cfg->tls_cert && !cara_http_server_set_tls_files (h->server, cfg->tls_cert, cfg->tls_key, error))
    {
      agent_http_stop (h);
      return NULL;
    }
  if (!cara_http_server_start (h->server, fd, "0.0.0.0", (guint16) cfg->agent_port, error))
    {
      agent_http_stop (h);
      return NULL;
    }
  if (!cara_http_server_is_loopback_only (h->server))
    {
      if (cfg->agent_secret == NULL)
        g_warning ("Authorisation is off (CARA_AUTH=none) and the agent API (logs, port-forward) on port %u is "
                   "reachable from other machines: anyone there reads logs and reaches the containers",
                   cara_http_server_get_port (h->server));
      if (cfg->tls_cert == NULL)
        g_warning ("TLS is off and the agent API on port %u is reachable from other machines: logs and "
                   "forwarded data cross the network in clear text; see --tls-cert (docs/tls.md)",
                   cara_http_server_get_port (h->server));
    }
  return h;
}

gboolean
agent_http_reload_tls (AgentHttp *h, GError **error)
{
  return cara_http_server_reload_tls (h->server, error);
}

void
agent_http_stop (AgentHttp *h)
{
  if (h == NULL)
    return;
  if (h->server)
    {
      cara_http_server_stop (h->server);
      cara_http_server_free (h->server);
    }
  g_free (h);
}
