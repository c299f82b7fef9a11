/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* sd-daemon glue shared by cara-server and cara-agent: sockets passed by systemd (socket
 * activation) and sd_notify (READY/STATUS/RELOADING/STOPPING/WATCHDOG).  Without systemd every
 * call is a harmless no-op. */

#include <glib.h>

/* Raises the soft limit of open files towards @want (never above the hard limit): the soft
 * default of 1024 is too low for a server holding many connections (systemd keeps the hard limit
 * high for exactly this). */
void cara_daemon_raise_fd_limit (guint want);

/* The listening socket systemd passed for @name: with exactly one passed socket that one,
 * whatever its name; with several the one named @name (e.g. "api").  Sets *ret_fd to -1 when
 * systemd passed none (bind yourself).  Errors when sockets were passed but none fits.  The
 * first call takes the sockets from the environment (LISTEN_FDS is unset); later calls look up
 * the same set, so an agent can ask for "api" and then "proxy". */
gboolean cara_daemon_listen_fd (const char *name, int *ret_fd, GError **error);

void cara_daemon_notify_ready (const char *status);
void cara_daemon_notify_status (const char *format, ...) G_GNUC_PRINTF (1, 2);
/* RELOADING=1 with MONOTONIC_USEC (as Type=notify-reload wants); follow with notify_ready(). */
void cara_daemon_notify_reloading (void);
void cara_daemon_notify_stopping (void);

/* When systemd set WatchdogSec= (WATCHDOG_USEC for this pid), pings WATCHDOG=1 at half the
 * interval from @context's main loop (NULL = default context) and returns the source id;
 * returns 0 when no watchdog is configured. */
guint cara_daemon_watchdog_start (GMainContext *context);
