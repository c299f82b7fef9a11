/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "scheduler-decide.h"

#define Mi (1024LL * 1024)
#define Gi (1024LL * Mi)

static SchedNode
node (const char *name, gint64 cpu, gint64 mem)
{
  SchedNode n = { 0 };
  n.name = name;
  n.state = CARA_NODE_STATE_READY;
  n.alloc_cpu_m = cpu;
  n.alloc_mem = mem;
  return n;
}

static void
test_filters_state (void)
{
  SchedNode nodes[] = { node ("a", -1, -1), node ("b", -1, -1), node ("c", -1, -1), node ("d", -1, -1) };
  SchedRequest req = { 0 };
  g_autofree char *reason = NULL;

  nodes[0].state = CARA_NODE_STATE_NOT_READY;
  nodes[1].state = CARA_NODE_STATE_DRAINING;
  nodes[2].unschedulable = TRUE;
  g_assert_cmpint (scheduler_decide (&req, nodes, 4, &reason), ==, 3);
  g_assert_null (reason);
  nodes[3].state = CARA_NODE_STATE_NOT_READY;
  g_assert_cmpint (scheduler_decide (&req, nodes, 4, &reason), ==, -1);
  g_assert_cmpstr (reason, ==,
                   "0/4 nodes are available: 2 are NotReady, 1 is Draining, 1 is unschedulable");
}

static void
test_no_nodes (void)
{
  SchedRequest req = { 0 };
  g_autofree char *reason = NULL;

  g_assert_cmpint (scheduler_decide (&req, NULL, 0, &reason), ==, -1);
  g_assert_cmpstr (reason, ==, "0/0 nodes are available: no nodes are registered");
}

static void
test_selector (void)
{
  SchedNode nodes[] = { node ("a", -1, -1), node ("b", -1, -1), node ("c", -1, -1) };
  g_autoptr (GHashTable) sel = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) lb = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) lc = g_hash_table_new (g_str_hash, g_str_equal);
  SchedRequest req = { 0 };
  g_autofree char *reason = NULL;

  g_hash_table_insert (sel, "disk", "ssd");
  g_hash_table_insert (sel, "zone", "x");
  g_hash_table_insert (lb, "disk", "ssd");
  g_hash_table_insert (lc, "disk", "ssd");
  g_hash_table_insert (lc, "zone", "x");
  g_hash_table_insert (lc, "extra", "1");
  nodes[1].labels = lb;
  nodes[2].labels = lc;
  req.node_selector = sel;
  g_assert_cmpint (scheduler_decide (&req, nodes, 3, &reason), ==, 2);
  g_hash_table_insert (sel, "zone", "y");
  g_assert_cmpint (scheduler_decide (&req, nodes, 3, &reason), ==, -1);
  g_assert_cmpstr (reason, ==, "0/3 nodes are available: 3 didn't match the nodeSelector");
}

static void
test_resources (void)
{
  SchedNode nodes[] = { node ("a", 4000, 1 * Gi), node ("b", 4000, 4 * Gi), node ("c", 4000, 4 * Gi) };
  SchedRequest req = { .cpu_m = 500, .mem = 2 * Gi };
  g_autofree char *reason = NULL;
  g_autofree char *reason2 = NULL;

  nodes[1].used_mem = 3 * Gi;
  g_assert_cmpint (scheduler_decide (&req, nodes, 3, &reason), ==, 2);
  nodes[2].state = CARA_NODE_STATE_NOT_READY;
  g_assert_cmpint (scheduler_decide (&req, nodes, 3, &reason), ==, -1);
  g_assert_cmpstr (reason, ==, "0/3 nodes are available: 2 have insufficient memory (need 2Gi), 1 is NotReady");

  /* cpu: exactly full fits, one millicore more does not */
  nodes[0].alloc_mem = -1;
  nodes[0].used_cpu_m = 3500;
  g_assert_cmpint (scheduler_decide (&req, nodes, 1, NULL), ==, 0);
  nodes[0].used_cpu_m = 3501;
  g_assert_cmpint (scheduler_decide (&req, nodes, 1, &reason2), ==, -1);
  g_assert_cmpstr (reason2, ==, "0/1 nodes are available: 1 has insufficient cpu (need 500m)");
}

static void
test_unknown_allocatable_fits (void)
{
  SchedNode nodes[] = { node ("a", -1, -1) };
  SchedRequest req = { .cpu_m = 64000, .mem = 512 * Gi };

  nodes[0].used_cpu_m = 1000000;
  g_assert_cmpint (scheduler_decide (&req, nodes, 1, NULL), ==, 0);
}

static void
test_spread (void)
{
  /* 6 projects on 3 equal nodes end 2/2/2, in name order on ties. */
  SchedNode nodes[] = { node ("n3", 4000, 8 * Gi), node ("n1", 4000, 8 * Gi), node ("n2", 4000, 8 * Gi) };
  SchedRequest req = { .cpu_m = 100, .mem = 128 * Mi };
  const char *expect[] = { "n1", "n2", "n3", "n1", "n2", "n3" };

  for (guint i = 0; i < 6; i++)
    {
      gint idx = scheduler_decide (&req, nodes, 3, NULL);
      g_assert_cmpint (idx, >=, 0);
      g_assert_cmpstr (nodes[idx].name, ==, expect[i]);
      nodes[idx].used_cpu_m += req.cpu_m;
      nodes[idx].used_mem += req.mem;
      nodes[idx].n_projects++;
    }
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (nodes[i].n_projects, ==, 2);
}

static void
test_spread_without_resources (void)
{
  /* No requests, no allocatable: fewest projects wins, then the name. */
  SchedNode nodes[] = { node ("b", -1, -1), node ("a", -1, -1), node ("c", -1, -1) };
  SchedRequest req = { 0 };

  nodes[1].n_projects = 3;
  nodes[0].n_projects = 1;
  nodes[2].n_projects = 1;
  g_assert_cmpstr (nodes[scheduler_decide (&req, nodes, 3, NULL)].name, ==, "b");
}

static void
test_least_allocated (void)
{
  /* A big node half full is a better place than a small node a quarter full?  No: mean fraction
   * decides; the small node at 25% beats the big one at 50%, whatever the counts. */
  SchedNode nodes[] = { node ("big", 8000, 16 * Gi), node ("small", 2000, 4 * Gi) };
  SchedRequest req = { 0 };

  nodes[0].used_cpu_m = 4000;
  nodes[0].used_mem = 8 * Gi;
  nodes[0].n_projects = 1;
  nodes[1].used_cpu_m = 500;
  nodes[1].used_mem = 1 * Gi;
  nodes[1].n_projects = 5;
  g_assert_cmpstr (nodes[scheduler_decide (&req, nodes, 2, NULL)].name, ==, "small");
}

static void
test_request_from_project (void)
{
  g_autoptr (CaraProject) p = cara_project_new ("web");
  CaraService *a = cara_service_new ("a", "busybox");
  CaraService *b = cara_service_new ("b", "busybox");
  CaraService *c = cara_service_new ("c", "busybox");
  SchedRequest req;

  a->resources.cpu = g_strdup ("500m");
  a->resources.memory = g_strdup ("256Mi");
  b->resources.cpu = g_strdup ("1.5");
  b->resources.memory = g_strdup ("1Gi");
  g_ptr_array_add (p->spec.services, a);
  g_ptr_array_add (p->spec.services, b);
  g_ptr_array_add (p->spec.services, c);
  sched_request_from_project (p, &req);
  g_assert_cmpint (req.cpu_m, ==, 2000);
  g_assert_cmpint (req.mem, ==, 1280 * Mi);
  g_assert_true (req.node_selector == p->spec.node_selector);
}

static void
add_port (CaraService *s, gint64 host_port, CaraProtocol proto)
{
  CaraPort *port = g_new0 (CaraPort, 1);
  port->container_port = 80;
  port->host_port = host_port;
  port->protocol = proto;
  g_ptr_array_add (s->ports, port);
}

/* A hostPort already held by a project on a node rules that node out (tcp and udp apart); when
 * every eligible node holds it, the reason says so. */
static void
test_host_port (void)
{
  g_autoptr (CaraProject) placed = cara_project_new ("old");
  g_autoptr (CaraProject) want = cara_project_new ("new");
  CaraService *ps = cara_service_new ("web", "busybox");
  CaraService *ws = cara_service_new ("web", "busybox");
  SchedNode nodes[] = { node ("a", -1, -1), node ("b", -1, -1) };
  SchedRequest req;
  g_autofree char *reason = NULL;

  add_port (ps, 8080, CARA_PROTOCOL_TCP);
  add_port (ps, 53, CARA_PROTOCOL_UDP);
  g_ptr_array_add (placed->spec.services, ps);
  add_port (ws, 0, CARA_PROTOCOL_NONE); /* no hostPort: never a conflict */
  add_port (ws, 8080, CARA_PROTOCOL_NONE);
  g_ptr_array_add (want->spec.services, ws);
  sched_request_from_project (want, &req);

  /* "a" would win the spread (name) but holds 8080/tcp: "b" it is. */
  nodes[0].host_ports = sched_host_ports_add (NULL, placed->spec.services);
  g_assert_cmpint (scheduler_decide (&req, nodes, 2, &reason), ==, 1);
  g_assert_null (reason);

  /* Held on both: unschedulable, saying why. */
  nodes[1].host_ports = sched_host_ports_add (NULL, placed->spec.services);
  g_assert_cmpint (scheduler_decide (&req, nodes, 2, &reason), ==, -1);
  g_assert_cmpstr (reason, ==, "0/2 nodes are available: 2 have the requested hostPort already in use by another project");
  g_clear_pointer (&reason, g_free);

  /* 8080/udp is another port than 8080/tcp; 53/udp is taken. */
  CaraPort *p = ws->ports->pdata[1];
  p->protocol = CARA_PROTOCOL_UDP;
  g_assert_cmpint (scheduler_decide (&req, nodes, 2, &reason), ==, 0);
  p->host_port = 53;
  g_assert_cmpint (scheduler_decide (&req, nodes, 2, &reason), ==, -1);
  g_clear_pointer (&reason, g_free);

  /* A project without hostPorts adds nothing. */
  g_assert_null (sched_host_ports_add (NULL, NULL));
  g_hash_table_unref (nodes[0].host_ports);
  g_hash_table_unref (nodes[1].host_ports);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scheduler/filters-state", test_filters_state);
  g_test_add_func ("/scheduler/no-nodes", test_no_nodes);
  g_test_add_func ("/scheduler/selector", test_selector);
  g_test_add_func ("/scheduler/resources", test_resources);
  g_test_add_func ("/scheduler/unknown-allocatable", test_unknown_allocatable_fits);
  g_test_add_func ("/scheduler/spread", test_spread);
  g_test_add_func ("/scheduler/spread-without-resources", test_spread_without_resources);
  g_test_add_func ("/scheduler/least-allocated", test_least_allocated);
  g_test_add_func ("/scheduler/request-from-project", test_request_from_project);
  g_test_add_func ("/scheduler/host-port", test_host_port);
  return g_test_run ();
}
