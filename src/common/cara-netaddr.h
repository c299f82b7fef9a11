/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Network addresses as text: what a node may advertise, and whether a listening address is
 * reachable from other machines. */

#include <glib.h>

/* TRUE when @s is a literal IPv4 address (dotted quad) or IPv6 address (no zone, no brackets):
 * no host name, no port, nothing a resolver or URL parser would interpret. */
gboolean cara_ip_is_literal (const char *s);

/* FALSE with CARA_ERROR_INVALID "@path: ..." unless @s is NULL, empty or a literal address. */
gboolean cara_ip_check (const char *s, const char *path, GError **error);

/* TRUE when a server listening on @host ("", "*", "0.0.0.0", "::", a name or an address) can only
 * be reached from this machine: loopback addresses and "localhost". */
gboolean cara_listen_host_is_loopback (const char *host);

/* TRUE when the listening socket @fd is bound to a loopback address (127.0.0.0/8, ::1, or
 * ::ffff:127.x), so only this machine reaches it. */
gboolean cara_socket_is_loopback (int fd);
