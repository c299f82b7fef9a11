/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* POST /api/v1/nodes/{name}/drain[?evict=true] and /uncordon (handlers in api.h). */

#include "controller-manager.h"

/* The timeouts drain's eviction works with; @t must outlive the server. */
void api_drain_configure (const ControllerTimeouts *t);
