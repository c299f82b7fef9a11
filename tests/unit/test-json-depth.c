/* SPDX-License-Identifier: Apache-2.0 */
/* JSON nesting depth cap: deep input is refused before json-glib builds a tree (its parser
 * recurses, so 100,000 '[' would overflow the stack). */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-json.h"

static char *
nested (int depth, const char *prefix, const char *suffix)
{
  GString *s = g_string_new (prefix);
  for (int i = 0; i < depth; i++)
    g_string_append_c (s, '[');
  for (int i = 0; i < depth; i++)
    g_string_append_c (s, ']');
  g_string_append (s, suffix);
  return g_string_free (s, FALSE);
}

static void
test_limit (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ok = nested (CARA_JSON_MAX_DEPTH, "", "");
  g_autoptr (JsonNode) n = cara_json_parse (ok, -1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (n);

  g_autofree char *deep = nested (CARA_JSON_MAX_DEPTH + 1, "", "");
  g_assert_null (cara_json_parse (deep, -1, &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "64"));
  g_clear_error (&error);

  /* what crashed the server: 100,000 of them, with an explicit length */
  g_autofree char *huge = nested (100000, "", "");
  g_assert_null (cara_json_parse (huge, (gssize) strlen (huge), &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_clear_error (&error);

  /* objects count as well */
  g_autoptr (GString) obj = g_string_new (NULL);
  for (int i = 0; i < 100; i++)
    g_string_append (obj, "{\"a\":");
  g_string_append (obj, "1");
  for (int i = 0; i < 100; i++)
    g_string_append_c (obj, '}');
  g_assert_false (cara_json_check_depth (obj->str, -1, &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_clear_error (&error);
}

static void
test_strings (void)
{
  g_autoptr (GError) error = NULL;
  /* brackets inside strings are data, escaped quotes do not end the string */
  g_autoptr (GString) s = g_string_new ("{\"v\":\"\\\"");
  for (int i = 0; i < 1000; i++)
    g_string_append (s, "[{");
  g_string_append (s, "\"}");
  g_autoptr (JsonNode) n = cara_json_parse (s->str, -1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (n);

  /* json-glib takes comments and '...' strings: a '"' in them must not hide deep nesting */
  g_autofree char *comment = nested (1000, "/* \" */", "");
  g_assert_false (cara_json_check_depth (comment, -1, &error));
  g_clear_error (&error);
  g_autofree char *sq = nested (1000, "['\"', ", "]");
  g_assert_false (cara_json_check_depth (sq, -1, &error));
  g_clear_error (&error);
  /* an unterminated string with brackets after it is bad JSON, not a crash */
  g_autofree char *open = nested (1000, "\"", "");
  g_assert_true (cara_json_check_depth (open, -1, NULL));
  g_assert_null (cara_json_parse (open, -1, &error));
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/depth/limit", test_limit);
  g_test_add_func ("/json/depth/strings", test_strings);
  return g_test_run ();
}
