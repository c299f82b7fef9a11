/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-migration"
#include "config.h"

#include "cara-log.h"
#include "migration-event.h"
#include "server-events.h"

void
migration_event (const char *project, const char *type, const char *reason, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  cara_log_project (G_LOG_LEVEL_MESSAGE, project,
                    "Event %s %s: project %s: %s", type, reason, project, msg);
  cara_events_record (g_strcmp0 (type, "Warning") == 0 ? CARA_EVENT_WARNING : CARA_EVENT_NORMAL, reason, "Project",
                      project, NULL, "%s", msg);
}
