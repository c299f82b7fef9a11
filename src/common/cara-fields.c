/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-fields.h"
#include "cara-json.h"

/* ================================================================ the members of each level */

typedef struct Field Field;
struct Field {
  const char *name;
  /* an object, or a list of objects, with these members; NULL: a value, a list of values or a
   * free-form map (labels, nodeSelector, capacity: any keys) */
  const Field *members;
};

#define V(n) { n, NULL }
#define O(n, m) { n, m }
#define END { NULL, NULL }

static const Field metadata_fields[] = {
  V ("name"), V ("labels"), V ("annotations"), V ("createdAt"), V ("updatedAt"), V ("resourceVersion"),
  V ("generation"), END,
};

static const Field condition_fields[] = {
  V ("type"), V ("status"), V ("lastHeartbeatTime"), V ("lastTransitionTime"), V ("reason"), V ("message"), END,
};

/* ---- Event (cara-event.h) ---- */

static const Field event_object_fields[] = { V ("kind"), V ("name"), END };

static const Field event_fields[] = {
  V ("kind"), V ("time"), V ("type"), V ("reason"), O ("object", event_object_fields), V ("node"), V ("message"), END,
};

/* ---- Node ---- */

static const Field node_spec_fields[] = { V ("hostname"), V ("unschedulable"), END };

static const Field throughput_fields[] = { V ("download"), V ("upload"), V ("lastTestTime"), END };

static const Field network_fields[] = {
  V ("ip"), V ("dnsName"), V ("mode"), V ("agentPort"), O ("throughput", throughput_fields), END,
};

static const Field info_fields[] = { V ("kernelVersion"), V ("osImage"), V ("agentVersion"), END };

static const Field node_status_fields[] = {
  V ("state"), O ("network", network_fields), V ("capacity"), V ("allocatable"), O ("info", info_fields),
  V ("lastHeartbeat"), O ("conditions", condition_fields), END,
};

static const Field node_fields[] = {
  V ("apiVersion"), V ("kind"), O ("metadata", metadata_fields), O ("spec", node_spec_fields),
  O ("status", node_status_fields), END,
};

/* ---- Project ---- */

static const Field value_from_fields[] = { V ("secret"), V ("key"), END };
static const Field env_fields[] = { V ("name"), V ("value"), O ("valueFrom", value_from_fields), END };
static const Field secret_mount_fields[] = { V ("secret"), V ("key"), V ("path"), V ("mode"), END };
static const Field mount_fields[] = { V ("name"), V ("mountPath"), V ("readOnly"), END };
static const Field port_fields[] = { V ("containerPort"), V ("hostPort"), V ("protocol"), V ("hostIP"), END };
static const Field resources_fields[] = { V ("cpu"), V ("memory"), END };
static const Field healthcheck_fields[] = {
  V ("command"), V ("intervalSeconds"), V ("timeoutSeconds"), V ("retries"), V ("startPeriodSeconds"), END,
};
static const Field depends_on_fields[] = { V ("name"), V ("condition"), END };

static const Field service_fields[] = {
  V ("name"), V ("image"), O ("env", env_fields), O ("volumeMounts", mount_fields), V ("command"),
  O ("ports", port_fields), O ("resources", resources_fields), V ("restartPolicy"),
  O ("healthcheck", healthcheck_fields), O ("dependsOn", depends_on_fields), V ("entrypoint"),
  V ("workingDir"), V ("user"), V ("labels"), V ("capAdd"), V ("capDrop"), V ("stopGracePeriodSeconds"),
  V ("stopSignal"), O ("secrets", secret_mount_fields), END,
};

static const Field volume_fields[] = { V ("name"), V ("type"), V ("hostPath"), END };
static const Field target_fields[] = { V ("service"), V ("port"), END };
static const Field access_fields[] = { V ("scope"), END };
static const Field ingress_tls_fields[] = { V ("secret"), END };
static const Field ingress_fields[] = {
  V ("name"), V ("host"), O ("target", target_fields), O ("access", access_fields),
  O ("tls", ingress_tls_fields), END,
};

static const Field update_fields[] = { V ("order"), V ("failureAction"), V ("monitorSeconds"), END };

static const Field project_spec_fields[] = {
  O ("services", service_fields), O ("volumes", volume_fields), O ("ingress", ingress_fields),
  V ("nodeSelector"), V ("expireAt"), V ("imagePullSecrets"),
  O ("update", update_fields), END,
};

static const Field service_status_fields[] = {
  V ("name"), V ("containerId"), V ("state"), V ("restartCount"), V ("health"), END,
};

static const Field migration_fields[] = {
  V ("from"), V ("to"), V ("phase"), V ("bytesCopied"), V ("bytesTotal"), V ("message"), V ("discardData"), END,
};
static const Field project_status_fields[] = {
  V ("phase"), V ("nodeRef"), O ("conditions", condition_fields), O ("services", service_status_fields),
  O ("migration", migration_fields), V ("observedGeneration"), END,
};

static const Field project_fields[] = {
  V ("apiVersion"), V ("kind"), O ("metadata", metadata_fields), O ("spec", project_spec_fields),
  O ("status", project_status_fields), END,
};

/* ---- Secret (SPEC §12): keys[] is what reads show; accepted back so a GET can be re-applied ---- */

static const Field secret_key_fields[] = { V ("name"), V ("size"), END };

static const Field secret_fields[] = {
  V ("apiVersion"), V ("kind"), O ("metadata", metadata_fields), V ("type"), V ("data"), V ("stringData"),
  O ("keys", secret_key_fields), END,
};

/* ================================================================ suggestions */

/* Spellings from Docker Compose (and other habits), offered when their target is a member of the
 * level: "environment" -> "env" at a service, "target" -> "containerPort" in ports[]. */
static const struct {
  const char *alias;
  const char *target;
} aliases[] = {
  { "environment", "env" },
  { "restart", "restartPolicy" },
  { "cmd", "command" },
  { "args", "command" },
  { "volumes", "volumeMounts" },
  { "depends", "dependsOn" },
  { "test", "command" },
  { "interval", "intervalSeconds" },
  { "timeout", "timeoutSeconds" },
  { "target", "containerPort" },
  { "published", "hostPort" },
  { "deploy", "resources" },
  { "limits", "resources" },
  { "mem_limit", "resources" },
  { "cpus", "resources" },
  { "container_name", "name" },
  { "mount", "mountPath" },
  { "path", "mountPath" },
};

/* Lower case without '-' and '_': "restart_policy" and "RestartPolicy" are "restartpolicy". */
static char *
normalise (const char *s)
{
  GString *out = g_string_new (NULL);

  for (; *s != '\0'; s++)
    if (*s != '-' && *s != '_')
      g_string_append_c (out, g_ascii_tolower (*s));
  return g_string_free (out, FALSE);
}

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
static guint
edit_distance (const char *a, const char *b)
{
  gsize n = strlen (a), m = strlen (b);
  g_autofree guint *d = g_new (guint, (n + 1) * (m + 1));

#define D(i, j) d[(i) * (m + 1) + (j)]
  for (gsize i = 0; i <= n; i++)
    D (i, 0) = (guint) i;
  for (gsize j = 0; j <= m; j++)
    D (0, j) = (guint) j;
  for (gsize i = 1; i <= n; i++)
    for (gsize j = 1; j <= m; j++)
      {
        guint cost = a[i - 1] == b[j - 1] ? 0 : 1;
        guint v = MIN (MIN (D (i - 1, j) + 1, D (i, j - 1) + 1), D (i - 1, j - 1) + cost);
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          v = MIN (v, D (i - 2, j - 2) + 1);
        D (i, j) = v;
      }
  return D (n, m);
#undef D
}

/* How far @key is from @candidate, or G_MAXUINT when too far to suggest: at most a third of the
 * candidate's length (at least 1); or 1 for a shortened candidate ("restart", "volume") or one
 * with up to 3 characters more ("envs"), when the shorter has at least 3 characters. */
static guint
closeness (const char *key, const char *candidate)
{
  gsize kl = strlen (key), cl = strlen (candidate);
  guint limit = MAX (1, (guint) cl / 3);
  guint d;

  if (MIN (kl, cl) >= 3 && (g_str_has_prefix (candidate, key) || (g_str_has_prefix (key, candidate) && kl - cl <= 3)))
    return MIN (1, edit_distance (key, candidate));
  d = edit_distance (key, candidate);
  return d <= limit ? d : G_MAXUINT;
}

static gboolean
strv_has (const char *const *v, const char *s)
{
  for (; *v != NULL; v++)
    if (strcmp (*v, s) == 0)
      return TRUE;
  return FALSE;
}

const char *
cara_fields_suggest (const char *key, const char *const *valid)
{
  g_autofree char *k = NULL;
  const char *best = NULL;
  guint best_d = G_MAXUINT;

  /* Keys are short; a long one is nobody's typo (and would cost time). */
  if (strlen (key) > 64)
    return NULL;
  k = normalise (key);
  for (const char *const *v = valid; *v != NULL; v++)
    {
      g_autofree char *c = normalise (*v);
      guint d = closeness (k, c);
      if (d < best_d)
        best = *v, best_d = d;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (aliases); i++)
    {
      g_autofree char *c = NULL;
      guint d;
      if (!strv_has (valid, aliases[i].target))
        continue;
      c = normalise (aliases[i].alias);
      d = closeness (k, c);
      if (d < best_d)
        best = aliases[i].target, best_d = d;
    }
  return best;
}

/* ================================================================ the check */

typedef struct {
  CaraFieldsScope scope;
  GPtrArray *problems; /* GError* */
  guint left_out;
} Checker;

/* Compose's restart values, as restartPolicy. */
static const char *
restart_policy_for (JsonNode *value)
{
  const char *s;

  if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
    return NULL;
  s = json_node_get_string (value);
  if (g_ascii_strcasecmp (s, "always") == 0 || g_ascii_strcasecmp (s, "unless-stopped") == 0)
    return "Always";
  if (g_ascii_strncasecmp (s, "on-failure", 10) == 0 && (s[10] == '\0' || s[10] == ':'))
    return "OnFailure";
  if (g_ascii_strcasecmp (s, "no") == 0 || g_ascii_strcasecmp (s, "never") == 0)
    return "Never";
  return NULL;
}

/* TRUE unless @value is a list of objects: env written as Compose's map or "KEY=value" list. */
static gboolean
env_not_a_list_of_objects (JsonNode *value)
{
  JsonArray *a;

  if (!JSON_NODE_HOLDS_ARRAY (value))
    return TRUE;
  a = json_node_get_array (value);
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (!JSON_NODE_HOLDS_OBJECT (json_array_get_element (a, i)))
      return TRUE;
  return FALSE;
}

static void
add_unknown (Checker *c, const char *path, const char *key, JsonNode *value, const Field *fields)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GString) msg = g_string_new (NULL);
  const char *suggestion;

  if (c->problems->len >= CARA_FIELDS_MAX_PROBLEMS)
    {
      c->left_out++;
      return;
    }
  for (const Field *f = fields; f->name != NULL; f++)
    g_ptr_array_add (names, (gpointer) f->name);
  g_ptr_array_add (names, NULL);
  suggestion = cara_fields_suggest (key, (const char *const *) names->pdata);

  g_string_append_printf (msg, "%s: unknown field \"%s\"", path, key);
  if (suggestion != NULL && strcmp (suggestion, "restartPolicy") == 0 && restart_policy_for (value) != NULL)
    g_string_append_printf (msg, " (did you mean \"restartPolicy: %s\"?)", restart_policy_for (value));
  else if (suggestion != NULL && strcmp (suggestion, "restartPolicy") == 0)
    g_string_append (msg, " (did you mean \"restartPolicy\"? one of Always, OnFailure, Never)");
  else if (suggestion != NULL && strcmp (suggestion, "env") == 0 && env_not_a_list_of_objects (value))
    g_string_append (msg, " (did you mean \"env\"? a list of {name, value})");
  else if (suggestion != NULL)
    g_string_append_printf (msg, " (did you mean \"%s\"?)", suggestion);
  else
    {
      g_string_append (msg, " (expected one of: ");
      for (guint i = 0; i + 1 < names->len; i++)
        g_string_append_printf (msg, "%s%s", i > 0 ? ", " : "", (const char *) names->pdata[i]);
      g_string_append_c (msg, ')');
    }
  g_ptr_array_add (c->problems, g_error_new_literal (CARA_ERROR, CARA_ERROR_INVALID, msg->str));
}

static const Field *
find_field (const Field *fields, const char *name)
{
  for (const Field *f = fields; f->name != NULL; f++)
    if (strcmp (f->name, name) == 0)
      return f;
  return NULL;
}

static void check_object (Checker *c, JsonObject *o, const Field *fields, GString *path, gboolean top);

static void
check_value (Checker *c, JsonNode *value, const Field *members, GString *path)
{
  if (JSON_NODE_HOLDS_OBJECT (value))
    check_object (c, json_node_get_object (value), members, path, FALSE);
  else if (JSON_NODE_HOLDS_ARRAY (value))
    {
      JsonArray *a = json_node_get_array (value);
      gsize len = path->len;
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *item = json_array_get_element (a, i);
          if (!JSON_NODE_HOLDS_OBJECT (item))
            continue; /* a type error, reported by the decoder */
          g_string_append_printf (path, "[%u]", i);
          check_object (c, json_node_get_object (item), members, path, FALSE);
          g_string_truncate (path, len);
        }
    }
}

static void
check_object (Checker *c, JsonObject *o, const Field *fields, GString *path, gboolean top)
{
  JsonObjectIter it;
  const char *key;
  JsonNode *value;
  gsize len = path->len;

  json_object_iter_init_ordered (&it, o);
  while (json_object_iter_next_ordered (&it, &key, &value))
    {
      const Field *f = find_field (fields, key);

      g_string_append_printf (path, "%s%s", len > 0 ? "." : "", key);
      if (f == NULL)
        add_unknown (c, path->str, key, value, fields);
      else if (f->members != NULL &&
               !(top && c->scope == CARA_FIELDS_SPEC && (strcmp (key, "metadata") == 0 || strcmp (key, "status") == 0)))
        check_value (c, value, f->members, path);
      g_string_truncate (path, len);
    }
}

GPtrArray *
cara_fields_check (JsonNode *doc, const char *kind, CaraFieldsScope scope)
{
  Checker c = { scope, g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free), 0 };
  g_autoptr(GString) path = g_string_new (NULL);
  const Field *fields;

  if (doc == NULL || !JSON_NODE_HOLDS_OBJECT (doc))
    return c.problems;
  if (kind == NULL)
    kind = cara_json_get_kind (doc);
  if (strcmp (kind, "Project") == 0)
    fields = project_fields;
  else if (strcmp (kind, "Node") == 0)
    fields = node_fields;
  else if (strcmp (kind, "Secret") == 0)
    fields = secret_fields;
  else if (strcmp (kind, "Event") == 0)
    fields = event_fields;
  else
    return c.problems;
  check_object (&c, json_node_get_object (doc), fields, path, TRUE);
  if (c.left_out > 0)
    g_ptr_array_add (c.problems, g_error_new (CARA_ERROR, CARA_ERROR_INVALID, "and %u more unknown field%s",
                                              c.left_out, c.left_out == 1 ? "" : "s"));
  return c.problems;
}

gboolean
cara_fields_looks_like_compose (JsonNode *doc)
{
  JsonObject *o;
  JsonNode *services;

  if (doc == NULL || !JSON_NODE_HOLDS_OBJECT (doc))
    return FALSE;
  o = json_node_get_object (doc);
  services = json_object_get_member (o, "services");
  return !json_object_has_member (o, "kind") && services != NULL && JSON_NODE_HOLDS_OBJECT (services);
}
