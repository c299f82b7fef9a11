/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cara-model.h"

/* Moves @p off its node: Pending, nodeRef and service statuses cleared, the NotReadyAt,
 * TerminatingAt and Scheduled conditions dropped, a Phase condition with @reason/@message.  The
 * scheduler then places it elsewhere; the old node's agent tears down its copy. */
void rescheduler_reset_to_pending (CaraProject *p, const char *reason, const char *message);
