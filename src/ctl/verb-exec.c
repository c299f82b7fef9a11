/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl exec [-i] [-t] PROJECT/SERVICE -- COMMAND [ARG...] (SPEC §11): one WebSocket to the
 * server's exec route speaking the channel protocol of cara-exec.h.  With -t the local terminal
 * is in raw mode (so Ctrl-C and friends reach the remote process as bytes) and its size follows
 * SIGWINCH; the exit code is the remote command's. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>

#include "cara-error.h"
#include "cara-exec.h"
#include "cara-websocket.h"
#include "cara-ws-client.h"
#include "ctl.h"

#define READ_CHUNK (32 * 1024)
#define SEND_BUFFER (256 * 1024) /* framed stdin not yet taken by the server */

static int signal_pipe[2] = { -1, -1 };

static void
on_signal (int sig)
{
  char c = (char) sig;
  int saved = errno;
  if (write (signal_pipe[1], &c, 1) < 0)
    {
      /* the pipe is full: a signal of the same kind is already pending */
    }
  errno = saved;
}

typedef struct {
  GByteArray *to_ws;   /* framed, masked */
  gboolean closed;     /* the server sent CLOSE */
  gboolean have_status;
  int exit_code;
  gboolean failed;     /* local output broke */
} Session;

static gboolean
write_all (int fd, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN)
            {
              struct pollfd p = { .fd = fd, .events = POLLOUT };
              poll (&p, 1, -1);
              continue;
            }
          return FALSE;
        }
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static gboolean
on_frame (CaraWsOpcode op, gboolean fin, const guint8 *payload, gsize len, gpointer user_data)
{
  Session *s = user_data;
  switch (op)
    {
    case CARA_WS_OP_BINARY:
      if (len == 0)
        return TRUE;
      switch (payload[0])
        {
        case CARA_EXEC_CHANNEL_STDOUT:
        case CARA_EXEC_CHANNEL_STDERR:
          if (!write_all (payload[0] == CARA_EXEC_CHANNEL_STDOUT ? STDOUT_FILENO : STDERR_FILENO, payload + 1, len - 1))
            s->failed = TRUE;
          return !s->failed;
        case CARA_EXEC_CHANNEL_STATUS:
          {
            g_autoptr (GError) error = NULL;
            if (cara_exec_parse_status (payload + 1, len - 1, &s->exit_code, &error))
              s->have_status = TRUE;
            else
              g_debug ("bad exit status from the server: %s", error->message);
            return TRUE;
          }
        default:
          return TRUE;
        }
    case CARA_WS_OP_PING:
      cara_ws_frame_append (s->to_ws, CARA_WS_OP_PONG, TRUE, payload, len, TRUE);
      return TRUE;
    case CARA_WS_OP_CLOSE:
      s->closed = TRUE;
      return FALSE;
    default:
      return TRUE;
    }
}

static void
append_size (Session *s, int fd)
{
  struct winsize ws;
  if (ioctl (fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0)
    return;
  g_autofree char *json = cara_exec_size_json (ws.ws_col, ws.ws_row);
  cara_exec_frame_append (s->to_ws, CARA_EXEC_CHANNEL_RESIZE, (const guint8 *) json, strlen (json), TRUE);
}

/* The terminal as it was, restored however we leave. */
static struct termios saved_termios;
static gboolean raw_mode;

static void
restore_terminal (void)
{
  if (raw_mode)
    tcsetattr (STDIN_FILENO, TCSADRAIN, &saved_termios);
  raw_mode = FALSE;
}

static gboolean
enter_raw_mode (void)
{
  if (tcgetattr (STDIN_FILENO, &saved_termios) != 0)
    return FALSE;
  struct termios raw = saved_termios;
  cfmakeraw (&raw);
  if (tcsetattr (STDIN_FILENO, TCSADRAIN, &raw) != 0)
    return FALSE;
  raw_mode = TRUE;
  atexit (restore_terminal);
  return TRUE;
}

static char *
exec_path (const char *project, const char *service, GPtrArray *positional, gboolean stdin_on, gboolean tty)
{
  g_autofree char *ep = g_uri_escape_string (project, NULL, FALSE);
  g_autofree char *es = g_uri_escape_string (service, NULL, FALSE);
  GString *path = g_string_new (NULL);
  g_string_printf (path, "/api/v1/projects/%s/exec?service=%s&stdin=%s&tty=%s", ep, es, stdin_on ? "true" : "false",
                   tty ? "true" : "false");
  for (guint i = 1; i < positional->len; i++)
    {
      g_autofree char *arg = g_uri_escape_string (positional->pdata[i], NULL, FALSE);
      g_string_append_printf (path, "&command=%s", arg);
    }
  return g_string_free (path, FALSE);
}

int
ctl_verb_exec (Ctl *ctl, CtlArgs *args, GError **error)
{
  const char *target = args->positional->pdata[0];
  const char *slash = strchr (target, '/');
  if (slash == NULL || slash == target || slash[1] == '\0' || strchr (slash + 1, '/'))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("expected PROJECT/SERVICE, got '%s'"), target);
      return -1;
    }
  g_autofree char *project = g_strndup (target, (gsize) (slash - target));
  const char *service = slash + 1;
  gboolean stdin_on = ctl_opt_bool (args, "stdin");
  gboolean tty = ctl_opt_bool (args, "tty");
  if (tty && !isatty (STDIN_FILENO))
    g_printerr (_("Unable to use a TTY: standard input is not a terminal\n"));

  g_autofree char *base = g_strdup (ctl->server);
  while (g_str_has_suffix (base, "/"))
    base[strlen (base) - 1] = '\0';
  g_autofree char *path = exec_path (project, service, args->positional, stdin_on, tty);
  CaraWsClientOptions opts = { .token = ctl->token, .ca_file = ctl->ca_file, .timeout_ms = 15000,
                               .protocol = CARA_EXEC_SUBPROTOCOL };
  guint status = 0;
  g_autoptr (GError) local = NULL;
  g_autoptr (CaraWsClient) ws = cara_ws_client_connect (base, path, &opts, &status, NULL, &local);
  if (ws == NULL)
    {
      if (status == 0)
        g_set_error (error, CARA_ERROR, CARA_ERROR_UNREACHABLE, _("cannot connect to the server at %s: %s"), base,
                     local->message);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return -1;
    }

  if (!g_unix_open_pipe (signal_pipe, FD_CLOEXEC, NULL))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "pipe: %s", g_strerror (errno));
      return -1;
    }
  fcntl (signal_pipe[0], F_SETFL, O_NONBLOCK);
  fcntl (signal_pipe[1], F_SETFL, O_NONBLOCK);
  struct sigaction sa = { .sa_handler = on_signal };
  sigemptyset (&sa.sa_mask);
  sigaction (SIGWINCH, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGHUP, &sa, NULL);
  signal (SIGPIPE, SIG_IGN);

  g_autoptr (GByteArray) to_ws = g_byte_array_new ();
  Session s = { .to_ws = to_ws };
  gboolean local_tty = tty && isatty (STDIN_FILENO);
  if (local_tty)
    {
      append_size (&s, STDIN_FILENO);
      enter_raw_mode ();
    }

  g_autoptr (CaraWsDecoder) dec = cara_ws_decoder_new (FALSE, 0);
  g_autofree guint8 *buf = g_malloc (READ_CHUNK);
  int wfd = cara_ws_client_get_fd (ws);
  gboolean stdin_eof = !stdin_on, lost = FALSE, quit = FALSE;
  g_autoptr (GBytes) pending = cara_ws_client_take_pending (ws);
  if (pending && g_bytes_get_size (pending) > 0
      && !cara_ws_decoder_feed (dec, g_bytes_get_data (pending, NULL), g_bytes_get_size (pending), on_frame, &s, NULL))
    lost = TRUE;

  while (!s.closed && !lost && !s.failed && !quit)
    {
      struct pollfd p[3] = { { .fd = wfd, .events = POLLIN }, { .fd = signal_pipe[0], .events = POLLIN },
                             { .fd = -1 } };
      if (to_ws->len > 0)
        p[0].events |= POLLOUT;
      if (!stdin_eof && to_ws->len < SEND_BUFFER)
        p[2] = (struct pollfd) { .fd = STDIN_FILENO, .events = POLLIN };
      if (poll (p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[1].revents & POLLIN)
        {
          char sig = 0;
          while (read (signal_pipe[0], &sig, 1) == 1)
            {
              if (sig == SIGWINCH && local_tty)
                append_size (&s, STDIN_FILENO);
              else if (sig == SIGTERM || sig == SIGHUP)
                quit = TRUE;
            }
        }
      if (p[2].fd >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          ssize_t n = read (STDIN_FILENO, buf, READ_CHUNK);
          if (n > 0)
            cara_exec_frame_append (to_ws, CARA_EXEC_CHANNEL_STDIN, buf, (gsize) n, TRUE);
          else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            {
              /* An empty stdin message: the remote process sees the end of its input. */
              cara_exec_frame_append (to_ws, CARA_EXEC_CHANNEL_STDIN, NULL, 0, TRUE);
              stdin_eof = TRUE;
            }
        }
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
        for (;;)
          {
            gssize n = cara_ws_client_recv (ws, buf, READ_CHUNK);
            if (n == -2)
              break;
            if (n <= 0)
              {
                lost = TRUE;
                break;
              }
            if (!cara_ws_decoder_feed (dec, buf, (gsize) n, on_frame, &s, NULL))
              {
                lost = TRUE;
                break;
              }
            if (s.closed || s.failed)
              break;
          }
      if (to_ws->len > 0 && (p[0].revents & POLLOUT))
        {
          gssize n = cara_ws_client_send (ws, to_ws->data, to_ws->len);
          if (n > 0)
            g_byte_array_remove_range (to_ws, 0, (guint) n);
          else if (n == -1)
            lost = TRUE;
        }
    }
  if (!lost)
    {
      g_byte_array_set_size (to_ws, 0);
      cara_ws_close_append (to_ws, CARA_WS_CLOSE_NORMAL, NULL, TRUE);
      cara_ws_client_send_all (ws, to_ws->data, to_ws->len);
    }
  restore_terminal ();
  if (s.have_status)
    return s.exit_code < 0 || s.exit_code > 255 ? 255 : s.exit_code;
  if (quit)
    return 128 + SIGTERM;
  g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("the connection to the server ended before the command's exit "
                                                       "status arrived"));
  return -1;
}
