/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-json.h"

/* ================================================================================ generic */

/* json-glib 1.6 accepts several top-level values ("{}{}") and keeps the last one (leaking the
 * others); count completed top-level containers to refuse such input. */
typedef struct {
  int depth;
  int roots;
} RootCounter;

static void
on_container_end (JsonParser *parser, gpointer unused, gpointer data)
{
  RootCounter *rc = data;

  if (--rc->depth == 0)
    rc->roots++;
}

static void
on_start (JsonParser *parser, gpointer data)
{
  RootCounter *rc = data;

  rc->depth++;
}

/* json-glib 1.6 turns escapes such as "\215" (octal, which JSON has not got) into raw bytes, so a
 * parsed document can hold strings that are not UTF-8: found by fuzz-manifest, they made the YAML
 * emitter fail and would reach PostgreSQL.  Every key and string value is checked; @path names the
 * first bad one. */
static gboolean
strings_valid (JsonNode *node, GString *path)
{
  if (JSON_NODE_HOLDS_VALUE (node))
    return json_node_get_value_type (node) != G_TYPE_STRING || g_utf8_validate (json_node_get_string (node), -1, NULL);
  gsize len = path->len;
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          g_string_append_printf (path, "[%u]", i);
          if (!strings_valid (json_array_get_element (a, i), path))
            return FALSE;
          g_string_truncate (path, len);
        }
    }
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter it;
      const char *key;
      JsonNode *member;
      json_object_iter_init (&it, json_node_get_object (node));
      while (json_object_iter_next (&it, &key, &member))
        {
          if (!g_utf8_validate (key, -1, NULL))
            return FALSE;
          g_string_append_printf (path, "%s%s", path->len ? "." : "", key);
          if (!strings_valid (member, path))
            return FALSE;
          g_string_truncate (path, len);
        }
    }
  return TRUE;
}

/* json-glib 1.6 parses recursively: 100,000 '[' overflow the stack of the thread that reads them.
 * The bytes are scanned for nesting depth before any tree is built.  Brackets inside "..." strings
 * do not count; json-glib also takes '...' strings and comments, which could hide a '"' from this
 * scan, so after a ' or / outside a string every bracket counts (such input is not JSON anyway). */
gboolean
cara_json_check_depth (const char *data, gssize len, GError **error)
{
  gsize n = len < 0 ? strlen (data) : (gsize) len;
  gboolean in_string = FALSE, string_aware = TRUE;
  int depth = 0;

  for (gsize i = 0; i < n; i++)
    {
      char c = data[i];
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (string_aware && c == '"')
        in_string = TRUE;
      else if (c == '\'' || c == '/')
        string_aware = FALSE;
      else if (c == '[' || c == '{')
        {
          if (++depth > CARA_JSON_MAX_DEPTH)
            {
              g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                           "invalid JSON: nested deeper than the limit of %d levels", CARA_JSON_MAX_DEPTH);
              return FALSE;
            }
        }
      else if ((c == ']' || c == '}') && depth > 0)
        depth--;
    }
  return TRUE;
}

JsonNode *
cara_json_parse (const char *data, gssize len, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  RootCounter rc = { 0, 0 };
  JsonNode *root;

  if (data == NULL || len == 0 || (len < 0 && *data == '\0'))
    {
      g_set_error_literal (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid JSON: empty document");
      return NULL;
    }
  if (!cara_json_check_depth (data, len, error))
    return NULL;
  g_signal_connect (parser, "object-start", G_CALLBACK (on_start), &rc);
  g_signal_connect (parser, "array-start", G_CALLBACK (on_start), &rc);
  g_signal_connect (parser, "object-end", G_CALLBACK (on_container_end), &rc);
  g_signal_connect (parser, "array-end", G_CALLBACK (on_container_end), &rc);
  if (!json_parser_load_from_data (parser, data, len, &local_error))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid JSON: %s", local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL)
    {
      g_set_error_literal (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid JSON: empty document");
      return NULL;
    }
  if (rc.roots > 1 || (rc.roots == 1 && JSON_NODE_HOLDS_VALUE (root)))
    {
      g_set_error_literal (error, CARA_ERROR, CARA_ERROR_INVALID,
                           "invalid JSON: more than one top-level value");
      return NULL;
    }
  g_autoptr (GString) path = g_string_new (NULL);
  if (!strings_valid (root, path))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid JSON: %s%sa string that is not UTF-8",
                   path->str, path->len ? ": " : "");
      return NULL;
    }
  return json_node_copy (root);
}

char *
cara_json_to_string (JsonNode *node, gboolean pretty)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, pretty);
  json_generator_set_indent (gen, 2);
  return json_generator_to_data (gen, NULL);
}

const char *
cara_json_get_kind (JsonNode *node)
{
  JsonObject *o;
  JsonNode *k;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return "";
  o = json_node_get_object (node);
  k = json_object_get_member (o, "kind");
  if (k == NULL || !JSON_NODE_HOLDS_VALUE (k) || json_node_get_value_type (k) != G_TYPE_STRING)
    return "";
  return json_node_get_string (k);
}

/* ================================================================================ times */

const char *
cara_json_object_string (JsonObject *o, const char *member)
{
  JsonNode *n = o ? json_object_get_member (o, member) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

JsonObject *
cara_json_object_object (JsonObject *o, const char *member)
{
  JsonNode *n = o ? json_object_get_member (o, member) : NULL;
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

char *
cara_time_format (GDateTime *t)
{
  g_autoptr(GDateTime) utc = NULL;
  int usec;
  char frac[8] = "";

  if (t == NULL)
    return g_strdup ("0001-01-01T00:00:00Z");
  utc = g_date_time_to_utc (t);
  usec = g_date_time_get_microsecond (utc);
  if (usec != 0)
    {
      /* RFC3339Nano: trailing zeros of the fraction are trimmed. */
      g_snprintf (frac, sizeof frac, ".%06d", usec);
      for (char *e = frac + strlen (frac) - 1; *e == '0'; e--)
        *e = '\0';
    }
  return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02d%sZ", g_date_time_get_year (utc),
                          g_date_time_get_month (utc), g_date_time_get_day_of_month (utc),
                          g_date_time_get_hour (utc), g_date_time_get_minute (utc),
                          g_date_time_get_second (utc), frac);
}

static gboolean
is_zero_time (GDateTime *t)
{
  return g_date_time_get_year (t) == 1 && g_date_time_get_month (t) == 1 &&
         g_date_time_get_day_of_month (t) == 1 && g_date_time_get_hour (t) == 0 &&
         g_date_time_get_minute (t) == 0 && g_date_time_get_second (t) == 0 &&
         g_date_time_get_microsecond (t) == 0;
}

gboolean
cara_time_parse (const char *s, GDateTime **ret, GError **error)
{
  g_autoptr(GDateTime) t = NULL;
  g_autoptr(GDateTime) utc = NULL;

  /* RFC 3339 needs a full date, 'T', a time and an explicit offset. */
  if (s == NULL || strlen (s) < 20 || (s[10] != 'T' && s[10] != 't'))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "invalid time \"%s\": expected RFC 3339 (e.g. 2026-04-12T08:00:00Z)",
                   s != NULL ? s : "");
      return FALSE;
    }
  t = g_date_time_new_from_iso8601 (s, NULL);
  if (t == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "invalid time \"%s\": expected RFC 3339 (e.g. 2026-04-12T08:00:00Z)", s);
      return FALSE;
    }
  utc = g_date_time_to_utc (t);
  if (utc == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid time \"%s\": out of range", s);
      return FALSE;
    }
  *ret = is_zero_time (utc) ? NULL : g_steal_pointer (&utc);
  return TRUE;
}

/* ================================================================================ decoding */

static const char *
type_name (JsonNode *n)
{
  switch (JSON_NODE_TYPE (n))
    {
    case JSON_NODE_OBJECT: return "an object";
    case JSON_NODE_ARRAY: return "an array";
    case JSON_NODE_NULL: return "null";
    case JSON_NODE_VALUE:
    default:
      break;
    }
  switch (json_node_get_value_type (n))
    {
    case G_TYPE_STRING: return "a string";
    case G_TYPE_BOOLEAN: return "a boolean";
    case G_TYPE_INT64: return "a number";
    case G_TYPE_DOUBLE: return "a number";
    default: return "a value";
    }
}

static gboolean
type_error (GError **error, const char *path, const char *expected, JsonNode *n)
{
  g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s%sexpected %s, got %s",
               path, *path ? ": " : "", expected, type_name (n));
  return FALSE;
}

static char *
join (const char *path, const char *member)
{
  if (path == NULL || *path == '\0')
    return g_strdup (member);
  return g_strconcat (path, ".", member, NULL);
}

/* Absent and null members read as "not given" (as Go leaves the field at its zero value). */
static JsonNode *
member (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return NULL;
  return n;
}

static JsonObject *
as_object (JsonNode *n, const char *path, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (n))
    {
      type_error (error, path, "an object", n);
      return NULL;
    }
  return json_node_get_object (n);
}

static gboolean
get_object (JsonObject *o, const char *path, const char *name, JsonObject **ret, GError **error)
{
  JsonNode *n = member (o, name);
  g_autofree char *p = NULL;

  *ret = NULL;
  if (n == NULL)
    return TRUE;
  p = join (path, name);
  *ret = as_object (n, p, error);
  return *ret != NULL;
}

static gboolean
get_array (JsonObject *o, const char *path, const char *name, JsonArray **ret, GError **error)
{
  JsonNode *n = member (o, name);

  *ret = NULL;
  if (n == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (n))
    {
      g_autofree char *p = join (path, name);
      return type_error (error, p, "an array", n);
    }
  *ret = json_node_get_array (n);
  return TRUE;
}

static gboolean
node_string (JsonNode *n, const char *path, char **ret, GError **error)
{
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return type_error (error, path, "a string", n);
  g_free (*ret);
  *ret = g_strdup (json_node_get_string (n));
  return TRUE;
}

static gboolean
get_string (JsonObject *o, const char *path, const char *name, char **ret, GError **error)
{
  JsonNode *n = member (o, name);
  g_autofree char *p = NULL;

  if (n == NULL)
    return TRUE;
  p = join (path, name);
  return node_string (n, p, ret, error);
}

static gboolean
get_int (JsonObject *o, const char *path, const char *name, gint64 *ret, GError **error)
{
  JsonNode *n = member (o, name);

  if (n == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    {
      g_autofree char *p = join (path, name);
      return type_error (error, p, "an integer", n);
    }
  *ret = json_node_get_int (n);
  return TRUE;
}

static gboolean
get_bool (JsonObject *o, const char *path, const char *name, gboolean *ret, GError **error)
{
  JsonNode *n = member (o, name);

  if (n == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    {
      g_autofree char *p = join (path, name);
      return type_error (error, p, "a boolean", n);
    }
  *ret = json_node_get_boolean (n);
  return TRUE;
}

static gboolean
get_time (JsonObject *o, const char *path, const char *name, GDateTime **ret, GError **error)
{
  g_autofree char *s = NULL;
  GDateTime *t = NULL;

  if (!get_string (o, path, name, &s, error))
    return FALSE;
  if (s == NULL)
    return TRUE;
  if (!cara_time_parse (s, &t, error))
    {
      g_autofree char *p = join (path, name);
      cara_error_prefix_field (error, p);
      return FALSE;
    }
  if (*ret != NULL)
    g_date_time_unref (*ret);
  *ret = t;
  return TRUE;
}

static gboolean
get_strv (JsonObject *o, const char *path, const char *name, char ***ret, GError **error)
{
  JsonArray *a;
  g_autoptr(GPtrArray) v = NULL;
  g_autofree char *p = join (path, name);

  if (!get_array (o, path, name, &a, error))
    return FALSE;
  if (a == NULL)
    return TRUE;
  v = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *ep = g_strdup_printf ("%s[%u]", p, i);
      char *s = NULL;
      if (!node_string (json_array_get_element (a, i), ep, &s, error))
        return FALSE;
      g_ptr_array_add (v, s);
    }
  g_ptr_array_add (v, NULL);
  g_strfreev (*ret);
  *ret = (char **) g_ptr_array_free (g_steal_pointer (&v), FALSE);
  return TRUE;
}

gboolean
cara_string_map_from_json (JsonNode *node, const char *path, GHashTable **ret, GError **error)
{
  JsonObject *o;
  g_autoptr(GHashTable) map = NULL;
  JsonObjectIter it;
  const char *k;
  JsonNode *v;

  o = as_object (node, path != NULL ? path : "", error);
  if (o == NULL)
    return FALSE;
  map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  json_object_iter_init (&it, o);
  while (json_object_iter_next (&it, &k, &v))
    {
      char *s = NULL;
      if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
        {
          g_autofree char *p = join (path, k);
          return type_error (error, p, "a string", v);
        }
      s = g_strdup (json_node_get_string (v));
      g_hash_table_replace (map, g_strdup (k), s);
    }
  if (*ret != NULL)
    g_hash_table_unref (*ret);
  *ret = g_steal_pointer (&map);
  return TRUE;
}

static gboolean
get_map (JsonObject *o, const char *path, const char *name, GHashTable **ret, GError **error)
{
  JsonNode *n = member (o, name);
  g_autofree char *p = NULL;

  if (n == NULL)
    return TRUE;
  p = join (path, name);
  return cara_string_map_from_json (n, p, ret, error);
}

static gboolean
enum_error (GError **error, const char *path, const char *what, const char *value,
            const char *allowed)
{
  g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: invalid %s \"%s\": must be one of %s",
               path, what, value, allowed);
  return FALSE;
}

#define GET_ENUM(o, path, name, lower, Type, what, allowed, ret, error)          \
  G_STMT_START                                                                    \
  {                                                                               \
    g_autofree char *s_ = NULL;                                                   \
    if (!get_string (o, path, name, &s_, error))                                  \
      return FALSE;                                                               \
    if (s_ != NULL && !cara_##lower##_from_string (s_, ret))                      \
      {                                                                           \
        g_autofree char *p_ = join (path, name);                                  \
        return enum_error (error, p_, what, s_, allowed);                         \
      }                                                                           \
  }                                                                               \
  G_STMT_END

#define PHASES "Pending, Scheduled, Running, Failed, Terminating, Terminated"
#define STATES "Ready, NotReady, Draining"

/* Iterates an array member, calling @fn on each element object with its path. */
typedef gboolean (*ElementFunc) (JsonObject *o, const char *path, gpointer out, GError **error);

static gboolean
each_object (JsonObject *o, const char *path, const char *name, ElementFunc fn, gpointer out,
             GError **error)
{
  JsonArray *a;
  g_autofree char *p = join (path, name);

  if (!get_array (o, path, name, &a, error))
    return FALSE;
  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      g_autofree char *ep = g_strdup_printf ("%s[%u]", p, i);
      JsonObject *eo = as_object (json_array_get_element (a, i), ep, error);
      if (eo == NULL || !fn (eo, ep, out, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
check_type_meta (JsonObject *o, const char *kind, GError **error)
{
  g_autofree char *api = NULL;
  g_autofree char *k = NULL;

  if (!get_string (o, "", "apiVersion", &api, error) || !get_string (o, "", "kind", &k, error))
    return FALSE;
  if (api != NULL && *api != '\0' && strcmp (api, CARA_API_VERSION_STRING) != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "apiVersion: unsupported apiVersion \"%s\": expected \"%s\"", api,
                   CARA_API_VERSION_STRING);
      return FALSE;
    }
  if (k != NULL && *k != '\0' && strcmp (k, kind) != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "kind: expected \"%s\", got \"%s\"",
                   kind, k);
      return FALSE;
    }
  return TRUE;
}

static gboolean
decode_meta (JsonObject *root, CaraObjectMeta *m, GError **error)
{
  JsonObject *o;

  if (!get_object (root, "", "metadata", &o, error))
    return FALSE;
  if (o == NULL)
    return TRUE;
  return get_string (o, "metadata", "name", &m->name, error) &&
         get_map (o, "metadata", "labels", &m->labels, error) &&
         get_map (o, "metadata", "annotations", &m->annotations, error) &&
         get_time (o, "metadata", "createdAt", &m->created_at, error) &&
         get_time (o, "metadata", "updatedAt", &m->updated_at, error) &&
         get_string (o, "metadata", "resourceVersion", &m->resource_version, error) &&
         get_int (o, "metadata", "generation", &m->generation, error);
}

static gboolean
decode_condition (JsonObject *o, const char *path, gpointer out, GError **error)
{
  g_autoptr(CaraCondition) c = cara_condition_new (NULL, NULL, NULL, NULL);

  if (!get_string (o, path, "type", &c->type, error) ||
      !get_string (o, path, "status", &c->status, error) ||
      !get_time (o, path, "lastHeartbeatTime", &c->last_heartbeat_time, error) ||
      !get_time (o, path, "lastTransitionTime", &c->last_transition_time, error) ||
      !get_string (o, path, "reason", &c->reason, error) ||
      !get_string (o, path, "message", &c->message, error))
    return FALSE;
  g_ptr_array_add (out, g_steal_pointer (&c));
  return TRUE;
}

static gboolean
decode_conditions (JsonObject *o, const char *path, GPtrArray *conditions, GError **error)
{
  g_ptr_array_set_size (conditions, 0);
  return each_object (o, path, "conditions", decode_condition, conditions, error);
}

/* ---- Node ---- */

static gboolean
decode_network (JsonObject *o, const char *path, CaraNodeNetwork *n, GError **error)
{
  JsonObject *t;
  g_autofree char *tp = join (path, "throughput");

  if (!get_string (o, path, "ip", &n->ip, error) ||
      !get_string (o, path, "dnsName", &n->dns_name, error) ||
      !get_string (o, path, "mode", &n->mode, error) ||
      !get_int (o, path, "agentPort", &n->agent_port, error) ||
      !get_object (o, path, "throughput", &t, error))
    return FALSE;
  if (t == NULL)
    return TRUE;
  return get_string (t, tp, "download", &n->throughput.download, error) &&
         get_string (t, tp, "upload", &n->throughput.upload, error) &&
         get_time (t, tp, "lastTestTime", &n->throughput.last_test_time, error);
}

static gboolean
decode_info (JsonObject *o, const char *path, CaraNodeInfo *i, GError **error)
{
  return get_string (o, path, "kernelVersion", &i->kernel_version, error) &&
         get_string (o, path, "osImage", &i->os_image, error) &&
         get_string (o, path, "agentVersion", &i->agent_version, error);
}

static gboolean
decode_node_spec (CaraNode *n, JsonObject *o, GError **error)
{
  return get_string (o, "spec", "hostname", &n->spec.hostname, error) &&
         get_bool (o, "spec", "unschedulable", &n->spec.unschedulable, error);
}

static gboolean
decode_node_status (CaraNode *n, JsonObject *o, GError **error)
{
  JsonObject *net, *info;

  GET_ENUM (o, "status", "state", node_state, CaraNodeState, "state", STATES, &n->status.state,
            error);
  if (!get_object (o, "status", "network", &net, error) ||
      (net != NULL && !decode_network (net, "status.network", &n->status.network, error)) ||
      !get_map (o, "status", "capacity", &n->status.capacity, error) ||
      !get_map (o, "status", "allocatable", &n->status.allocatable, error) ||
      !get_object (o, "status", "info", &info, error) ||
      (info != NULL && !decode_info (info, "status.info", &n->status.info, error)) ||
      !get_time (o, "status", "lastHeartbeat", &n->status.last_heartbeat, error) ||
      !decode_conditions (o, "status", n->status.conditions, error))
    return FALSE;
  return TRUE;
}

gboolean
cara_node_spec_from_json (CaraNode *n, JsonNode *spec, GError **error)
{
  JsonObject *o;

  g_clear_pointer (&n->spec.hostname, g_free);
  n->spec.unschedulable = FALSE;
  if (spec == NULL || JSON_NODE_HOLDS_NULL (spec))
    return TRUE;
  o = as_object (spec, "spec", error);
  return o != NULL && decode_node_spec (n, o, error);
}

gboolean
cara_node_status_from_json (CaraNode *n, JsonNode *status, GError **error)
{
  g_autoptr(CaraNode) fresh = cara_node_new (NULL);
  JsonObject *o;

  if (status != NULL && !JSON_NODE_HOLDS_NULL (status))
    {
      o = as_object (status, "status", error);
      if (o == NULL || !decode_node_status (fresh, o, error))
        return FALSE;
    }
  /* Swap the freshly decoded status in, so a failed decode leaves @n untouched. */
  {
    __typeof__ (n->status) tmp = n->status;
    n->status = fresh->status;
    fresh->status = tmp;
  }
  return TRUE;
}

CaraNode *
cara_node_from_json (JsonNode *node, GError **error)
{
  g_autoptr(CaraNode) n = cara_node_new (NULL);
  JsonObject *root, *spec, *status;

  root = as_object (node, "", error);
  if (root == NULL || !check_type_meta (root, "Node", error) ||
      !decode_meta (root, &n->metadata, error) ||
      !get_object (root, "", "spec", &spec, error) ||
      (spec != NULL && !decode_node_spec (n, spec, error)) ||
      !get_object (root, "", "status", &status, error) ||
      (status != NULL && !decode_node_status (n, status, error)))
    return NULL;
  return g_steal_pointer (&n);
}

CaraNode *
cara_node_from_data (const char *data, gssize len, GError **error)
{
  g_autoptr(JsonNode) node = cara_json_parse (data, len, error);

  if (node == NULL)
    return NULL;
  return cara_node_from_json (node, error);
}

static GPtrArray *
list_from_json (JsonNode *node, const char *kind, gpointer (*decode) (JsonNode *, GError **),
                GDestroyNotify free_func, GError **error)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (free_func);
  JsonObject *root;
  JsonArray *a;

  root = as_object (node, "", error);
  if (root == NULL || !check_type_meta (root, kind, error) ||
      !get_array (root, "", "items", &a, error))
    return NULL;
  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      gpointer item = decode (json_array_get_element (a, i), error);
      if (item == NULL)
        {
          g_autofree char *p = g_strdup_printf ("items[%u]", i);
          cara_error_prefix_field (error, p);
          return NULL;
        }
      g_ptr_array_add (items, item);
    }
  return g_steal_pointer (&items);
}

static gpointer
node_from_json_func (JsonNode *node, GError **error)
{
  return cara_node_from_json (node, error);
}

GPtrArray *
cara_node_list_from_json (JsonNode *node, GError **error)
{
  return list_from_json (node, "NodeList", node_from_json_func,
                         (GDestroyNotify) cara_node_free, error);
}

/* ---- Project ---- */

static gboolean
decode_env (JsonObject *o, const char *path, gpointer out, GError **error)
{
  CaraEnvVar *e = g_new0 (CaraEnvVar, 1);

  JsonObject *vf;
  g_autofree char *vp = join (path, "valueFrom");

  g_ptr_array_add (out, e); /* owned by the service from here on */
  return get_string (o, path, "name", &e->name, error) &&
         get_string (o, path, "value", &e->value, error) &&
         get_object (o, path, "valueFrom", &vf, error) &&
         (vf == NULL || (get_string (vf, vp, "secret", &e->secret_ref, error) &&
                         get_string (vf, vp, "key", &e->secret_key, error)));
}

/* mode: a number (YAML's 0400 arrives as 256) or an octal string ("0400"). */
static gboolean
decode_secret_mount (JsonObject *o, const char *path, gpointer out, GError **error)
{
  CaraSecretMount *m = g_new0 (CaraSecretMount, 1);
  JsonNode *mode = json_object_get_member (o, "mode");

  g_ptr_array_add (out, m);
  if (!get_string (o, path, "secret", &m->secret, error) || !get_string (o, path, "key", &m->key, error)
      || !get_string (o, path, "path", &m->path, error))
    return FALSE;
  if (mode != NULL && JSON_NODE_HOLDS_VALUE (mode) && json_node_get_value_type (mode) == G_TYPE_STRING)
    {
      const char *t = json_node_get_string (mode);
      char *end = NULL;
      guint64 v = g_ascii_strtoull (t, &end, 8);
      if (*t == '\0' || *end != '\0' || v > 07777)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s.mode: expected an octal file mode such as \"0400\"",
                       path);
          return FALSE;
        }
      m->mode = (gint64) v;
      return TRUE;
    }
  return get_int (o, path, "mode", &m->mode, error);
}

static gboolean
decode_mount (JsonObject *o, const char *path, gpointer out, GError **error)
{
  CaraVolumeMount *m = g_new0 (CaraVolumeMount, 1);

  g_ptr_array_add (out, m);
  return get_string (o, path, "name", &m->name, error) &&
         get_string (o, path, "mountPath", &m->mount_path, error) &&
         get_bool (o, path, "readOnly", &m->read_only, error);
}

static gboolean
decode_port (JsonObject *o, const char *path, gpointer out, GError **error)
{
  CaraPort *p = g_new0 (CaraPort, 1);

  g_ptr_array_add (out, p);
  if (!get_int (o, path, "containerPort", &p->container_port, error) ||
      !get_int (o, path, "hostPort", &p->host_port, error) ||
      !get_string (o, path, "hostIP", &p->host_ip, error))
    return FALSE;
  GET_ENUM (o, path, "protocol", protocol, CaraProtocol, "protocol", "tcp, udp", &p->protocol,
            error);
  return TRUE;
}

/* dependsOn[]: each item a service name, or {name, condition}; kept as given. */
static gboolean
get_depends_on (JsonObject *o, const char *path, CaraService *s, GError **error)
{
  JsonArray *a;
  g_autofree char *p = join (path, "dependsOn");
  g_autoptr(GPtrArray) names = NULL;
  g_autofree CaraDependCondition *conds = NULL;
  gboolean any_object = FALSE;

  if (!get_array (o, path, "dependsOn", &a, error))
    return FALSE;
  if (a == NULL)
    return TRUE;
  names = g_ptr_array_new_with_free_func (g_free);
  conds = g_new0 (CaraDependCondition, json_array_get_length (a) + 1);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *item = json_array_get_element (a, i);
      g_autofree char *ep = g_strdup_printf ("%s[%u]", p, i);
      char *name = NULL;

      if (JSON_NODE_HOLDS_OBJECT (item))
        {
          JsonObject *io = json_node_get_object (item);
          any_object = TRUE;
          if (!get_string (io, ep, "name", &name, error))
            return FALSE;
          g_ptr_array_add (names, name != NULL ? name : g_strdup (""));
          GET_ENUM (io, ep, "condition", depend_condition, CaraDependCondition, "condition",
                    "Started, Healthy, Completed", &conds[i], error);
          /* The object form always names its condition, so that it comes back as it was given. */
          if (conds[i] == CARA_DEPEND_CONDITION_NONE)
            {
              g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                           "%s.condition: required in the {name, condition} form (Started, Healthy or Completed; "
                           "or give the plain name)", ep);
              return FALSE;
            }
          continue;
        }
      if (!JSON_NODE_HOLDS_VALUE (item) || json_node_get_value_type (item) != G_TYPE_STRING)
        return type_error (error, ep, "a service name or {name, condition}", item);
      g_ptr_array_add (names, g_strdup (json_node_get_string (item)));
    }
  g_ptr_array_add (names, NULL);
  g_strfreev (s->depends_on);
  g_free (s->depends_on_conditions);
  s->depends_on = (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
  s->depends_on_conditions = any_object ? g_steal_pointer (&conds) : NULL;
  return TRUE;
}

static gboolean
decode_service (JsonObject *o, const char *path, gpointer out, GError **error)
{
  CaraService *s = cara_service_new (NULL, NULL);
  JsonObject *res, *hc;
  g_autofree char *rp = join (path, "resources");
  g_autofree char *hp = join (path, "healthcheck");

  g_ptr_array_add (out, s);
  if (!get_string (o, path, "name", &s->name, error) ||
      !get_string (o, path, "image", &s->image, error) ||
      !each_object (o, path, "env", decode_env, s->env, error) ||
      !each_object (o, path, "volumeMounts", decode_mount, s->volume_mounts, error) ||
      !get_strv (o, path, "command", &s->command, error) ||
      !each_object (o, path, "ports", decode_port, s->ports, error) ||
      !get_object (o, path, "resources", &res, error) ||
      (res != NULL && (!get_string (res, rp, "cpu", &s->resources.cpu, error) ||
                       !get_string (res, rp, "memory", &s->resources.memory, error))))
    return FALSE;
  GET_ENUM (o, path, "restartPolicy", restart_policy, CaraRestartPolicy, "restartPolicy",
            "Always, OnFailure, Never", &s->restart_policy, error);
  if (!get_object (o, path, "healthcheck", &hc, error))
    return FALSE;
  if (hc != NULL)
    {
      s->healthcheck = g_new0 (CaraHealthcheck, 1);
      if (!get_strv (hc, hp, "command", &s->healthcheck->command, error) ||
          !get_int (hc, hp, "intervalSeconds", &s->healthcheck->interval_seconds, error) ||
          !get_int (hc, hp, "timeoutSeconds", &s->healthcheck->timeout_seconds, error) ||
          !get_int (hc, hp, "retries", &s->healthcheck->retries, error) ||
          !get_int (hc, hp, "startPeriodSeconds", &s->healthcheck->start_period_seconds, error))
        return FALSE;
    }
  return get_depends_on (o, path, s, error) &&
         get_strv (o, path, "entrypoint", &s->entrypoint, error) &&
         get_string (o, path, "workingDir", &s->working_dir, error) &&
         get_string (o, path, "user", &s->user, error) &&
         get_map (o, path, "labels", &s->labels, error) &&
         get_strv (o, path, "capAdd", &s->cap_add, error) &&
         get_strv (o, path, "capDrop", &s->cap_drop, error) &&
         get_int (o, path, "stopGracePeriodSeconds", &s->stop_grace_period_seconds, error) &&
         get_string (o, path, "stopSignal", &s->stop_signal, error) &&
         each_object (o, path, "secrets", decode_secret_mount, s->secrets, error);
}

static gboolean
decode_volume (JsonObject *o, const char *path, gpointer out, GError **error)
{
  CaraVolume *v = g_new0 (CaraVolume, 1);

  g_ptr_array_add (out, v);
  if (!get_string (o, path, "name", &v->name, error))
    return FALSE;
  GET_ENUM (o, path, "type", volume_type, CaraVolumeType, "volume type", "Ephemeral, Persistent, HostPath",
            &v->type, error);
  return get_string (o, path, "hostPath", &v->host_path, error);
}

static gboolean
decode_ingress (JsonObject *o, const char *path, gpointer out, GError **error)
{
  CaraIngress *i = g_new0 (CaraIngress, 1);
  JsonObject *target, *access;
  g_autofree char *tp = join (path, "target");
  g_autofree char *ap = join (path, "access");
  g_autofree char *scope = NULL;

  g_ptr_array_add (out, i);
  if (!get_string (o, path, "name", &i->name, error) ||
      !get_string (o, path, "host", &i->host, error) ||
      !get_object (o, path, "target", &target, error) ||
      (target != NULL && (!get_string (target, tp, "service", &i->target.service, error) ||
                          !get_int (target, tp, "port", &i->target.port, error))) ||
      !get_object (o, path, "access", &access, error) ||
      (access != NULL && !get_string (access, ap, "scope", &scope, error)))
    return FALSE;
  JsonObject *tls;
  g_autofree char *tlp = join (path, "tls");
  if (!get_object (o, path, "tls", &tls, error) ||
      (tls != NULL && !get_string (tls, tlp, "secret", &i->tls.secret, error)))
    return FALSE;
  if (scope != NULL && !cara_ingress_scope_from_string (scope, &i->access.scope))
    {
      /* The reference API's wording (reference §3.2). */
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID,
                   "%s.scope: ingress %s: only \"Internal\" scope is supported", ap,
                   i->name != NULL ? i->name : "");
      return FALSE;
    }
  return TRUE;
}

static gboolean
decode_service_status (JsonObject *o, const char *path, gpointer out, GError **error)
{
  CaraServiceStatus *s = cara_service_status_new (NULL);

  g_ptr_array_add (out, s);
  return get_string (o, path, "name", &s->name, error) &&
         get_string (o, path, "containerId", &s->container_id, error) &&
         get_string (o, path, "state", &s->state, error) &&
         get_int (o, path, "restartCount", &s->restart_count, error) &&
         get_string (o, path, "health", &s->health, error);
}

static gboolean
decode_update (CaraUpdateStrategy *u, JsonObject *root, GError **error)
{
  JsonObject *o;

  if (!get_object (root, "spec", "update", &o, error))
    return FALSE;
  if (o == NULL)
    return TRUE;
  GET_ENUM (o, "spec.update", "order", update_order, CaraUpdateOrder, "update order", "StartFirst, StopFirst",
            &u->order, error);
  GET_ENUM (o, "spec.update", "failureAction", failure_action, CaraFailureAction, "failure action",
            "Rollback, Pause", &u->failure_action, error);
  return get_int (o, "spec.update", "monitorSeconds", &u->monitor_seconds, error);
}

static gboolean
decode_project_spec (CaraProject *p, JsonObject *o, GError **error)
{
  return decode_update (&p->spec.update, o, error) &&
         each_object (o, "spec", "services", decode_service, p->spec.services, error) &&
         each_object (o, "spec", "volumes", decode_volume, p->spec.volumes, error) &&
         each_object (o, "spec", "ingress", decode_ingress, p->spec.ingress, error) &&
         get_map (o, "spec", "nodeSelector", &p->spec.node_selector, error) &&
         get_time (o, "spec", "expireAt", &p->spec.expire_at, error) &&
         get_strv (o, "spec", "imagePullSecrets", &p->spec.image_pull_secrets, error);
}

static gboolean
decode_migration (JsonObject *o, CaraProject *p, GError **error)
{
  JsonObject *m = NULL;

  if (!get_object (o, "status", "migration", &m, error))
    return FALSE;
  if (m == NULL)
    return TRUE;
  p->status.migration = cara_migration_new (NULL, NULL);
  GET_ENUM (m, "status.migration", "phase", migration_phase, CaraMigrationPhase, "phase",
            "Stopping, Copying, Starting, Done, Failed", &p->status.migration->phase, error);
  return get_string (m, "status.migration", "from", &p->status.migration->from, error) &&
         get_string (m, "status.migration", "to", &p->status.migration->to, error) &&
         get_int (m, "status.migration", "bytesCopied", &p->status.migration->bytes_copied, error) &&
         get_int (m, "status.migration", "bytesTotal", &p->status.migration->bytes_total, error) &&
         get_string (m, "status.migration", "message", &p->status.migration->message, error) &&
         get_bool (m, "status.migration", "discardData", &p->status.migration->discard_data, error);
}

static gboolean
decode_project_status (CaraProject *p, JsonObject *o, GError **error)
{
  GET_ENUM (o, "status", "phase", project_phase, CaraProjectPhase, "phase", PHASES,
            &p->status.phase, error);
  return get_string (o, "status", "nodeRef", &p->status.node_ref, error) &&
         get_int (o, "status", "observedGeneration", &p->status.observed_generation, error) &&
         decode_conditions (o, "status", p->status.conditions, error) &&
         each_object (o, "status", "services", decode_service_status, p->status.services, error) &&
         decode_migration (o, p, error);
}

#define SWAP(a, b)                                                                      \
  G_STMT_START                                                                          \
  {                                                                                     \
    __typeof__ (a) tmp_ = (a);                                                          \
    (a) = (b);                                                                          \
    (b) = tmp_;                                                                         \
  }                                                                                     \
  G_STMT_END

gboolean
cara_project_spec_from_json (CaraProject *p, JsonNode *spec, GError **error)
{
  g_autoptr(CaraProject) fresh = cara_project_new (NULL);
  JsonObject *o;

  if (spec != NULL && !JSON_NODE_HOLDS_NULL (spec))
    {
      o = as_object (spec, "spec", error);
      if (o == NULL || !decode_project_spec (fresh, o, error))
        return FALSE;
    }
  SWAP (p->spec, fresh->spec);
  return TRUE;
}

gboolean
cara_project_status_from_json (CaraProject *p, JsonNode *status, GError **error)
{
  g_autoptr(CaraProject) fresh = cara_project_new (NULL);
  JsonObject *o;

  if (status != NULL && !JSON_NODE_HOLDS_NULL (status))
    {
      o = as_object (status, "status", error);
      if (o == NULL || !decode_project_status (fresh, o, error))
        return FALSE;
    }
  SWAP (p->status, fresh->status);
  return TRUE;
}

CaraProject *
cara_project_from_json (JsonNode *node, GError **error)
{
  g_autoptr(CaraProject) p = cara_project_new (NULL);
  JsonObject *root, *spec, *status;

  root = as_object (node, "", error);
  if (root == NULL || !check_type_meta (root, "Project", error) ||
      !decode_meta (root, &p->metadata, error) ||
      !get_object (root, "", "spec", &spec, error) ||
      (spec != NULL && !decode_project_spec (p, spec, error)) ||
      !get_object (root, "", "status", &status, error) ||
      (status != NULL && !decode_project_status (p, status, error)))
    return NULL;
  return g_steal_pointer (&p);
}

CaraProject *
cara_project_from_data (const char *data, gssize len, GError **error)
{
  g_autoptr(JsonNode) node = cara_json_parse (data, len, error);

  if (node == NULL)
    return NULL;
  return cara_project_from_json (node, error);
}

static gpointer
project_from_json_func (JsonNode *node, GError **error)
{
  return cara_project_from_json (node, error);
}

GPtrArray *
cara_project_list_from_json (JsonNode *node, GError **error)
{
  return list_from_json (node, "ProjectList", project_from_json_func,
                         (GDestroyNotify) cara_project_free, error);
}

/* ---- request bodies ---- */

static gboolean
decode_heartbeat_state (JsonObject *o, CaraHeartbeat *h, GError **error)
{
  GET_ENUM (o, "", "state", node_state, CaraNodeState, "state", STATES, &h->state, error);
  return TRUE;
}

CaraHeartbeat *
cara_heartbeat_from_json (JsonNode *node, GError **error)
{
  g_autoptr(CaraHeartbeat) h = cara_heartbeat_new ();
  JsonObject *o, *net, *info;

  o = as_object (node, "", error);
  if (o == NULL)
    return NULL;
  if (!decode_heartbeat_state (o, h, error))
    return NULL;
  if (!get_object (o, "", "network", &net, error))
    return NULL;
  if (net != NULL)
    {
      h->has_network = TRUE;
      if (!decode_network (net, "network", &h->network, error))
        return NULL;
    }
  if (!get_map (o, "", "capacity", &h->capacity, error) ||
      !get_map (o, "", "allocatable", &h->allocatable, error) ||
      !get_object (o, "", "info", &info, error))
    return NULL;
  if (info != NULL)
    {
      h->has_info = TRUE;
      if (!decode_info (info, "info", &h->info, error))
        return NULL;
    }
  return g_steal_pointer (&h);
}

static gboolean
decode_status_report (CaraStatusReport *r, JsonObject *o, GError **error)
{
  g_autofree char *phase = NULL;
  JsonArray *services;

  if (!get_string (o, "", "phase", &phase, error))
    return FALSE;
  if (phase == NULL || *phase == '\0')
    {
      g_set_error_literal (error, CARA_ERROR, CARA_ERROR_INVALID, "phase: phase is required");
      return FALSE;
    }
  if (!cara_project_phase_from_string (phase, &r->phase))
    return enum_error (error, "phase", "phase", phase, PHASES);
  if (!get_string (o, "", "reason", &r->reason, error) ||
      !get_string (o, "", "message", &r->message, error) ||
      !get_int (o, "", "observedGeneration", &r->observed_generation, error) ||
      !get_int (o, "", "rollbackGeneration", &r->rollback_generation, error) ||
      !get_string (o, "", "rollbackReason", &r->rollback_reason, error) ||
      !get_array (o, "", "services", &services, error))
    return FALSE;
  r->has_services = services != NULL;
  return each_object (o, "", "services", decode_service_status, r->services, error) &&
         decode_conditions (o, "", r->conditions, error);
}

CaraStatusReport *
cara_status_report_from_json (JsonNode *node, GError **error)
{
  g_autoptr(CaraStatusReport) r = cara_status_report_new ();
  JsonObject *o = as_object (node, "", error);

  if (o == NULL || !decode_status_report (r, o, error))
    return NULL;
  return g_steal_pointer (&r);
}

/* ================================================================================ encoding */

/* omitempty helpers: Go omits empty strings, zero numbers, false, empty maps and slices, but
 * never struct-typed fields (times, nested objects). */

static void
put_string (JsonObject *o, const char *name, const char *v)
{
  if (v != NULL && *v != '\0')
    json_object_set_string_member (o, name, v);
}

static void
put_string_always (JsonObject *o, const char *name, const char *v)
{
  json_object_set_string_member (o, name, v != NULL ? v : "");
}

static void
put_int (JsonObject *o, const char *name, gint64 v)
{
  if (v != 0)
    json_object_set_int_member (o, name, v);
}

static void
put_bool (JsonObject *o, const char *name, gboolean v)
{
  if (v)
    json_object_set_boolean_member (o, name, TRUE);
}

static void
put_time (JsonObject *o, const char *name, GDateTime *t)
{
  g_autofree char *s = cara_time_format (t);

  json_object_set_string_member (o, name, s);
}

static JsonNode *
object_node (JsonObject *o)
{
  JsonNode *n = json_node_init_object (json_node_alloc (), o);

  json_object_unref (o);
  return n;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

JsonNode *
cara_string_map_to_json (GHashTable *map)
{
  JsonObject *o = json_object_new ();
  g_autofree gpointer *keys = NULL;
  guint n = 0;

  if (map != NULL)
    {
      keys = g_hash_table_get_keys_as_array (map, &n);
      qsort (keys, n, sizeof (gpointer), compare_strings);
      for (guint i = 0; i < n; i++)
        json_object_set_string_member (o, keys[i], g_hash_table_lookup (map, keys[i]));
    }
  return object_node (o);
}

static void
put_map (JsonObject *o, const char *name, GHashTable *map)
{
  if (map != NULL && g_hash_table_size (map) > 0)
    json_object_set_member (o, name, cara_string_map_to_json (map));
}

static void
put_strv (JsonObject *o, const char *name, char **v)
{
  JsonArray *a;

  if (v == NULL || v[0] == NULL)
    return;
  a = json_array_new ();
  for (guint i = 0; v[i] != NULL; i++)
    json_array_add_string_element (a, v[i]);
  json_object_set_array_member (o, name, a);
}

typedef JsonNode *(*EncodeFunc) (gconstpointer item);

static void
put_array (JsonObject *o, const char *name, GPtrArray *items, EncodeFunc fn, gboolean always)
{
  JsonArray *a;

  if (!always && (items == NULL || items->len == 0))
    return;
  a = json_array_new ();
  for (guint i = 0; items != NULL && i < items->len; i++)
    json_array_add_element (a, fn (g_ptr_array_index (items, i)));
  json_object_set_array_member (o, name, a);
}

static JsonNode *
encode_meta (const CaraObjectMeta *m)
{
  JsonObject *o = json_object_new ();

  put_string_always (o, "name", m->name);
  put_map (o, "labels", m->labels);
  put_map (o, "annotations", m->annotations);
  put_time (o, "createdAt", m->created_at);
  put_time (o, "updatedAt", m->updated_at);
  put_string (o, "resourceVersion", m->resource_version);
  put_int (o, "generation", m->generation);
  return object_node (o);
}

static JsonNode *
encode_condition (gconstpointer item)
{
  const CaraCondition *c = item;
  JsonObject *o = json_object_new ();

  put_string_always (o, "type", c->type);
  put_string_always (o, "status", c->status);
  put_time (o, "lastHeartbeatTime", c->last_heartbeat_time);
  put_time (o, "lastTransitionTime", c->last_transition_time);
  put_string (o, "reason", c->reason);
  put_string (o, "message", c->message);
  return object_node (o);
}

gboolean
cara_json_meta_from_object (JsonObject *root, CaraObjectMeta *m, GError **error)
{
  return decode_meta (root, m, error);
}

JsonNode *
cara_json_meta_to_json (const CaraObjectMeta *m)
{
  return encode_meta (m);
}

static JsonObject *
begin_resource (const char *kind, const CaraObjectMeta *m)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "apiVersion", CARA_API_VERSION_STRING);
  json_object_set_string_member (o, "kind", kind);
  json_object_set_member (o, "metadata", encode_meta (m));
  return o;
}

/* ---- Node ---- */

static JsonNode *
encode_network (const CaraNodeNetwork *n)
{
  JsonObject *o = json_object_new ();
  JsonObject *t = json_object_new ();

  put_string (o, "ip", n->ip);
  put_string (o, "dnsName", n->dns_name);
  put_string (o, "mode", n->mode);
  put_int (o, "agentPort", n->agent_port);
  put_string (t, "download", n->throughput.download);
  put_string (t, "upload", n->throughput.upload);
  put_time (t, "lastTestTime", n->throughput.last_test_time);
  json_object_set_member (o, "throughput", object_node (t));
  return object_node (o);
}

static JsonNode *
encode_info (const CaraNodeInfo *i)
{
  JsonObject *o = json_object_new ();

  put_string (o, "kernelVersion", i->kernel_version);
  put_string (o, "osImage", i->os_image);
  put_string (o, "agentVersion", i->agent_version);
  return object_node (o);
}

JsonNode *
cara_node_spec_to_json (const CaraNode *n)
{
  JsonObject *o = json_object_new ();

  put_string (o, "hostname", n->spec.hostname);
  put_bool (o, "unschedulable", n->spec.unschedulable);
  return object_node (o);
}

JsonNode *
cara_node_status_to_json (const CaraNode *n)
{
  JsonObject *o = json_object_new ();

  put_string (o, "state", cara_node_state_to_string (n->status.state));
  json_object_set_member (o, "network", encode_network (&n->status.network));
  put_map (o, "capacity", n->status.capacity);
  put_map (o, "allocatable", n->status.allocatable);
  json_object_set_member (o, "info", encode_info (&n->status.info));
  put_time (o, "lastHeartbeat", n->status.last_heartbeat);
  put_array (o, "conditions", n->status.conditions, encode_condition, FALSE);
  return object_node (o);
}

JsonNode *
cara_node_to_json (const CaraNode *n)
{
  JsonObject *o = begin_resource ("Node", &n->metadata);

  json_object_set_member (o, "spec", cara_node_spec_to_json (n));
  json_object_set_member (o, "status", cara_node_status_to_json (n));
  return object_node (o);
}

char *
cara_node_to_data (const CaraNode *n)
{
  g_autoptr(JsonNode) node = cara_node_to_json (n);

  return cara_json_to_string (node, FALSE);
}

static JsonNode *
list_to_json (const char *kind, GPtrArray *items, EncodeFunc fn)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "apiVersion", CARA_API_VERSION_STRING);
  json_object_set_string_member (o, "kind", kind);
  put_array (o, "items", items, fn, TRUE);
  return object_node (o);
}

static JsonNode *
node_to_json_func (gconstpointer item)
{
  return cara_node_to_json (item);
}

JsonNode *
cara_node_list_to_json (GPtrArray *nodes)
{
  return list_to_json ("NodeList", nodes, node_to_json_func);
}

/* ---- Project ---- */

static JsonNode *
encode_env (gconstpointer item)
{
  const CaraEnvVar *e = item;
  JsonObject *o = json_object_new ();

  put_string_always (o, "name", e->name);
  put_string (o, "value", e->value);
  if (e->secret_ref != NULL)
    {
      JsonObject *vf = json_object_new ();
      put_string_always (vf, "secret", e->secret_ref);
      put_string (vf, "key", e->secret_key);
      json_object_set_member (o, "valueFrom", object_node (vf));
    }
  return object_node (o);
}

static JsonNode *
encode_mount (gconstpointer item)
{
  const CaraVolumeMount *m = item;
  JsonObject *o = json_object_new ();

  put_string_always (o, "name", m->name);
  put_string_always (o, "mountPath", m->mount_path);
  put_bool (o, "readOnly", m->read_only);
  return object_node (o);
}

static JsonNode *
encode_port (gconstpointer item)
{
  const CaraPort *p = item;
  JsonObject *o = json_object_new ();

  json_object_set_int_member (o, "containerPort", p->container_port);
  put_int (o, "hostPort", p->host_port);
  put_string (o, "protocol", cara_protocol_to_string (p->protocol));
  put_string (o, "hostIP", p->host_ip);
  return object_node (o);
}

/* Each item as it was given: a plain name, or {name, condition}. */
static void
put_depends_on (JsonObject *o, const CaraService *s)
{
  JsonArray *a;

  if (s->depends_on == NULL || s->depends_on[0] == NULL)
    return;
  a = json_array_new ();
  for (guint i = 0; s->depends_on[i] != NULL; i++)
    {
      JsonObject *item;
      if (s->depends_on_conditions == NULL || s->depends_on_conditions[i] == CARA_DEPEND_CONDITION_NONE)
        {
          json_array_add_string_element (a, s->depends_on[i]);
          continue;
        }
      item = json_object_new ();
      json_object_set_string_member (item, "name", s->depends_on[i]);
      json_object_set_string_member (item, "condition", cara_depend_condition_to_string (s->depends_on_conditions[i]));
      json_array_add_object_element (a, item);
    }
  json_object_set_array_member (o, "dependsOn", a);
}

static JsonNode *
encode_secret_mount (gconstpointer item)
{
  const CaraSecretMount *m = item;
  JsonObject *o = json_object_new ();

  put_string_always (o, "secret", m->secret);
  put_string (o, "key", m->key);
  put_string (o, "path", m->path);
  /* As people write file modes ("0440"); a number is read too (cara-json decode). */
  if (m->mode > 0)
    {
      g_autofree char *mode = g_strdup_printf ("0%" G_GINT64_MODIFIER "o", m->mode);
      json_object_set_string_member (o, "mode", mode);
    }
  return object_node (o);
}

static JsonNode *
encode_service (gconstpointer item)
{
  const CaraService *s = item;
  JsonObject *o = json_object_new ();

  put_string_always (o, "name", s->name);
  put_string_always (o, "image", s->image);
  put_array (o, "env", s->env, encode_env, FALSE);
  put_array (o, "volumeMounts", s->volume_mounts, encode_mount, FALSE);
  put_strv (o, "command", s->command);
  put_array (o, "ports", s->ports, encode_port, FALSE);
  if ((s->resources.cpu != NULL && *s->resources.cpu) ||
      (s->resources.memory != NULL && *s->resources.memory))
    {
      JsonObject *r = json_object_new ();
      put_string (r, "cpu", s->resources.cpu);
      put_string (r, "memory", s->resources.memory);
      json_object_set_member (o, "resources", object_node (r));
    }
  put_string (o, "restartPolicy", cara_restart_policy_to_string (s->restart_policy));
  if (s->healthcheck != NULL)
    {
      JsonObject *h = json_object_new ();
      put_strv (h, "command", s->healthcheck->command);
      put_int (h, "intervalSeconds", s->healthcheck->interval_seconds);
      put_int (h, "timeoutSeconds", s->healthcheck->timeout_seconds);
      put_int (h, "retries", s->healthcheck->retries);
      put_int (h, "startPeriodSeconds", s->healthcheck->start_period_seconds);
      json_object_set_member (o, "healthcheck", object_node (h));
    }
  put_depends_on (o, s);
  put_strv (o, "entrypoint", s->entrypoint);
  put_string (o, "workingDir", s->working_dir);
  put_string (o, "user", s->user);
  put_map (o, "labels", s->labels);
  put_strv (o, "capAdd", s->cap_add);
  put_strv (o, "capDrop", s->cap_drop);
  if (s->stop_grace_period_seconds >= 0)
    json_object_set_int_member (o, "stopGracePeriodSeconds", s->stop_grace_period_seconds);
  put_string (o, "stopSignal", s->stop_signal);
  put_array (o, "secrets", s->secrets, encode_secret_mount, FALSE);
  return object_node (o);
}

static JsonNode *
encode_volume (gconstpointer item)
{
  const CaraVolume *v = item;
  JsonObject *o = json_object_new ();

  put_string_always (o, "name", v->name);
  put_string_always (o, "type", cara_volume_type_to_string (v->type));
  put_string (o, "hostPath", v->host_path);
  return object_node (o);
}

static JsonNode *
encode_ingress (gconstpointer item)
{
  const CaraIngress *i = item;
  JsonObject *o = json_object_new ();
  JsonObject *t = json_object_new ();

  put_string_always (o, "name", i->name);
  put_string (o, "host", i->host);
  put_string_always (t, "service", i->target.service);
  json_object_set_int_member (t, "port", i->target.port);
  json_object_set_member (o, "target", object_node (t));
  /* No scope given: no access object (the reference implementation wrote {"scope": ""}, which reads as a
   * value that was set to nothing; decoding a missing access gives the same NONE back). */
  if (i->access.scope != CARA_INGRESS_SCOPE_NONE)
    {
      JsonObject *a = json_object_new ();
      put_string_always (a, "scope", cara_ingress_scope_to_string (i->access.scope));
      json_object_set_member (o, "access", object_node (a));
    }
  if (i->tls.secret != NULL)
    {
      JsonObject *tl = json_object_new ();
      put_string_always (tl, "secret", i->tls.secret);
      json_object_set_member (o, "tls", object_node (tl));
    }
  return object_node (o);
}

static JsonNode *
encode_service_status (gconstpointer item)
{
  const CaraServiceStatus *s = item;
  JsonObject *o = json_object_new ();

  put_string_always (o, "name", s->name);
  put_string (o, "containerId", s->container_id);
  put_string (o, "state", s->state);
  put_int (o, "restartCount", s->restart_count);
  put_string (o, "health", s->health);
  return object_node (o);
}

JsonNode *
cara_project_spec_to_json (const CaraProject *p)
{
  JsonObject *o = json_object_new ();

  put_array (o, "services", p->spec.services, encode_service, TRUE);
  put_array (o, "volumes", p->spec.volumes, encode_volume, FALSE);
  put_array (o, "ingress", p->spec.ingress, encode_ingress, FALSE);
  put_map (o, "nodeSelector", p->spec.node_selector);
  if (p->spec.expire_at != NULL)
    put_time (o, "expireAt", p->spec.expire_at);
  put_strv (o, "imagePullSecrets", p->spec.image_pull_secrets);
  const CaraUpdateStrategy *u = &p->spec.update;
  if (u->order != CARA_UPDATE_ORDER_NONE || u->failure_action != CARA_FAILURE_ACTION_NONE || u->monitor_seconds != 0)
    {
      JsonObject *uo = json_object_new ();
      put_string (uo, "order", cara_update_order_to_string (u->order));
      put_string (uo, "failureAction", cara_failure_action_to_string (u->failure_action));
      put_int (uo, "monitorSeconds", u->monitor_seconds);
      json_object_set_member (o, "update", object_node (uo));
    }
  return object_node (o);
}

JsonNode *
cara_project_status_to_json (const CaraProject *p)
{
  JsonObject *o = json_object_new ();

  put_string (o, "phase", cara_project_phase_to_string (p->status.phase));
  put_string (o, "nodeRef", p->status.node_ref);
  put_int (o, "observedGeneration", p->status.observed_generation);
  put_array (o, "conditions", p->status.conditions, encode_condition, FALSE);
  put_array (o, "services", p->status.services, encode_service_status, FALSE);
  if (p->status.migration != NULL)
    {
      const CaraMigration *mig = p->status.migration;
      JsonObject *m = json_object_new ();
      put_string (m, "from", mig->from);
      put_string (m, "to", mig->to);
      put_string (m, "phase", cara_migration_phase_to_string (mig->phase));
      json_object_set_int_member (m, "bytesCopied", mig->bytes_copied);
      json_object_set_int_member (m, "bytesTotal", mig->bytes_total);
      put_string (m, "message", mig->message);
      put_bool (m, "discardData", mig->discard_data);
      json_object_set_member (o, "migration", object_node (m));
    }
  return object_node (o);
}

JsonNode *
cara_project_to_json (const CaraProject *p)
{
  JsonObject *o = begin_resource ("Project", &p->metadata);

  json_object_set_member (o, "spec", cara_project_spec_to_json (p));
  json_object_set_member (o, "status", cara_project_status_to_json (p));
  return object_node (o);
}

char *
cara_project_to_data (const CaraProject *p)
{
  g_autoptr(JsonNode) node = cara_project_to_json (p);

  return cara_json_to_string (node, FALSE);
}

void
cara_list_envelope (const char *kind, const char *continue_token, char **ret_prefix, char **ret_suffix)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "apiVersion", CARA_API_VERSION_STRING);
  json_object_set_string_member (o, "kind", kind);
  if (continue_token != NULL)
    {
      JsonObject *meta = json_object_new ();
      json_object_set_string_member (meta, "continue", continue_token);
      json_object_set_object_member (o, "metadata", meta);
    }
  json_object_set_array_member (o, "items", json_array_new ());
  g_autoptr (JsonNode) envelope = object_node (o);
  g_autofree char *text = cara_json_to_string (envelope, FALSE);
  const char *items = strstr (text, "\"items\":[]");
  g_assert (items != NULL);
  gsize at = (gsize) (items - text) + strlen ("\"items\":[");
  *ret_prefix = g_strndup (text, at);
  *ret_suffix = g_strdup (text + at);
}

char *
cara_project_list_text (GPtrArray *item_texts)
{
  g_autofree char *prefix = NULL;
  g_autofree char *suffix = NULL;
  cara_list_envelope ("ProjectList", NULL, &prefix, &suffix);
  GString *out = g_string_new (prefix);
  for (guint i = 0; i < item_texts->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append (out, item_texts->pdata[i]);
    }
  g_string_append (out, suffix);
  return g_string_free (out, FALSE);
}

static JsonNode *
project_to_json_func (gconstpointer item)
{
  return cara_project_to_json (item);
}

JsonNode *
cara_project_list_to_json (GPtrArray *projects)
{
  return list_to_json ("ProjectList", projects, project_to_json_func);
}

/* ---- request bodies ---- */

JsonNode *
cara_heartbeat_to_json (const CaraHeartbeat *h)
{
  JsonObject *o = json_object_new ();

  put_string (o, "state", cara_node_state_to_string (h->state));
  if (h->has_network)
    json_object_set_member (o, "network", encode_network (&h->network));
  put_map (o, "capacity", h->capacity);
  put_map (o, "allocatable", h->allocatable);
  if (h->has_info)
    json_object_set_member (o, "info", encode_info (&h->info));
  return object_node (o);
}

JsonNode *
cara_status_report_to_json (const CaraStatusReport *r)
{
  JsonObject *o = json_object_new ();

  put_string_always (o, "phase", cara_project_phase_to_string (r->phase));
  put_string (o, "reason", r->reason);
  put_string (o, "message", r->message);
  put_int (o, "observedGeneration", r->observed_generation);
  put_int (o, "rollbackGeneration", r->rollback_generation);
  put_string (o, "rollbackReason", r->rollback_reason);
  if (r->has_services)
    put_array (o, "services", r->services, encode_service_status, TRUE);
  put_array (o, "conditions", r->conditions, encode_condition, FALSE);
  return object_node (o);
}
