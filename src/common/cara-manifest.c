/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "cara-cleanup.h"
#include "cara-error.h"
#include "cara-fields.h"
#include "cara-json.h"
#include "cara-manifest.h"
#include "cara-secret.h"
#include "cara-secret.h"
#include "cara-validate.h"

/* Bounds against hostile input: nesting depth and nodes produced after alias expansion
 * ("billion laughs"). */
#define MAX_DEPTH 256
#define MAX_NODES 50000

/* ================================================================ the YAML 1.2 core schema */

static gboolean
is_null_text (const char *s)
{
  return *s == '\0' || strcmp (s, "~") == 0 || strcmp (s, "null") == 0 ||
         strcmp (s, "Null") == 0 || strcmp (s, "NULL") == 0;
}

static gboolean
bool_text (const char *s, gboolean *ret)
{
  if (strcmp (s, "true") == 0 || strcmp (s, "True") == 0 || strcmp (s, "TRUE") == 0)
    *ret = TRUE;
  else if (strcmp (s, "false") == 0 || strcmp (s, "False") == 0 || strcmp (s, "FALSE") == 0)
    *ret = FALSE;
  else
    return FALSE;
  return TRUE;
}

static gboolean
all_chars (const char *s, const char *set)
{
  if (*s == '\0')
    return FALSE;
  for (; *s != '\0'; s++)
    if (strchr (set, *s) == NULL)
      return FALSE;
  return TRUE;
}

/* [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ ; FALSE also when out of range. */
static gboolean
int_text (const char *s, gint64 *ret)
{
  guint64 v;
  const char *digits = s;
  gboolean neg = FALSE;
  guint base = 10;

  if (g_str_has_prefix (s, "0x"))
    {
      digits = s + 2;
      base = 16;
      if (!all_chars (digits, "0123456789abcdefABCDEF"))
        return FALSE;
    }
  else if (g_str_has_prefix (s, "0o"))
    {
      digits = s + 2;
      base = 8;
      if (!all_chars (digits, "01234567"))
        return FALSE;
    }
  else
    {
      if (*digits == '-' || *digits == '+')
        neg = *digits++ == '-';
      if (!all_chars (digits, "0123456789"))
        return FALSE;
    }
  if (!g_ascii_string_to_unsigned (digits, base, 0, G_MAXUINT64, &v, NULL))
    return FALSE;
  if (neg ? v > (guint64) G_MAXINT64 + 1 : v > (guint64) G_MAXINT64)
    return FALSE;
  *ret = neg ? (gint64) (0 - v) : (gint64) v;
  return TRUE;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?  (infinities and NaN stay strings: JSON
 * cannot carry them). */
static gboolean
float_text (const char *s, double *ret)
{
  const char *p = s;
  gboolean digits = FALSE;

  if (*p == '-' || *p == '+')
    p++;
  while (g_ascii_isdigit (*p))
    p++, digits = TRUE;
  if (*p == '.')
    {
      p++;
      while (g_ascii_isdigit (*p))
        p++, digits = TRUE;
    }
  if (!digits)
    return FALSE;
  if (*p == 'e' || *p == 'E')
    {
      p++;
      if (*p == '-' || *p == '+')
        p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
    }
  if (*p != '\0')
    return FALSE;
  *ret = g_ascii_strtod (s, NULL);
  if (!isfinite (*ret))
    return FALSE;
  {
    /* json-glib 1.6 writes such doubles as "1e+20.0" (invalid JSON): keep those as strings. */
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    return strpbrk (g_ascii_dtostr (buf, sizeof buf, *ret), "eE") == NULL;
  }
}

gboolean
cara_yaml_plain_scalar_is_string (const char *s)
{
  gboolean b;
  gint64 i;
  double d;

  return !is_null_text (s) && !bool_text (s, &b) && !int_text (s, &i) && !float_text (s, &d) &&
         strcmp (s, ".inf") != 0 && strcmp (s, "-.inf") != 0 && strcmp (s, "+.inf") != 0 &&
         strcmp (s, ".nan") != 0 && strcmp (s, ".NaN") != 0 && strcmp (s, ".NAN") != 0 &&
         strcmp (s, ".Inf") != 0 && strcmp (s, ".INF") != 0 && strcmp (s, "-.Inf") != 0 &&
         strcmp (s, "-.INF") != 0;
}

/* ================================================================ the node tree */

typedef enum { Y_SCALAR, Y_SEQUENCE, Y_MAPPING, Y_ALIAS } YKind;

typedef struct YNode YNode;
struct YNode {
  int refcount;
  YKind kind;
  guint line, col;        /* 1-based */
  char *text;             /* scalar */
  gboolean plain;         /* plain scalar without a tag forcing a string */
  GPtrArray *children;    /* sequence: items; mapping: key, value, key, value, ... */
  YNode *target;          /* alias */
};

static void ynode_unref (YNode *n);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (YNode, ynode_unref)

static YNode *
ynode_new (YKind kind, yaml_mark_t mark)
{
  YNode *n = g_new0 (YNode, 1);

  n->refcount = 1;
  n->kind = kind;
  n->line = (guint) mark.line + 1;
  n->col = (guint) mark.column + 1;
  if (kind == Y_SEQUENCE || kind == Y_MAPPING)
    n->children = g_ptr_array_new_with_free_func ((GDestroyNotify) ynode_unref);
  return n;
}

static YNode *
ynode_ref (YNode *n)
{
  n->refcount++;
  return n;
}

static void
ynode_unref (YNode *n)
{
  if (n == NULL || --n->refcount > 0)
    return;
  g_free (n->text);
  if (n->children != NULL)
    g_ptr_array_unref (n->children);
  ynode_unref (n->target);
  g_free (n);
}

typedef struct {
  const char *file;
  yaml_parser_t parser;
  GHashTable *anchors; /* name -> YNode*, per document */
  guint produced;      /* nodes produced by the JSON conversion of the current document */
  GHashTable *lines;   /* of the current document */
} Reader;

static gboolean G_GNUC_PRINTF (4, 5)
fail_at (GError **error, const char *file, const YNode *at, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s:%u:%u: %s", file, at->line, at->col, msg);
  return FALSE;
}

static gboolean
parser_error (Reader *r, GError **error)
{
  yaml_parser_t *p = &r->parser;
  const char *problem = p->problem != NULL ? p->problem : "invalid YAML";

  if (p->error == YAML_MEMORY_ERROR)
    problem = "out of memory";
  if (p->context != NULL)
    g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s:%zu:%zu: %s (%s)", r->file,
                 p->problem_mark.line + 1, p->problem_mark.column + 1, problem, p->context);
  else
    g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s:%zu:%zu: %s", r->file,
                 p->problem_mark.line + 1, p->problem_mark.column + 1, problem);
  return FALSE;
}

static gboolean
next_event (Reader *r, yaml_event_t *ev, GError **error)
{
  if (!yaml_parser_parse (&r->parser, ev))
    return parser_error (r, error);
  return TRUE;
}

static void
remember_anchor (Reader *r, const yaml_char_t *anchor, YNode *n)
{
  if (anchor != NULL)
    g_hash_table_replace (r->anchors, g_strdup ((const char *) anchor), ynode_ref (n));
}

/* Builds the node that starts with @ev (already read). */
static YNode *
parse_node (Reader *r, yaml_event_t *ev, guint depth, GError **error)
{
  g_autoptr(YNode) n = NULL;
  yaml_event_type_t end;
  const yaml_char_t *anchor;

  switch (ev->type)
    {
    case YAML_SCALAR_EVENT:
      {
        const char *tag = (const char *) ev->data.scalar.tag;
        n = ynode_new (Y_SCALAR, ev->start_mark);
        n->text = g_strndup ((const char *) ev->data.scalar.value, ev->data.scalar.length);
        /* Quoted scalars and "!"/"!!str" tags stay strings; other tags resolve as plain. */
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                   (tag == NULL || (strcmp (tag, "!") != 0 && strcmp (tag, YAML_STR_TAG) != 0));
        if (strlen (n->text) != ev->data.scalar.length)
          {
            fail_at (error, r->file, n, "NUL characters are not allowed");
            return NULL;
          }
        remember_anchor (r, ev->data.scalar.anchor, n);
        return g_steal_pointer (&n);
      }
    case YAML_ALIAS_EVENT:
      {
        YNode *target = g_hash_table_lookup (r->anchors, ev->data.alias.anchor);
        n = ynode_new (Y_ALIAS, ev->start_mark);
        if (target == NULL)
          {
            fail_at (error, r->file, n, "unknown anchor \"%s\"", (const char *) ev->data.alias.anchor);
            return NULL;
          }
        n->target = ynode_ref (target);
        return g_steal_pointer (&n);
      }
    case YAML_SEQUENCE_START_EVENT:
      n = ynode_new (Y_SEQUENCE, ev->start_mark);
      end = YAML_SEQUENCE_END_EVENT;
      anchor = ev->data.sequence_start.anchor;
      break;
    case YAML_MAPPING_START_EVENT:
      n = ynode_new (Y_MAPPING, ev->start_mark);
      end = YAML_MAPPING_END_EVENT;
      anchor = ev->data.mapping_start.anchor;
      break;
    default:
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s:%zu:%zu: unexpected YAML event",
                   r->file, ev->start_mark.line + 1, ev->start_mark.column + 1);
      return NULL;
    }

  if (depth >= MAX_DEPTH)
    {
      fail_at (error, r->file, n, "nesting deeper than %d levels", MAX_DEPTH);
      return NULL;
    }
  for (;;)
    {
      g_auto(yaml_event_t) child_ev = { 0 };
      YNode *child;

      if (!next_event (r, &child_ev, error))
        return NULL;
      if (child_ev.type == end)
        break;
      child = parse_node (r, &child_ev, depth + 1, error);
      if (child == NULL)
        return NULL;
      g_ptr_array_add (n->children, child);
    }
  /* Registered only once complete, so a node cannot contain an alias to itself. */
  remember_anchor (r, anchor, n);
  return g_steal_pointer (&n);
}

/* ================================================================ tree -> JSON */

typedef enum { ROLE_NONE, ROLE_ENV_LIST, ROLE_ENV_ITEM, ROLE_ENV_VALUE, ROLE_FILE_MODE } Role;

static JsonNode *convert (Reader *r, YNode *n, const char *path, Role role, GError **error);

static JsonNode *
convert_scalar (YNode *n, Role role)
{
  JsonNode *j = json_node_alloc ();
  gboolean b;
  gint64 i;
  double d;

  if (!n->plain)
    return json_node_init_string (j, n->text);
  if (is_null_text (n->text))
    return json_node_init_null (j);
  /* env[].value is always a string, as Docker Compose does: 8080 -> "8080", true -> "true". */
  if (role == ROLE_ENV_VALUE)
    return json_node_init_string (j, n->text);
  /* A file mode written as YAML 1.1 octal (mode: 0440, as Compose and Kubernetes read it) stays
   * its text, which the decoder reads as octal; 012 elsewhere is 12 (YAML 1.2). */
  if (role == ROLE_FILE_MODE && n->text[0] == '0' && n->text[1] != '\0' && all_chars (n->text + 1, "01234567"))
    return json_node_init_string (j, n->text);
  if (bool_text (n->text, &b))
    return json_node_init_boolean (j, b);
  if (int_text (n->text, &i))
    return json_node_init_int (j, i);
  /* An integer out of range stays a string rather than losing digits as a double. */
  if (float_text (n->text, &d) && !all_chars (n->text + (n->text[0] == '-' || n->text[0] == '+'), "0123456789"))
    return json_node_init_double (j, d);
  return json_node_init_string (j, n->text);
}

static char *
child_path (const char *path, const char *key)
{
  if (*path == '\0')
    return g_strdup (key);
  return g_strconcat (path, ".", key, NULL);
}

static YNode *
resolve_alias (YNode *n)
{
  return n->kind == Y_ALIAS ? n->target : n;
}

static void
record_line (Reader *r, const char *path, guint line)
{
  if (!g_hash_table_contains (r->lines, path))
    g_hash_table_insert (r->lines, g_strdup (path), GUINT_TO_POINTER (line));
}

/* Adds the keys of merge sources ("<<: *base") not given explicitly. */
static gboolean
apply_merge (Reader *r, JsonObject *o, YNode *value, const char *path, GError **error)
{
  YNode *v = resolve_alias (value);
  g_autoptr(GPtrArray) sources = g_ptr_array_new ();

  if (v->kind == Y_MAPPING)
    g_ptr_array_add (sources, v);
  else if (v->kind == Y_SEQUENCE)
    for (guint i = 0; i < v->children->len; i++)
      g_ptr_array_add (sources, resolve_alias (g_ptr_array_index (v->children, i)));
  for (guint s = 0; s < sources->len; s++)
    {
      YNode *src = g_ptr_array_index (sources, s);
      g_autoptr(JsonNode) merged = NULL;
      JsonObjectIter it;
      const char *k;
      JsonNode *m;

      if (src->kind != Y_MAPPING)
        return fail_at (error, r->file, value, "%s%sthe value of a merge key \"<<\" must be a mapping or a list of mappings",
                        path, *path ? ": " : "");
      merged = convert (r, src, path, ROLE_NONE, error);
      if (merged == NULL)
        return FALSE;
      json_object_iter_init (&it, json_node_get_object (merged));
      while (json_object_iter_next (&it, &k, &m))
        if (!json_object_has_member (o, k))
          json_object_set_member (o, k, json_node_copy (m));
    }
  return TRUE;
}

static JsonNode *
convert_mapping (Reader *r, YNode *n, const char *path, Role role, GError **error)
{
  g_autoptr(JsonObject) o = json_object_new ();
  g_autoptr(GPtrArray) merges = g_ptr_array_new ();

  for (guint i = 0; i + 1 < n->children->len; i += 2)
    {
      YNode *key_node = g_ptr_array_index (n->children, i);
      YNode *key = resolve_alias (key_node);
      YNode *value = g_ptr_array_index (n->children, i + 1);
      g_autofree char *cp = NULL;
      JsonNode *v;
      Role child_role = ROLE_NONE;

      if (key->kind != Y_SCALAR)
        {
          fail_at (error, r->file, key_node, "%s%smapping keys must be scalars", path, *path ? ": " : "");
          return NULL;
        }
      if (key->plain && strcmp (key->text, "<<") == 0)
        {
          g_ptr_array_add (merges, value);
          continue;
        }
      if (json_object_has_member (o, key->text))
        {
          fail_at (error, r->file, key_node, "%s%sduplicate key \"%s\"", path, *path ? ": " : "",
                   key->text);
          return NULL;
        }
      if (strcmp (key->text, "env") == 0)
        child_role = ROLE_ENV_LIST;
      else if (role == ROLE_ENV_ITEM && strcmp (key->text, "value") == 0)
        child_role = ROLE_ENV_VALUE;
      else if (strcmp (key->text, "mode") == 0)
        child_role = ROLE_FILE_MODE;
      cp = child_path (path, key->text);
      record_line (r, cp, key_node->line);
      v = convert (r, value, cp, child_role, error);
      if (v == NULL)
        return NULL;
      json_object_set_member (o, key->text, v);
    }
  for (guint i = 0; i < merges->len; i++)
    if (!apply_merge (r, o, g_ptr_array_index (merges, i), path, error))
      return NULL;
  return json_node_init_object (json_node_alloc (), o);
}

static JsonNode *
convert (Reader *r, YNode *n, const char *path, Role role, GError **error)
{
  if (++r->produced > MAX_NODES)
    {
      fail_at (error, r->file, n, "document too large: more than %d nodes (after expanding aliases)",
               MAX_NODES);
      return NULL;
    }
  switch (n->kind)
    {
    case Y_ALIAS:
      return convert (r, n->target, path, role, error);
    case Y_SCALAR:
      return convert_scalar (n, role);
    case Y_MAPPING:
      return convert_mapping (r, n, path, role, error);
    case Y_SEQUENCE:
    default:
      {
        g_autoptr(JsonArray) a = json_array_new ();
        for (guint i = 0; i < n->children->len; i++)
          {
            YNode *item = g_ptr_array_index (n->children, i);
            g_autofree char *ip = g_strdup_printf ("%s[%u]", path, i);
            JsonNode *v;

            record_line (r, ip, item->line);
            v = convert (r, item, ip, role == ROLE_ENV_LIST ? ROLE_ENV_ITEM : ROLE_NONE, error);
            if (v == NULL)
              return NULL;
            json_array_add_element (a, v);
          }
        return json_node_init_array (json_node_alloc (), a);
      }
    }
}

/* ================================================================ documents */

void
cara_manifest_doc_free (CaraManifestDoc *d)
{
  if (d == NULL)
    return;
  g_free (d->file);
  if (d->node != NULL)
    json_node_unref (d->node);
  if (d->lines != NULL)
    g_hash_table_unref (d->lines);
  g_free (d);
}

static CaraManifestDoc *
doc_new (const char *file, guint index, guint line)
{
  CaraManifestDoc *d = g_new0 (CaraManifestDoc, 1);

  d->file = g_strdup (file);
  d->index = index;
  d->line = line;
  d->lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return d;
}

/* One document, after its DOCUMENT-START event; NULL in *ret for an empty document. */
static gboolean
read_document (Reader *r, guint index, guint line, CaraManifestDoc **ret, GError **error)
{
  g_auto(yaml_event_t) ev = { 0 };
  g_auto(yaml_event_t) end_ev = { 0 };
  g_autoptr(YNode) root = NULL;
  g_autoptr(CaraManifestDoc) d = doc_new (r->file, index, line);
  JsonNode *node;

  *ret = NULL;
  g_hash_table_remove_all (r->anchors);
  if (!next_event (r, &ev, error))
    return FALSE;
  root = parse_node (r, &ev, 0, error);
  if (root == NULL || !next_event (r, &end_ev, error))
    return FALSE;
  if (end_ev.type != YAML_DOCUMENT_END_EVENT)
    return fail_at (error, r->file, root, "expected the end of the document");
  g_hash_table_remove_all (r->anchors); /* breaks no cycles (there are none), frees early */

  r->lines = d->lines;
  r->produced = 0;
  node = convert (r, root, "", ROLE_NONE, error);
  r->lines = NULL;
  if (node == NULL)
    return FALSE;
  d->node = node;
  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE; /* empty document: skipped */
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail_at (error, r->file, resolve_alias (root),
                    "a manifest document must be a mapping (apiVersion, kind, metadata, spec), not %s",
                    JSON_NODE_HOLDS_ARRAY (node) ? "a list" : "a scalar");
  *ret = g_steal_pointer (&d);
  return TRUE;
}

static gboolean
read_stream (Reader *r, GPtrArray *docs, GError **error)
{
  guint index = 0;

  for (;;)
    {
      g_auto(yaml_event_t) ev = { 0 };
      CaraManifestDoc *d = NULL;

      if (!next_event (r, &ev, error))
        return FALSE;
      if (ev.type == YAML_STREAM_END_EVENT)
        return TRUE;
      if (ev.type != YAML_DOCUMENT_START_EVENT)
        continue; /* STREAM-START */
      if (!read_document (r, index, (guint) ev.start_mark.line + 1, &d, error))
        return FALSE;
      index++;
      if (d != NULL)
        g_ptr_array_add (docs, d);
    }
}

static GPtrArray *
read_yaml (const char *file, const char *data, gsize len, GError **error)
{
  g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_manifest_doc_free);
  g_autoptr(GHashTable) anchors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) ynode_unref);
  Reader r = { .file = file, .anchors = anchors };
  gboolean ok;

  if (!yaml_parser_initialize (&r.parser))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "%s: cannot initialise the YAML parser", file);
      return NULL;
    }
  yaml_parser_set_input_string (&r.parser, (const unsigned char *) data, len);
  ok = read_stream (&r, docs, error);
  yaml_parser_delete (&r.parser);
  return ok ? g_steal_pointer (&docs) : NULL;
}

/* JSON that libyaml refuses (e.g. tab indentation): read it with json-glib, coercing env values
 * the same way. */
static void
coerce_env_values (JsonNode *node)
{
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (a); i++)
        coerce_env_values (json_array_get_element (a, i));
    }
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *o = json_node_get_object (node);
      JsonObjectIter it;
      const char *k;
      JsonNode *v;

      json_object_iter_init (&it, o);
      while (json_object_iter_next (&it, &k, &v))
        {
          if (strcmp (k, "env") == 0 && JSON_NODE_HOLDS_ARRAY (v))
            {
              JsonArray *a = json_node_get_array (v);
              for (guint i = 0; i < json_array_get_length (a); i++)
                {
                  JsonNode *item = json_array_get_element (a, i);
                  JsonNode *val;
                  GType t;
                  if (!JSON_NODE_HOLDS_OBJECT (item))
                    continue;
                  val = json_object_get_member (json_node_get_object (item), "value");
                  if (val == NULL || !JSON_NODE_HOLDS_VALUE (val))
                    continue;
                  t = json_node_get_value_type (val);
                  if (t == G_TYPE_INT64)
                    {
                      g_autofree char *s = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (val));
                      json_node_set_string (val, s);
                    }
                  else if (t == G_TYPE_BOOLEAN)
                    json_node_set_string (val, json_node_get_boolean (val) ? "true" : "false");
                  else if (t == G_TYPE_DOUBLE)
                    {
                      char buf[G_ASCII_DTOSTR_BUF_SIZE];
                      json_node_set_string (val, g_ascii_dtostr (buf, sizeof buf, json_node_get_double (val)));
                    }
                }
            }
          coerce_env_values (v);
        }
    }
}

static GPtrArray *
read_json (const char *file, const char *data, gsize len, GError **error)
{
  g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_manifest_doc_free);
  g_autoptr(CaraManifestDoc) d = doc_new (file, 0, 1);
  g_autoptr(JsonNode) root = cara_json_parse (data, (gssize) len, error);

  if (root == NULL)
    {
      g_prefix_error (error, "%s: ", file);
      return NULL;
    }
  if (JSON_NODE_HOLDS_NULL (root))
    return g_steal_pointer (&docs);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "%s:1:1: a manifest document must be a mapping (apiVersion, kind, metadata, spec)", file);
      return NULL;
    }
  d->node = g_steal_pointer (&root);
  coerce_env_values (d->node);
  g_ptr_array_add (docs, g_steal_pointer (&d));
  return g_steal_pointer (&docs);
}

static gboolean
looks_like_json (const char *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isspace (data[i]))
      return data[i] == '{' || data[i] == '[';
  return FALSE;
}

GPtrArray *
cara_manifest_read_data (const char *file, const char *data, gsize len, GError **error)
{
  g_autoptr(GError) yaml_error = NULL;
  GPtrArray *docs;

  docs = read_yaml (file, data, len, &yaml_error);
  if (docs != NULL)
    return docs;
  if (looks_like_json (data, len) && memchr (data, '\0', len) == NULL)
    {
      g_autoptr(GError) json_error = NULL;
      docs = read_json (file, data, len, &json_error);
      if (docs != NULL)
        return docs;
      /* For a .json file the JSON parser's complaint is the clearer one. */
      if (g_str_has_suffix (file, ".json"))
        {
          g_propagate_error (error, g_steal_pointer (&json_error));
          return NULL;
        }
    }
  g_propagate_error (error, g_steal_pointer (&yaml_error));
  return NULL;
}

/* ================================================================ files */

static gboolean
read_stdin (GByteArray *out, GError **error)
{
  guint8 buf[65536];

  for (;;)
    {
      ssize_t n = read (STDIN_FILENO, buf, sizeof buf);
      if (n == 0)
        return TRUE;
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "-: cannot read standard input: %s",
                       g_strerror (errno));
          return FALSE;
        }
      g_byte_array_append (out, buf, (guint) n);
    }
}

static gboolean
read_file_into (const char *path, GPtrArray *docs, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) file_docs = NULL;

  if (!g_file_get_contents (path, &data, &len, &local_error))
    {
      g_set_error (error, CARA_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? CARA_ERROR_NOT_FOUND
                                                                                  : CARA_ERROR_FAILED,
                   "%s", local_error->message);
      return FALSE;
    }
  file_docs = cara_manifest_read_data (path, data, len, error);
  if (file_docs == NULL)
    return FALSE;
  for (guint i = 0; i < file_docs->len; i++)
    g_ptr_array_add (docs, g_steal_pointer (&file_docs->pdata[i]));
  return TRUE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
cara_manifest_read_path (const char *path, GError **error)
{
  g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_manifest_doc_free);

  if (strcmp (path, "-") == 0)
    {
      g_autoptr(GByteArray) bytes = g_byte_array_new ();
      GPtrArray *stdin_docs;
      if (!read_stdin (bytes, error))
        return NULL;
      stdin_docs = cara_manifest_read_data ("-", (const char *) bytes->data, bytes->len, error);
      return stdin_docs;
    }
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GDir) dir = g_dir_open (path, 0, &local_error);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;

      if (dir == NULL)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "%s", local_error->message);
          return NULL;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        if (name[0] != '.' && (g_str_has_suffix (name, ".yaml") || g_str_has_suffix (name, ".yml") ||
                               g_str_has_suffix (name, ".json")))
          g_ptr_array_add (names, g_strdup (name));
      g_ptr_array_sort (names, compare_names);
      for (guint i = 0; i < names->len; i++)
        {
          g_autofree char *full = g_build_filename (path, g_ptr_array_index (names, i), NULL);
          if (!read_file_into (full, docs, error))
            return NULL;
        }
      return g_steal_pointer (&docs);
    }
  if (!read_file_into (path, docs, error))
    return NULL;
  return g_steal_pointer (&docs);
}

/* ================================================================ locating errors */

void
cara_manifest_doc_locate_error (const CaraManifestDoc *d, GError **error)
{
  const char *msg, *colon;
  g_autofree char *path = NULL;
  guint line = d->line;

  if (error == NULL || *error == NULL)
    return;
  msg = (*error)->message;
  colon = strstr (msg, ": ");
  if (colon != NULL && colon > msg && strcspn (msg, " ") >= (gsize) (colon - msg))
    {
      path = g_strndup (msg, (gsize) (colon - msg));
      /* The longest recorded prefix: "a.b[1].c", then "a.b[1]", "a.b", "a". */
      while (*path != '\0')
        {
          gpointer v;
          char *cut;
          if (g_hash_table_lookup_extended (d->lines, path, NULL, &v))
            {
              line = GPOINTER_TO_UINT (v);
              break;
            }
          cut = strrchr (path, '.');
          {
            char *bracket = strrchr (path, '[');
            if (bracket != NULL && (cut == NULL || bracket > cut))
              cut = bracket;
          }
          if (cut == NULL)
            break;
          *cut = '\0';
        }
    }
  g_prefix_error (error, "%s:%u: ", d->file, line);
}

/* ================================================================ checking a document */

typedef struct {
  guint line;
  guint order;
  GError *error;
} Located;

static int
compare_located (gconstpointer a, gconstpointer b)
{
  const Located *x = a, *y = b;

  if (x->line != y->line)
    return x->line < y->line ? -1 : 1;
  return x->order < y->order ? -1 : (x->order > y->order);
}

/* The line cara_manifest_doc_locate_error put in front of the message ("file:LINE: ..."). */
static guint
located_line (const CaraManifestDoc *d, const GError *e)
{
  gsize skip = strlen (d->file) + 1;

  if (strlen (e->message) <= skip)
    return 0;
  return (guint) g_ascii_strtoull (e->message + skip, NULL, 10);
}

gboolean
cara_manifest_doc_check (const CaraManifestDoc *d, GError **error)
{
  g_autoptr(GPtrArray) problems = cara_fields_check (d->node, NULL, CARA_FIELDS_ALL);
  g_autoptr(GError) decode_error = NULL;
  const char *kind = cara_json_get_kind (d->node);
  g_autoptr(GArray) located = g_array_new (FALSE, FALSE, sizeof (Located));
  g_autoptr(GString) msg = g_string_new (NULL);

  if (strcmp (kind, "Project") == 0)
    {
      g_autoptr(CaraProject) p = cara_project_from_json (d->node, &decode_error);
      if (p != NULL)
        cara_validate_project_all (p, problems);
    }
  else if (strcmp (kind, "Node") == 0)
    {
      g_autoptr(CaraNode) n = cara_node_from_json (d->node, &decode_error);
      if (n != NULL)
        cara_validate_node (n, &decode_error);
    }
  else if (strcmp (kind, "Secret") == 0)
    {
      g_autoptr(CaraSecret) s = cara_secret_from_json (d->node, &decode_error);
      if (s != NULL)
        cara_secret_validate (s, &decode_error);
    }
  else if (strcmp (kind, "Secret") == 0)
    {
      g_autoptr(CaraSecret) s = cara_secret_from_json (d->node, &decode_error);
      if (s != NULL)
        cara_secret_validate (s, &decode_error);
    }
  else
    return TRUE;
  if (decode_error != NULL)
    g_ptr_array_add (problems, g_steal_pointer (&decode_error));
  if (problems->len == 0)
    return TRUE;

  for (guint i = 0; i < problems->len; i++)
    {
      Located l = { 0, i, problems->pdata[i] };
      /* One without a field path ("and 3 more unknown fields") goes last. */
      gboolean has_path = strstr (l.error->message, ": ") != NULL;
      cara_manifest_doc_locate_error (d, &l.error);
      l.line = has_path ? located_line (d, l.error) : G_MAXUINT;
      g_array_append_val (located, l);
    }
  g_array_sort (located, compare_located);
  for (guint i = 0; i < located->len; i++)
    g_string_append_printf (msg, "%s%s", i > 0 ? "\n" : "", g_array_index (located, Located, i).error->message);
  g_set_error_literal (error, CARA_ERROR, CARA_ERROR_INVALID, msg->str);
  return FALSE;
}
