/* SPDX-License-Identifier: Apache-2.0 */
/* status.migration (SPEC §14): JSON round trip, errors with field paths, the known-field table,
 * phases, and which projects have data bound to their node. */
#include "config.h"

#include "cara-error.h"
#include "cara-fields.h"
#include "cara-json.h"

#define PROJECT_WITH(status)                                                                         \
  "{\"apiVersion\":\"caravanserai/v1\",\"kind\":\"Project\",\"metadata\":{\"name\":\"db\"},"         \
  "\"spec\":{\"services\":[{\"name\":\"db\",\"image\":\"busybox\"}]},\"status\":" status "}"

static void
test_round_trip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraProject) p = cara_project_from_data (
    PROJECT_WITH ("{\"phase\":\"Running\",\"nodeRef\":\"n1\",\"migration\":{\"from\":\"n1\",\"to\":\"n2\","
                  "\"phase\":\"Copying\",\"bytesCopied\":1048576,\"bytesTotal\":209715200,\"message\":\"copying\","
                  "\"discardData\":true}}"), -1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p->status.migration);
  g_assert_cmpstr (p->status.migration->from, ==, "n1");
  g_assert_cmpstr (p->status.migration->to, ==, "n2");
  g_assert_cmpint (p->status.migration->phase, ==, CARA_MIGRATION_PHASE_COPYING);
  g_assert_cmpint (p->status.migration->bytes_copied, ==, 1048576);
  g_assert_cmpint (p->status.migration->bytes_total, ==, 209715200);
  g_assert_true (p->status.migration->discard_data);
  g_assert_true (cara_migration_active (p->status.migration));

  g_autoptr (CaraProject) copy = cara_project_copy (p);
  g_autoptr (JsonNode) a = cara_project_to_json (p);
  g_autoptr (JsonNode) b = cara_project_to_json (copy);
  g_autofree char *ta = json_to_string (a, FALSE);
  g_autofree char *tb = json_to_string (b, FALSE);
  g_assert_cmpstr (ta, ==, tb);
  g_assert_nonnull (strstr (ta, "\"migration\":{\"from\":\"n1\",\"to\":\"n2\",\"phase\":\"Copying\","
                                "\"bytesCopied\":1048576,\"bytesTotal\":209715200,\"message\":\"copying\","
                                "\"discardData\":true}"));
  g_autoptr (CaraProject) again = cara_project_from_data (ta, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (again->status.migration->phase, ==, CARA_MIGRATION_PHASE_COPYING);

  /* No migration: no member at all; a started one shows its zero counters. */
  g_autoptr (CaraProject) plain = cara_project_from_data (PROJECT_WITH ("{\"phase\":\"Running\"}"), -1, &error);
  g_assert_no_error (error);
  g_assert_null (plain->status.migration);
  g_autoptr (JsonNode) pj = cara_project_to_json (plain);
  g_autofree char *pt = json_to_string (pj, FALSE);
  g_assert_null (strstr (pt, "migration"));
  plain->status.migration = cara_migration_new ("n1", "n2");
  plain->status.migration->phase = CARA_MIGRATION_PHASE_STOPPING;
  g_autoptr (JsonNode) sj = cara_project_to_json (plain);
  g_autofree char *st = json_to_string (sj, FALSE);
  g_assert_nonnull (strstr (st, "\"bytesCopied\":0,\"bytesTotal\":0"));
}

static void
test_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraProject) p = cara_project_from_data (PROJECT_WITH ("{\"migration\":{\"phase\":\"Flying\"}}"), -1,
                                                      &error);
  g_assert_null (p);
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "status.migration.phase"));
  g_clear_error (&error);
  g_autoptr (CaraProject) q = cara_project_from_data (PROJECT_WITH ("{\"migration\":{\"bytesCopied\":\"many\"}}"), -1,
                                                      &error);
  g_assert_null (q);
  g_assert_nonnull (strstr (error->message, "status.migration.bytesCopied"));
}

static void
test_fields (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) ok = cara_json_parse (PROJECT_WITH ("{\"migration\":{\"from\":\"a\",\"to\":\"b\",\"phase\":"
                                                           "\"Done\",\"bytesCopied\":1,\"bytesTotal\":1,\"message\":"
                                                           "\"m\",\"discardData\":false}}"), -1, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) none = cara_fields_check (ok, "Project", CARA_FIELDS_ALL);
  g_assert_cmpuint (none ? none->len : 0, ==, 0);
  g_autoptr (JsonNode) bad = cara_json_parse (PROJECT_WITH ("{\"migration\":{\"bytesCopid\":1}}"), -1, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) one = cara_fields_check (bad, "Project", CARA_FIELDS_ALL);
  g_assert_nonnull (one);
  g_assert_cmpuint (one->len, ==, 1);
}

static void
test_phases (void)
{
  const char *names[] = { "", "Stopping", "Copying", "Starting", "Done", "Failed" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      CaraMigrationPhase ph;
      g_assert_cmpstr (cara_migration_phase_to_string ((CaraMigrationPhase) i), ==, names[i]);
      g_assert_true (cara_migration_phase_from_string (names[i], &ph));
      g_assert_cmpint (ph, ==, i);
    }
  CaraMigrationPhase ph;
  g_assert_false (cara_migration_phase_from_string ("stopping", &ph));
  g_assert_null (cara_migration_phase_to_string ((CaraMigrationPhase) 42));

  g_autoptr (CaraMigration) m = cara_migration_new ("a", "b");
  g_assert_false (cara_migration_active (NULL));
  g_assert_false (cara_migration_active (m)); /* NONE */
  for (CaraMigrationPhase p = CARA_MIGRATION_PHASE_STOPPING; p <= CARA_MIGRATION_PHASE_FAILED; p++)
    {
      m->phase = p;
      g_assert_cmpint (cara_migration_active (m), ==, p <= CARA_MIGRATION_PHASE_STARTING);
    }
}

static void
test_node_data (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraProject) stateless = cara_project_from_data (PROJECT_WITH ("{}"), -1, &error);
  g_assert_no_error (error);
  g_assert_false (cara_project_has_node_data (stateless));
  CaraVolume *v = g_new0 (CaraVolume, 1);
  v->name = g_strdup ("cache");
  v->type = CARA_VOLUME_TYPE_EPHEMERAL;
  g_ptr_array_add (stateless->spec.volumes, v);
  g_assert_false (cara_project_has_node_data (stateless));
  v->type = CARA_VOLUME_TYPE_PERSISTENT;
  g_assert_true (cara_project_has_node_data (stateless));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/migration/round-trip", test_round_trip);
  g_test_add_func ("/migration/errors", test_errors);
  g_test_add_func ("/migration/fields", test_fields);
  g_test_add_func ("/migration/phases", test_phases);
  g_test_add_func ("/migration/node-data", test_node_data);
  return g_test_run ();
}
