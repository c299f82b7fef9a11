/* SPDX-License-Identifier: Apache-2.0 */
/* Manifest reading (libyaml) and the YAML emitter. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "cara-error.h"
#include "cara-fields.h"
#include "cara-json.h"
#include "cara-manifest.h"
#include "cara-validate.h"

static GPtrArray *
read_str (const char *yaml, GError **error)
{
  return cara_manifest_read_data ("t.yaml", yaml, strlen (yaml), error);
}

static char *
doc_json (GPtrArray *docs, guint i)
{
  CaraManifestDoc *d = g_ptr_array_index (docs, i);
  return cara_json_to_string (d->node, FALSE);
}

static void
assert_error (const char *yaml, const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) docs = read_str (yaml, &error);

  g_assert_null (docs);
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  if (!g_str_has_prefix (error->message, expected))
    g_error ("expected: %s\ngot:      %s", expected, error->message);
}

static void
test_multi_doc (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) docs = read_str ("kind: Project\nmetadata: {name: a}\n"
                                        "---\n"
                                        "# nothing here\n"
                                        "---\n"
                                        "kind: Node\n"
                                        "metadata:\n"
                                        "  name: n1\n"
                                        "...\n"
                                        "---\n"
                                        "{\"kind\": \"Project\", \"metadata\": {\"name\": \"c\"}}\n",
                                        &error);
  CaraManifestDoc *d;
  g_autofree char *j0 = NULL;
  g_autofree char *j2 = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (docs->len, ==, 3);
  d = g_ptr_array_index (docs, 0);
  g_assert_cmpstr (d->file, ==, "t.yaml");
  g_assert_cmpuint (d->index, ==, 0);
  g_assert_cmpuint (d->line, ==, 1);
  d = g_ptr_array_index (docs, 1);
  g_assert_cmpuint (d->index, ==, 2); /* the empty document counts but is skipped */
  g_assert_cmpuint (d->line, ==, 5);
  g_assert_cmpstr (cara_json_get_kind (d->node), ==, "Node");
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (d->lines, "metadata.name")), ==, 8);
  j0 = doc_json (docs, 0);
  g_assert_cmpstr (j0, ==, "{\"kind\":\"Project\",\"metadata\":{\"name\":\"a\"}}");
  j2 = doc_json (docs, 2);
  g_assert_cmpstr (j2, ==, "{\"kind\":\"Project\",\"metadata\":{\"name\":\"c\"}}");
}

static void
test_empty (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) a = read_str ("", &error);
  g_autoptr(GPtrArray) b = read_str ("# just a comment\n---\n---\n", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (a->len, ==, 0);
  g_assert_cmpuint (b->len, ==, 0);
}

static void
test_scalars (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) docs = read_str (
    "a: ~\nb: null\nc:\nd: true\ne: False\nf: 42\ng: -7\nh: 0x1F\ni: 0o17\nj: 1.5\nk: 1e3\n"
    "l: \"42\"\nm: 'true'\nn: yes\no: on\np: 012\nq: .inf\nr: 99999999999999999999\ns: !!str 5\n"
    "t: \"\"\nu: hello world\nv: 2026-04-12\n",
    &error);
  g_autofree char *j = NULL;

  g_assert_no_error (error);
  j = doc_json (docs, 0);
  g_assert_cmpstr (j, ==,
                   "{\"a\":null,\"b\":null,\"c\":null,\"d\":true,\"e\":false,\"f\":42,\"g\":-7,\"h\":31,"
                   "\"i\":15,\"j\":1.5,\"k\":1000.0,\"l\":\"42\",\"m\":\"true\",\"n\":\"yes\",\"o\":\"on\","
                   "\"p\":12,\"q\":\".inf\",\"r\":\"99999999999999999999\",\"s\":\"5\",\"t\":\"\","
                   "\"u\":\"hello world\",\"v\":\"2026-04-12\"}");
}

static void
test_env_coercion (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) docs = read_str (
    "kind: Project\n"
    "metadata: {name: web}\n"
    "spec:\n"
    "  services:\n"
    "  - name: web\n"
    "    image: nginx\n"
    "    env:\n"
    "    - {name: PORT, value: 8080}\n"
    "    - {name: DEBUG, value: true}\n"
    "    - {name: RATIO, value: 1.50}\n"
    "    - {name: HEX, value: 0x10}\n"
    "    - {name: QUOTED, value: \"007\"}\n"
    "    - {name: UNSET, value: ~}\n"
    "    - name: PLAIN\n"
    "      value: hello\n"
    "    ports:\n"
    "    - containerPort: 80\n",
    &error);
  g_autoptr(CaraProject) p = NULL;
  CaraService *s;
  const char *expected[][2] = { { "PORT", "8080" }, { "DEBUG", "true" }, { "RATIO", "1.50" },
                                { "HEX", "0x10" }, { "QUOTED", "007" }, { "UNSET", NULL },
                                { "PLAIN", "hello" } };

  g_assert_no_error (error);
  p = cara_project_from_json (((CaraManifestDoc *) docs->pdata[0])->node, &error);
  g_assert_no_error (error);
  s = g_ptr_array_index (p->spec.services, 0);
  g_assert_cmpuint (s->env->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      CaraEnvVar *e = g_ptr_array_index (s->env, i);
      g_assert_cmpstr (e->name, ==, expected[i][0]);
      g_assert_cmpstr (e->value, ==, expected[i][1]);
    }
  /* Other fields keep their types. */
  g_assert_cmpint (((CaraPort *) s->ports->pdata[0])->container_port, ==, 80);
}

static void
test_json_input (void)
{
  g_autoptr(GError) error = NULL;
  /* Tabs are not YAML indentation: this one goes through json-glib. */
  const char *json = "{\n\t\"kind\": \"Project\",\n\t\"metadata\": {\"name\": \"a\"},\n\t\"spec\": {\"services\": "
                     "[{\"name\": \"s\", \"image\": \"i\", \"env\": [{\"name\": \"N\", \"value\": 5}, "
                     "{\"name\": \"B\", \"value\": false}]}]}\n}\n";
  g_autoptr(GPtrArray) docs = cara_manifest_read_data ("p.json", json, strlen (json), &error);
  g_autofree char *j = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (docs->len, ==, 1);
  j = doc_json (docs, 0);
  g_assert_cmpstr (j, ==,
                   "{\"kind\":\"Project\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"services\":[{\"name\":\"s\","
                   "\"image\":\"i\",\"env\":[{\"name\":\"N\",\"value\":\"5\"},{\"name\":\"B\",\"value\":\"false\"}]}]}}");
  g_clear_pointer (&docs, g_ptr_array_unref);

  /* A key longer than YAML's 1024-character limit for implicit keys: only JSON can read it. */
  {
    g_autofree char *key = g_strnfill (1100, 'k');
    g_autofree char *long_json = g_strdup_printf (
      "{\"kind\":\"Project\",\"%s\":1,\"spec\":{\"services\":[{\"env\":[{\"name\":\"N\",\"value\":7}]}]}}", key);
    CaraManifestDoc *d;
    JsonNode *v;
    docs = cara_manifest_read_data ("long.json", long_json, strlen (long_json), &error);
    g_assert_no_error (error);
    g_assert_cmpuint (docs->len, ==, 1);
    d = g_ptr_array_index (docs, 0);
    g_assert_true (json_object_has_member (json_node_get_object (d->node), key));
    v = json_object_get_member (
      json_array_get_object_element (
        json_object_get_array_member (
          json_array_get_object_element (
            json_object_get_array_member (json_object_get_object_member (json_node_get_object (d->node), "spec"), "services"),
            0),
          "env"),
        0),
      "value");
    g_assert_cmpstr (json_node_get_string (v), ==, "7");
    g_clear_pointer (&docs, g_ptr_array_unref);
  }

  {
    const char *two = "{\"kind\":\"a\"}{\"kind\":\"b\"}";
    docs = cara_manifest_read_data ("two.json", two, strlen (two), &error);
  }
  g_assert_null (docs);
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_clear_error (&error);

  docs = cara_manifest_read_data ("bad.json", "{\"kind\": ", 9, &error);
  g_assert_null (docs);
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "bad.json:"));
}

static void
test_malformed (void)
{
  assert_error ("a: [1, 2\nb: 3\n", "t.yaml:2:2: did not find expected ',' or ']' (while parsing a flow sequence)");
  assert_error ("a: b\n c: d\n", "t.yaml:2:3: mapping values are not allowed in this context");
  assert_error ("a:\n  - x\n  y: z\n", "t.yaml:3:3: did not find expected '-' indicator (while parsing a block collection)");
  assert_error ("a: \"unterminated\n", "t.yaml:2:1: found unexpected end of stream (while scanning a quoted scalar)");
  assert_error ("- a\n- b\n", "t.yaml:1:1: a manifest document must be a mapping (apiVersion, kind, metadata, spec), not a list");
  assert_error ("just text\n", "t.yaml:1:1: a manifest document must be a mapping");
  assert_error ("a: *nope\n", "t.yaml:1:4: unknown anchor \"nope\"");
  assert_error ("? [a, b]\n: c\n", "t.yaml:1:3: mapping keys must be scalars");
}

static void
test_duplicate_keys (void)
{
  assert_error ("kind: Project\nmetadata:\n  name: a\n  labels: {x: 1, x: 2}\n",
                "t.yaml:4:18: metadata.labels: duplicate key \"x\"");
  assert_error ("kind: Project\nkind: Node\n", "t.yaml:2:1: duplicate key \"kind\"");
  assert_error ("spec:\n  services:\n  - name: a\n    name: b\n", "t.yaml:4:5: spec.services[0]: duplicate key \"name\"");
}

static void
test_anchors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) docs = read_str ("x-base: &base {image: busybox, env: [{name: A, value: 1}]}\n"
                                        "spec:\n"
                                        "  services:\n"
                                        "  - <<: *base\n"
                                        "    name: a\n"
                                        "  - <<: [*base]\n"
                                        "    name: b\n"
                                        "    image: other\n"
                                        "  - &c {name: c, image: *c2}\n",
                                        &error);
  g_autofree char *bomb = NULL;
  GString *b = g_string_new ("a: &a [x, x, x, x, x, x, x, x, x, x]\n");

  g_assert_null (docs);
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "t.yaml:9:25: unknown anchor \"c2\""));
  g_clear_error (&error);

  docs = read_str ("x-base: &base {image: busybox, env: [{name: A, value: 1}]}\n"
                   "spec:\n"
                   "  services:\n"
                   "  - <<: *base\n"
                   "    name: a\n"
                   "  - <<: [*base]\n"
                   "    name: b\n"
                   "    image: other\n",
                   &error);
  g_assert_no_error (error);
  {
    g_autofree char *j = doc_json (docs, 0);
    g_assert_cmpstr (j, ==,
                     "{\"x-base\":{\"image\":\"busybox\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]},"
                     "\"spec\":{\"services\":[{\"name\":\"a\",\"image\":\"busybox\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]},"
                     "{\"name\":\"b\",\"image\":\"other\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}]}}");
  }
  g_clear_pointer (&docs, g_ptr_array_unref);

  /* "Billion laughs": bounded, not exponential. */
  for (char c = 'b'; c <= 'j'; c++)
    g_string_append_printf (b, "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", c, c,
                            c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
  bomb = g_string_free (b, FALSE);
  docs = read_str (bomb, &error);
  g_assert_null (docs);
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "document too large"));
  g_clear_error (&error);

  /* Deep nesting is bounded too. */
  {
    g_autofree char *deep = g_strnfill (10000, '[');
    docs = read_str (deep, &error);
    g_assert_null (docs);
    g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  }
}

static void
test_locate_error (void)
{
  const char *yaml = "apiVersion: caravanserai/v1\n"
                     "kind: Project\n"
                     "metadata:\n"
                     "  name: web\n"
                     "spec:\n"
                     "  services:\n"
                     "  - name: web\n"
                     "    image: nginx\n"
                     "  - name: db\n"
                     "    env:\n"
                     "    - name: A\n"
                     "      value: x\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) docs = cara_manifest_read_data ("web.yaml", yaml, strlen (yaml), &error);
  CaraManifestDoc *d;
  g_autoptr(CaraProject) p = NULL;

  g_assert_no_error (error);
  d = g_ptr_array_index (docs, 0);
  p = cara_project_from_json (d->node, &error);
  g_assert_no_error (error);
  g_assert_false (cara_validate_project (p, &error));
  cara_manifest_doc_locate_error (d, &error);
  /* image is missing: the longest recorded prefix is the service itself. */
  g_assert_cmpstr (error->message, ==, "web.yaml:9: spec.services[1].image: service db: image is required");
  g_clear_error (&error);

  g_set_error (&error, CARA_ERROR, CARA_ERROR_INVALID, "spec.services[1].env[0].value: bad");
  cara_manifest_doc_locate_error (d, &error);
  g_assert_cmpstr (error->message, ==, "web.yaml:12: spec.services[1].env[0].value: bad");
  g_clear_error (&error);

  g_set_error (&error, CARA_ERROR, CARA_ERROR_INVALID, "metadata.name: bad");
  cara_manifest_doc_locate_error (d, &error);
  g_assert_cmpstr (error->message, ==, "web.yaml:4: metadata.name: bad");
  g_clear_error (&error);

  /* No path at all: the document's first line. */
  g_set_error (&error, CARA_ERROR, CARA_ERROR_INVALID, "something went wrong");
  cara_manifest_doc_locate_error (d, &error);
  g_assert_cmpstr (error->message, ==, "web.yaml:1: something went wrong");
}

static void
write_file (const char *dir, const char *name, const char *content)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, content, -1, &error);
  g_assert_no_error (error);
}

static void
test_directory (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("cara-manifest-XXXXXX", &error);
  g_autoptr(GPtrArray) docs = NULL;
  const char *names[] = { "b.yaml", "a.json", "c.yml", "ignored.txt", ".hidden.yaml", "d.yaml" };

  g_assert_no_error (error);
  write_file (dir, "b.yaml", "kind: Project\nmetadata: {name: b1}\n---\nkind: Project\nmetadata: {name: b2}\n");
  write_file (dir, "a.json", "{\"kind\": \"Node\", \"metadata\": {\"name\": \"a\"}}");
  write_file (dir, "c.yml", "kind: Project\nmetadata: {name: c}\n");
  write_file (dir, "ignored.txt", "kind: Project\n");
  write_file (dir, ".hidden.yaml", "kind: Project\n");
  write_file (dir, "d.yaml", "");

  docs = cara_manifest_read_path (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (docs->len, ==, 4);
  {
    const char *expect_names[] = { "a", "b1", "b2", "c" };
    const char *expect_files[] = { "a.json", "b.yaml", "b.yaml", "c.yml" };
    for (guint i = 0; i < docs->len; i++)
      {
        CaraManifestDoc *d = g_ptr_array_index (docs, i);
        JsonObject *meta = json_object_get_object_member (json_node_get_object (d->node), "metadata");
        g_autofree char *base = g_path_get_basename (d->file);
        g_assert_cmpstr (json_object_get_string_member (meta, "name"), ==, expect_names[i]);
        g_assert_cmpstr (base, ==, expect_files[i]);
      }
  }
  g_clear_pointer (&docs, g_ptr_array_unref);

  /* A single file, and an error naming the file. */
  {
    g_autofree char *c = g_build_filename (dir, "c.yml", NULL);
    g_autofree char *bad = g_build_filename (dir, "bad.yaml", NULL);
    docs = cara_manifest_read_path (c, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (docs->len, ==, 1);
    g_clear_pointer (&docs, g_ptr_array_unref);
    write_file (dir, "bad.yaml", "a: [\n");
    docs = cara_manifest_read_path (dir, &error);
    g_assert_null (docs);
    g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
    g_assert_true (g_str_has_prefix (error->message, bad));
    g_assert_nonnull (strstr (error->message, "bad.yaml:2:1: "));
    g_clear_error (&error);
    g_unlink (bad);
  }

  {
    g_autofree char *missing = g_build_filename (dir, "missing.yaml", NULL);
    docs = cara_manifest_read_path (missing, &error);
    g_assert_null (docs);
    g_assert_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (dir, names[i], NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
test_stdin (void)
{
  int fds[2];
  int saved = dup (STDIN_FILENO);
  const char *yaml = "kind: Project\nmetadata: {name: from-stdin}\n---\nkind: Node\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) docs = NULL;

  g_assert_cmpint (pipe (fds), ==, 0);
  g_assert_cmpint (write (fds[1], yaml, strlen (yaml)), ==, (ssize_t) strlen (yaml));
  close (fds[1]);
  dup2 (fds[0], STDIN_FILENO);
  close (fds[0]);
  docs = cara_manifest_read_path ("-", &error);
  dup2 (saved, STDIN_FILENO);
  close (saved);
  g_assert_no_error (error);
  g_assert_cmpuint (docs->len, ==, 2);
  g_assert_cmpstr (((CaraManifestDoc *) docs->pdata[0])->file, ==, "-");
  g_assert_cmpuint (((CaraManifestDoc *) docs->pdata[1])->index, ==, 1);
}

static void
test_yaml_emit (void)
{
  const char *json = "{\"apiVersion\":\"caravanserai/v1\",\"kind\":\"Project\",\"metadata\":{\"name\":\"web\","
                     "\"labels\":{\"a.b/c\":\"1\"}},\"spec\":{\"services\":[{\"name\":\"web\",\"image\":\"nginx\","
                     "\"env\":[{\"name\":\"T\",\"value\":\"true\"},{\"name\":\"N\",\"value\":\"123\"},"
                     "{\"name\":\"E\",\"value\":\"\"},{\"name\":\"NULL\",\"value\":\"null\"},"
                     "{\"name\":\"C\",\"value\":\"a: b\"},{\"name\":\"D\",\"value\":\"- x\"},"
                     "{\"name\":\"M\",\"value\":\"line1\\nline2\"},{\"name\":\"U\",\"value\":\"h\xc3\xa9llo\"},"
                     "{\"name\":\"F\",\"value\":\"1.5\"},{\"name\":\"H\",\"value\":\"#x\"}],"
                     "\"ports\":[{\"containerPort\":80}],\"command\":[]}]},"
                     "\"status\":{\"n\":null,\"b\":false,\"f\":2.0,\"g\":0.25}}";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = cara_json_parse (json, -1, &error);
  g_autofree char *yaml = NULL;
  g_autoptr(GPtrArray) docs = NULL;
  g_autofree char *back = NULL;

  g_assert_no_error (error);
  yaml = cara_yaml_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (yaml, "apiVersion: caravanserai/v1\nkind: Project\nmetadata:\n  name: web\n"));
  g_assert_nonnull (strstr (yaml, "value: \"true\"\n"));
  g_assert_nonnull (strstr (yaml, "value: \"123\"\n"));
  g_assert_nonnull (strstr (yaml, "value: \"\"\n"));
  g_assert_nonnull (strstr (yaml, "containerPort: 80\n"));
  g_assert_nonnull (strstr (yaml, "f: 2.0\n"));
  g_assert_true (g_str_has_suffix (yaml, "\n"));
  /* Read back, it is the same JSON (env values are strings either way, so check the others). */
  docs = read_str (yaml, &error);
  g_assert_no_error (error);
  back = doc_json (docs, 0);
  g_assert_cmpstr (back, ==, json);
  g_assert_cmpstr (cara_yaml_plain_scalar_is_string ("yes") ? "s" : "n", ==, "s");
  g_assert_false (cara_yaml_plain_scalar_is_string ("~"));
  g_assert_false (cara_yaml_plain_scalar_is_string ("0x1f"));
  g_assert_false (cara_yaml_plain_scalar_is_string ("-1.5e3"));
  g_assert_false (cara_yaml_plain_scalar_is_string (".NaN"));
}

/* ---- unknown fields (SPEC §2) ---- */

/* The whole error of cara_manifest_doc_check on the first document of @yaml, or NULL. */
static char *
check_str (const char *yaml)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) docs = read_str (yaml, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (docs->len, >=, 1);
  if (cara_manifest_doc_check (g_ptr_array_index (docs, 0), &error))
    return NULL;
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  return g_strdup (error->message);
}

#define PROJECT_HEAD "apiVersion: caravanserai/v1\nkind: Project\nmetadata:\n  name: web\n"

/* Every problem of a document at once, not only its unknown fields: one per service, the labels,
 * and the unknown field, each with its line. */
static void
test_all_problems (void)
{
  g_autofree char *msg = check_str ("apiVersion: caravanserai/v1\nkind: Project\nmetadata:\n  name: web\n"
                                    "  labels:\n    \"bad key!\": x\n"
                                    "spec:\n  services:\n"
                                    "    - name: a\n      image: \"UPPER\"\n"
                                    "    - name: b\n      image: busybox\n      enviroment: []\n"
                                    "    - name: c\n      image: busybox\n      ports:\n        - containerPort: 70000\n");
  g_assert_nonnull (msg);
  g_assert_nonnull (strstr (msg, "metadata.labels"));
  g_assert_nonnull (strstr (msg, "spec.services[0].image"));
  g_assert_nonnull (strstr (msg, "spec.services[1].enviroment"));
  g_assert_nonnull (strstr (msg, "spec.services[2].ports[0]"));
}

typedef struct {
  const char *yaml;     /* after PROJECT_HEAD unless it starts with "apiVersion" */
  const char *expected; /* the whole message */
} FieldCase;

static const FieldCase field_cases[] = {
  /* every level of a Project */
  { "spec:\n  services:\n    - name: web\n      image: nginx\n      enviroment: []\n",
    "t.yaml:9: spec.services[0].enviroment: unknown field \"enviroment\" (did you mean \"env\"?)" },
  { "spec:\n  services:\n    - name: web\n      image: nginx\n      environment:\n        A: b\n",
    "t.yaml:9: spec.services[0].environment: unknown field \"environment\" (did you mean \"env\"? a list of {name, value})" },
  { "spec:\n  services:\n    - name: web\n      image: nginx\n      restart: always\n",
    "t.yaml:9: spec.services[0].restart: unknown field \"restart\" (did you mean \"restartPolicy: Always\"?)" },
  { "spec:\n  services:\n    - name: web\n      image: nginx\n      restart: on-failure:3\n",
    "t.yaml:9: spec.services[0].restart: unknown field \"restart\" (did you mean \"restartPolicy: OnFailure\"?)" },
  { "spec:\n  services:\n    - name: web\n      image: nginx\n      restart: sometimes\n",
    "t.yaml:9: spec.services[0].restart: unknown field \"restart\" (did you mean \"restartPolicy\"? one of Always, OnFailure, Never)" },
  { "spec:\n  services:\n    - name: web\n      image: nginx\n      restart_policy: Never\n",
    "t.yaml:9: spec.services[0].restart_policy: unknown field \"restart_policy\" (did you mean \"restartPolicy: Never\"?)" },
  { "spec:\n  services:\n    - name: web\n      image: nginx\n      depends_on: [db]\n",
    "t.yaml:9: spec.services[0].depends_on: unknown field \"depends_on\" (did you mean \"dependsOn\"?)" },
  { "spec:\n  services:\n    - name: web\n      imgae: nginx\n",
    "t.yaml:7: spec.services[0].image: service web: image is required\n"
    "t.yaml:8: spec.services[0].imgae: unknown field \"imgae\" (did you mean \"image\"?)" },
  { "spec:\n  services:\n    - name: web\n      image: nginx\n      env:\n        - name: A\n          vlaue: b\n",
    "t.yaml:11: spec.services[0].env[0].vlaue: unknown field \"vlaue\" (did you mean \"value\"?)" },
  { "spec:\n  services:\n    - name: web\n      image: nginx\n      ports:\n        - containerPort: 80\n          published: 8080\n",
    "t.yaml:11: spec.services[0].ports[0].published: unknown field \"published\" (did you mean \"hostPort\"?)" },
  { "spec:\n  services:\n    - name: web\n      image: nginx\n      ports:\n        - target: 80\n",
    "t.yaml:10: spec.services[0].ports[0].target: unknown field \"target\" (did you mean \"containerPort\"?)\n"
    "t.yaml:10: spec.services[0].ports[0].containerPort: service web: containerPort is required" },
  { "spec:\n  services:\n    - name: web\n      image: nginx\n      resources: {cpu: \"1\", mem: 64Mi}\n",
    "t.yaml:9: spec.services[0].resources.mem: unknown field \"mem\" (did you mean \"memory\"?)" },
  { "spec:\n  services:\n    - name: web\n      image: nginx\n      healthcheck:\n        test: [true]\n",
    "t.yaml:9: spec.services[0].healthcheck.command: service web: healthcheck command is required\n"
    "t.yaml:10: spec.services[0].healthcheck.test: unknown field \"test\" (did you mean \"command\"?)" },
  { "spec:\n  services:\n    - name: web\n      image: nginx\n      volumeMounts:\n        - name: d\n          mountPath: /d\n          readonly: true\n  volumes: [{name: d, type: Ephemeral}]\n",
    "t.yaml:12: spec.services[0].volumeMounts[0].readonly: unknown field \"readonly\" (did you mean \"readOnly\"?)" },
  { "spec:\n  services: [{name: web, image: nginx}]\n  volumes: [{name: d, type: Ephemeral, size: 1G}]\n",
    "t.yaml:7: spec.volumes[0].size: unknown field \"size\" (expected one of: name, type, hostPath)" },
  { "spec:\n  services: [{name: web, image: nginx}]\n  ingress:\n    - name: i\n      target: {service: web, prot: 80}\n",
    "t.yaml:9: spec.ingress[0].target.prot: unknown field \"prot\" (did you mean \"port\"?)\n"
    "t.yaml:9: spec.ingress[0].target.port: ingress i: target port must be greater than 0" },
  { "spec:\n  services: [{name: web, image: nginx}]\n  ingress:\n    - name: i\n      target: {service: web, port: 80}\n      access: {scopes: Internal}\n",
    "t.yaml:10: spec.ingress[0].access.scopes: unknown field \"scopes\" (did you mean \"scope\"?)" },
  { "spec:\n  services: [{name: web, image: nginx}]\n  nodeselector: {a: b}\n",
    "t.yaml:7: spec.nodeselector: unknown field \"nodeselector\" (did you mean \"nodeSelector\"?)" },
  { "spec:\n  service: [{name: web, image: nginx}]\n",
    "t.yaml:5: spec.services: must contain at least one service\n"
    "t.yaml:6: spec.service: unknown field \"service\" (did you mean \"services\"?)" },
  { "specs:\n  services: [{name: web, image: nginx}]\n",
    "t.yaml:1: spec.services: must contain at least one service\n"
    "t.yaml:5: specs: unknown field \"specs\" (did you mean \"spec\"?)" },
  /* metadata and status are checked in manifests too */
  { "  lables: {a: b}\nspec:\n  services: [{name: web, image: nginx}]\n",
    "t.yaml:5: metadata.lables: unknown field \"lables\" (did you mean \"labels\"?)" },
  { "spec:\n  services: [{name: web, image: nginx}]\nstatus:\n  phase: Running\n  services: [{name: web, restart_count: 1, helth: ok}]\n",
    "t.yaml:9: status.services[0].restart_count: unknown field \"restart_count\" (did you mean \"restartCount\"?)\n"
    "t.yaml:9: status.services[0].helth: unknown field \"helth\" (did you mean \"health\"?)" },
  /* free-form maps take any keys */
  { "  labels: {enviroment: x, restart: y}\n  annotations: {whatever: z}\nspec:\n  services: [{name: web, image: nginx}]\n  nodeSelector: {disk: ssd}\n",
    NULL },
  /* no suggestion: the valid members */
  { "spec:\n  services: [{name: web, image: nginx, xyzzy: 1}]\n",
    "t.yaml:6: spec.services[0].xyzzy: unknown field \"xyzzy\" (expected one of: name, image, env, volumeMounts, command, ports, resources, restartPolicy, healthcheck, dependsOn, entrypoint, workingDir, user, labels, capAdd, capDrop, stopGracePeriodSeconds, stopSignal, secrets)" },
  /* several errors of one document at once, in line order, with the validation's finding */
  { "spec:\n  services:\n    - name: web\n      image: UPPER\n      enviroment: []\n      restart: always\n  extra: 1\n",
    "t.yaml:8: spec.services[0].image: invalid image reference \"UPPER\": the repository name must be lowercase\n"
    "t.yaml:9: spec.services[0].enviroment: unknown field \"enviroment\" (did you mean \"env\"?)\n"
    "t.yaml:10: spec.services[0].restart: unknown field \"restart\" (did you mean \"restartPolicy: Always\"?)\n"
    "t.yaml:11: spec.extra: unknown field \"extra\" (expected one of: services, volumes, ingress, nodeSelector, expireAt, imagePullSecrets, update)" },
  /* Nodes */
  { "apiVersion: caravanserai/v1\nkind: Node\nmetadata:\n  name: n1\nspec:\n  unschedulabel: true\n",
    "t.yaml:6: spec.unschedulabel: unknown field \"unschedulabel\" (did you mean \"unschedulable\"?)" },
  { "apiVersion: caravanserai/v1\nkind: Node\nmetadata:\n  name: n1\nstatus:\n  network: {throughput: {downlaod: 1G}}\n",
    "t.yaml:6: status.network.throughput.downlaod: unknown field \"downlaod\" (did you mean \"download\"?)" },
  { "apiVersion: caravanserai/v1\nkind: Node\nmetadata:\n  name: n1\nstatus:\n  conditions: [{type: Ready, stauts: 'True'}]\n",
    "t.yaml:6: status.conditions[0].stauts: unknown field \"stauts\" (did you mean \"status\"?)" },
  /* a valid document */
  { "spec:\n  services:\n    - name: web\n      image: localhost:5000/a/b:tag\n      env: [{name: A, value: b}]\n      restartPolicy: OnFailure\n",
    NULL },
};

static void
test_unknown_fields (void)
{
  guint failed = 0;

  for (guint i = 0; i < G_N_ELEMENTS (field_cases); i++)
    {
      const FieldCase *c = &field_cases[i];
      g_autofree char *yaml = g_str_has_prefix (c->yaml, "apiVersion") ? g_strdup (c->yaml)
                                                                      : g_strconcat (PROJECT_HEAD, c->yaml, NULL);
      g_autofree char *got = check_str (yaml);

      if (g_strcmp0 (got, c->expected) != 0)
        {
          g_printerr ("case %u:\n%s\nexpected:\n%s\ngot:\n%s\n\n", i, yaml, c->expected ? c->expected : "(valid)",
                      got ? got : "(valid)");
          failed++;
        }
    }
  g_assert_cmpuint (failed, ==, 0);
}

static void
test_unknown_fields_scope (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) body = cara_json_parse (
      "{\"metadata\":{\"name\":\"w\",\"uid\":\"x\"},\"spec\":{\"services\":[{\"name\":\"a\",\"image\":\"b\","
      "\"enviroment\":[]},{\"name\":\"c\",\"image\":\"d\",\"restart\":\"no\"}],\"extra\":{}},"
      "\"status\":{\"newField\":1},\"specs\":{}}", -1, &error);
  g_autoptr(GPtrArray) spec_only = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) other = NULL;

  g_assert_no_error (error);
  /* No kind in the body: the server names it. */
  spec_only = cara_fields_check (body, "Project", CARA_FIELDS_SPEC);
  g_assert_cmpuint (spec_only->len, ==, 4);
  g_assert_cmpstr (((GError *) spec_only->pdata[0])->message, ==,
                   "spec.services[0].enviroment: unknown field \"enviroment\" (did you mean \"env\"?)");
  g_assert_cmpstr (((GError *) spec_only->pdata[1])->message, ==,
                   "spec.services[1].restart: unknown field \"restart\" (did you mean \"restartPolicy: Never\"?)");
  g_assert_true (g_str_has_prefix (((GError *) spec_only->pdata[2])->message, "spec.extra: unknown field \"extra\""));
  g_assert_cmpstr (((GError *) spec_only->pdata[3])->message, ==, "specs: unknown field \"specs\" (did you mean \"spec\"?)");
  all = cara_fields_check (body, "Project", CARA_FIELDS_ALL);
  g_assert_cmpuint (all->len, ==, 6);
  g_assert_true (g_str_has_prefix (((GError *) all->pdata[0])->message, "metadata.uid: unknown field \"uid\""));
  g_assert_true (g_str_has_prefix (((GError *) all->pdata[4])->message, "status.newField: unknown field"));
  /* Without a kind, the document's own; other kinds have no table. */
  other = cara_fields_check (body, NULL, CARA_FIELDS_ALL);
  g_assert_cmpuint (other->len, ==, 0);
}

static void
test_unknown_fields_many (void)
{
  g_autoptr(GString) yaml = g_string_new (PROJECT_HEAD "spec:\n  services:\n    - name: web\n      image: nginx\n");
  g_autofree char *got = NULL;
  g_auto(GStrv) lines = NULL;

  for (guint i = 0; i < CARA_FIELDS_MAX_PROBLEMS + 7; i++)
    g_string_append_printf (yaml, "      unknown%u: 1\n", i);
  got = check_str (yaml->str);
  lines = g_strsplit (got, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, CARA_FIELDS_MAX_PROBLEMS + 1);
  g_assert_true (g_str_has_prefix (lines[0], "t.yaml:9: spec.services[0].unknown0: unknown field \"unknown0\""));
  g_assert_cmpstr (lines[CARA_FIELDS_MAX_PROBLEMS], ==, "t.yaml:1: and 7 more unknown fields");
}

static void
test_suggest (void)
{
  const char *const service[] = { "name", "image", "env", "volumeMounts", "command", "ports", "resources",
                                  "restartPolicy", "healthcheck", "dependsOn", "entrypoint", "workingDir", "capAdd",
                                  "stopGracePeriodSeconds", NULL };
  const char *const spec[] = { "services", "volumes", "ingress", "nodeSelector", "expireAt", NULL };

  g_assert_cmpstr (cara_fields_suggest ("enviroment", service), ==, "env");
  g_assert_cmpstr (cara_fields_suggest ("ENV", service), ==, "env");
  g_assert_cmpstr (cara_fields_suggest ("envs", service), ==, "env");
  g_assert_cmpstr (cara_fields_suggest ("nmae", service), ==, "name");
  g_assert_cmpstr (cara_fields_suggest ("entry_point", service), ==, "entrypoint");
  g_assert_cmpstr (cara_fields_suggest ("working_dir", service), ==, "workingDir");
  g_assert_cmpstr (cara_fields_suggest ("cap_add", service), ==, "capAdd");
  g_assert_cmpstr (cara_fields_suggest ("stop_grace_period", service), ==, "stopGracePeriodSeconds");
  g_assert_cmpstr (cara_fields_suggest ("volumes", service), ==, "volumeMounts");
  g_assert_cmpstr (cara_fields_suggest ("volume", service), ==, "volumeMounts");
  g_assert_cmpstr (cara_fields_suggest ("health", service), ==, "healthcheck");
  g_assert_cmpstr (cara_fields_suggest ("Depends-On", service), ==, "dependsOn");
  g_assert_cmpstr (cara_fields_suggest ("volumes", spec), ==, "volumes");
  g_assert_cmpstr (cara_fields_suggest ("ingres", spec), ==, "ingress");
  g_assert_cmpstr (cara_fields_suggest ("expire_at", spec), ==, "expireAt");
  /* not close: nothing */
  g_assert_null (cara_fields_suggest ("xyzzy", service));
  g_assert_null (cara_fields_suggest ("image_pull_policy", service));
  g_assert_null (cara_fields_suggest ("environment", spec)); /* env is not a member of spec */
  g_assert_null (cara_fields_suggest ("", service));
}

static void
test_compose (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) compose = read_str ("services:\n  web:\n    image: nginx\n", &error);
  g_autoptr(GPtrArray) with_kind = read_str ("kind: Project\nservices:\n  web: {}\n", &error);
  g_autoptr(GPtrArray) list = read_str ("services: [web]\n", &error);

  g_assert_no_error (error);
  g_assert_true (cara_fields_looks_like_compose (((CaraManifestDoc *) compose->pdata[0])->node));
  g_assert_false (cara_fields_looks_like_compose (((CaraManifestDoc *) with_kind->pdata[0])->node));
  g_assert_false (cara_fields_looks_like_compose (((CaraManifestDoc *) list->pdata[0])->node));
}

/* Whatever the encoder writes is known: `get -o yaml` output can be applied again. */
static void
test_encoder_output_known (void)
{
  const char *files[] = { "project-full.json", "node-full.json" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (TEST_DATA_DIR, files[i], NULL);
      g_autofree char *data = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) written = NULL;
      g_autoptr(GPtrArray) problems = NULL;

      g_assert_true (g_file_get_contents (path, &data, NULL, &error));
      if (i == 0)
        {
          g_autoptr(CaraProject) p = cara_project_from_data (data, -1, &error);
          g_assert_no_error (error);
          written = cara_project_to_json (p);
        }
      else
        {
          g_autoptr(CaraNode) n = cara_node_from_data (data, -1, &error);
          g_assert_no_error (error);
          written = cara_node_to_json (n);
        }
      problems = cara_fields_check (written, NULL, CARA_FIELDS_ALL);
      if (problems->len > 0)
        g_error ("%s: %s", files[i], ((GError *) problems->pdata[0])->message);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/manifest/multi-doc", test_multi_doc);
  g_test_add_func ("/manifest/empty", test_empty);
  g_test_add_func ("/manifest/scalars", test_scalars);
  g_test_add_func ("/manifest/env-coercion", test_env_coercion);
  g_test_add_func ("/manifest/json-input", test_json_input);
  g_test_add_func ("/manifest/malformed", test_malformed);
  g_test_add_func ("/manifest/duplicate-keys", test_duplicate_keys);
  g_test_add_func ("/manifest/anchors", test_anchors);
  g_test_add_func ("/manifest/locate-error", test_locate_error);
  g_test_add_func ("/manifest/directory", test_directory);
  g_test_add_func ("/manifest/stdin", test_stdin);
  g_test_add_func ("/manifest/yaml-emit", test_yaml_emit);
  g_test_add_func ("/manifest/unknown-fields", test_unknown_fields);
  g_test_add_func ("/manifest/unknown-fields-scope", test_unknown_fields_scope);
  g_test_add_func ("/manifest/unknown-fields-many", test_unknown_fields_many);
  g_test_add_func ("/manifest/suggest", test_suggest);
  g_test_add_func ("/manifest/compose", test_compose);
  g_test_add_func ("/manifest/all-problems", test_all_problems);
  g_test_add_func ("/manifest/encoder-output-known", test_encoder_output_known);
  return g_test_run ();
}
