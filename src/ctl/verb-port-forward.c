/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl port-forward PROJECT/SERVICE [LOCAL:]REMOTE... [--address ADDR]: listens locally and
 * opens one WebSocket to the server's portforward route per accepted TCP connection (SPEC §3,
 * reference §6.4); the server relays it to the agent of the project's node. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "cara-error.h"
#include "cara-websocket.h"
#include "cara-ws-client.h"
#include "ctl.h"

#define READ_CHUNK (32 * 1024)

typedef struct {
  int fd;
  guint local;  /* as bound (0 asks the kernel) */
  guint remote;
  char *shown;  /* "127.0.0.1:8080" */
} Listener;

/* What every connection thread needs; owned by the verb, which outlives them or exits. */
typedef struct {
  char *base;
  char *token;
  char *ca_file; /* --ca / CARA_CA / config, as for every other request */
  char *project;
  char *service;
} Target;

typedef struct {
  const Target *t;
  int local;
  guint remote;
  char *peer;
} Conn;

static int quit_pipe[2] = { -1, -1 };

static void
on_signal (int sig)
{
  char c = 1;
  if (write (quit_pipe[1], &c, 1) < 0)
    _exit (0);
}

static gboolean
parse_port (const char *s, guint min, guint *ret)
{
  guint64 v = 0;
  if (!g_ascii_string_to_unsigned (s, 10, min, 65535, &v, NULL))
    return FALSE;
  *ret = (guint) v;
  return TRUE;
}

#define RELAY_BUFFER (256 * 1024) /* per direction */

typedef struct {
  GByteArray *to_local; /* payload bytes for the local connection */
  GByteArray *to_ws;    /* framed (masked) bytes for the server */
  gboolean closed;      /* the peer sent CLOSE */
} Relay;

static gboolean
on_frame (CaraWsOpcode op, gboolean fin, const guint8 *payload, gsize len, gpointer user_data)
{
  Relay *r = user_data;
  switch (op)
    {
    case CARA_WS_OP_TEXT:
    case CARA_WS_OP_BINARY:
      g_byte_array_append (r->to_local, payload, (guint) len);
      return TRUE;
    case CARA_WS_OP_PING:
      cara_ws_frame_append (r->to_ws, CARA_WS_OP_PONG, TRUE, payload, len, TRUE);
      return TRUE;
    case CARA_WS_OP_CLOSE:
      r->closed = TRUE;
      return FALSE;
    default:
      return TRUE;
    }
}

static void
conn_free (Conn *c)
{
  close (c->local);
  g_free (c->peer);
  g_free (c);
}

/* Non-blocking both ways with a bounded buffer per direction: a slow side stops us reading the
 * other one (back-pressure) without ever stalling the opposite direction. */
static gpointer
conn_thread (gpointer data)
{
  Conn *c = data;
  const Target *t = c->t;
  g_autofree char *ep = g_uri_escape_string (t->project, NULL, FALSE);
  g_autofree char *es = g_uri_escape_string (t->service, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("/api/v1/projects/%s/portforward?service=%s&port=%u", ep, es, c->remote);
  CaraWsClientOptions opts = { .token = t->token, .ca_file = t->ca_file, .timeout_ms = 15000 };
  guint status = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraWsClient) ws = cara_ws_client_connect (t->base, path, &opts, &status, NULL, &error);
  if (ws == NULL)
    {
      if (status == 0)
        g_printerr (_("Error: cannot connect to the server at %s: %s\n"), t->base, error->message);
      else
        g_printerr (_("Error: %s\n"), error->message);
      conn_free (c);
      return NULL;
    }
  g_printerr (_("Handling connection for %s\n"), c->peer);

  g_autoptr (CaraWsDecoder) dec = cara_ws_decoder_new (FALSE, 0);
  g_autoptr (GByteArray) to_local = g_byte_array_new ();
  g_autoptr (GByteArray) to_ws = g_byte_array_new ();
  Relay r = { .to_local = to_local, .to_ws = to_ws };
  g_autofree guint8 *buf = g_malloc (READ_CHUNK);
  gboolean lost = FALSE, failed = FALSE, local_eof = FALSE, sent_close = FALSE;
  int wfd = cara_ws_client_get_fd (ws);
  int flags = fcntl (c->local, F_GETFL);
  fcntl (c->local, F_SETFL, flags | O_NONBLOCK);

  g_autoptr (GBytes) pending = cara_ws_client_take_pending (ws);
  if (pending && !cara_ws_decoder_feed (dec, g_bytes_get_data (pending, NULL), g_bytes_get_size (pending), on_frame,
                                        &r, &error))
    failed = TRUE;

  while (!failed)
    {
      gboolean ws_done = r.closed || lost;
      if ((ws_done || local_eof) && !sent_close && !lost)
        {
          /* Our side ended, or we answer the peer's close. */
          cara_ws_close_append (to_ws, CARA_WS_CLOSE_NORMAL, NULL, TRUE);
          sent_close = TRUE;
        }
      /* Done once the ending side's data is delivered. */
      if ((ws_done && to_local->len == 0 && (lost || to_ws->len == 0)) || (local_eof && to_ws->len == 0))
        break;
      struct pollfd p[2] = { { .fd = c->local }, { .fd = wfd } };
      if (!local_eof && !sent_close && to_ws->len < RELAY_BUFFER)
        p[0].events |= POLLIN;
      if (to_local->len > 0)
        p[0].events |= POLLOUT;
      if (!ws_done && to_local->len < RELAY_BUFFER)
        p[1].events |= POLLIN;
      if (to_ws->len > 0 && !lost)
        p[1].events |= POLLOUT;
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if ((p[0].events & POLLIN) && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          ssize_t n = recv (c->local, buf, READ_CHUNK, 0);
          if (n > 0)
            cara_ws_frame_append (to_ws, CARA_WS_OP_BINARY, TRUE, buf, (gsize) n, TRUE);
          else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            local_eof = TRUE;
        }
      if ((p[1].events & POLLIN) && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
        while (to_local->len < RELAY_BUFFER && !r.closed)
          {
            gssize n = cara_ws_client_recv (ws, buf, READ_CHUNK);
            if (n == -2)
              break;
            if (n <= 0)
              {
                lost = TRUE;
                break;
              }
            if (!cara_ws_decoder_feed (dec, buf, (gsize) n, on_frame, &r, &error))
              {
                g_printerr (_("Error: connection for %s: %s\n"), c->peer, error->message);
                failed = TRUE;
                break;
              }
          }
      if (to_local->len > 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP)))
        {
          ssize_t n = send (c->local, to_local->data, to_local->len, MSG_NOSIGNAL);
          if (n > 0)
            g_byte_array_remove_range (to_local, 0, (guint) n);
          else if (n < 0 && errno != EINTR && errno != EAGAIN)
            break; /* the local client went away */
        }
      if (to_ws->len > 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP)))
        {
          gssize n = cara_ws_client_send (ws, to_ws->data, to_ws->len);
          if (n > 0)
            g_byte_array_remove_range (to_ws, 0, (guint) n);
          else if (n == -1)
            lost = TRUE;
        }
    }
  if (lost)
    g_printerr (_("Error: lost the connection to the server or agent for %s\n"), c->peer);
  else
    g_printerr (_("Connection from %s closed\n"), c->peer);
  conn_free (c);
  return NULL;
}

static char *
sockaddr_text (const struct sockaddr *sa, socklen_t len)
{
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (getnameinfo (sa, len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return g_strdup ("?");
  return strchr (host, ':') ? g_strdup_printf ("[%s]:%s", host, serv) : g_strdup_printf ("%s:%s", host, serv);
}

static int
listen_on (const char *address, guint port, char **ret_shown, GError **error)
{
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                            .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
  struct addrinfo *res = NULL;
  char portstr[16];
  g_snprintf (portstr, sizeof portstr, "%u", port);
  int rc = getaddrinfo (address, portstr, &hints, &res);
  if (rc != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("listen on %s:%u: %s"), address, port, gai_strerror (rc));
      return -1;
    }
  int fd = socket (res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0)
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind (fd, res->ai_addr, res->ai_addrlen) != 0 || listen (fd, 128) != 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      freeaddrinfo (res);
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("listen on %s:%u: %s"), address, port, g_strerror (e));
      return -1;
    }
  freeaddrinfo (res);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  getsockname (fd, (struct sockaddr *) &ss, &len);
  *ret_shown = sockaddr_text ((struct sockaddr *) &ss, len);
  return fd;
}

int
ctl_verb_port_forward (Ctl *ctl, CtlArgs *args, GError **error)
{
  const char *target = args->positional->pdata[0];
  const char *slash = strchr (target, '/');
  if (slash == NULL || slash == target || slash[1] == '\0' || strchr (slash + 1, '/'))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("invalid target '%s': expected PROJECT/SERVICE"), target);
      return -1;
    }
  if (args->positional->len < 2)
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("at least one port is required: [LOCAL:]REMOTE"));
      return -1;
    }
  Target t = { 0 };
  t.project = g_strndup (target, (gsize) (slash - target));
  t.service = g_strdup (slash + 1);
  g_autoptr (GArray) listeners = g_array_new (FALSE, TRUE, sizeof (Listener));
  int rc = -1;
  g_autofree struct pollfd *p = NULL;

  for (guint i = 1; i < args->positional->len; i++)
    {
      const char *spec = args->positional->pdata[i];
      Listener l = { .fd = -1 };
      const char *colon = strchr (spec, ':');
      gboolean good;
      if (colon)
        {
          g_autofree char *lp = g_strndup (spec, (gsize) (colon - spec));
          good = parse_port (lp, 0, &l.local) && parse_port (colon + 1, 1, &l.remote);
        }
      else
        good = parse_port (spec, 1, &l.remote) && parse_port (spec, 1, &l.local);
      if (!good)
        {
          g_set_error (error, CTL_USAGE_ERROR, 0, _("invalid port '%s': expected [LOCAL:]REMOTE, each 1-65535"), spec);
          goto out;
        }
      g_array_append_val (listeners, l);
    }

  /* Fail early and clearly on an unknown project or service (the server checks again). */
  {
    g_autofree char *esc = cara_http_escape (t.project);
    g_autofree char *path = g_strdup_printf ("/api/v1/projects/%s", esc);
    g_autoptr (JsonNode) json = ctl_get (ctl, path, error);
    if (json == NULL)
      goto out;
    JsonArray *services = ctl_arr (ctl_obj (JSON_NODE_HOLDS_OBJECT (json) ? json_node_get_object (json) : NULL, "spec"),
                                   "services");
    gboolean found = FALSE;
    for (guint i = 0; services && i < json_array_get_length (services); i++)
      {
        JsonNode *n = json_array_get_element (services, i);
        if (JSON_NODE_HOLDS_OBJECT (n) && g_str_equal (ctl_str (json_node_get_object (n), "name"), t.service))
          found = TRUE;
      }
    if (!found)
      {
        g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, _("service %s not found in project %s"), t.service,
                     t.project);
        goto out;
      }
  }

  const char *address = ctl_opt_string (args, "address");
  if (address == NULL)
    address = "127.0.0.1";
  for (guint i = 0; i < listeners->len; i++)
    {
      Listener *l = &g_array_index (listeners, Listener, i);
      l->fd = listen_on (address, l->local, &l->shown, error);
      if (l->fd < 0)
        goto out;
      g_printerr (_("Forwarding from %s -> %s/%s:%u\n"), l->shown, t.project, t.service, l->remote);
    }

  t.base = g_strdup (ctl->server);
  while (g_str_has_suffix (t.base, "/"))
    t.base[strlen (t.base) - 1] = '\0';
  t.token = g_strdup (ctl->token);
  t.ca_file = g_strdup (ctl->ca_file);

  if (!g_unix_open_pipe (quit_pipe, FD_CLOEXEC, NULL))
    goto out;
  struct sigaction sa = { .sa_handler = on_signal };
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  signal (SIGPIPE, SIG_IGN);

  p = g_new0 (struct pollfd, listeners->len + 1);
  for (;;)
    {
      p[0] = (struct pollfd) { .fd = quit_pipe[0], .events = POLLIN };
      for (guint i = 0; i < listeners->len; i++)
        p[i + 1] = (struct pollfd) { .fd = g_array_index (listeners, Listener, i).fd, .events = POLLIN };
      if (poll (p, listeners->len + 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[0].revents)
        break;
      for (guint i = 0; i < listeners->len; i++)
        {
          if (!(p[i + 1].revents & POLLIN))
            continue;
          Listener *l = &g_array_index (listeners, Listener, i);
          struct sockaddr_storage ss;
          socklen_t len = sizeof ss;
          int fd = accept4 (l->fd, (struct sockaddr *) &ss, &len, SOCK_CLOEXEC);
          if (fd < 0)
            continue;
          int one = 1;
          setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          Conn *c = g_new0 (Conn, 1);
          c->t = &t;
          c->local = fd;
          c->remote = l->remote;
          c->peer = sockaddr_text ((struct sockaddr *) &ss, len);
          g_thread_unref (g_thread_new ("forward", conn_thread, c));
        }
    }
  /* Ctrl-C is how a port-forward is meant to end: not a failure.  Open connections end with the
   * process (their peers see the connection close). */
  g_printerr ("\n%s\n", _("Shutting down..."));
  fflush (stderr);
  _exit (0);

out:
  for (guint i = 0; i < listeners->len; i++)
    {
      Listener *l = &g_array_index (listeners, Listener, i);
      if (l->fd >= 0)
        close (l->fd);
      g_free (l->shown);
    }
  g_free (t.project);
  g_free (t.service);
  g_free (t.base);
  g_free (t.token);
  g_free (t.ca_file);
  return rc;
}
