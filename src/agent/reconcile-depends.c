/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "cara-json.h"

#include "reconcile-depends.h"

ReconcileDepends
reconcile_depends_verdict (const char *dependency, CaraDependCondition condition, CaraRestartPolicy dependency_policy,
                           const char *state, const char *health, gint64 exit_code, char **ret_why)
{
  gboolean exited = g_strcmp0 (state, "exited") == 0 || g_strcmp0 (state, "dead") == 0;

  if (state == NULL)
    {
      *ret_why = g_strdup_printf ("waiting for %s to start", dependency);
      return RECONCILE_DEPENDS_WAIT;
    }
  switch (condition)
    {
    case CARA_DEPEND_CONDITION_HEALTHY:
      if (g_strcmp0 (health, "healthy") == 0)
        return RECONCILE_DEPENDS_MET;
      *ret_why = g_strdup_printf ("waiting for %s to be healthy (%s)", dependency,
                                  health != NULL ? health : state);
      return RECONCILE_DEPENDS_WAIT;
    case CARA_DEPEND_CONDITION_COMPLETED:
      if (exited && exit_code == 0)
        return RECONCILE_DEPENDS_MET;
      if (exited && dependency_policy == CARA_RESTART_POLICY_NEVER)
        {
          *ret_why = g_strdup_printf ("dependency %s exited with code %" G_GINT64_FORMAT
                                      " (condition Completed needs 0): not started",
                                      dependency, exit_code);
          return RECONCILE_DEPENDS_FAILED;
        }
      *ret_why = g_strdup_printf ("waiting for %s to complete (%s)", dependency, state);
      return RECONCILE_DEPENDS_WAIT;
    case CARA_DEPEND_CONDITION_NONE:
    case CARA_DEPEND_CONDITION_STARTED:
    default:
      return RECONCILE_DEPENDS_MET;
    }
}

ReconcileDepends
reconcile_depends_check (DockerClient *dc, const CaraProject *p, const CaraService *svc, GHashTable *current_ids,
                         char **ret_why)
{
  ReconcileDepends worst = RECONCILE_DEPENDS_MET;
  g_autofree char *why = NULL;

  for (guint i = 0; svc->depends_on != NULL && svc->depends_on[i] != NULL; i++)
    {
      const CaraService *dep = cara_project_find_service (p, svc->depends_on[i]);
      const char *id = g_hash_table_lookup (current_ids, svc->depends_on[i]);
      CaraDependCondition cond = cara_service_depend_condition (svc, i);
      g_autoptr (JsonObject) info = NULL;
      JsonObject *st = NULL;
      g_autofree char *one = NULL;
      ReconcileDepends v;

      if (dep == NULL)
        continue; /* refused by validation */
      if (id != NULL && cond != CARA_DEPEND_CONDITION_STARTED)
        {
          info = docker_container_inspect (dc, id, NULL);
          st = cara_json_object_object (info, "State");
        }
      v = reconcile_depends_verdict (dep->name, cond, dep->restart_policy,
                                     id == NULL ? NULL : st != NULL ? cara_json_object_string (st, "Status") : "running",
                                     cara_json_object_string (cara_json_object_object (st, "Health"), "Status"),
                                     st != NULL ? json_object_get_int_member_with_default (st, "ExitCode", 0) : 0, &one);
      if (v > worst)
        {
          worst = v;
          g_free (why);
          why = g_steal_pointer (&one);
        }
    }
  if (worst != RECONCILE_DEPENDS_MET)
    *ret_why = g_steal_pointer (&why);
  return worst;
}
