/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-expiry"
#include "config.h"

#include "cara-error.h"
#include "cara-log.h"
#include "controller-decide.h"
#include "controller-manager.h"
#include "store.h"

/* expiry (SPEC §2 spec.expireAt; the reference's missing GC controller): a project past its
 * expireAt is deleted — through Terminating when it is placed on a node, so the agent tears it
 * down, directly when it never was.  Keyed by project name; a project that expires later is
 * looked at again right then. */

typedef struct {
  gboolean wrote;
} ExpiryRun;

static gboolean
expiry_mutate (CaraProject *p, gpointer user_data, GError **error)
{
  ExpiryRun *run = user_data;
  gint64 again;

  if (expiry_decide (p->status.phase, p->status.node_ref, controller_time_usec (p->spec.expire_at),
                     g_get_real_time (), &again) != EXPIRY_TERMINATE)
    return FALSE;
  p->status.phase = CARA_PROJECT_PHASE_TERMINATING;
  cara_conditions_upsert (p->status.conditions,
                          cara_condition_new ("Phase", "True", "Expired", "spec.expireAt has passed"));
  run->wrote = TRUE;
  return TRUE;
}

static gboolean
expiry_reconcile (ControllerContext *ctx, const char *name, gint64 *ret_requeue_after, GError **error)
{
  g_autoptr (CaraProject) p = NULL;
  g_autoptr (GError) local = NULL;
  ExpiryRun run = { FALSE };
  gint64 again = 0;

  if (!store_get_project (name, &p, &local))
    {
      if (g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  switch (expiry_decide (p->status.phase, p->status.node_ref, controller_time_usec (p->spec.expire_at),
                         ctx->now, &again))
    {
    case EXPIRY_NONE:
      *ret_requeue_after = again;
      return TRUE;
    case EXPIRY_DELETE:
      if (!store_delete_project (name, p->status.phase, &local))
        {
          if (g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
            return TRUE;
          if (g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT))
            {
              /* Its phase changed under us: decide again. */
              *ret_requeue_after = 1;
              return TRUE;
            }
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      cara_log_project (G_LOG_LEVEL_MESSAGE, name, "Deleted expired project %s", name);
      return TRUE;
    case EXPIRY_TERMINATE:
      if (!store_update_project (name, expiry_mutate, &run, NULL, &local))
        {
          if (g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
            return TRUE;
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      if (run.wrote)
        cara_log_project (G_LOG_LEVEL_MESSAGE, name, "Project %s expired; terminating it", name);
      return TRUE;
    default:
      return TRUE;
    }
}

static gboolean
expiry_resync (ControllerContext *ctx, GPtrArray *keys, GError **error)
{
  GHashTableIter it;
  gpointer k;

  g_hash_table_iter_init (&it, ctx->cache->expiring);
  while (g_hash_table_iter_next (&it, &k, NULL))
    g_ptr_array_add (keys, g_strdup (k));
  return TRUE;
}

const ControllerDef expiry_controller = {
  .name = "expiry",
  .reconcile = expiry_reconcile,
  .resync = expiry_resync,
};
