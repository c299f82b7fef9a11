/* SPDX-License-Identifier: Apache-2.0 */
/* The resource model and its JSON codec: golden round trips, decode errors with field paths,
 * enums, conditions, copies, times. */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-json.h"

static char *
read_golden (const char *name)
{
  g_autofree char *path = g_build_filename (TEST_DATA_DIR, name, NULL);
  g_autoptr(GError) error = NULL;
  char *data = NULL;

  g_file_get_contents (path, &data, NULL, &error);
  g_assert_no_error (error);
  g_strchomp (data);
  return data;
}

static void
test_golden_project (gconstpointer name)
{
  g_autofree char *golden = read_golden (name);
  g_autoptr(GError) error = NULL;
  g_autoptr(CaraProject) p = cara_project_from_data (golden, -1, &error);
  g_autoptr(CaraProject) copy = NULL;
  g_autoptr(CaraProject) again = NULL;
  g_autofree char *out = NULL;
  g_autofree char *copy_out = NULL;
  g_autofree char *again_out = NULL;

  g_assert_no_error (error);
  out = cara_project_to_data (p);
  g_assert_cmpstr (out, ==, golden);
  copy = cara_project_copy (p);
  copy_out = cara_project_to_data (copy);
  g_assert_cmpstr (copy_out, ==, golden);
  again = cara_project_from_data (out, -1, &error);
  g_assert_no_error (error);
  again_out = cara_project_to_data (again);
  g_assert_cmpstr (again_out, ==, golden);
}

static void
test_golden_node (gconstpointer name)
{
  g_autofree char *golden = read_golden (name);
  g_autoptr(GError) error = NULL;
  g_autoptr(CaraNode) n = cara_node_from_data (golden, -1, &error);
  g_autoptr(CaraNode) copy = NULL;
  g_autofree char *out = NULL;
  g_autofree char *copy_out = NULL;

  g_assert_no_error (error);
  out = cara_node_to_data (n);
  g_assert_cmpstr (out, ==, golden);
  copy = cara_node_copy (n);
  copy_out = cara_node_to_data (copy);
  g_assert_cmpstr (copy_out, ==, golden);
}

static void
test_golden_lists (void)
{
  const char *names[] = { "node-list-empty.json", "project-list.json" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *golden = read_golden (names[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = cara_json_parse (golden, -1, &error);
      g_autoptr(GPtrArray) items = NULL;
      g_autoptr(JsonNode) back = NULL;
      g_autofree char *out = NULL;
      gboolean nodes = strcmp (cara_json_get_kind (node), "NodeList") == 0;

      g_assert_no_error (error);
      items = nodes ? cara_node_list_from_json (node, &error) : cara_project_list_from_json (node, &error);
      g_assert_no_error (error);
      back = nodes ? cara_node_list_to_json (items) : cara_project_list_to_json (items);
      out = cara_json_to_string (back, FALSE);
      g_assert_cmpstr (out, ==, golden);
      if (nodes)
        continue;
      /* The spliced list (what the server sends from stored texts) is byte for byte the same. */
      g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
      for (guint k = 0; k < items->len; k++)
        g_ptr_array_add (texts, cara_project_to_data (items->pdata[k]));
      g_autofree char *spliced = cara_project_list_text (texts);
      g_assert_cmpstr (spliced, ==, golden);
      g_ptr_array_set_size (texts, 0);
      g_autofree char *empty = cara_project_list_text (texts);
      g_autoptr(GPtrArray) none = g_ptr_array_new ();
      g_autoptr(JsonNode) empty_json = cara_project_list_to_json (none);
      g_autofree char *empty_golden = cara_json_to_string (empty_json, FALSE);
      g_assert_cmpstr (empty, ==, empty_golden);
    }
}

static void
test_golden_bodies (void)
{
  g_autofree char *hb = read_golden ("heartbeat.json");
  g_autofree char *sr = read_golden ("status-report.json");
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) hb_node = cara_json_parse (hb, -1, &error);
  g_autoptr(JsonNode) sr_node = cara_json_parse (sr, -1, &error);
  g_autoptr(CaraHeartbeat) h = cara_heartbeat_from_json (hb_node, &error);
  g_autoptr(CaraStatusReport) r = NULL;
  g_autoptr(JsonNode) hb_back = NULL;
  g_autoptr(JsonNode) sr_back = NULL;
  g_autofree char *hb_out = NULL;
  g_autofree char *sr_out = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (h->state, ==, CARA_NODE_STATE_READY);
  g_assert_true (h->has_network);
  g_assert_true (h->has_info);
  g_assert_cmpint (h->network.agent_port, ==, 9090);
  hb_back = cara_heartbeat_to_json (h);
  hb_out = cara_json_to_string (hb_back, FALSE);
  g_assert_cmpstr (hb_out, ==, hb);

  r = cara_status_report_from_json (sr_node, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->phase, ==, CARA_PROJECT_PHASE_RUNNING);
  g_assert_true (r->has_services);
  sr_back = cara_status_report_to_json (r);
  sr_out = cara_json_to_string (sr_back, FALSE);
  g_assert_cmpstr (sr_out, ==, sr);
}

/* Parts stored as separate JSONB columns come back whole. */
static void
test_parts (void)
{
  g_autofree char *golden = read_golden ("project-full.json");
  g_autofree char *ngolden = read_golden ("node-full.json");
  g_autoptr(CaraProject) p = cara_project_from_data (golden, -1, NULL);
  g_autoptr(CaraProject) q = cara_project_new ("shop");
  g_autoptr(CaraNode) n = cara_node_from_data (ngolden, -1, NULL);
  g_autoptr(CaraNode) m = cara_node_new ("x");
  g_autoptr(JsonNode) spec = cara_project_spec_to_json (p);
  g_autoptr(JsonNode) status = cara_project_status_to_json (p);
  g_autoptr(JsonNode) nspec = cara_node_spec_to_json (n);
  g_autoptr(JsonNode) nstatus = cara_node_status_to_json (n);
  g_autoptr(JsonNode) bad = cara_json_parse ("{\"services\":[{\"name\":1}]}", -1, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;
  g_autofree char *d = NULL;

  g_assert_true (cara_project_spec_from_json (q, spec, &error));
  g_assert_true (cara_project_status_from_json (q, status, &error));
  g_assert_no_error (error);
  b = cara_json_to_string (spec, FALSE);
  {
    g_autoptr(JsonNode) qs = cara_project_spec_to_json (q);
    a = cara_json_to_string (qs, FALSE);
  }
  g_assert_cmpstr (a, ==, b);

  /* A failed decode leaves the object as it was. */
  g_assert_false (cara_project_spec_from_json (q, bad, &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "spec.services[0].name: expected a string, got a number");
  g_clear_error (&error);
  g_assert_cmpuint (q->spec.services->len, ==, 2);

  g_assert_true (cara_node_spec_from_json (m, nspec, &error));
  g_assert_true (cara_node_status_from_json (m, nstatus, &error));
  g_assert_no_error (error);
  {
    g_autoptr(JsonNode) ms = cara_node_status_to_json (m);
    c = cara_json_to_string (ms, FALSE);
  }
  d = cara_json_to_string (nstatus, FALSE);
  g_assert_cmpstr (c, ==, d);
  g_assert_true (m->spec.unschedulable);
}

typedef struct {
  const char *json;
  const char *error;
} DecodeCase;

static const DecodeCase project_errors[] = {
  /* json-glib decodes octal escapes (not JSON) into raw bytes: not UTF-8, refused with the path */
  { "{\"metadata\": {\"name\": \"a\\215b\"}}", "invalid JSON: metadata.name: a string that is not UTF-8" },
  { "{\"spec\": {\"services\": [{\"image\": \"x\", \"n\\377\": 1}]}}", "invalid JSON: spec.services[0]: a string that is not UTF-8" },
  { "[]", "expected an object, got an array" },
  { "{\"metadata\":[]}", "metadata: expected an object, got an array" },
  { "{\"metadata\":{\"name\":5}}", "metadata.name: expected a string, got a number" },
  { "{\"metadata\":{\"labels\":{\"a\":1}}}", "metadata.labels.a: expected a string, got a number" },
  { "{\"metadata\":{\"labels\":[]}}", "metadata.labels: expected an object, got an array" },
  { "{\"metadata\":{\"createdAt\":\"yesterday\"}}", "metadata.createdAt: invalid time \"yesterday\"" },
  { "{\"metadata\":{\"createdAt\":\"2026-04-12\"}}", "metadata.createdAt: invalid time \"2026-04-12\"" },
  { "{\"spec\":{\"services\":{}}}", "spec.services: expected an array, got an object" },
  { "{\"spec\":{\"services\":[1]}}", "spec.services[0]: expected an object, got a number" },
  { "{\"spec\":{\"services\":[{},{\"env\":[{\"name\":\"A\",\"value\":3}]}]}}", "spec.services[1].env[0].value: expected a string, got a number" },
  { "{\"spec\":{\"services\":[{\"image\":true}]}}", "spec.services[0].image: expected a string, got a boolean" },
  { "{\"spec\":{\"services\":[{\"command\":\"sh\"}]}}", "spec.services[0].command: expected an array, got a string" },
  { "{\"spec\":{\"services\":[{\"command\":[\"sh\",1]}]}}", "spec.services[0].command[1]: expected a string, got a number" },
  { "{\"spec\":{\"services\":[{\"ports\":[{\"containerPort\":\"80\"}]}]}}", "spec.services[0].ports[0].containerPort: expected an integer, got a string" },
  { "{\"spec\":{\"services\":[{\"ports\":[{\"containerPort\":80.5}]}]}}", "spec.services[0].ports[0].containerPort: expected an integer, got a number" },
  { "{\"spec\":{\"services\":[{\"ports\":[{\"containerPort\":80,\"protocol\":\"sctp\"}]}]}}", "spec.services[0].ports[0].protocol: invalid protocol \"sctp\": must be one of tcp, udp" },
  { "{\"spec\":{\"services\":[{\"restartPolicy\":\"Sometimes\"}]}}", "spec.services[0].restartPolicy: invalid restartPolicy \"Sometimes\": must be one of Always, OnFailure, Never" },
  { "{\"spec\":{\"services\":[{\"resources\":{\"cpu\":1}}]}}", "spec.services[0].resources.cpu: expected a string, got a number" },
  { "{\"spec\":{\"services\":[{\"healthcheck\":{\"retries\":\"3\"}}]}}", "spec.services[0].healthcheck.retries: expected an integer, got a string" },
  { "{\"spec\":{\"services\":[{\"volumeMounts\":[{\"readOnly\":\"yes\"}]}]}}", "spec.services[0].volumeMounts[0].readOnly: expected a boolean, got a string" },
  { "{\"spec\":{\"services\":[{\"dependsOn\":\"db\"}]}}", "spec.services[0].dependsOn: expected an array, got a string" },
  { "{\"spec\":{\"services\":[{\"dependsOn\":[1]}]}}", "spec.services[0].dependsOn[0]: expected a service name or {name, condition}, got a number" },
  { "{\"spec\":{\"services\":[{\"dependsOn\":[{\"name\":\"db\",\"condition\":\"Ready\"}]}]}}", "spec.services[0].dependsOn[0].condition: invalid condition \"Ready\": must be one of Started, Healthy, Completed" },
  { "{\"spec\":{\"services\":[{\"dependsOn\":[{\"name\":2}]}]}}", "spec.services[0].dependsOn[0].name: expected a string, got a number" },
  { "{\"spec\":{\"services\":[{\"dependsOn\":[{\"name\":\"db\"}]}]}}", "spec.services[0].dependsOn[0].condition: required in the {name, condition} form" },
  { "{\"spec\":{\"services\":[{\"entrypoint\":\"sh\"}]}}", "spec.services[0].entrypoint: expected an array, got a string" },
  { "{\"spec\":{\"services\":[{\"labels\":{\"a\":1}}]}}", "spec.services[0].labels.a: expected a string, got a number" },
  { "{\"spec\":{\"services\":[{\"capAdd\":[true]}]}}", "spec.services[0].capAdd[0]: expected a string, got a boolean" },
  { "{\"spec\":{\"services\":[{\"stopGracePeriodSeconds\":\"10s\"}]}}", "spec.services[0].stopGracePeriodSeconds: expected an integer, got a string" },
  { "{\"spec\":{\"services\":[{\"user\":1000}]}}", "spec.services[0].user: expected a string, got a number" },
  { "{\"spec\":{\"services\":[{\"ports\":[{\"containerPort\":80,\"hostIP\":0}]}]}}", "spec.services[0].ports[0].hostIP: expected a string, got a number" },
  { "{\"spec\":{\"services\":[{\"healthcheck\":{\"startPeriodSeconds\":1.5}}]}}", "spec.services[0].healthcheck.startPeriodSeconds: expected an integer, got a number" },
  { "{\"spec\":{\"volumes\":[{\"name\":\"d\",\"type\":\"HostPath\",\"hostPath\":[]}]}}", "spec.volumes[0].hostPath: expected a string, got an array" },
  { "{\"spec\":{\"volumes\":[{\"name\":\"d\",\"type\":\"Bind\"}]}}", "spec.volumes[0].type: invalid volume type \"Bind\": must be one of Ephemeral, Persistent, HostPath" },
  { "{\"spec\":{\"ingress\":[{\"name\":\"i\",\"access\":{\"scope\":\"Public\"}}]}}", "spec.ingress[0].access.scope: ingress i: only \"Internal\" scope is supported" },
  { "{\"spec\":{\"ingress\":[{\"target\":{\"port\":\"80\"}}]}}", "spec.ingress[0].target.port: expected an integer, got a string" },
  { "{\"spec\":{\"nodeSelector\":{\"zone\":null}}}", "spec.nodeSelector.zone: expected a string, got null" },
  { "{\"spec\":{\"expireAt\":12}}", "spec.expireAt: expected a string, got a number" },
  { "{\"status\":{\"phase\":\"Bogus\"}}", "status.phase: invalid phase \"Bogus\": must be one of Pending, Scheduled, Running, Failed, Terminating, Terminated" },
  { "{\"status\":{\"conditions\":[{\"type\":1}]}}", "status.conditions[0].type: expected a string, got a number" },
  { "{\"status\":{\"services\":[{\"restartCount\":\"1\"}]}}", "status.services[0].restartCount: expected an integer, got a string" },
  { "{\"kind\":\"Node\"}", "kind: expected \"Project\", got \"Node\"" },
  { "{\"apiVersion\":\"v2\"}", "apiVersion: unsupported apiVersion \"v2\": expected \"caravanserai/v1\"" },
};

static void
test_decode_errors (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (project_errors); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CaraProject) p = cara_project_from_data (project_errors[i].json, -1, &error);

      if (p != NULL)
        g_error ("%s: expected error \"%s\"", project_errors[i].json, project_errors[i].error);
      g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
      if (!g_str_has_prefix (error->message, project_errors[i].error))
        g_error ("%s:\n  expected: %s\n  got:      %s", project_errors[i].json, project_errors[i].error,
                 error->message);
    }
}

static void
test_decode_misc (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CaraProject) p = NULL;
  g_autoptr(CaraNode) n = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(CaraHeartbeat) h = NULL;
  g_autoptr(CaraStatusReport) r = NULL;

  /* Unknown fields are ignored; null reads as absent. */
  p = cara_project_from_data ("{\"extra\":1,\"metadata\":{\"name\":\"a\",\"uid\":\"x\",\"labels\":null},"
                              "\"spec\":{\"services\":[{\"name\":\"s\",\"image\":\"i\",\"x\":[]}],\"volumes\":null}}",
                              -1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (p->metadata.name, ==, "a");
  g_assert_nonnull (p->metadata.labels);
  g_clear_pointer (&p, cara_project_free);

  /* Bad JSON */
  p = cara_project_from_data ("{\"metadata\":", -1, &error);
  g_assert_null (p);
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "invalid JSON: "));
  g_clear_error (&error);
  p = cara_project_from_data ("", 0, &error);
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_clear_error (&error);
  p = cara_project_from_data ("{\"a\":{}}{\"b\":[]}", -1, &error);
  g_assert_null (p);
  g_assert_cmpstr (error->message, ==, "invalid JSON: more than one top-level value");
  g_clear_error (&error);
  p = cara_project_from_data ("{\"a\":[{}]} 1", -1, &error);
  g_assert_null (p);
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_clear_error (&error);

  n = cara_node_from_data ("{\"status\":{\"state\":\"Sleeping\"}}", -1, &error);
  g_assert_null (n);
  g_assert_cmpstr (error->message, ==, "status.state: invalid state \"Sleeping\": must be one of Ready, NotReady, Draining");
  g_clear_error (&error);
  n = cara_node_from_data ("{\"spec\":{\"unschedulable\":\"true\"}}", -1, &error);
  g_assert_cmpstr (error->message, ==, "spec.unschedulable: expected a boolean, got a string");
  g_clear_error (&error);
  n = cara_node_from_data ("{\"status\":{\"network\":{\"agentPort\":\"9090\"}}}", -1, &error);
  g_assert_cmpstr (error->message, ==, "status.network.agentPort: expected an integer, got a string");
  g_clear_error (&error);

  /* Heartbeat and status report bodies */
  node = cara_json_parse ("{\"state\":\"Bogus\"}", -1, NULL);
  h = cara_heartbeat_from_json (node, &error);
  g_assert_null (h);
  g_assert_cmpstr (error->message, ==, "state: invalid state \"Bogus\": must be one of Ready, NotReady, Draining");
  g_clear_error (&error);
  g_clear_pointer (&node, json_node_unref);
  node = cara_json_parse ("{}", -1, NULL);
  h = cara_heartbeat_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_false (h->has_network);
  g_assert_null (h->capacity);
  r = cara_status_report_from_json (node, &error);
  g_assert_null (r);
  g_assert_cmpstr (error->message, ==, "phase: phase is required");
  g_clear_error (&error);
  g_clear_pointer (&node, json_node_unref);
  node = cara_json_parse ("{\"phase\":\"Done\"}", -1, NULL);
  r = cara_status_report_from_json (node, &error);
  g_assert_null (r);
  g_assert_cmpstr (error->message, ==, "phase: invalid phase \"Done\": must be one of Pending, Scheduled, Running, Failed, Terminating, Terminated");
  g_clear_error (&error);

  /* kind */
  g_clear_pointer (&node, json_node_unref);
  node = cara_json_parse ("{\"kind\":\"Project\"}", -1, NULL);
  g_assert_cmpstr (cara_json_get_kind (node), ==, "Project");
  g_clear_pointer (&node, json_node_unref);
  node = cara_json_parse ("[1]", -1, NULL);
  g_assert_cmpstr (cara_json_get_kind (node), ==, "");
}

static void
test_encode_omitempty (void)
{
  g_autoptr(CaraProject) p = cara_project_new ("web");
  g_autoptr(CaraNode) n = cara_node_new ("n1");
  g_autofree char *pj = NULL;
  g_autofree char *nj = NULL;

  pj = cara_project_to_data (p);
  g_assert_cmpstr (pj, ==,
                   "{\"apiVersion\":\"caravanserai/v1\",\"kind\":\"Project\",\"metadata\":{\"name\":\"web\","
                   "\"createdAt\":\"0001-01-01T00:00:00Z\",\"updatedAt\":\"0001-01-01T00:00:00Z\"},"
                   "\"spec\":{\"services\":[]},\"status\":{}}");
  nj = cara_node_to_data (n);
  g_assert_cmpstr (nj, ==,
                   "{\"apiVersion\":\"caravanserai/v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\","
                   "\"createdAt\":\"0001-01-01T00:00:00Z\",\"updatedAt\":\"0001-01-01T00:00:00Z\"},"
                   "\"spec\":{},\"status\":{\"network\":{\"throughput\":{\"lastTestTime\":\"0001-01-01T00:00:00Z\"}},"
                   "\"info\":{},\"lastHeartbeat\":\"0001-01-01T00:00:00Z\"}}");
}

/* An ingress without a scope (absent or "") is written without "access"; Internal round-trips. */
static void
test_ingress_access (void)
{
  static const char *const inputs[] = {
    "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ingress\":[{\"name\":\"i\",\"target\":{\"service\":\"s\",\"port\":80}}]}}",
    "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ingress\":[{\"name\":\"i\",\"target\":{\"service\":\"s\",\"port\":80},\"access\":{}}]}}",
    "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ingress\":[{\"name\":\"i\",\"target\":{\"service\":\"s\",\"port\":80},\"access\":{\"scope\":\"\"}}]}}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CaraProject) p = cara_project_from_data (inputs[i], -1, &error);
      g_autofree char *out = NULL;

      g_assert_no_error (error);
      out = cara_project_to_data (p);
      g_assert_null (strstr (out, "access"));
      g_assert_nonnull (strstr (out, "\"ingress\":[{\"name\":\"i\",\"target\":{\"service\":\"s\",\"port\":80}}]"));
    }

  g_autoptr(GError) error = NULL;
  g_autoptr(CaraProject) p = cara_project_from_data (
    "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ingress\":[{\"name\":\"i\",\"target\":{\"service\":\"s\",\"port\":80},"
    "\"access\":{\"scope\":\"Internal\"}}]}}", -1, &error);
  g_assert_no_error (error);
  g_autofree char *out = cara_project_to_data (p);
  g_assert_nonnull (strstr (out, "\"access\":{\"scope\":\"Internal\"}"));
  g_autoptr(CaraProject) again = cara_project_from_data (out, -1, &error);
  g_assert_no_error (error);
  g_autofree char *again_out = cara_project_to_data (again);
  g_assert_cmpstr (again_out, ==, out);
}

static void
test_enums (void)
{
  CaraProjectPhase phase;
  CaraNodeState state;
  CaraRestartPolicy rp;
  CaraVolumeType vt;
  CaraProtocol proto;
  CaraIngressScope scope;

  g_assert_cmpstr (cara_project_phase_to_string (CARA_PROJECT_PHASE_TERMINATED), ==, "Terminated");
  g_assert_cmpstr (cara_project_phase_to_string (CARA_PROJECT_PHASE_NONE), ==, "");
  g_assert_null (cara_project_phase_to_string ((CaraProjectPhase) 99));
  g_assert_true (cara_project_phase_from_string ("Scheduled", &phase));
  g_assert_cmpint (phase, ==, CARA_PROJECT_PHASE_SCHEDULED);
  g_assert_true (cara_project_phase_from_string ("", &phase));
  g_assert_cmpint (phase, ==, CARA_PROJECT_PHASE_NONE);
  g_assert_false (cara_project_phase_from_string ("running", &phase));
  g_assert_cmpstr (cara_node_state_to_string (CARA_NODE_STATE_NOT_READY), ==, "NotReady");
  g_assert_true (cara_node_state_from_string ("Draining", &state));
  g_assert_cmpint (state, ==, CARA_NODE_STATE_DRAINING);
  g_assert_false (cara_node_state_from_string ("Gone", &state));
  g_assert_cmpstr (cara_restart_policy_to_string (CARA_RESTART_POLICY_ON_FAILURE), ==, "OnFailure");
  g_assert_true (cara_restart_policy_from_string ("Never", &rp));
  g_assert_cmpint (rp, ==, CARA_RESTART_POLICY_NEVER);
  g_assert_cmpstr (cara_volume_type_to_string (CARA_VOLUME_TYPE_PERSISTENT), ==, "Persistent");
  g_assert_true (cara_volume_type_from_string ("Ephemeral", &vt));
  g_assert_cmpint (vt, ==, CARA_VOLUME_TYPE_EPHEMERAL);
  g_assert_cmpstr (cara_protocol_to_string (CARA_PROTOCOL_UDP), ==, "udp");
  g_assert_true (cara_protocol_from_string ("tcp", &proto));
  g_assert_false (cara_protocol_from_string ("TCP", &proto));
  g_assert_cmpstr (cara_ingress_scope_to_string (CARA_INGRESS_SCOPE_INTERNAL), ==, "Internal");
  g_assert_true (cara_ingress_scope_from_string ("Internal", &scope));
  g_assert_false (cara_ingress_scope_from_string ("Public", &scope));
}

static void
test_conditions (void)
{
  g_autoptr(CaraNode) n = cara_node_new ("n");
  GPtrArray *c = n->status.conditions;
  CaraCondition *found;

  cara_conditions_upsert (c, cara_condition_new ("Ready", "False", "HeartbeatTimeout", NULL));
  cara_conditions_upsert (c, cara_condition_new ("DiskPressure", "False", NULL, NULL));
  g_assert_cmpuint (c->len, ==, 2);
  g_assert_nonnull (((CaraCondition *) c->pdata[0])->last_transition_time);
  /* Restating a condition (same status and reason) keeps its transition time. */
  GDateTime *first = ((CaraCondition *) c->pdata[0])->last_transition_time;
  g_autoptr(GDateTime) kept = g_date_time_ref (first);
  g_usleep (2000);
  cara_conditions_upsert (c, cara_condition_new ("Ready", "False", "HeartbeatTimeout", "again"));
  g_assert_true (g_date_time_equal (((CaraCondition *) c->pdata[0])->last_transition_time, kept));
  g_assert_cmpstr (((CaraCondition *) c->pdata[0])->message, ==, "again");
  cara_conditions_upsert (c, cara_condition_new ("Ready", "True", "AgentReady", "back"));
  g_assert_cmpuint (c->len, ==, 2);
  /* A real transition moves it. */
  g_assert_false (g_date_time_equal (((CaraCondition *) c->pdata[0])->last_transition_time, kept));
  /* Replaced in place: order of first insertion is kept. */
  g_assert_cmpstr (((CaraCondition *) c->pdata[0])->type, ==, "Ready");
  g_assert_cmpstr (((CaraCondition *) c->pdata[0])->reason, ==, "AgentReady");
  found = cara_conditions_find (c, "DiskPressure");
  g_assert_nonnull (found);
  g_assert_null (cara_conditions_find (c, "MemoryPressure"));
  g_assert_true (cara_conditions_remove (c, "DiskPressure"));
  g_assert_false (cara_conditions_remove (c, "DiskPressure"));
  g_assert_cmpuint (c->len, ==, 1);
}

static void
test_find_service (void)
{
  g_autoptr(CaraProject) p = cara_project_new ("p");

  g_ptr_array_add (p->spec.services, cara_service_new ("web", "nginx"));
  g_ptr_array_add (p->spec.services, cara_service_new ("db", "pg"));
  g_assert_cmpstr (cara_project_find_service (p, "db")->image, ==, "pg");
  g_assert_null (cara_project_find_service (p, "cache"));
}

static void
test_times (void)
{
  g_autoptr(GDateTime) t = NULL;
  g_autoptr(GDateTime) local = NULL;
  g_autoptr(GTimeZone) tz = g_time_zone_new_identifier ("+02:00");
  g_autoptr(GError) error = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *z = cara_time_format (NULL);
  GDateTime *zero = (GDateTime *) 0x1;

  g_assert_cmpstr (z, ==, "0001-01-01T00:00:00Z");
  g_assert_true (cara_time_parse ("0001-01-01T00:00:00Z", &zero, &error));
  g_assert_null (zero);
  g_assert_true (cara_time_parse ("2026-04-12T10:00:00.120+02:00", &t, &error));
  g_assert_no_error (error);
  a = cara_time_format (t);
  g_assert_cmpstr (a, ==, "2026-04-12T08:00:00.12Z");
  local = g_date_time_new (tz, 2026, 1, 2, 3, 4, 5.0);
  b = cara_time_format (local);
  g_assert_cmpstr (b, ==, "2026-01-02T01:04:05Z");
  g_assert_false (cara_time_parse ("2026-04-12 08:00:00", &t, &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
}

static void
test_string_map (void)
{
  g_autoptr(GHashTable) m = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GHashTable) back = NULL;
  g_autofree char *s = NULL;

  g_hash_table_insert (m, g_strdup ("b"), g_strdup ("2"));
  g_hash_table_insert (m, g_strdup ("a"), g_strdup ("1"));
  node = cara_string_map_to_json (m);
  s = cara_json_to_string (node, FALSE);
  g_assert_cmpstr (s, ==, "{\"a\":\"1\",\"b\":\"2\"}");
  g_assert_true (cara_string_map_from_json (node, "x", &back, NULL));
  g_assert_cmpuint (g_hash_table_size (back), ==, 2);
}

/* A status report carries conditions besides the phase (ServicesReady), both ways. */
static void
test_status_report_conditions (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = cara_json_parse (
      "{\"phase\":\"Running\",\"conditions\":[{\"type\":\"ServicesReady\",\"status\":\"False\","
      "\"reason\":\"CrashLoop\",\"message\":\"web restarted 4 times in 5m\"}]}", -1, NULL);
  g_autoptr (CaraStatusReport) r = cara_status_report_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->conditions->len, ==, 1);
  CaraCondition *c = g_ptr_array_index (r->conditions, 0);
  g_assert_cmpstr (c->type, ==, "ServicesReady");
  g_assert_cmpstr (c->status, ==, "False");
  g_assert_cmpstr (c->reason, ==, "CrashLoop");
  g_assert_cmpstr (c->message, ==, "web restarted 4 times in 5m");
  g_autoptr (JsonNode) back = cara_status_report_to_json (r);
  JsonArray *a = json_object_get_array_member (json_node_get_object (back), "conditions");
  g_assert_cmpuint (json_array_get_length (a), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (a, 0), "reason"), ==, "CrashLoop");

  /* Without conditions nothing is emitted (older agents' bodies stay as they were). */
  g_autoptr (CaraStatusReport) empty = cara_status_report_new ();
  empty->phase = CARA_PROJECT_PHASE_RUNNING;
  g_autoptr (JsonNode) e = cara_status_report_to_json (empty);
  g_assert_false (json_object_has_member (json_node_get_object (e), "conditions"));

  g_autoptr (JsonNode) bad = cara_json_parse ("{\"phase\":\"Running\",\"conditions\":[{\"type\":1}]}", -1, NULL);
  g_autoptr (CaraStatusReport) none = cara_status_report_from_json (bad, &error);
  g_assert_null (none);
  g_assert_nonnull (strstr (error->message, "conditions[0].type"));
}

/* The status report's update fields (SPEC §13) survive a round trip; wrong types name the field. */
static void
test_status_report_rollout (void)
{
  const char *text = "{\"phase\":\"Running\",\"observedGeneration\":4,\"rollbackGeneration\":5,"
                     "\"rollbackReason\":\"service web: unhealthy\"}";
  g_autoptr (JsonNode) n = cara_json_parse (text, -1, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraStatusReport) r = cara_status_report_from_json (n, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->observed_generation, ==, 4);
  g_assert_cmpint (r->rollback_generation, ==, 5);
  g_assert_cmpstr (r->rollback_reason, ==, "service web: unhealthy");
  g_autoptr (JsonNode) back = cara_status_report_to_json (r);
  g_autofree char *out = cara_json_to_string (back, FALSE);
  g_assert_cmpstr (out, ==, text);
  g_autoptr (JsonNode) bad = cara_json_parse ("{\"phase\":\"Running\",\"observedGeneration\":\"4\"}", -1, NULL);
  g_autoptr (CaraStatusReport) none = cara_status_report_from_json (bad, &error);
  g_assert_null (none);
  g_assert_nonnull (strstr (error->message, "observedGeneration"));
}

int
main (int argc, char **argv)
{
  const char *projects[] = { "project-full.json", "project-minimal.json", "project-compose-fields.json", "project-rollout.json" };
  const char *nodes[] = { "node-full.json", "node-registered.json" };

  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (projects); i++)
    {
      g_autofree char *path = g_strdup_printf ("/json/golden/%s", projects[i]);
      g_test_add_data_func (path, projects[i], test_golden_project);
    }
  for (guint i = 0; i < G_N_ELEMENTS (nodes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/json/golden/%s", nodes[i]);
      g_test_add_data_func (path, nodes[i], test_golden_node);
    }
  g_test_add_func ("/json/golden/lists", test_golden_lists);
  g_test_add_func ("/json/golden/bodies", test_golden_bodies);
  g_test_add_func ("/json/parts", test_parts);
  g_test_add_func ("/json/decode-errors", test_decode_errors);
  g_test_add_func ("/json/decode-misc", test_decode_misc);
  g_test_add_func ("/json/encode-omitempty", test_encode_omitempty);
  g_test_add_func ("/json/ingress-access", test_ingress_access);
  g_test_add_func ("/model/enums", test_enums);
  g_test_add_func ("/model/conditions", test_conditions);
  g_test_add_func ("/model/find-service", test_find_service);
  g_test_add_func ("/json/times", test_times);
  g_test_add_func ("/json/string-map", test_string_map);
  g_test_add_func ("/json/status-report-conditions", test_status_report_conditions);
  g_test_add_func ("/json/status-report-rollout", test_status_report_rollout);
  return g_test_run ();
}
