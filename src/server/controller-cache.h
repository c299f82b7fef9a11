/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the controller leader keeps in memory (an informer): every node, and for every project
 * placed on a node its requests, kept current from the events table and rebuilt from full lists
 * at leadership start and on each resync.  The scheduler reads the Pending projects, nodes and
 * usage from here, so a scheduling pass reads nothing from the database (its writes are checked
 * against the resourceVersions it saw, so a copy a little behind costs a retry, never a wrong
 * placement); and the
 * manager routes each event by its content (only Pending projects wake the scheduler, only
 * Terminated ones termination, ...). */

#include <glib.h>

#include "cara-model.h"

typedef struct {
  char *node_ref;
  gint64 cpu_m;
  gint64 mem;
  GHashTable *host_ports; /* sched_host_port_key()s of its services; NULL when none */
  gboolean marked; /* has a NotReadyAt or TerminatingAt clock */
  gboolean migrating; /* a move is under way (status.migration) */
} CachePlaced;

typedef struct {
  GHashTable *nodes;    /* name -> CaraNode* */
  GHashTable *placed;   /* project name -> CachePlaced*: Scheduled/Running/Terminating with a node */
  GHashTable *expiring; /* project names that have spec.expireAt */
  GHashTable *pending;  /* project name -> CaraProject* (a copy): the Pending ones, what the scheduler places */
  guint n_marked;       /* placed projects with a clock running */
  gint64 last_rv;       /* events up to this one are applied */
  /* What the metrics count (cara_nodes, cara_projects): every project's phase, and the counts
   * per node state and per phase, kept as objects come and go. */
  GHashTable *phase_of; /* project name -> GINT_TO_POINTER (phase + 1) */
  guint node_states[CARA_NODE_STATE_DRAINING + 1];
  guint phases[CARA_PROJECT_PHASE_TERMINATED + 1];
} ControllerCache;

ControllerCache *controller_cache_new (void);
void controller_cache_free (ControllerCache *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ControllerCache, controller_cache_free)

/* Forgets everything but last_rv (before a rebuild from full lists). */
void controller_cache_clear (ControllerCache *c);

/* Takes ownership of @n.  Returns TRUE when what the scheduler looks at changed (state,
 * unschedulable, labels, allocatable). */
gboolean controller_cache_set_node (ControllerCache *c, CaraNode *n);
gboolean controller_cache_remove_node (ControllerCache *c, const char *name);
/* Returns TRUE when the project stopped holding resources on a node (a pending one may fit now). */
gboolean controller_cache_set_project (ControllerCache *c, const CaraProject *p);
gboolean controller_cache_remove_project (ControllerCache *c, const char *name);
