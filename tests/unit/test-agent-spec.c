/* SPDX-License-Identifier: Apache-2.0 */
/* Pure parts of the agent: subnet pool, container specs and hashes, start order, ingress hosts. */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "netpool.h"
#include "proxy.h"
#include "reconcile-spec.h"

static void
test_netpool (void)
{
  NetpoolCidr pool, a, b, pick;
  g_autoptr (GError) error = NULL;
  g_assert_true (netpool_parse ("10.213.0.0/16", &pool, &error));
  g_assert_false (netpool_parse ("10.213.0.0", &a, NULL));
  g_assert_false (netpool_parse ("10.213.0.0/33", &a, NULL));
  g_assert_false (netpool_parse ("fd00::/64", &a, NULL));
  g_autoptr (GArray) used = g_array_new (FALSE, FALSE, sizeof (NetpoolCidr));
  g_assert_true (netpool_pick (&pool, 26, used, &pick, &error));
  g_autofree char *s1 = netpool_format (&pick);
  g_assert_cmpstr (s1, ==, "10.213.0.0/26");
  /* a /24 in use and a host route covering the whole 10/8 */
  g_assert_true (netpool_parse ("10.213.0.0/24", &a, NULL));
  g_array_append_val (used, a);
  g_assert_true (netpool_pick (&pool, 26, used, &pick, &error));
  g_autofree char *s2 = netpool_format (&pick);
  g_assert_cmpstr (s2, ==, "10.213.1.0/26");
  g_assert_true (netpool_parse ("10.0.0.0/8", &b, NULL));
  g_assert_true (netpool_overlaps (&b, &pick));
  g_array_append_val (used, b);
  g_assert_false (netpool_pick (&pool, 26, used, &pick, &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE);
}

static CaraProject *
sample (const char *env_value)
{
  CaraProject *p = cara_project_new ("shop");
  CaraService *db = cara_service_new ("db", "postgres:15");
  CaraService *web = cara_service_new ("web", "nginx:1");
  CaraEnvVar *e = g_new0 (CaraEnvVar, 1);
  e->name = g_strdup ("MODE");
  e->value = g_strdup (env_value);
  g_ptr_array_add (web->env, e);
  CaraPort *port = g_new0 (CaraPort, 1);
  port->container_port = 80;
  port->host_port = 8080;
  g_ptr_array_add (web->ports, port);
  web->resources.cpu = g_strdup ("500m");
  web->resources.memory = g_strdup ("256Mi");
  web->restart_policy = CARA_RESTART_POLICY_ON_FAILURE;
  web->depends_on = g_strsplit ("db", ",", -1);
  CaraVolumeMount *m = g_new0 (CaraVolumeMount, 1);
  m->name = g_strdup ("data");
  m->mount_path = g_strdup ("/var/lib/postgresql");
  g_ptr_array_add (db->volume_mounts, m);
  CaraVolume *v = g_new0 (CaraVolume, 1);
  v->name = g_strdup ("data");
  v->type = CARA_VOLUME_TYPE_PERSISTENT;
  g_ptr_array_add (p->spec.volumes, v);
  /* web first in the spec, but it depends on db */
  g_ptr_array_add (p->spec.services, web);
  g_ptr_array_add (p->spec.services, db);
  return p;
}

static char *
body_of (const CaraProject *p, const char *service, char **ret_hash)
{
  g_autoptr (GHashTable) vols = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (vols, (gpointer) "data", (gpointer) "cara-shop-data");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) n = reconcile_container_body (p, cara_project_find_service (p, service), "n1", "cara-shop", vols,
                                                     ret_hash, &error);
  g_assert_no_error (error);
  return json_to_string (n, FALSE);
}

static void
test_container_body (void)
{
  g_autoptr (CaraProject) p = sample ("a");
  g_autofree char *web_hash = NULL, *db_hash = NULL;
  g_autofree char *web = body_of (p, "web", &web_hash);
  g_autofree char *db = body_of (p, "db", &db_hash);
  g_assert_nonnull (strstr (web, "\"Env\":[\"MODE=a\"]"));
  g_assert_nonnull (strstr (web, "\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"8080\"}]}"));
  g_assert_nonnull (strstr (web, "\"RestartPolicy\":{\"Name\":\"on-failure\"}"));
  g_assert_nonnull (strstr (web, "\"NanoCpus\":500000000"));
  g_assert_nonnull (strstr (web, "\"Memory\":268435456"));
  g_assert_nonnull (strstr (web, "\"Aliases\":[\"web\"]"));
  g_assert_nonnull (strstr (web, "\"cara.node\":\"n1\""));
  g_assert_nonnull (strstr (db, "\"Binds\":[\"cara-shop-data:/var/lib/postgresql\"]"));
  g_assert_nonnull (strstr (db, "\"RestartPolicy\":{\"Name\":\"always\"}"));

  /* Changing web's env changes web's hash only. */
  g_autoptr (CaraProject) q = sample ("b");
  g_autofree char *web2_hash = NULL, *db2_hash = NULL;
  g_autofree char *web2 = body_of (q, "web", &web2_hash);
  g_autofree char *db2 = body_of (q, "db", &db2_hash);
  g_assert_nonnull (strstr (web2, "\"Env\":[\"MODE=b\"]"));
  g_assert_cmpstr (db, ==, db2);
  g_assert_cmpstr (web_hash, !=, web2_hash);
  g_assert_cmpstr (db_hash, ==, db2_hash);
  /* Same spec, same hash. */
  g_autofree char *web3_hash = NULL;
  g_autofree char *web3 = body_of (p, "web", &web3_hash);
  g_assert_cmpstr (web, ==, web3);
  g_assert_cmpstr (web_hash, ==, web3_hash);
  /* The volume's type is part of the hash. */
  ((CaraVolume *) g_ptr_array_index (q->spec.volumes, 0))->type = CARA_VOLUME_TYPE_EPHEMERAL;
  g_autofree char *db3_hash = NULL;
  g_autofree char *db3 = body_of (q, "db", &db3_hash);
  g_assert_nonnull (strstr (db3, db3_hash));
  g_assert_cmpstr (db2_hash, !=, db3_hash);
}

static void
test_order (void)
{
  g_autoptr (CaraProject) p = sample ("a");
  g_autoptr (GPtrArray) order = reconcile_service_order (p);
  g_assert_cmpuint (order->len, ==, 2);
  g_assert_cmpstr (((CaraService *) g_ptr_array_index (order, 0))->name, ==, "db");
  g_assert_cmpstr (((CaraService *) g_ptr_array_index (order, 1))->name, ==, "web");
}

static void
test_ingress_host (void)
{
  g_autofree char *a = proxy_resolve_host ("blog.example.com", "p");
  g_autofree char *b = proxy_resolve_host ("web", "my-project");
  g_autofree char *c = proxy_resolve_host ("", "p");
  g_assert_cmpstr (a, ==, "blog.example.com");
  g_assert_cmpstr (b, ==, "web.my-project.local");
  g_assert_cmpstr (c, ==, ".p.local");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/agent/netpool", test_netpool);
  g_test_add_func ("/agent/container-body", test_container_body);
  g_test_add_func ("/agent/start-order", test_order);
  g_test_add_func ("/agent/ingress-host", test_ingress_host);
  return g_test_run ();
}
