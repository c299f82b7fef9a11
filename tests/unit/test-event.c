/* SPDX-License-Identifier: Apache-2.0 */
/* Cluster events on the wire: decoding with field paths, lists, encoding, long messages. */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-event.h"
#include "cara-json.h"

static JsonNode *
parse (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *n = cara_json_parse (text, -1, &error);
  g_assert_no_error (error);
  return n;
}

static void
test_roundtrip (void)
{
  g_autoptr (JsonNode) n = parse ("{\"time\":\"2026-12-03T10:00:00.5Z\",\"type\":\"Warning\",\"reason\":\"Killed\","
                                  "\"object\":{\"kind\":\"Project\",\"name\":\"web\"},\"node\":\"n1\","
                                  "\"message\":\"out of memory\"}");
  g_autoptr (GError) error = NULL;
  g_autoptr (CaraEvent) e = cara_event_from_json (n, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (e->type, ==, CARA_EVENT_WARNING);
  g_assert_cmpstr (e->reason, ==, "Killed");
  g_assert_cmpstr (e->object_kind, ==, "Project");
  g_assert_cmpstr (e->object_name, ==, "web");
  g_assert_cmpstr (e->node, ==, "n1");
  g_assert_cmpint (e->time_usec, ==, G_GINT64_CONSTANT (1796292000500000));
  g_autoptr (JsonNode) out = cara_event_to_json (e);
  g_autofree char *text = cara_json_to_string (out, FALSE);
  g_assert_cmpstr (text, ==, "{\"time\":\"2026-12-03T10:00:00.5Z\",\"type\":\"Warning\",\"reason\":\"Killed\","
                             "\"object\":{\"kind\":\"Project\",\"name\":\"web\"},\"node\":\"n1\","
                             "\"message\":\"out of memory\"}");
  /* node and message and time are optional */
  g_autoptr (JsonNode) m = parse ("{\"type\":\"Normal\",\"reason\":\"Pulled\",\"object\":{\"kind\":\"Node\",\"name\":\"n\"}}");
  g_autoptr (CaraEvent) f = cara_event_from_json (m, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (f->node);
  g_assert_cmpstr (f->message, ==, "");
  g_assert_cmpint (f->time_usec, ==, 0);
}

static void
test_errors (void)
{
  static const struct {
    const char *json;
    const char *message;
  } cases[] = {
    { "{\"reason\":\"A\",\"object\":{\"kind\":\"Project\",\"name\":\"w\"}}", "items[3].type: required" },
    { "{\"type\":\"Info\",\"reason\":\"A\",\"object\":{\"kind\":\"Project\",\"name\":\"w\"}}",
      "items[3].type: must be Normal or Warning, not \"Info\"" },
    { "{\"type\":\"Normal\",\"reason\":\"lower\",\"object\":{\"kind\":\"Project\",\"name\":\"w\"}}", "items[3].reason: must be" },
    { "{\"type\":\"Normal\",\"reason\":7,\"object\":{\"kind\":\"Project\",\"name\":\"w\"}}", "items[3].reason: must be a string" },
    { "{\"type\":\"Normal\",\"reason\":\"A\"}", "items[3].object: required" },
    { "{\"type\":\"Normal\",\"reason\":\"A\",\"object\":{\"kind\":\"Project\"}}", "items[3].object.name: required" },
    { "{\"type\":\"Normal\",\"reason\":\"A\",\"object\":{\"kind\":\"Project\",\"name\":\"w\",\"uid\":1}}",
      "items[3].object.uid: unknown field" },
    { "{\"type\":\"Normal\",\"reason\":\"A\",\"object\":{\"kind\":\"Project\",\"name\":\"w\"},\"count\":2}",
      "items[3].count: unknown field" },
    { "{\"type\":\"Normal\",\"reason\":\"A\",\"time\":\"noon\",\"object\":{\"kind\":\"Project\",\"name\":\"w\"}}",
      "items[3].time: not an RFC 3339 time" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JsonNode) n = parse (cases[i].json);
      g_autoptr (GError) error = NULL;
      g_autoptr (CaraEvent) e = cara_event_from_json (n, "items[3]", &error);
      g_assert_null (e);
      g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
      if (!g_str_has_prefix (error->message, cases[i].message))
        g_error ("case %u: %s", i, error->message);
    }
}

static void
test_lists (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) one = parse ("{\"type\":\"Normal\",\"reason\":\"A\",\"object\":{\"kind\":\"Project\",\"name\":\"w\"}}");
  g_autoptr (GPtrArray) a = cara_event_list_from_json (one, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (a->len, ==, 1);
  g_autoptr (JsonNode) two = parse ("{\"items\":[{\"type\":\"Normal\",\"reason\":\"A\",\"object\":{\"kind\":\"Project\","
                                    "\"name\":\"w\"}},{\"type\":\"Normal\",\"reason\":\"B\",\"object\":{\"kind\":"
                                    "\"Project\",\"name\":\"w\"}}]}");
  g_autoptr (GPtrArray) b = cara_event_list_from_json (two, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (b->len, ==, 2);
  g_assert_null (cara_event_list_from_json (two, 1, &error));
  g_assert_nonnull (strstr (error->message, "at most 1"));
  g_clear_error (&error);
  g_autoptr (JsonNode) empty = parse ("{\"items\":[]}");
  g_assert_null (cara_event_list_from_json (empty, 10, &error));
  g_assert_true (g_str_has_prefix (error->message, "items:"));
  g_clear_error (&error);
  g_autoptr (JsonNode) bad = parse ("{\"items\":[{\"type\":\"Normal\",\"reason\":\"A\",\"object\":{\"kind\":\"Project\","
                                    "\"name\":\"w\"}},{\"type\":\"Normal\"}]}");
  g_assert_null (cara_event_list_from_json (bad, 10, &error));
  g_assert_true (g_str_has_prefix (error->message, "items[1].reason: required"));
}

static void
test_long_message (void)
{
  g_autoptr (GString) s = g_string_new (NULL);
  while (s->len < CARA_EVENT_MESSAGE_MAX + 10)
    g_string_append (s, "é"); /* two bytes each */
  g_string_prepend_c (s, 'x'); /* so the limit falls inside a character */
  g_autoptr (CaraEvent) e = cara_event_new (CARA_EVENT_NORMAL, "A", "Project", "w", NULL, s->str);
  g_assert_cmpuint (strlen (e->message), <=, CARA_EVENT_MESSAGE_MAX);
  g_assert_cmpuint (strlen (e->message), >=, CARA_EVENT_MESSAGE_MAX - 1);
  g_assert_true (g_utf8_validate (e->message, -1, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/event/roundtrip", test_roundtrip);
  g_test_add_func ("/event/errors", test_errors);
  g_test_add_func ("/event/lists", test_lists);
  g_test_add_func ("/event/long-message", test_long_message);
  return g_test_run ();
}
