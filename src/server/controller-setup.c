/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-controllers"
#include "config.h"

#include <stdlib.h>

#include "controller-setup.h"

#include "api.h"
#include "cara-quantity.h"
#include "api-drain.h"
#include "api-watch.h"
#include "controller-manager.h"
#include "watch-hub.h"

static ControllerTimeouts timeouts;
static WatchHub *hub;
static ControllerManager *manager;

void
controllers_register (CaraHttpServer *http, const ControllerTimeouts *t)
{
  const char *max = g_getenv ("CARA_MAX_WATCHERS");
  const char *bookmark = g_getenv ("CARA_WATCH_BOOKMARK_INTERVAL");
  gint64 bookmark_usec = 0;

  timeouts = *t;
  if (bookmark != NULL && !cara_duration_parse (bookmark, &bookmark_usec, NULL))
    g_warning ("Ignoring CARA_WATCH_BOOKMARK_INTERVAL=%s: not a duration", bookmark);
  hub = watch_hub_start (max != NULL ? (guint) strtoul (max, NULL, 10) : WATCH_DEFAULT_MAX_WATCHERS,
                         bookmark_usec);
  api_set_watch_handler (api_watch_handle, hub);
  api_drain_configure (&timeouts);
}

void
controllers_start (void)
{
  g_info ("Controllers: heartbeat timeout %" G_GINT64_FORMAT " ms, grace period %" G_GINT64_FORMAT
          " ms, termination timeout %" G_GINT64_FORMAT " ms, resync %" G_GINT64_FORMAT " ms",
          timeouts.heartbeat_timeout / 1000, timeouts.grace_period / 1000,
          timeouts.terminating_timeout / 1000, timeouts.resync_interval / 1000);
  manager = controller_manager_start (&timeouts);
}

void
controllers_shutdown (void)
{
  g_clear_pointer (&manager, controller_manager_stop);
  api_set_watch_handler (NULL, NULL);
  g_clear_pointer (&hub, watch_hub_stop);
}

gboolean
controllers_is_leader (void)
{
  return controller_manager_is_leader (manager);
}

guint
controllers_watcher_count (void)
{
  return hub != NULL ? watch_hub_count (hub) : 0;
}
