/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The scheduler's placement decision as a pure function (SPEC §4): filter nodes that are Ready,
 * schedulable, match the project's nodeSelector and have enough allocatable cpu/memory left after
 * the projects already placed there; then spread: least allocated first, ties by fewest projects,
 * then by name. */

#include <glib.h>

#include "cara-model.h"

/* What the scheduler knows about one node.  Quantities are parsed: millicores and bytes. */
typedef struct {
  const char *name;
  CaraNodeState state;
  gboolean unschedulable;
  GHashTable *labels;   /* may be NULL */
  gint64 alloc_cpu_m;   /* allocatable; < 0 when the node did not report it (no limit) */
  gint64 alloc_mem;     /* bytes; < 0 when unknown */
  gint64 used_cpu_m;    /* sum of the requests of projects placed there */
  gint64 used_mem;
  guint n_projects;
  GHashTable *host_ports; /* set of sched_host_port_key()s held by projects placed there; may be NULL */
} SchedNode;

typedef struct {
  GHashTable *node_selector; /* may be NULL */
  gint64 cpu_m;              /* request: sum over the services; 0 when none */
  gint64 mem;
  const GPtrArray *services; /* CaraService*: their ports' hostPorts; may be NULL */
} SchedRequest;

/* A hostPort and its protocol as one hash key (GUINT_TO_POINTER). */
guint sched_host_port_key (const CaraPort *port);
/* Adds the hostPorts of @services to @set (created when NULL); returns the set. */
GHashTable *sched_host_ports_add (GHashTable *set, const GPtrArray *services);

/* The node's own part of a SchedNode (name, state, labels, allocatable; no usage).  The pointers
 * point into @n. */
void sched_node_from_node (const CaraNode *n, SchedNode *ret);

/* Sum of the services' resources of @p.  A quantity that does not parse counts as 0 (validation
 * rejects those on the way in). */
void sched_request_from_project (const CaraProject *p, SchedRequest *ret);

/* Returns the index into @nodes of the chosen node, or -1 with *ret_reason (caller frees) such as
 * "0/3 nodes are available: 2 have insufficient memory (need 2Gi), 1 is NotReady". */
gint scheduler_decide (const SchedRequest *req, const SchedNode *nodes, guint n_nodes,
                       char **ret_reason);
