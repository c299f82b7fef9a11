/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "cara-error.h"
#include "cara-netaddr.h"

gboolean
cara_ip_is_literal (const char *s)
{
  struct in_addr a4;
  struct in6_addr a6;
  if (s == NULL || *s == '\0' || strlen (s) >= INET6_ADDRSTRLEN)
    return FALSE;
  /* inet_pton takes only the strict forms: no "0x7f.1", no "127.1", no "[::1]", no "%eth0". */
  return inet_pton (AF_INET, s, &a4) == 1 || inet_pton (AF_INET6, s, &a6) == 1;
}

gboolean
cara_ip_check (const char *s, const char *path, GError **error)
{
  if (s == NULL || *s == '\0' || cara_ip_is_literal (s))
    return TRUE;
  g_autofree char *shown = g_utf8_validate (s, -1, NULL) && strlen (s) <= 64 ? g_strdup (s) : g_strdup ("...");
  g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
               "%s: \"%s\" is not an IP address (a literal IPv4 or IPv6 address, without port or name)", path,
               shown);
  return FALSE;
}

gboolean
cara_listen_host_is_loopback (const char *host)
{
  struct in_addr a4;
  struct in6_addr a6;
  if (host == NULL || *host == '\0' || strcmp (host, "*") == 0)
    return FALSE;
  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;
  if (inet_pton (AF_INET, host, &a4) == 1)
    return (ntohl (a4.s_addr) >> 24) == 127;
  if (inet_pton (AF_INET6, host, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK (&a6);
  return FALSE;
}

gboolean
cara_socket_is_loopback (int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (fd < 0 || getsockname (fd, (struct sockaddr *) &ss, &len) != 0)
    return FALSE;
  if (ss.ss_family == AF_INET)
    return (ntohl (((struct sockaddr_in *) &ss)->sin_addr.s_addr) >> 24) == 127;
  if (ss.ss_family == AF_INET6)
    {
      const struct in6_addr *a = &((struct sockaddr_in6 *) &ss)->sin6_addr;
      return IN6_IS_ADDR_LOOPBACK (a) || (IN6_IS_ADDR_V4MAPPED (a) && a->s6_addr[12] == 127);
    }
  return ss.ss_family == AF_UNIX;
}
