/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "cara-error.h"
#include "netpool.h"

static guint32
mask_of (guint prefix)
{
  return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

gboolean
netpool_parse (const char *s, NetpoolCidr *ret, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (s ? s : "", "/", 2);
  struct in_addr in;
  char *end = NULL;
  if (g_strv_length (parts) != 2 || inet_pton (AF_INET, parts[0], &in) != 1)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid IPv4 subnet \"%s\"", s ? s : "");
      return FALSE;
    }
  long prefix = strtol (parts[1], &end, 10);
  if (end == parts[1] || *end != '\0' || prefix < 0 || prefix > 32)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid prefix length in \"%s\"", s);
      return FALSE;
    }
  ret->prefix = (guint) prefix;
  ret->addr = ntohl (in.s_addr) & mask_of (ret->prefix);
  return TRUE;
}

char *
netpool_format (const NetpoolCidr *c)
{
  return g_strdup_printf ("%u.%u.%u.%u/%u", (c->addr >> 24) & 0xff, (c->addr >> 16) & 0xff, (c->addr >> 8) & 0xff,
                          c->addr & 0xff, c->prefix);
}

gboolean
netpool_overlaps (const NetpoolCidr *a, const NetpoolCidr *b)
{
  guint p = MIN (a->prefix, b->prefix);
  return (a->addr & mask_of (p)) == (b->addr & mask_of (p));
}

gboolean
netpool_pick (const NetpoolCidr *pool, guint block_prefix, GArray *used, NetpoolCidr *ret, GError **error)
{
  if (block_prefix < pool->prefix || block_prefix > 30)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "a /%u block does not fit the /%u pool", block_prefix,
                   pool->prefix);
      return FALSE;
    }
  guint64 count = (guint64) 1 << (block_prefix - pool->prefix);
  guint64 step = (guint64) 1 << (32 - block_prefix);
  for (guint64 i = 0; i < count; i++)
    {
      NetpoolCidr cand = { .addr = (guint32) (pool->addr + i * step), .prefix = block_prefix };
      gboolean taken = FALSE;
      for (guint j = 0; used && j < used->len && !taken; j++)
        taken = netpool_overlaps (&cand, &g_array_index (used, NetpoolCidr, j));
      if (!taken)
        {
          *ret = cand;
          return TRUE;
        }
    }
  g_autofree char *p = netpool_format (pool);
  g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "network pool %s is exhausted", p);
  return FALSE;
}
