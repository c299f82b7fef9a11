/* SPDX-License-Identifier: Apache-2.0 */
/* The in-memory view of the host's networks: subnets picked around what exists and what is being
 * created, names that move to -{node} when taken, our own networks found by labels, and what
 * events and failed creates teach it. */
#include "config.h"

#include "agent.h"
#include "cara-error.h"
#include "cara-json.h"
#include "netview.h"

static JsonArray *
networks (const char *json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) n = cara_json_parse (json, -1, &error);
  g_assert_no_error (error);
  return json_array_ref (json_node_get_array (n));
}

#define NETS \
  "[{\"Name\":\"bridge\",\"Id\":\"b0\",\"IPAM\":{\"Config\":[{\"Subnet\":\"172.17.0.0/16\"}]}}," \
  " {\"Name\":\"cara-web\",\"Id\":\"w1\",\"Labels\":{\"cara.project\":\"web\",\"cara.node\":\"other\"}," \
  "  \"IPAM\":{\"Config\":[{\"Subnet\":\"10.213.0.0/26\"}]}}," \
  " {\"Name\":\"cara-db\",\"Id\":\"d1\",\"Labels\":{\"cara.project\":\"db\",\"cara.node\":\"n1\"}," \
  "  \"IPAM\":{\"Config\":[{\"Subnet\":\"10.213.0.64/26\"}]}}," \
  " {\"Name\":\"cara-db\",\"Id\":\"d0\",\"Labels\":{\"cara.project\":\"db\",\"cara.node\":\"n1\"}," \
  "  \"IPAM\":{\"Config\":[{\"Subnet\":\"10.213.0.128/26\"}]}}]"

static void
pool (NetpoolCidr *p)
{
  g_assert_true (netpool_parse ("10.213.0.0/16", p, NULL));
}

static char *
reserve (NetView *v, const char *project, NetpoolCidr *subnet)
{
  NetpoolCidr p;
  char *name = NULL;
  g_autoptr (GError) error = NULL;
  pool (&p);
  g_assert_true (netview_reserve (v, &p, 26, project, "n1", subnet, &name, &error));
  g_assert_no_error (error);
  return name;
}

static void
test_load (void)
{
  g_autoptr (NetView) v = netview_new ();
  g_autoptr (JsonArray) nets = networks (NETS);
  g_assert_false (netview_loaded (v));
  netview_load (v, nets, "n1", NULL);
  g_assert_true (netview_loaded (v));
  /* Another node's network is not ours, even under our usual name. */
  g_assert_null (netview_lookup (v, "web"));
  /* Two of ours for one project (a killed predecessor's create): the first by (name, id) is kept
   * and both are reported for settling. */
  g_assert_cmpstr (netview_lookup (v, "db"), ==, "cara-db");
  g_autoptr (GPtrArray) dups = netview_duplicates (v, "db");
  g_assert_nonnull (dups);
  g_assert_cmpuint (dups->len, ==, 2);
  netview_adopt (v, "db", "d0");
  g_assert_null (netview_duplicates (v, "db"));
  g_assert_cmpstr (netview_lookup (v, "db"), ==, "d0");
}

static void
test_reserve (void)
{
  g_autoptr (NetView) v = netview_new ();
  g_autoptr (JsonArray) nets = networks (NETS);
  g_autoptr (GArray) routes = g_array_new (FALSE, FALSE, sizeof (NetpoolCidr));
  NetpoolCidr route, a, b, c;
  g_assert_true (netpool_parse ("10.213.0.192/26", &route, NULL));
  g_array_append_val (routes, route);
  netview_load (v, nets, "n1", routes);

  /* cara-web is another node's: ours gets the -{node} name; the subnets in use and the host route
   * are skipped. */
  g_autofree char *web = reserve (v, "web", &a);
  g_assert_cmpstr (web, ==, "cara-web-n1");
  g_autofree char *sa = netpool_format (&a);
  g_assert_cmpstr (sa, ==, "10.213.1.0/26");
  /* A second reservation before the first is created gets another subnet: no lock is needed
   * around the creates. */
  g_autofree char *api = reserve (v, "api", &b);
  g_assert_cmpstr (api, ==, "cara-api");
  g_autofree char *sb = netpool_format (&b);
  g_assert_cmpstr (sb, ==, "10.213.1.64/26");
  netview_created (v, "web", web, &a);
  g_assert_cmpstr (netview_lookup (v, "web"), ==, "cara-web-n1");

  /* The create of api overlapped a network we did not know: that subnet stays used, the name is
   * free again, and the next try picks past it. */
  netview_create_failed (v, api, &b, TRUE, FALSE);
  g_autofree char *api2 = reserve (v, "api", &c);
  g_assert_cmpstr (api2, ==, "cara-api");
  g_autofree char *sc = netpool_format (&c);
  g_assert_cmpstr (sc, ==, "10.213.1.128/26");
  /* Its name taken meanwhile (409): the next try uses -{node}. */
  netview_create_failed (v, api2, &c, FALSE, TRUE);
  NetpoolCidr d;
  g_autofree char *api3 = reserve (v, "api", &d);
  g_assert_cmpstr (api3, ==, "cara-api-n1");
  g_autofree char *sd = netpool_format (&d);
  g_assert_cmpstr (sd, ==, "10.213.1.128/26"); /* the subnet of the failed try is free again */
}

static void
test_events (void)
{
  g_autoptr (NetView) v = netview_new ();
  g_autoptr (JsonArray) nets = networks (NETS);
  NetpoolCidr s;
  netview_load (v, nets, "n1", NULL);

  /* Someone created cara-api: our api network is named apart. */
  netview_name_taken (v, "cara-api");
  g_autofree char *api = reserve (v, "api", &s);
  g_assert_cmpstr (api, ==, "cara-api-n1");
  netview_created (v, "api", api, &s);
  /* Created by someone else: learnt from its inspect, its subnet is skipped. */
  g_assert_false (netview_knows (v, "theirs"));
  g_autoptr (JsonArray) theirs = networks ("[{\"Name\":\"theirs\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.213.1.0/26\"}]}}]");
  netview_learn (v, json_array_get_object_element (theirs, 0));
  g_assert_true (netview_knows (v, "theirs"));
  NetpoolCidr next;
  g_autofree char *db2 = reserve (v, "other", &next);
  g_autofree char *snext = netpool_format (&next);
  g_assert_cmpstr (snext, ==, "10.213.1.64/26");
  netview_create_failed (v, db2, &next, FALSE, FALSE);
  /* Removed by hand (docker network rm): forgotten, its subnet and name free. */
  netview_removed (v, "cara-api-n1");
  g_assert_null (netview_lookup (v, "api"));
  NetpoolCidr again;
  g_autofree char *api2 = reserve (v, "api", &again);
  g_assert_cmpuint (again.addr, ==, s.addr);
  /* A teardown forgets the project's network. */
  netview_created (v, "api", api2, &again);
  netview_forget_project (v, "api");
  g_assert_null (netview_lookup (v, "api"));
  /* A new load replaces everything. */
  netview_load (v, nets, "n1", NULL);
  g_assert_cmpstr (netview_lookup (v, "db"), ==, "cara-db");
}

static void
test_exhausted (void)
{
  g_autoptr (NetView) v = netview_new ();
  g_autoptr (JsonArray) none = networks ("[]");
  NetpoolCidr p, s;
  g_autoptr (GError) error = NULL;
  char *name = NULL;
  netview_load (v, none, "n1", NULL);
  g_assert_true (netpool_parse ("10.9.0.0/25", &p, NULL));
  g_assert_true (netview_reserve (v, &p, 26, "a", "n1", &s, &name, NULL));
  g_free (name);
  g_assert_true (netview_reserve (v, &p, 26, "b", "n1", &s, &name, NULL));
  g_free (name);
  g_assert_false (netview_reserve (v, &p, 26, "c", "n1", &s, &name, &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/netview/load", test_load);
  g_test_add_func ("/netview/reserve", test_reserve);
  g_test_add_func ("/netview/events", test_events);
  g_test_add_func ("/netview/exhausted", test_exhausted);
  return g_test_run ();
}
