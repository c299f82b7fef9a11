/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "scheduler-decide.h"

#include "cara-quantity.h"

static gint64
quantity_or_unknown (GHashTable *list, const char *key, gboolean cpu)
{
  const char *v = list != NULL ? g_hash_table_lookup (list, key) : NULL;
  gint64 q;

  if (v == NULL)
    return -1;
  if (cpu ? !cara_cpu_parse (v, &q, NULL) : !cara_bytes_parse (v, &q, NULL))
    return -1;
  return q;
}

void
sched_node_from_node (const CaraNode *n, SchedNode *ret)
{
  *ret = (SchedNode) { 0 };
  ret->name = n->metadata.name;
  ret->state = n->status.state;
  ret->unschedulable = n->spec.unschedulable;
  ret->labels = n->metadata.labels;
  ret->alloc_cpu_m = quantity_or_unknown (n->status.allocatable, "cpu", TRUE);
  ret->alloc_mem = quantity_or_unknown (n->status.allocatable, "memory", FALSE);
}

guint
sched_host_port_key (const CaraPort *port)
{
  return (guint) port->host_port | (port->protocol == CARA_PROTOCOL_UDP ? 1u << 16 : 0);
}

GHashTable *
sched_host_ports_add (GHashTable *set, const GPtrArray *services)
{
  for (guint i = 0; services && i < services->len; i++)
    {
      const CaraService *s = services->pdata[i];
      for (guint k = 0; k < s->ports->len; k++)
        {
          const CaraPort *port = s->ports->pdata[k];
          if (port->host_port <= 0)
            continue;
          if (set == NULL)
            set = g_hash_table_new (g_direct_hash, g_direct_equal);
          g_hash_table_add (set, GUINT_TO_POINTER (sched_host_port_key (port)));
        }
    }
  return set;
}

/* TRUE when a hostPort of @req is already held on @n. */
static gboolean
host_port_taken (const SchedRequest *req, const SchedNode *n)
{
  if (n->host_ports == NULL || req->services == NULL)
    return FALSE;
  for (guint i = 0; i < req->services->len; i++)
    {
      const CaraService *s = req->services->pdata[i];
      for (guint k = 0; k < s->ports->len; k++)
        {
          const CaraPort *port = s->ports->pdata[k];
          if (port->host_port > 0
              && g_hash_table_contains (n->host_ports, GUINT_TO_POINTER (sched_host_port_key (port))))
            return TRUE;
        }
    }
  return FALSE;
}

void
sched_request_from_project (const CaraProject *p, SchedRequest *ret)
{
  ret->node_selector = p->spec.node_selector;
  ret->services = p->spec.services;
  ret->cpu_m = 0;
  ret->mem = 0;
  for (guint i = 0; i < p->spec.services->len; i++)
    {
      const CaraService *s = p->spec.services->pdata[i];
      gint64 v;

      if (s->resources.cpu != NULL && cara_cpu_parse (s->resources.cpu, &v, NULL))
        ret->cpu_m += v;
      if (s->resources.memory != NULL && cara_bytes_parse (s->resources.memory, &v, NULL))
        ret->mem += v;
    }
}

/* Why a node was filtered out; the order is the order of the filters. */
typedef enum {
  WHY_NOT_READY,
  WHY_DRAINING,
  WHY_UNSCHEDULABLE,
  WHY_SELECTOR,
  WHY_CPU,
  WHY_MEMORY,
  WHY_HOST_PORT,
  WHY_N
} Why;

static gboolean
selector_matches (GHashTable *selector, GHashTable *labels)
{
  GHashTableIter it;
  gpointer k, v;

  if (selector == NULL)
    return TRUE;
  g_hash_table_iter_init (&it, selector);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const char *have = labels != NULL ? g_hash_table_lookup (labels, k) : NULL;
      if (g_strcmp0 (have, v) != 0)
        return FALSE;
    }
  return TRUE;
}

/* Fraction of the node allocated once the request is added: the mean over the resources the node
 * reports (k8s LeastAllocated); 0 for a node that reports none. */
static double
allocated_after (const SchedRequest *req, const SchedNode *n)
{
  double sum = 0;
  int parts = 0;

  if (n->alloc_cpu_m > 0)
    {
      sum += (double) (n->used_cpu_m + req->cpu_m) / (double) n->alloc_cpu_m;
      parts++;
    }
  if (n->alloc_mem > 0)
    {
      sum += (double) (n->used_mem + req->mem) / (double) n->alloc_mem;
      parts++;
    }
  return parts > 0 ? sum / parts : 0;
}

/* TRUE when @a is a better place than @b. */
static gboolean
better (const SchedRequest *req, const SchedNode *a, const SchedNode *b)
{
  double fa = allocated_after (req, a), fb = allocated_after (req, b);

  if (fa < fb - 1e-9)
    return TRUE;
  if (fb < fa - 1e-9)
    return FALSE;
  if (a->n_projects != b->n_projects)
    return a->n_projects < b->n_projects;
  return g_strcmp0 (a->name, b->name) < 0;
}

static char *
why_text (Why why, guint count, const SchedRequest *req)
{
  gboolean one = count == 1;

  switch (why)
    {
    case WHY_NOT_READY:
      return g_strdup_printf ("%u %s NotReady", count, one ? "is" : "are");
    case WHY_DRAINING:
      return g_strdup_printf ("%u %s Draining", count, one ? "is" : "are");
    case WHY_UNSCHEDULABLE:
      return g_strdup_printf ("%u %s unschedulable", count, one ? "is" : "are");
    case WHY_SELECTOR:
      return g_strdup_printf ("%u didn't match the nodeSelector", count);
    case WHY_CPU:
      {
        g_autofree char *q = cara_cpu_format (req->cpu_m);
        return g_strdup_printf ("%u %s insufficient cpu (need %s)", count, one ? "has" : "have", q);
      }
    case WHY_MEMORY:
      {
        g_autofree char *q = cara_bytes_format (req->mem);
        return g_strdup_printf ("%u %s insufficient memory (need %s)", count, one ? "has" : "have", q);
      }
    case WHY_HOST_PORT:
      return g_strdup_printf ("%u %s the requested hostPort already in use by another project", count,
                              one ? "has" : "have");
    case WHY_N:
    default:
      g_assert_not_reached ();
    }
}

gint
scheduler_decide (const SchedRequest *req, const SchedNode *nodes, guint n_nodes, char **ret_reason)
{
  guint counts[WHY_N] = { 0 };
  gint best = -1;
  g_autoptr (GString) msg = NULL;
  gboolean first = TRUE;

  for (guint i = 0; i < n_nodes; i++)
    {
      const SchedNode *n = &nodes[i];
      gboolean fits = TRUE;

      if (n->state == CARA_NODE_STATE_DRAINING)
        {
          counts[WHY_DRAINING]++;
          continue;
        }
      if (n->state != CARA_NODE_STATE_READY)
        {
          counts[WHY_NOT_READY]++;
          continue;
        }
      if (n->unschedulable)
        {
          counts[WHY_UNSCHEDULABLE]++;
          continue;
        }
      if (!selector_matches (req->node_selector, n->labels))
        {
          counts[WHY_SELECTOR]++;
          continue;
        }
      /* A node short of both counts under both, as kube-scheduler reports it. */
      if (n->alloc_cpu_m >= 0 && req->cpu_m > 0 && n->used_cpu_m + req->cpu_m > n->alloc_cpu_m)
        {
          counts[WHY_CPU]++;
          fits = FALSE;
        }
      if (n->alloc_mem >= 0 && req->mem > 0 && n->used_mem + req->mem > n->alloc_mem)
        {
          counts[WHY_MEMORY]++;
          fits = FALSE;
        }
      if (host_port_taken (req, n))
        {
          counts[WHY_HOST_PORT]++;
          fits = FALSE;
        }
      if (!fits)
        continue;
      if (best < 0 || better (req, n, &nodes[best]))
        best = (gint) i;
    }

  if (best >= 0)
    return best;

  if (ret_reason == NULL)
    return -1;
  msg = g_string_new (NULL);
  g_string_printf (msg, "0/%u nodes are available", n_nodes);
  if (n_nodes == 0)
    {
      g_string_append (msg, ": no nodes are registered");
      *ret_reason = g_string_free (g_steal_pointer (&msg), FALSE);
      return -1;
    }
  /* Largest group first, then the filter order. */
  for (;;)
    {
      gint pick = -1;

      for (gint w = 0; w < WHY_N; w++)
        if (counts[w] > 0 && (pick < 0 || counts[w] > counts[pick]))
          pick = w;
      if (pick < 0)
        break;
      g_autofree char *t = why_text ((Why) pick, counts[pick], req);
      g_string_append_printf (msg, "%s%s", first ? ": " : ", ", t);
      first = FALSE;
      counts[pick] = 0;
    }
  *ret_reason = g_string_free (g_steal_pointer (&msg), FALSE);
  return -1;
}
