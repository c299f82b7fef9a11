/* SPDX-License-Identifier: Apache-2.0 */
/* status.migration of a project (SPEC §14): the record of a move to another node. */
#include "config.h"

#include "cara-model.h"

static const char *const phase_names[] = { "", "Stopping", "Copying", "Starting", "Done", "Failed" };

const char *
cara_migration_phase_to_string (CaraMigrationPhase v)
{
  return (guint) v < G_N_ELEMENTS (phase_names) ? phase_names[v] : NULL;
}

gboolean
cara_migration_phase_from_string (const char *s, CaraMigrationPhase *ret)
{
  for (guint i = 0; i < G_N_ELEMENTS (phase_names); i++)
    if (g_strcmp0 (s ? s : "", phase_names[i]) == 0)
      {
        *ret = (CaraMigrationPhase) i;
        return TRUE;
      }
  return FALSE;
}

CaraMigration *
cara_migration_new (const char *from, const char *to)
{
  CaraMigration *m = g_new0 (CaraMigration, 1);
  m->from = g_strdup (from);
  m->to = g_strdup (to);
  return m;
}

CaraMigration *
cara_migration_copy (const CaraMigration *m)
{
  if (m == NULL)
    return NULL;
  CaraMigration *r = cara_migration_new (m->from, m->to);
  r->phase = m->phase;
  r->bytes_copied = m->bytes_copied;
  r->bytes_total = m->bytes_total;
  r->message = g_strdup (m->message);
  r->discard_data = m->discard_data;
  return r;
}

void
cara_migration_free (CaraMigration *m)
{
  if (m == NULL)
    return;
  g_free (m->from);
  g_free (m->to);
  g_free (m->message);
  g_free (m);
}

gboolean
cara_migration_active (const CaraMigration *m)
{
  return m != NULL && (m->phase == CARA_MIGRATION_PHASE_STOPPING || m->phase == CARA_MIGRATION_PHASE_COPYING
                       || m->phase == CARA_MIGRATION_PHASE_STARTING);
}

gboolean
cara_project_has_node_data (const CaraProject *p)
{
  for (guint i = 0; i < p->spec.volumes->len; i++)
    {
      const CaraVolume *v = g_ptr_array_index (p->spec.volumes, i);
      const char *type = cara_volume_type_to_string (v->type);
      /* By name, so that a HostPath type counts as soon as the model has it. */
      if (g_strcmp0 (type, "Persistent") == 0 || g_strcmp0 (type, "HostPath") == 0)
        return TRUE;
    }
  return FALSE;
}
