/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's exec endpoint (SPEC §11): a WebSocket speaking the channel protocol of cara-exec.h
 * on one side, Docker's hijacked exec stream on the other.  One thread per session (bounded with
 * the other streams); both sockets are polled, the Docker side through a bounded buffer so that a
 * process that stops reading its stdin never stops us forwarding its output (no echo deadlock). */
#include "config.h"

#define G_LOG_DOMAIN "cara-agent-exec"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "agent-http.h"
#include "cara-error.h"
#include "cara-exec.h"
#include "cara-log.h"
#include "cara-websocket.h"
#include "docker-exec.h"

#define READ_CHUNK (32 * 1024)
#define STDIN_BUFFER (256 * 1024)   /* bytes for the process's stdin we hold before we stop reading */
#define EXIT_WAIT_USEC (5 * G_USEC_PER_SEC)

typedef struct {
  AgentHttp *h;
  char *project, *service;
  char *exec_id;
  gboolean tty;
  struct MHD_UpgradeResponseHandle *urh;
  MHD_socket ws;
  GByteArray *extra; /* bytes MHD read past the handshake */
} Session;

static void
session_free (Session *s)
{
  g_free (s->project);
  g_free (s->service);
  g_free (s->exec_id);
  if (s->extra)
    g_byte_array_unref (s->extra);
  g_free (s);
}

typedef struct {
  Session *s;
  DockerHijack *docker;
  DockerClient *dc;        /* for resize and inspect (this thread's) */
  GByteArray *to_docker;   /* stdin bytes not yet taken by Docker */
  gboolean stdin_eof;      /* the client closed stdin: half-close once to_docker is empty */
  gboolean stdin_closed;
  gboolean client_closed;  /* CLOSE received */
  gboolean failed;         /* the client connection broke */
} Pump;

static gboolean
send_channel (Pump *p, CaraExecChannel channel, const guint8 *data, gsize len)
{
  if (p->failed)
    return FALSE;
  g_autoptr (GByteArray) out = g_byte_array_sized_new ((guint) len + 16);
  cara_exec_frame_append (out, channel, data, len, FALSE);
  if (!agent_http_write_all (p->s->ws, out->data, out->len))
    p->failed = TRUE;
  return !p->failed;
}

static gboolean
on_docker_frame (guint stream, const guint8 *data, gsize len, gpointer user_data)
{
  Pump *p = user_data;
  return send_channel (p, stream == 2 ? CARA_EXEC_CHANNEL_STDERR : CARA_EXEC_CHANNEL_STDOUT, data, len);
}

static void
resize (Pump *p, const guint8 *data, gsize len)
{
  guint w = 0, hgt = 0;
  g_autoptr (GError) error = NULL;
  if (!cara_exec_parse_size (data, len, &w, &hgt, &error))
    {
      cara_log_service (G_LOG_LEVEL_DEBUG, p->s->project, p->s->service, "exec: ignoring a resize: %s",
                        error->message);
      return;
    }
  if (!p->s->tty)
    return;
  if (p->dc == NULL || !docker_exec_resize (p->dc, p->s->exec_id, w, hgt, &error))
    cara_log_service (G_LOG_LEVEL_DEBUG, p->s->project, p->s->service, "exec: resize to %ux%u failed: %s", w, hgt,
                      error ? error->message : "no Docker client");
}

static gboolean
on_ws_frame (CaraWsOpcode op, gboolean fin, const guint8 *payload, gsize len, gpointer user_data)
{
  Pump *p = user_data;
  switch (op)
    {
    case CARA_WS_OP_BINARY:
      if (len == 0)
        return TRUE;
      switch (payload[0])
        {
        case CARA_EXEC_CHANNEL_STDIN:
          if (len == 1)
            p->stdin_eof = TRUE;
          else if (!p->stdin_eof)
            g_byte_array_append (p->to_docker, payload + 1, (guint) (len - 1));
          return TRUE;
        case CARA_EXEC_CHANNEL_RESIZE:
          resize (p, payload + 1, len - 1);
          return TRUE;
        default:
          return TRUE; /* nothing else flows client -> server */
        }
    case CARA_WS_OP_PING:
      {
        g_autoptr (GByteArray) out = g_byte_array_new ();
        cara_ws_frame_append (out, CARA_WS_OP_PONG, TRUE, payload, len, FALSE);
        if (!agent_http_write_all (p->s->ws, out->data, out->len))
          p->failed = TRUE;
        return !p->failed;
      }
    case CARA_WS_OP_CLOSE:
      p->client_closed = TRUE;
      return FALSE;
    case CARA_WS_OP_TEXT:
    case CARA_WS_OP_PONG:
    case CARA_WS_OP_CONTINUATION:
    default:
      return TRUE;
    }
}

/* The exit code once Docker has noticed the process ended (the stream may end a moment before). */
static int
exit_code (Pump *p)
{
  gint64 deadline = g_get_monotonic_time () + EXIT_WAIT_USEC;
  gulong delay = 1000;
  for (;;)
    {
      gboolean running = FALSE;
      int code = -1;
      g_autoptr (GError) error = NULL;
      if (p->dc == NULL || !docker_exec_inspect (p->dc, p->s->exec_id, &running, &code, &error))
        {
          cara_log_service (G_LOG_LEVEL_WARNING, p->s->project, p->s->service, "exec: no exit code: %s",
                            error ? error->message : "no Docker client");
          return 255;
        }
      if (!running)
        return code;
      if (g_get_monotonic_time () > deadline)
        return 255;
      g_usleep (delay);
      delay = MIN (delay * 2, 100000);
    }
}

static void
pump (Pump *p, CaraWsDecoder *dec, guint16 *ret_close_code)
{
  Session *s = p->s;
  g_autofree guint8 *buf = g_malloc (READ_CHUNK);
  CaraDockerDemux demux = { 0 };
  gboolean docker_eof = FALSE;
  int dfd = docker_hijack_get_fd (p->docker);
  g_autoptr (GError) error = NULL;

  g_autoptr (GBytes) pending = docker_hijack_take_pending (p->docker);
  if (pending && g_bytes_get_size (pending) > 0)
    {
      gsize n = 0;
      const guint8 *d = g_bytes_get_data (pending, &n);
      if (s->tty)
        send_channel (p, CARA_EXEC_CHANNEL_STDOUT, d, n);
      else
        cara_docker_demux_feed (&demux, d, n, on_docker_frame, p);
    }
  if (s->extra && s->extra->len && !cara_ws_decoder_feed (dec, s->extra->data, s->extra->len, on_ws_frame, p, &error))
    {
      *ret_close_code = cara_ws_decoder_error_code (dec);
      return;
    }

  while (!p->failed && !p->client_closed && !docker_eof)
    {
      if (p->stdin_eof && p->to_docker->len == 0 && !p->stdin_closed)
        {
          docker_hijack_close_write (p->docker);
          p->stdin_closed = TRUE;
        }
      struct pollfd fds[2] = { { .fd = s->ws }, { .fd = dfd, .events = POLLIN } };
      if (p->to_docker->len < STDIN_BUFFER)
        fds[0].events |= POLLIN;
      if (p->to_docker->len > 0)
        fds[1].events |= POLLOUT;
      if (poll (fds, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          p->failed = TRUE;
          break;
        }
      if ((fds[0].events & POLLIN) && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          ssize_t n = recv (s->ws, buf, READ_CHUNK, 0);
          if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (n <= 0)
            {
              p->failed = TRUE; /* gone without a close frame */
              break;
            }
          if (!cara_ws_decoder_feed (dec, buf, (gsize) n, on_ws_frame, p, &error))
            {
              *ret_close_code = cara_ws_decoder_error_code (dec);
              cara_log_service (G_LOG_LEVEL_DEBUG, s->project, s->service, "exec: %s", error->message);
              return;
            }
        }
      if (p->to_docker->len > 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)))
        {
          gssize n = docker_hijack_send (p->docker, p->to_docker->data, p->to_docker->len);
          if (n > 0)
            g_byte_array_remove_range (p->to_docker, 0, (guint) n);
          else if (n == -1)
            {
              /* The process closed its stdin (or ended): drop what it will never read. */
              g_byte_array_set_size (p->to_docker, 0);
              p->stdin_eof = p->stdin_closed = TRUE;
            }
        }
      if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
        for (;;)
          {
            gssize n = docker_hijack_recv (p->docker, buf, READ_CHUNK);
            if (n == -2)
              break;
            if (n <= 0)
              {
                docker_eof = TRUE;
                break;
              }
            gboolean ok = s->tty ? send_channel (p, CARA_EXEC_CHANNEL_STDOUT, buf, (gsize) n)
                                 : cara_docker_demux_feed (&demux, buf, (gsize) n, on_docker_frame, p);
            if (!ok)
              break;
          }
    }
  if (docker_eof && !p->failed)
    {
      int code = exit_code (p);
      g_autofree char *status = cara_exec_status_json (code);
      send_channel (p, CARA_EXEC_CHANNEL_STATUS, (const guint8 *) status, strlen (status));
      cara_log_service (G_LOG_LEVEL_DEBUG, s->project, s->service, "exec %s ended with exit code %d", s->exec_id,
                        code);
    }
}

static gpointer
session_thread (gpointer data)
{
  Session *s = data;
  g_autoptr (CaraWsDecoder) dec = cara_ws_decoder_new (TRUE, 0);
  g_autoptr (GByteArray) to_docker = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  const AgentConfig *cfg = agent_http_get_config (s->h);
  Pump p = { .s = s, .to_docker = to_docker };
  guint16 close_code = CARA_WS_CLOSE_NORMAL;

  p.dc = docker_client_for_thread (cfg->docker_host, &error);
  g_autoptr (DockerHijack) docker = p.dc ? docker_exec_start (p.dc, s->exec_id, s->tty, &error) : NULL;
  if (docker == NULL)
    {
      /* Said in-band: the handshake is over.  126 is what a shell reports for "cannot execute". */
      g_autofree char *msg = g_strdup_printf ("exec failed: %s\n", error->message);
      send_channel (&p, CARA_EXEC_CHANNEL_STDERR, (const guint8 *) msg, strlen (msg));
      g_autofree char *status = cara_exec_status_json (126);
      send_channel (&p, CARA_EXEC_CHANNEL_STATUS, (const guint8 *) status, strlen (status));
      cara_log_service (G_LOG_LEVEL_WARNING, s->project, s->service, "Failed to start an exec: %s", error->message);
    }
  else
    {
      p.docker = docker;
      pump (&p, dec, &close_code);
    }
  if (!p.failed)
    {
      g_autoptr (GByteArray) out = g_byte_array_new ();
      cara_ws_close_append (out, close_code, NULL, FALSE);
      agent_http_write_all (s->ws, out->data, out->len);
    }
  /* Closing the Docker connection ends an interactive process's terminal (like docker exec). */
  g_clear_pointer (&docker, docker_hijack_free);
  MHD_upgrade_action (s->urh, MHD_UPGRADE_ACTION_CLOSE);
  agent_http_stream_slot_release (s->h);
  session_free (s);
  return NULL;
}

static void
upgraded (void *cls, struct MHD_Connection *connection, void *req_cls, const char *extra_in, size_t extra_in_size,
          MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
  Session *s = cls;
  s->urh = urh;
  s->ws = sock;
  if (extra_in_size)
    {
      s->extra = g_byte_array_new ();
      g_byte_array_append (s->extra, (const guint8 *) extra_in, (guint) extra_in_size);
    }
  g_thread_unref (g_thread_new ("exec", session_thread, s));
}

/* Go's strconv.ParseBool, as the server's relay reads it. */
static gboolean
query_bool (CaraHttpRequest *req, const char *key)
{
  const char *v = cara_http_request_get_query (req, key);
  static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True", NULL };
  return v && g_strv_contains (yes, v);
}

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

/* Whether the client asked for our subprotocol (a client that names none is served too). */
static gboolean
wants_subprotocol (CaraHttpRequest *req, gboolean *ret_named)
{
  const char *offered = cara_http_request_get_header (req, "Sec-WebSocket-Protocol");
  *ret_named = FALSE;
  if (offered == NULL)
    return TRUE;
  g_auto (GStrv) list = g_strsplit (offered, ",", -1);
  for (guint i = 0; list[i]; i++)
    if (g_str_equal (g_strstrip (list[i]), CARA_EXEC_SUBPROTOCOL))
      {
        *ret_named = TRUE;
        return TRUE;
      }
  return FALSE;
}

void
agent_exec_handle (CaraHttpRequest *req, gpointer user_data)
{
  AgentHttp *h = user_data;
  const char *project = cara_http_request_get_param (req, "project");
  const char *service = cara_http_request_get_param (req, "service");
  const char *const *command = cara_http_request_get_query_all (req, "command");
  if (command[0] == NULL)
    {
      cara_http_respond_problem (req, 400, "the command query parameter is required (one per argument)");
      return;
    }
  gboolean named = FALSE;
  if (!wants_subprotocol (req, &named))
    {
      cara_http_respond_problem (req, 400, "Sec-WebSocket-Protocol: the exec endpoint speaks only "
                                           CARA_EXEC_SUBPROTOCOL);
      return;
    }
  gboolean tty = query_bool (req, "tty");
  gboolean attach_stdin = query_bool (req, "stdin");
  g_autoptr (GError) error = NULL;
  /* A client of its own, not the worker thread's cached one: an HTTP worker keeps no Docker
   * connection open because of an exec. */
  g_autoptr (DockerClient) dc = docker_client_new (agent_http_get_config (h)->docker_host, &error);
  g_autoptr (JsonObject) info = dc ? agent_http_find_container (h, dc, project, service, &error) : NULL;
  if (info == NULL)
    {
      if (g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        respond_problem_printf (req, 404, "container %s-%s: container not found", project, service);
      else
        cara_http_respond_problem (req, 502, error->message);
      return;
    }
  if (!agent_http_container_running (info))
    {
      respond_problem_printf (req, 409, "container %s-%s: container not running", project, service);
      return;
    }
  const char *key = cara_http_request_websocket_key (req);
  if (key == NULL)
    return;
  if (!agent_http_stream_slot_take (h))
    {
      cara_http_respond_problem (req, 503, "too many open streams");
      return;
    }
  g_autofree char *exec_id = NULL;
  const char *id = json_object_get_string_member_with_default (info, "Id", "");
  if (!docker_exec_create (dc, id, command, attach_stdin, tty, &exec_id, &error))
    {
      agent_http_stream_slot_release (h);
      if (g_error_matches (error, CARA_ERROR, CARA_ERROR_CONFLICT))
        respond_problem_printf (req, 409, "container %s-%s: %s", project, service, error->message);
      else if (g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        respond_problem_printf (req, 404, "container %s-%s: %s", project, service, error->message);
      else
        respond_problem_printf (req, 502, "Docker refused the exec: %s", error->message);
      return;
    }
  Session *s = g_new0 (Session, 1);
  s->h = h;
  s->project = g_strdup (project);
  s->service = g_strdup (service);
  s->exec_id = g_steal_pointer (&exec_id);
  s->tty = tty;
  struct MHD_Response *resp = MHD_create_response_for_upgrade (upgraded, s);
  if (resp == NULL)
    {
      agent_http_stream_slot_release (h);
      session_free (s);
      cara_http_respond_problem (req, 500, "cannot upgrade the connection");
      return;
    }
  g_autofree char *accept = cara_ws_accept_key (key);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
  MHD_add_response_header (resp, "Sec-WebSocket-Accept", accept);
  if (named)
    MHD_add_response_header (resp, "Sec-WebSocket-Protocol", CARA_EXEC_SUBPROTOCOL);
  cara_log_service (G_LOG_LEVEL_DEBUG, project, service, "exec %s (tty %d, stdin %d)", s->exec_id, tty,
                    attach_stdin);
  cara_http_respond_mhd (req, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
  /* If MHD never calls upgraded() (client gone), @s and its slot leak, as with forward: rare. */
}
