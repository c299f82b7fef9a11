/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-termination"
#include "config.h"

#include "cara-error.h"
#include "cara-log.h"
#include "controller-manager.h"
#include "store.h"

/* termination (reference §4.5): a project the agent reported Terminated is removed.  Keyed by
 * project name. */

static gboolean
termination_reconcile (ControllerContext *ctx, const char *name, gint64 *ret_requeue_after, GError **error)
{
  g_autoptr (CaraProject) p = NULL;
  g_autoptr (GError) local = NULL;

  if (!store_get_project (name, &p, &local))
    {
      if (g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (p->status.phase != CARA_PROJECT_PHASE_TERMINATED)
    return TRUE;
  if (!store_delete_project (name, CARA_PROJECT_PHASE_TERMINATED, &local))
    {
      /* Gone or changed meanwhile: its own event brings us back if needed. */
      if (g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND) ||
          g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  cara_log_project (G_LOG_LEVEL_INFO, name, "Removed terminated project %s", name);
  return TRUE;
}

static gboolean
termination_resync (ControllerContext *ctx, GPtrArray *keys, GError **error)
{
  static const char *const phases[] = { "Terminated", NULL };
  StoreProjectFilter filter = { .phases = phases };
  g_autoptr (GPtrArray) projects = NULL;

  if (!store_list_projects (&filter, &projects, NULL, error))
    return FALSE;
  for (guint i = 0; i < projects->len; i++)
    g_ptr_array_add (keys, g_strdup (((CaraProject *) projects->pdata[i])->metadata.name));
  return TRUE;
}

const ControllerDef termination_controller = {
  .name = "termination",
  .reconcile = termination_reconcile,
  .resync = termination_resync,
};
