/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What a heartbeat says about the machine: capacity, allocatable and info (SPEC §5). */

#include "cara-model.h"

/* Fills @h->capacity, @h->allocatable ("cpu" millicores, "memory", "disk") and @h->info.
 * @disk_path: the filesystem whose size is reported (Docker's data root). */
void sysinfo_fill (CaraHeartbeat *h, const char *disk_path);
