/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "controller-cache.h"

#include <string.h>

#include "scheduler-decide.h"

static void
cache_placed_free (CachePlaced *p)
{
  g_free (p->node_ref);
  if (p->host_ports)
    g_hash_table_unref (p->host_ports);
  g_free (p);
}

ControllerCache *
controller_cache_new (void)
{
  ControllerCache *c = g_new0 (ControllerCache, 1);

  c->nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) cara_node_free);
  c->placed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) cache_placed_free);
  c->expiring = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  c->phase_of = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  c->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) cara_project_free);
  return c;
}

void
controller_cache_free (ControllerCache *c)
{
  if (c == NULL)
    return;
  g_hash_table_unref (c->nodes);
  g_hash_table_unref (c->placed);
  g_hash_table_unref (c->expiring);
  g_hash_table_unref (c->phase_of);
  g_hash_table_unref (c->pending);
  g_free (c);
}

void
controller_cache_clear (ControllerCache *c)
{
  g_hash_table_remove_all (c->nodes);
  g_hash_table_remove_all (c->placed);
  g_hash_table_remove_all (c->expiring);
  g_hash_table_remove_all (c->phase_of);
  g_hash_table_remove_all (c->pending);
  memset (c->node_states, 0, sizeof c->node_states);
  memset (c->phases, 0, sizeof c->phases);
  c->n_marked = 0;
}

static gboolean
maps_equal (GHashTable *a, GHashTable *b)
{
  GHashTableIter it;
  gpointer k, v;

  if (g_hash_table_size (a) != g_hash_table_size (b))
    return FALSE;
  g_hash_table_iter_init (&it, a);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (g_strcmp0 (v, g_hash_table_lookup (b, k)) != 0)
      return FALSE;
  return TRUE;
}

gboolean
controller_cache_set_node (ControllerCache *c, CaraNode *n)
{
  CaraNode *old = g_hash_table_lookup (c->nodes, n->metadata.name);
  gboolean changed = old == NULL || old->status.state != n->status.state ||
                     old->spec.unschedulable != n->spec.unschedulable ||
                     !maps_equal (old->metadata.labels, n->metadata.labels) ||
                     !maps_equal (old->status.allocatable, n->status.allocatable);

  if (old != NULL && (guint) old->status.state < G_N_ELEMENTS (c->node_states))
    c->node_states[old->status.state]--;
  if ((guint) n->status.state < G_N_ELEMENTS (c->node_states))
    c->node_states[n->status.state]++;
  g_hash_table_replace (c->nodes, g_strdup (n->metadata.name), n);
  return changed;
}

gboolean
controller_cache_remove_node (ControllerCache *c, const char *name)
{
  CaraNode *old = g_hash_table_lookup (c->nodes, name);
  if (old != NULL && (guint) old->status.state < G_N_ELEMENTS (c->node_states))
    c->node_states[old->status.state]--;
  return g_hash_table_remove (c->nodes, name);
}

/* Moves the project's count from its old phase to @phase (-1: gone). */
static void
count_phase (ControllerCache *c, const char *name, gint phase)
{
  gpointer old;
  if (g_hash_table_lookup_extended (c->phase_of, name, NULL, &old))
    {
      gint was = GPOINTER_TO_INT (old) - 1;
      if (was == phase)
        return;
      c->phases[was]--;
    }
  if (phase < 0)
    {
      g_hash_table_remove (c->phase_of, name);
      return;
    }
  c->phases[phase]++;
  g_hash_table_replace (c->phase_of, g_strdup (name), GINT_TO_POINTER (phase + 1));
}

gboolean
controller_cache_set_project (ControllerCache *c, const CaraProject *p)
{
  const char *name = p->metadata.name;
  gboolean holds = p->status.node_ref != NULL && *p->status.node_ref != '\0' &&
                   (p->status.phase == CARA_PROJECT_PHASE_SCHEDULED || p->status.phase == CARA_PROJECT_PHASE_RUNNING ||
                    p->status.phase == CARA_PROJECT_PHASE_TERMINATING);
  CachePlaced *old = g_hash_table_lookup (c->placed, name);
  gboolean freed = FALSE;

  if ((guint) p->status.phase < G_N_ELEMENTS (c->phases))
    count_phase (c, name, (gint) p->status.phase);
  if (p->spec.expire_at != NULL)
    g_hash_table_add (c->expiring, g_strdup (name));
  else
    g_hash_table_remove (c->expiring, name);
  if (p->status.phase == CARA_PROJECT_PHASE_PENDING)
    g_hash_table_replace (c->pending, g_strdup (name), cara_project_copy (p));
  else
    g_hash_table_remove (c->pending, name);

  if (holds)
    {
      SchedRequest req;
      CachePlaced *e = g_new0 (CachePlaced, 1);

      sched_request_from_project (p, &req);
      e->node_ref = g_strdup (p->status.node_ref);
      e->cpu_m = req.cpu_m;
      e->mem = req.mem;
      e->host_ports = sched_host_ports_add (NULL, p->spec.services);
      e->migrating = cara_migration_active (p->status.migration);
      e->marked = cara_conditions_find (p->status.conditions, "NotReadyAt") != NULL ||
                  cara_conditions_find (p->status.conditions, "TerminatingAt") != NULL;
      c->n_marked += e->marked;
      if (old != NULL)
        c->n_marked -= old->marked;
      freed = old != NULL && (g_strcmp0 (old->node_ref, e->node_ref) != 0 || old->cpu_m > e->cpu_m || old->mem > e->mem);
      g_hash_table_replace (c->placed, g_strdup (name), e);
    }
  else if (old != NULL)
    {
      c->n_marked -= old->marked;
      g_hash_table_remove (c->placed, name);
      freed = TRUE;
    }
  return freed;
}

gboolean
controller_cache_remove_project (ControllerCache *c, const char *name)
{
  CachePlaced *old = g_hash_table_lookup (c->placed, name);

  count_phase (c, name, -1);
  g_hash_table_remove (c->expiring, name);
  g_hash_table_remove (c->pending, name);
  if (old == NULL)
    return FALSE;
  c->n_marked -= old->marked;
  return g_hash_table_remove (c->placed, name);
}
