/* SPDX-License-Identifier: Apache-2.0 */
/* The Compose converter (SPEC §10).  Most cases are directories of data/compose/: compose.yaml,
 * optional "environ" (caractrl's environment, KEY=VALUE lines), "args" (-p NAME, --env-file F,
 * --profile P, --strict, -f FILE, one per line), and the expected results: "expected.json" (the
 * manifest, absent when the file has errors) and "expected.txt" (every diagnostic, "error: " or
 * "warning: " then "FILE:LINE: key.path: message", in order).  COMPOSE_TEST_REGEN=1 rewrites the
 * expected files (review the diff!). */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "cara-error.h"
#include "cara-fields.h"
#include "cara-json.h"
#include "cara-manifest.h"
#include "cara-validate.h"
#include "compose.h"

static char *
read_opt (const char *dir, const char *name)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  char *data = NULL;
  if (!g_file_get_contents (p, &data, NULL, NULL))
    return NULL;
  return data;
}

static void
write_or_compare (const char *dir, const char *name, const char *actual)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  g_autofree char *expected = read_opt (dir, name);

  if (g_getenv ("COMPOSE_TEST_REGEN") != NULL)
    {
      if (actual == NULL)
        g_unlink (p);
      else
        g_assert_true (g_file_set_contents (p, actual, -1, NULL));
      return;
    }
  if (g_strcmp0 (expected, actual) != 0)
    g_error ("%s/%s differs\nexpected:\n%s\nactual:\n%s", dir, name, expected ? expected : "(none)\n",
             actual ? actual : "(none)\n");
}

/* @a and @b hold the same, in any member order; an empty string in @a may be left out of @b
 * (the model writes no empty env value). */
static gboolean
same_content (JsonNode *a, JsonNode *b)
{
  if (b == NULL)
    return JSON_NODE_HOLDS_VALUE (a) && json_node_get_value_type (a) == G_TYPE_STRING &&
           *json_node_get_string (a) == '\0';
  if (JSON_NODE_TYPE (a) != JSON_NODE_TYPE (b))
    return FALSE;
  if (JSON_NODE_HOLDS_OBJECT (a))
    {
      JsonObject *ao = json_node_get_object (a), *bo = json_node_get_object (b);
      g_autoptr(GList) members = json_object_get_members (ao);
      for (GList *l = members; l != NULL; l = l->next)
        if (!same_content (json_object_get_member (ao, l->data), json_object_get_member (bo, l->data)))
          return FALSE;
      return json_object_get_size (bo) <= json_object_get_size (ao);
    }
  if (JSON_NODE_HOLDS_ARRAY (a))
    {
      JsonArray *aa = json_node_get_array (a), *ba = json_node_get_array (b);
      if (json_array_get_length (aa) != json_array_get_length (ba))
        return FALSE;
      for (guint i = 0; i < json_array_get_length (aa); i++)
        if (!same_content (json_array_get_element (aa, i), json_array_get_element (ba, i)))
          return FALSE;
      return TRUE;
    }
  return json_node_equal (a, b);
}

/* Every manifest the converter makes is one the server takes: no unknown field, it decodes and
 * validates, and it comes back from the model exactly as it was (dependsOn items as given). */
static void
check_accepted (const char *dir, JsonNode *converted)
{
  /* The Secrets a Compose file makes travel in the spec until apply/convert splits them off. */
  g_autoptr(JsonNode) manifest = json_node_copy (converted);
  JsonObject *spec = json_object_get_object_member (json_node_get_object (manifest), "spec");
  if (spec != NULL && json_object_has_member (spec, "x-caravanserai-compose-secrets"))
    json_object_remove_member (spec, "x-caravanserai-compose-secrets");
  g_autoptr(GPtrArray) unknown = cara_fields_check (manifest, "Project", CARA_FIELDS_ALL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CaraProject) p = NULL;
  g_autoptr(JsonNode) back = NULL;
  g_autoptr(JsonNode) want = json_node_copy (manifest);
  g_autofree char *a = NULL, *b = NULL;

  if (unknown->len > 0)
    g_error ("%s: the manifest has an unknown field: %s", dir, ((GError *) unknown->pdata[0])->message);
  p = cara_project_from_json (manifest, &error);
  if (p == NULL || !cara_validate_project (p, &error))
    g_error ("%s: the manifest is refused: %s", dir, error->message);
  back = cara_project_to_json (p);
  /* The model adds what a server would (times, status); compare the spec. */
  a = cara_json_to_string (json_object_get_member (json_node_get_object (want), "spec"), FALSE);
  b = cara_json_to_string (json_object_get_member (json_node_get_object (back), "spec"), FALSE);
  if (!same_content (json_object_get_member (json_node_get_object (want), "spec"),
                     json_object_get_member (json_node_get_object (back), "spec")))
    g_error ("%s: the model changed the spec:\n%s\n%s", dir, a, b);
}

static void
run_case (gconstpointer data)
{
  const char *dir = data;
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *environ_text = read_opt (dir, "environ");
  g_autofree char *args_text = read_opt (dir, "args");
  g_auto(GStrv) environ_ = environ_text ? g_strsplit (g_strchomp (environ_text), "\n", 0) : g_new0 (char *, 1);
  g_auto(GStrv) args = args_text ? g_strsplit (g_strchomp (args_text), "\n", 0) : g_new0 (char *, 1);
  g_autoptr(GPtrArray) profiles = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) docs = NULL;
  g_autoptr(GString) diags = g_string_new (NULL);
  g_autoptr(JsonNode) manifest = NULL;
  g_autoptr(CtlComposeDiag) diag = NULL;
  g_autofree char *json = NULL;
  g_autofree char *project = NULL, *env_file = NULL, *file = g_strdup ("compose.yaml");
  CtlComposeOptions opts = { 0 };

  for (guint i = 0; args[i] != NULL; i++)
    {
      if (g_str_has_prefix (args[i], "-p "))
        project = g_strdup (args[i] + 3);
      else if (g_str_has_prefix (args[i], "--env-file "))
        env_file = g_strdup (args[i] + 11);
      else if (g_str_has_prefix (args[i], "--profile "))
        g_ptr_array_add (profiles, g_strdup (args[i] + 10));
      else if (g_str_equal (args[i], "--strict"))
        opts.strict = TRUE;
      else if (g_str_has_prefix (args[i], "-f "))
        { g_free (file); file = g_strdup (args[i] + 3); }
      else if (*args[i] != '\0')
        g_error ("%s/args: unknown line %s", dir, args[i]);
    }
  g_ptr_array_add (profiles, NULL);
  opts.project_name = project;
  opts.env_file = env_file;
  opts.profiles = (const char *const *) profiles->pdata;
  opts.environ = environ_;

  g_assert_cmpint (g_chdir (dir), ==, 0);
  docs = cara_manifest_read_path (file, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (docs->len, ==, 1);
  g_assert_true (ctl_compose_is_compose (((CaraManifestDoc *) docs->pdata[0])->node));
  diag = ctl_compose_diag_new (docs->pdata[0]);
  manifest = ctl_compose_load (docs->pdata[0], &opts, diag);
  g_assert_cmpint (g_chdir (cwd), ==, 0);

  for (guint i = 0; i < diag->errors->len; i++)
    g_string_append_printf (diags, "error: %s\n", (const char *) diag->errors->pdata[i]);
  for (guint i = 0; i < diag->warnings->len; i++)
    g_string_append_printf (diags, "warning: %s\n", (const char *) diag->warnings->pdata[i]);
  if (manifest != NULL)
    {
      json = cara_json_to_string (manifest, TRUE);
      g_autofree char *nl = g_strconcat (json, "\n", NULL);
      { g_free (json); json = g_steal_pointer (&nl); }
      g_assert_cmpuint (diag->errors->len, ==, 0);
      check_accepted (dir, manifest);
    }
  else
    g_assert_cmpuint (diag->errors->len, >, 0);
  write_or_compare (dir, "expected.json", json);
  write_or_compare (dir, "expected.txt", diags->len ? diags->str : NULL);
}

/* ---- direct cases ---- */

static GHashTable *
env_of (const char *first, ...)
{
  GHashTable *t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  va_list ap;
  va_start (ap, first);
  for (const char *k = first; k != NULL; k = va_arg (ap, const char *))
    g_hash_table_replace (t, g_strdup (k), g_strdup (va_arg (ap, const char *)));
  va_end (ap);
  return t;
}

static void
check_interp (GHashTable *env, const char *in, const char *out, const char *err)
{
  g_autofree char *res = NULL;
  g_autofree char *msg = NULL;
  gboolean ok = ctl_compose_interpolate (in, env, &res, NULL, &msg);

  if (err != NULL)
    {
      g_assert_false (ok);
      if (strstr (msg, err) == NULL)
        g_error ("%s: expected an error with \"%s\", got \"%s\"", in, err, msg);
    }
  else
    {
      if (!ok)
        g_error ("%s: %s", in, msg);
      g_assert_cmpstr (res, ==, out);
    }
}

static void
test_interpolation (void)
{
  g_autoptr(GHashTable) env = env_of ("A", "a", "EMPTY", "", "N", "5", NULL);
  g_autoptr(GPtrArray) unset = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *out = NULL;
  g_autofree char *msg = NULL;

  check_interp (env, "plain", "plain", NULL);
  check_interp (env, "$A-${A}", "a-a", NULL);
  check_interp (env, "x${A}y$A.z", "xaya.z", NULL);
  check_interp (env, "${UNSET:-d}|${EMPTY:-d}|${A:-d}", "d|d|a", NULL);
  check_interp (env, "${UNSET-d}|${EMPTY-d}|${A-d}", "d||a", NULL);
  check_interp (env, "${UNSET:+r}|${EMPTY:+r}|${A:+r}", "||r", NULL);
  check_interp (env, "${UNSET+r}|${EMPTY+r}|${A+r}", "|r|r", NULL);
  check_interp (env, "${UNSET:-${A}}", "a", NULL);
  check_interp (env, "${UNSET:-${ALSO:-deep}}", "deep", NULL);
  check_interp (env, "${UNSET:-a:b}", "a:b", NULL);
  check_interp (env, "$$A $${A} $$", "$A ${A} $", NULL);
  check_interp (env, "${A:?never}", "a", NULL);
  check_interp (env, "${EMPTY?fine}", "", NULL);
  check_interp (env, "${UNSET:?give UNSET}", NULL, "required variable UNSET is missing a value: give UNSET");
  check_interp (env, "${EMPTY:?}", NULL, "required variable EMPTY is missing a value");
  check_interp (env, "${UNSET?no}", NULL, "required variable UNSET is missing a value: no");
  check_interp (env, "${A", NULL, "invalid interpolation format");
  check_interp (env, "${}", NULL, "invalid interpolation format");
  check_interp (env, "${1A}", NULL, "invalid interpolation format");
  check_interp (env, "${A!x}", NULL, "invalid interpolation format");
  check_interp (env, "cost $5", NULL, "invalid interpolation format");
  check_interp (env, "trailing $", NULL, "invalid interpolation format");

  g_assert_true (ctl_compose_interpolate ("$X ${X} ${Y:-d} ${Z}", env, &out, unset, &msg));
  g_assert_cmpstr (out, ==, "  d ");
  g_assert_cmpuint (unset->len, ==, 2);
  g_assert_cmpstr (unset->pdata[0], ==, "X");
  g_assert_cmpstr (unset->pdata[1], ==, "Z");
}

static void
test_dotenv (void)
{
  g_autoptr(GHashTable) lookup = env_of ("FROM_ENV", "e", "BARE", "b", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) order = NULL;
  g_autoptr(GHashTable) vars =
    ctl_compose_dotenv_parse ("t.env",
                              "# comment\n"
                              "\n"
                              "A=1\n"
                              "export B = two words  # comment\n"
                              "C='single ${A} $$ # not a comment'\n"
                              "D=\"double ${A}\\n\\\"q\\\" \\$A\"\n"
                              "E=${FROM_ENV}-${A}\n"
                              "F=\"multi\nline\"\n"
                              "BARE\n"
                              "MISSING\n"
                              "G=x#y\n"
                              "H=\n",
                              lookup, &order, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (vars, "A"), ==, "1");
  g_assert_cmpstr (g_hash_table_lookup (vars, "B"), ==, "two words");
  g_assert_cmpstr (g_hash_table_lookup (vars, "C"), ==, "single ${A} $$ # not a comment");
  g_assert_cmpstr (g_hash_table_lookup (vars, "D"), ==, "double 1\n\"q\" $A");
  g_assert_cmpstr (g_hash_table_lookup (vars, "E"), ==, "e-1");
  g_assert_cmpstr (g_hash_table_lookup (vars, "F"), ==, "multi\nline");
  g_assert_cmpstr (g_hash_table_lookup (vars, "BARE"), ==, "b");
  g_assert_false (g_hash_table_contains (vars, "MISSING"));
  g_assert_cmpstr (g_hash_table_lookup (vars, "G"), ==, "x#y");
  g_assert_cmpstr (g_hash_table_lookup (vars, "H"), ==, "");
  g_assert_cmpuint (order->len, ==, 9);
  g_assert_cmpstr (order->pdata[0], ==, "A");
  g_assert_cmpstr (order->pdata[8], ==, "H");

  g_clear_pointer (&vars, g_hash_table_unref);
  vars = ctl_compose_dotenv_parse ("t.env", "A=1\n2B=x\n", NULL, NULL, &error);
  g_assert_null (vars);
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "t.env:2: invalid variable name \"2B\"");
  g_clear_error (&error);
  vars = ctl_compose_dotenv_parse ("t.env", "A=\"open\n", NULL, NULL, &error);
  g_assert_null (vars);
  g_assert_cmpstr (error->message, ==, "t.env:1: A: unterminated quoted value");
  g_clear_error (&error);
  vars = ctl_compose_dotenv_parse ("t.env", "A='x' y\n", NULL, NULL, &error);
  g_assert_null (vars);
  g_clear_error (&error);
  vars = ctl_compose_dotenv_parse ("t.env", "\nA=${NOPE:?need NOPE}\n", NULL, NULL, &error);
  g_assert_null (vars);
  g_assert_cmpstr (error->message, ==, "t.env:2: required variable NOPE is missing a value: need NOPE");
}

static void
test_ports (void)
{
  struct { const char *in; const char *out; } cases[] = {
    { "80", "80/tcp" },
    { "8080:80", "8080->80/tcp" },
    { "127.0.0.1:8080:80", "127.0.0.1:8080->80/tcp" },
    { "127.0.0.1::80", "127.0.0.1:80/tcp" },
    { "[::1]:8080:80", "::1:8080->80/tcp" },
    { "8080:80/udp", "8080->80/udp" },
    { "9000-9002:9100-9102", "9000->9100/tcp 9001->9101/tcp 9002->9102/tcp" },
    { "9000-9001", "9000/tcp 9001/tcp" },
  };
  const char *bad[] = { "", "x", "0", "65536", "80:", "1:2:3:4", "80/sctp", "9000-9002:9000-9001", "9000-8000",
                        "8000-8002:80", "[::1:80:80" };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GPtrArray) ports = g_ptr_array_new_with_free_func ((GDestroyNotify) ctl_compose_port_free);
      g_autoptr(GString) s = g_string_new (NULL);
      g_autofree char *msg = NULL;
      if (!ctl_compose_parse_port (cases[i].in, ports, &msg))
        g_error ("%s: %s", cases[i].in, msg);
      for (guint k = 0; k < ports->len; k++)
        {
          CtlComposePort *p = ports->pdata[k];
          if (k)
            g_string_append_c (s, ' ');
          if (p->host_ip)
            g_string_append_printf (s, "%s:", p->host_ip);
          if (p->host_port)
            g_string_append_printf (s, "%" G_GINT64_FORMAT "->", p->host_port);
          g_string_append_printf (s, "%" G_GINT64_FORMAT "/%s", p->container_port, p->protocol);
        }
      g_assert_cmpstr (s->str, ==, cases[i].out);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GPtrArray) ports = g_ptr_array_new_with_free_func ((GDestroyNotify) ctl_compose_port_free);
      g_autofree char *msg = NULL;
      if (ctl_compose_parse_port (bad[i], ports, &msg))
        g_error ("\"%s\" was accepted", bad[i]);
      g_assert_nonnull (msg);
    }
}

static void
test_values (void)
{
  struct { const char *in; gint64 secs; gboolean rounded; } durations[] = {
    { "10s", 10, FALSE }, { "1m30s", 90, FALSE }, { "500ms", 1, TRUE }, { "1.5s", 2, TRUE }, { "2h", 7200, FALSE },
    { "10", 10, FALSE }, { "0s", 0, FALSE },
  };
  struct { const char *in; const char *out; } mem[] = {
    { "512m", "512Mi" }, { "512M", "512Mi" }, { "512mb", "512Mi" }, { "1g", "1Gi" }, { "1GB", "1Gi" },
    { "1024k", "1Mi" }, { "100b", "100" }, { "1048576", "1Mi" }, { "1.5g", "1536Mi" },
  };
  struct { const char *in; const char *out; } cpus[] = {
    { "0.5", "500m" }, { "2", "2" }, { "1.25", "1250m" }, { "0.001", "1m" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (durations); i++)
    {
      gint64 s;
      gboolean r;
      g_autofree char *msg = NULL;
      g_assert_true (ctl_compose_parse_seconds (durations[i].in, &s, &r, &msg));
      g_assert_cmpint (s, ==, durations[i].secs);
      g_assert_cmpint (r, ==, durations[i].rounded);
    }
  {
    gint64 s;
    gboolean r;
    g_autofree char *msg = NULL;
    g_assert_false (ctl_compose_parse_seconds ("soon", &s, &r, &msg));
  }
  for (guint i = 0; i < G_N_ELEMENTS (mem); i++)
    {
      g_autoptr(JsonNode) n = json_node_init_string (json_node_alloc (), mem[i].in);
      g_autofree char *msg = NULL;
      g_autofree char *out = ctl_compose_memory (n, &msg);
      g_assert_cmpstr (out, ==, mem[i].out);
    }
  {
    g_autoptr(JsonNode) n = json_node_init_int (json_node_alloc (), 2048);
    g_autoptr(JsonNode) bad = json_node_init_string (json_node_alloc (), "12q");
    g_autofree char *msg = NULL;
    g_autofree char *out = ctl_compose_memory (n, &msg);
    g_autofree char *none = ctl_compose_memory (bad, &msg);
    g_assert_cmpstr (out, ==, "2Ki");
    g_assert_null (none);
  }
  for (guint i = 0; i < G_N_ELEMENTS (cpus); i++)
    {
      g_autoptr(JsonNode) n = json_node_init_string (json_node_alloc (), cpus[i].in);
      g_autofree char *msg = NULL;
      g_autofree char *out = ctl_compose_cpus (n, &msg);
      g_assert_cmpstr (out, ==, cpus[i].out);
    }
  {
    g_autoptr(JsonNode) n = json_node_init_double (json_node_alloc (), 0.25);
    g_autoptr(JsonNode) zero = json_node_init_string (json_node_alloc (), "0");
    g_autofree char *msg = NULL;
    g_autofree char *out = ctl_compose_cpus (n, &msg);
    g_autofree char *none = ctl_compose_cpus (zero, &msg);
    g_assert_cmpstr (out, ==, "250m");
    g_assert_null (none);
  }
  {
    g_autofree char *a = ctl_compose_normalize_name ("My_App.v2");
    g_autofree char *b = ctl_compose_normalize_name ("__x__");
    g_autofree char *c = ctl_compose_normalize_name ("___");
    g_assert_cmpstr (a, ==, "my-app-v2");
    g_assert_cmpstr (b, ==, "x");
    g_assert_cmpstr (c, ==, "");
  }
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

int
main (int argc, char **argv)
{
  g_autoptr(GDir) d = NULL;
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  const char *base = TEST_DATA_DIR "/compose";

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/compose/interpolation", test_interpolation);
  g_test_add_func ("/compose/dotenv", test_dotenv);
  g_test_add_func ("/compose/ports", test_ports);
  g_test_add_func ("/compose/values", test_values);
  d = g_dir_open (base, 0, NULL);
  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (dirs, g_build_filename (base, name, NULL));
  g_ptr_array_sort (dirs, compare_names);
  for (guint i = 0; i < dirs->len; i++)
    {
      g_autofree char *b = g_path_get_basename (dirs->pdata[i]);
      g_autofree char *test = g_strconcat ("/compose/file/", b, NULL);
      g_test_add_data_func (test, dirs->pdata[i], run_case);
    }
  return g_test_run ();
}
