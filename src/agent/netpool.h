/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Explicit subnets for project networks (SPEC §5): Docker's default pools hold only ~30 bridge
 * networks, so every project network gets a /26 (or the configured prefix) from NETWORK_POOL,
 * skipping whatever is already used on the host. */

#include <glib.h>

typedef struct {
  guint32 addr; /* host byte order, masked */
  guint prefix;
} NetpoolCidr;

/* "10.213.0.0/16" -> cidr; IPv4 only. */
gboolean netpool_parse (const char *s, NetpoolCidr *ret, GError **error);
char *netpool_format (const NetpoolCidr *c);
gboolean netpool_overlaps (const NetpoolCidr *a, const NetpoolCidr *b);

/* First @block_prefix-sized subnet of @pool overlapping none of @used (NetpoolCidr array).
 * CARA_ERROR_UNAVAILABLE when the pool is exhausted. */
gboolean netpool_pick (const NetpoolCidr *pool, guint block_prefix, GArray *used, NetpoolCidr *ret,
                       GError **error);
