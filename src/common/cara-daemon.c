/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-daemon"
#include "config.h"

#include <errno.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "cara-daemon.h"
#include "cara-error.h"

static GMutex fds_lock;
static gboolean fds_taken;
static int n_fds;
static char **fd_names;

void
cara_daemon_raise_fd_limit (guint want)
{
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
    return;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : MIN ((rlim_t) want, rl.rlim_max);
  if (setrlimit (RLIMIT_NOFILE, &rl) != 0)
    g_debug ("setrlimit(RLIMIT_NOFILE, %u): %s", want, g_strerror (errno));
}

gboolean
cara_daemon_listen_fd (const char *name, int *ret_fd, GError **error)
{
  g_mutex_lock (&fds_lock);
  if (!fds_taken)
    {
      fds_taken = TRUE;
      int n = sd_listen_fds_with_names (1, &fd_names);
      if (n < 0)
        g_debug ("sd_listen_fds_with_names: %s", g_strerror (-n));
      n_fds = MAX (n, 0);
    }
  int n = n_fds;
  int fd = -1;
  if (n == 1)
    fd = SD_LISTEN_FDS_START;
  else
    for (int i = 0; i < n && fd < 0; i++)
      if (fd_names != NULL && g_strcmp0 (fd_names[i], name) == 0)
        fd = SD_LISTEN_FDS_START + i;
  g_mutex_unlock (&fds_lock);

  if (n > 1 && fd < 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "systemd passed %d sockets but none is named \"%s\" (FileDescriptorName=)", n, name);
      return FALSE;
    }
  if (fd >= 0 && sd_is_socket (fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "the socket systemd passed as \"%s\" is not a listening stream socket", name);
      return FALSE;
    }
  *ret_fd = fd;
  return TRUE;
}

static void
notify (const char *state)
{
  int r = sd_notify (0, state);
  if (r < 0)
    g_debug ("sd_notify(%s): %s", state, g_strerror (-r));
}

void
cara_daemon_notify_ready (const char *status)
{
  g_autofree char *msg = status ? g_strdup_printf ("READY=1\nSTATUS=%s", status) : g_strdup ("READY=1");
  notify (msg);
}

void
cara_daemon_notify_status (const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *status = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_autofree char *msg = g_strdup_printf ("STATUS=%s", status);
  notify (msg);
}

void
cara_daemon_notify_reloading (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  g_autofree char *msg = g_strdup_printf ("RELOADING=1\nMONOTONIC_USEC=%" G_GUINT64_FORMAT,
                                          (guint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000);
  notify (msg);
}

void
cara_daemon_notify_stopping (void)
{
  notify ("STOPPING=1");
}

static gboolean
watchdog_ping (gpointer user_data)
{
  notify ("WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

guint
cara_daemon_watchdog_start (GMainContext *context)
{
  uint64_t usec = 0;
  if (sd_watchdog_enabled (0, &usec) <= 0 || usec == 0)
    return 0;
  g_autoptr (GSource) source = g_timeout_source_new (MAX (usec / 2000, 1));
  g_source_set_callback (source, watchdog_ping, NULL, NULL);
  g_source_set_name (source, "sd-watchdog");
  notify ("WATCHDOG=1");
  return g_source_attach (source, context);
}
