/* SPDX-License-Identifier: Apache-2.0 */
/* Pure parts of the agent: subnet pool, container specs and hashes, start order, ingress hosts. */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "netpool.h"
#include "proxy.h"
#include "reconcile-depends.h"
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

/* SPEC §10's fields reach the container body; a service without them keeps its hash. */
static void
test_runtime_fields (void)
{
  g_autoptr (CaraProject) p = sample ("a");
  g_autofree char *plain_hash = NULL;
  g_autofree char *plain = body_of (p, "web", &plain_hash);
  CaraService *web = cara_project_find_service (p, "web");
  CaraPort *port = g_ptr_array_index (web->ports, 0);

  g_assert_null (strstr (plain, "Entrypoint"));
  g_assert_null (strstr (plain, "StopTimeout"));
  g_assert_null (strstr (plain, "CapAdd"));
  g_assert_null (strstr (plain, "HostIp"));

  web->entrypoint = g_strsplit ("/bin/sh,-c", ",", -1);
  web->working_dir = g_strdup ("/srv");
  web->user = g_strdup ("1000:1000");
  web->labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (web->labels, g_strdup ("com.example.team"), g_strdup ("payments"));
  g_hash_table_insert (web->labels, g_strdup ("a"), g_strdup ("1"));
  web->cap_add = g_strsplit ("NET_ADMIN", ",", -1);
  web->cap_drop = g_strsplit ("ALL", ",", -1);
  web->stop_grace_period_seconds = 0;
  web->stop_signal = g_strdup ("SIGINT");
  port->host_ip = g_strdup ("127.0.0.1");
  web->healthcheck = g_new0 (CaraHealthcheck, 1);
  web->healthcheck->command = g_strsplit ("true", ",", -1);
  web->healthcheck->start_period_seconds = 30;

  g_autofree char *hash = NULL;
  g_autofree char *body = body_of (p, "web", &hash);
  g_assert_nonnull (strstr (body, "\"Entrypoint\":[\"/bin/sh\",\"-c\"]"));
  g_assert_nonnull (strstr (body, "\"WorkingDir\":\"/srv\""));
  g_assert_nonnull (strstr (body, "\"User\":\"1000:1000\""));
  g_assert_nonnull (strstr (body, "\"StopSignal\":\"SIGINT\""));
  g_assert_nonnull (strstr (body, "\"StopTimeout\":0"));
  g_assert_nonnull (strstr (body, "\"CapAdd\":[\"NET_ADMIN\"],\"CapDrop\":[\"ALL\"]"));
  g_assert_nonnull (strstr (body, "\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080\"}]"));
  g_assert_nonnull (strstr (body, "\"StartPeriod\":30000000000"));
  g_assert_nonnull (strstr (body, "\"Labels\":{\"a\":\"1\",\"com.example.team\":\"payments\",\"cara.project\":\"shop\""));
  g_assert_cmpstr (hash, !=, plain_hash);
  /* hostIP alone: an ephemeral port of that address */
  port->host_port = 0;
  g_autofree char *eph = body_of (p, "web", NULL);
  g_assert_nonnull (strstr (eph, "\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}]"));
  port->host_port = 8080;

  /* A label alone changes the hash too (a new label needs a new container). */
  g_hash_table_insert (web->labels, g_strdup ("b"), g_strdup ("2"));
  g_autofree char *hash2 = NULL;
  g_autofree char *body2 = body_of (p, "web", &hash2);
  g_assert_nonnull (body2);
  g_assert_cmpstr (hash, !=, hash2);
}

/* HostPath volumes bind the node's directory itself. */
static void
test_host_path_bind (void)
{
  g_autoptr (CaraProject) p = sample ("a");
  CaraVolume *v = g_ptr_array_index (p->spec.volumes, 0);
  g_autoptr (GHashTable) vols = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GError) error = NULL;
  CaraVolumeMount *m = g_ptr_array_index (cara_project_find_service (p, "db")->volume_mounts, 0);

  v->type = CARA_VOLUME_TYPE_HOST_PATH;
  v->host_path = g_strdup ("/srv/pg");
  m->read_only = TRUE;
  g_hash_table_insert (vols, (gpointer) "data", (gpointer) "/srv/pg");
  g_autoptr (JsonNode) n = reconcile_container_body (p, cara_project_find_service (p, "db"), "n1", "cara-shop", vols,
                                                     NULL, &error);
  g_assert_no_error (error);
  g_autofree char *body = json_to_string (n, FALSE);
  g_assert_nonnull (strstr (body, "\"Binds\":[\"/srv/pg:/var/lib/postgresql:ro\"]"));
}

static void
test_depends_verdict (void)
{
  struct {
    CaraDependCondition cond;
    CaraRestartPolicy policy;
    const char *state, *health;
    gint64 code;
    ReconcileDepends want;
    const char *why;
  } cases[] = {
    { CARA_DEPEND_CONDITION_STARTED, CARA_RESTART_POLICY_NONE, NULL, NULL, 0, RECONCILE_DEPENDS_WAIT, "waiting for db to start" },
    { CARA_DEPEND_CONDITION_STARTED, CARA_RESTART_POLICY_NONE, "running", NULL, 0, RECONCILE_DEPENDS_MET, NULL },
    { CARA_DEPEND_CONDITION_STARTED, CARA_RESTART_POLICY_NONE, "exited", NULL, 1, RECONCILE_DEPENDS_MET, NULL },
    { CARA_DEPEND_CONDITION_HEALTHY, CARA_RESTART_POLICY_NONE, "running", "starting", 0, RECONCILE_DEPENDS_WAIT, "waiting for db to be healthy (starting)" },
    { CARA_DEPEND_CONDITION_HEALTHY, CARA_RESTART_POLICY_NONE, "running", "unhealthy", 0, RECONCILE_DEPENDS_WAIT, "waiting for db to be healthy (unhealthy)" },
    { CARA_DEPEND_CONDITION_HEALTHY, CARA_RESTART_POLICY_NONE, "running", "healthy", 0, RECONCILE_DEPENDS_MET, NULL },
    { CARA_DEPEND_CONDITION_HEALTHY, CARA_RESTART_POLICY_NONE, "created", NULL, 0, RECONCILE_DEPENDS_WAIT, "waiting for db to be healthy (created)" },
    { CARA_DEPEND_CONDITION_COMPLETED, CARA_RESTART_POLICY_NEVER, "running", NULL, 0, RECONCILE_DEPENDS_WAIT, "waiting for db to complete (running)" },
    { CARA_DEPEND_CONDITION_COMPLETED, CARA_RESTART_POLICY_NEVER, "exited", NULL, 0, RECONCILE_DEPENDS_MET, NULL },
    { CARA_DEPEND_CONDITION_COMPLETED, CARA_RESTART_POLICY_NEVER, "exited", NULL, 3, RECONCILE_DEPENDS_FAILED, "dependency db exited with code 3 (condition Completed needs 0): not started" },
    /* OnFailure: Docker runs it again, so it is not over yet */
    { CARA_DEPEND_CONDITION_COMPLETED, CARA_RESTART_POLICY_ON_FAILURE, "exited", NULL, 3, RECONCILE_DEPENDS_WAIT, "waiting for db to complete (exited)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *why = NULL;
      ReconcileDepends got = reconcile_depends_verdict ("db", cases[i].cond, cases[i].policy, cases[i].state,
                                                        cases[i].health, cases[i].code, &why);
      g_assert_cmpint (got, ==, cases[i].want);
      g_assert_cmpstr (why, ==, cases[i].why);
    }
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
  g_test_add_func ("/agent/runtime-fields", test_runtime_fields);
  g_test_add_func ("/agent/host-path-bind", test_host_path_bind);
  g_test_add_func ("/agent/depends-verdict", test_depends_verdict);
  g_test_add_func ("/agent/ingress-host", test_ingress_host);
  return g_test_run ();
}
