/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What successive observations of a project's containers say happened in between: a restart
 * count that went up is a Restarted event, a health that became unhealthy an Unhealthy one
 * (event-reporter.h).  A new container is not a restart (reconcile.c reports Started). */

#include <glib.h>

/* @services: CaraServiceStatus* as just observed; NULL: the project left this node. */
void observed_services (const char *project, GPtrArray *services);
