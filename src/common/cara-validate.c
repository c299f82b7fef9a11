/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-netaddr.h"
#include "cara-quantity.h"
#include "cara-validate.h"
#include "cara-validate-runtime.h"

gboolean
cara_validate_fail (GError **error, const char *path, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: %s", path, msg);
  return FALSE;
}

/* Go's %q, shortened to @max characters with "..." appended when longer. */
static char *
quote (const char *s, gsize max)
{
  GString *out = g_string_new ("\"");
  gsize n = 0;
  const char *p;

  for (p = s; *p != '\0' && n < max; p++, n++)
    {
      unsigned char c = (unsigned char) *p;
      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
  if (*p != '\0')
    g_string_append (out, "...");
  return g_string_free (out, FALSE);
}

static gboolean
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* ^[a-z0-9]([<extra>a-z0-9]*[a-z0-9])?$ */
static gboolean
matches_name (const char *s, const char *extra)
{
  gsize len = strlen (s);

  if (len == 0 || !is_lower_alnum (s[0]) || !is_lower_alnum (s[len - 1]))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!is_lower_alnum (s[i]) && strchr (extra, s[i]) == NULL)
      return FALSE;
  return TRUE;
}

gboolean
cara_validate_node_name (const char *name, GError **error)
{
  gsize len = name != NULL ? strlen (name) : 0;

  if (len == 0)
    return cara_validate_fail (error, "metadata.name", "name is required");
  if (len > 253)
    {
      g_autofree char *q = quote (name, 20);
      return cara_validate_fail (error, "metadata.name",
                   "name %s is %" G_GSIZE_FORMAT " characters long: must be no more than 253 characters",
                   q, len);
    }
  if (!matches_name (name, ".-"))
    {
      g_autofree char *q = quote (name, 40);
      return cara_validate_fail (error, "metadata.name",
                   "name %s is invalid: must consist of lowercase alphanumeric characters, hyphens (-) or dots (.), and must start and end with an alphanumeric character",
                   q);
    }
  return TRUE;
}

/* Project and service names become Docker container names "{project}-{service}" and DNS labels. */
static gboolean
validate_label_name (const char *name, const char *path, const char *what, GError **error)
{
  gsize len = strlen (name);

  if (len > 63)
    {
      g_autofree char *q = quote (name, 20);
      return cara_validate_fail (error, path,
                   "name %s is %" G_GSIZE_FORMAT " characters long: must be no more than 63 characters",
                   q, len);
    }
  if (strchr (name, '.') != NULL)
    {
      g_autofree char *q = quote (name, 40);
      return cara_validate_fail (error, path,
                   "name %s is invalid: %s names may not contain dots: they are used in Docker container names and DNS labels",
                   q, what);
    }
  if (!matches_name (name, "-"))
    {
      g_autofree char *q = quote (name, 40);
      return cara_validate_fail (error, path,
                   "name %s is invalid: must consist of lowercase alphanumeric characters or hyphens (-), and must start and end with an alphanumeric character",
                   q);
    }
  return TRUE;
}

gboolean
cara_validate_project_name (const char *name, GError **error)
{
  if (name == NULL || *name == '\0')
    return cara_validate_fail (error, "metadata.name", "name is required");
  return validate_label_name (name, "metadata.name", "project", error);
}

gboolean
cara_validate_service_name (const char *name, const char *path, GError **error)
{
  if (name == NULL || *name == '\0')
    return cara_validate_fail (error, path, "each service must have a non-empty name");
  return validate_label_name (name, path, "service", error);
}

/* ---- labels (Kubernetes rules: [prefix/]name, values of at most 63 characters) ---- */

static gboolean
is_alnum (char c)
{
  return g_ascii_isalnum (c);
}

/* ^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$, at most 63 */
static gboolean
is_qualified_part (const char *s, gsize len)
{
  if (len == 0 || len > 63 || !is_alnum (s[0]) || !is_alnum (s[len - 1]))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!is_alnum (s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
      return FALSE;
  return TRUE;
}

static gboolean
validate_label_key (const char *key, const char *path, GError **error)
{
  const char *slash = strchr (key, '/');
  const char *name = slash != NULL ? slash + 1 : key;

  if (slash != NULL)
    {
      g_autofree char *prefix = g_strndup (key, (gsize) (slash - key));
      if (strlen (prefix) > 253 || !matches_name (prefix, ".-"))
        {
          g_autofree char *q = quote (key, 63);
          return cara_validate_fail (error, path,
                       "key %s is invalid: the prefix before \"/\" must be a DNS subdomain (lowercase alphanumeric characters, '-' or '.')",
                       q);
        }
    }
  if (!is_qualified_part (name, strlen (name)))
    {
      g_autofree char *q = quote (key, 63);
      return cara_validate_fail (error, path,
                   "key %s is invalid: must be at most 63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character, with an optional DNS prefix and '/'",
                   q);
    }
  return TRUE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Keys in sorted order, so the first failure reported is stable. */
static gpointer *
sorted_keys (GHashTable *map, guint *n)
{
  gpointer *keys = g_hash_table_get_keys_as_array (map, n);

  qsort (keys, *n, sizeof (gpointer), compare_strings);
  return keys;
}

gboolean
cara_validate_label_map (GHashTable *labels, const char *path, GError **error)
{
  g_autofree gpointer *keys = NULL;
  guint n;

  if (labels == NULL)
    return TRUE;
  keys = sorted_keys (labels, &n);
  for (guint i = 0; i < n; i++)
    {
      const char *k = keys[i];
      const char *v = g_hash_table_lookup (labels, k);
      g_autofree char *p = g_strdup_printf ("%s.%s", path, k);

      if (!validate_label_key (k, p, error))
        return FALSE;
      if (*v != '\0' && !is_qualified_part (v, strlen (v)))
        {
          g_autofree char *q = quote (v, 63);
          return cara_validate_fail (error, p,
                       "value %s is invalid: must be empty or at most 63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character",
                       q);
        }
    }
  return TRUE;
}

static gboolean
validate_annotations (GHashTable *annotations, GError **error)
{
  g_autofree gpointer *keys = NULL;
  guint n;

  if (annotations == NULL)
    return TRUE;
  keys = sorted_keys (annotations, &n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *p = g_strdup_printf ("metadata.annotations.%s", (const char *) keys[i]);
      if (!validate_label_key (keys[i], p, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- image references (Docker's grammar, github.com/distribution/reference) ---- */

/* [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
static gboolean
image_path_component_ok (const char *s)
{
  gsize i = 0;

  if (!is_lower_alnum (s[0]))
    return FALSE;
  for (;;)
    {
      while (is_lower_alnum (s[i]))
        i++;
      if (s[i] == '\0')
        return TRUE;
      if (s[i] == '.')
        i++;
      else if (s[i] == '_')
        i += s[i + 1] == '_' ? 2 : 1;
      else if (s[i] == '-')
        while (s[i] == '-')
          i++;
      else
        return FALSE;
      if (!is_lower_alnum (s[i]))
        return FALSE;
    }
}

/* host[:port] with host a DNS name ([A-Za-z0-9] or [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9], dotted),
 * an IPv4 address (the same) or [IPv6]. */
static gboolean
image_domain_ok (const char *s)
{
  const char *colon;
  gsize hl;

  if (s[0] == '[')
    {
      const char *end = strchr (s, ']');
      if (end == NULL || end == s + 1)
        return FALSE;
      for (const char *p = s + 1; p < end; p++)
        if (!g_ascii_isxdigit (*p) && *p != ':')
          return FALSE;
      colon = end[1] == ':' ? end + 1 : NULL;
      if (end[1] != '\0' && colon == NULL)
        return FALSE;
    }
  else
    {
      colon = strchr (s, ':');
      hl = colon != NULL ? (gsize) (colon - s) : strlen (s);
      for (gsize start = 0; start <= hl;)
        {
          gsize end = start;
          while (end < hl && s[end] != '.')
            end++;
          if (end == start || !g_ascii_isalnum (s[start]) || !g_ascii_isalnum (s[end - 1]))
            return FALSE;
          for (gsize i = start; i < end; i++)
            if (!g_ascii_isalnum (s[i]) && s[i] != '-')
              return FALSE;
          start = end + 1;
        }
    }
  if (colon != NULL)
    {
      if (colon[1] == '\0')
        return FALSE;
      for (const char *p = colon + 1; *p != '\0'; p++)
        if (!g_ascii_isdigit (*p))
          return FALSE;
    }
  return TRUE;
}

/* [A-Za-z][A-Za-z0-9]* ([-_+.] [A-Za-z][A-Za-z0-9]*)* : [0-9a-fA-F]{32,} */
static gboolean
image_digest_ok (const char *s)
{
  const char *p = s;
  gsize hex = 0;

  for (;;)
    {
      if (!g_ascii_isalpha (*p))
        return FALSE;
      while (g_ascii_isalnum (*p))
        p++;
      if (*p == ':')
        break;
      if (strchr ("-_+.", *p) == NULL || *p == '\0')
        return FALSE;
      p++;
    }
  for (p++; *p != '\0'; p++, hex++)
    if (!g_ascii_isxdigit (*p))
      return FALSE;
  return hex >= 32;
}

/* [A-Za-z0-9_][A-Za-z0-9_.-]* */
static gboolean
image_tag_ok (const char *s)
{
  if (!g_ascii_isalnum (s[0]) && s[0] != '_')
    return FALSE;
  for (; *s != '\0'; s++)
    if (!g_ascii_isalnum (*s) && strchr ("_.-", *s) == NULL)
      return FALSE;
  return TRUE;
}

static gboolean
has_upper (const char *s)
{
  for (; *s != '\0'; s++)
    if (g_ascii_isupper (*s))
      return TRUE;
  return FALSE;
}

gboolean
cara_validate_image_reference (const char *ref, const char *path, GError **error)
{
  g_autofree char *q = NULL;
  g_autofree char *name = NULL;
  g_auto(GStrv) components = NULL;
  const char *at, *remote, *first_slash;
  char *last_slash, *colon;

  if (ref == NULL || *ref == '\0')
    return cara_validate_fail (error, path, "image is required");
  q = quote (ref, 80);
  at = strchr (ref, '@');
  if (at != NULL && !image_digest_ok (at + 1))
    return cara_validate_fail (error, path,
                 "invalid image reference %s: the digest after '@' must be ALGORITHM:HEX with at least 32 hexadecimal digits (sha256:...)",
                 q);
  name = at != NULL ? g_strndup (ref, (gsize) (at - ref)) : g_strdup (ref);
  last_slash = strrchr (name, '/');
  colon = strrchr (last_slash != NULL ? last_slash : name, ':');
  if (colon != NULL)
    {
      const char *tag = colon + 1;
      gsize len = strlen (tag);
      if (len == 0)
        return cara_validate_fail (error, path, "invalid image reference %s: the tag after ':' is empty", q);
      if (len > 128)
        return cara_validate_fail (error, path,
                     "invalid image reference %s: the tag is %" G_GSIZE_FORMAT " characters long: must be no more than 128",
                     q, len);
      if (!image_tag_ok (tag))
        return cara_validate_fail (error, path,
                     "invalid image reference %s: the tag must start with a letter, digit or '_' and contain only letters, digits, '_', '.' and '-'",
                     q);
      *colon = '\0';
    }
  if (*name == '\0')
    return cara_validate_fail (error, path, "invalid image reference %s: the repository name is missing", q);
  if (strlen (name) > 255)
    return cara_validate_fail (error, path,
                 "invalid image reference %s: the repository name is %" G_GSIZE_FORMAT " characters long: must be no more than 255",
                 q, strlen (name));

  /* As Docker decides: the first component is a registry when it has a '.' or ':', is
   * "localhost", or has upper-case letters (which a repository path may not). */
  remote = name;
  first_slash = strchr (name, '/');
  if (first_slash != NULL)
    {
      g_autofree char *first = g_strndup (name, (gsize) (first_slash - name));
      if (strpbrk (first, ".:") != NULL || strcmp (first, "localhost") == 0 || has_upper (first))
        {
          if (!image_domain_ok (first))
            return cara_validate_fail (error, path, "invalid image reference %s: the registry \"%s\" is not a valid host[:port]",
                         q, first);
          remote = first_slash + 1;
        }
    }
  if (*remote == '\0')
    return cara_validate_fail (error, path, "invalid image reference %s: empty path component (a leading, trailing or double '/')",
                 q);
  components = g_strsplit (remote, "/", -1);
  for (guint i = 0; components[i] != NULL; i++)
    {
      const char *c = components[i];
      g_autofree char *lower = g_ascii_strdown (c, -1);
      if (*c == '\0')
        return cara_validate_fail (error, path, "invalid image reference %s: empty path component (a leading, trailing or double '/')",
                     q);
      if (!image_path_component_ok (c) && image_path_component_ok (lower))
        return cara_validate_fail (error, path, "invalid image reference %s: the repository name must be lowercase", q);
      if (!image_path_component_ok (c))
        return cara_validate_fail (error, path,
                     "invalid image reference %s: path component \"%s\" must be lowercase letters and digits, separated by '.', '_', '__' or '-'",
                     q, c);
    }
  return TRUE;
}

/* ---- Node ---- */

static gboolean
validate_resource_list (GHashTable *list, const char *path, GError **error)
{
  g_autofree gpointer *keys = NULL;
  guint n;

  if (list == NULL)
    return TRUE;
  keys = sorted_keys (list, &n);
  for (guint i = 0; i < n; i++)
    {
      const char *k = keys[i];
      const char *v = g_hash_table_lookup (list, k);
      g_autofree char *p = g_strdup_printf ("%s.%s", path, k);
      gint64 parsed;
      gboolean ok = TRUE;

      if (strcmp (k, "cpu") == 0)
        ok = cara_cpu_parse (v, &parsed, error);
      else if (strcmp (k, "memory") == 0 || strcmp (k, "disk") == 0 ||
               strcmp (k, "ephemeral-storage") == 0)
        ok = cara_bytes_parse (v, &parsed, error);
      if (!ok)
        {
          cara_error_prefix_field (error, p);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
cara_validate_node (const CaraNode *n, GError **error)
{
  gint64 port = n->status.network.agent_port;

  if (!cara_validate_node_name (n->metadata.name, error) ||
      !cara_validate_label_map (n->metadata.labels, "metadata.labels", error) ||
      !validate_annotations (n->metadata.annotations, error) ||
      !validate_resource_list (n->status.capacity, "status.capacity", error) ||
      !validate_resource_list (n->status.allocatable, "status.allocatable", error) ||
      !cara_ip_check (n->status.network.ip, "status.network.ip", error))
    return FALSE;
  if (port < 0 || port > 65535)
    return cara_validate_fail (error, "status.network.agentPort", "port %" G_GINT64_FORMAT " is out of range 1-65535",
                 port);
  return TRUE;
}

/* ---- Project ---- */

static const char *
or_empty (const char *s)
{
  return s != NULL ? s : "";
}

static gboolean
is_empty (const char *s)
{
  return s == NULL || *s == '\0';
}

/* Reference §3.2, in the reference API's order and words. */
static gboolean
validate_go_rules (const CaraProject *p, GError **error)
{
  GPtrArray *services = p->spec.services;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  if (services->len == 0)
    return cara_validate_fail (error, "spec.services", "must contain at least one service");
  for (guint i = 0; i < services->len; i++)
    {
      CaraService *s = g_ptr_array_index (services, i);
      g_autofree char *np = g_strdup_printf ("spec.services[%u].name", i);
      g_autofree char *ip = g_strdup_printf ("spec.services[%u].image", i);

      if (is_empty (s->name))
        return cara_validate_fail (error, np, "each service must have a non-empty name");
      if (is_empty (s->image))
        return cara_validate_fail (error, ip, "service %s: image is required", s->name);
    }
  for (guint i = 0; i < p->spec.ingress->len; i++)
    {
      CaraIngress *in = g_ptr_array_index (p->spec.ingress, i);
      g_autofree char *base = g_strdup_printf ("spec.ingress[%u]", i);
      g_autofree char *np = g_strconcat (base, ".name", NULL);
      g_autofree char *sp = g_strconcat (base, ".target.service", NULL);
      g_autofree char *pp = g_strconcat (base, ".target.port", NULL);

      if (is_empty (in->name))
        return cara_validate_fail (error, np, "each ingress entry must have a non-empty name");
      if (g_hash_table_contains (seen, in->name))
        return cara_validate_fail (error, np, "duplicate ingress name: %s", in->name);
      g_hash_table_add (seen, in->name);
      if (is_empty (in->target.service) || cara_project_find_service (p, in->target.service) == NULL)
        return cara_validate_fail (error, sp, "ingress %s: target service %s does not exist in spec.services",
                     in->name, or_empty (in->target.service));
      if (in->target.port <= 0)
        return cara_validate_fail (error, pp, "ingress %s: target port must be greater than 0", in->name);
      if (in->target.port > 65535)
        return cara_validate_fail (error, pp, "ingress %s: target port %" G_GINT64_FORMAT " is out of range 1-65535",
                     in->name, in->target.port);
      if (in->tls.secret != NULL)
        {
          g_autofree char *tp = g_strdup_printf ("%s.tls.secret", base);
          g_autoptr (GError) local = NULL;
          if (!cara_validate_node_name (in->tls.secret, &local))
            return cara_validate_fail (error, tp, "ingress %s: \"%s\" is not a Secret name (lowercase letters, digits, '-' and '.')",
                         in->name, in->tls.secret);
        }
    }
  return TRUE;
}

/* ^[a-z0-9]([a-z0-9_.-]*[a-z0-9])?$, at most 63: becomes part of a Docker volume name. */
static gboolean
validate_volumes (const CaraProject *p, GHashTable *declared, GError **error)
{
  for (guint i = 0; i < p->spec.volumes->len; i++)
    {
      CaraVolume *v = g_ptr_array_index (p->spec.volumes, i);
      g_autofree char *np = g_strdup_printf ("spec.volumes[%u].name", i);
      g_autofree char *tp = g_strdup_printf ("spec.volumes[%u].type", i);

      if (is_empty (v->name))
        return cara_validate_fail (error, np, "each volume must have a non-empty name");
      if (strlen (v->name) > 63 || !matches_name (v->name, "-_."))
        {
          g_autofree char *q = quote (v->name, 40);
          return cara_validate_fail (error, np,
                       "name %s is invalid: must be at most 63 lowercase alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character",
                       q);
        }
      if (g_hash_table_contains (declared, v->name))
        return cara_validate_fail (error, np, "duplicate volume name \"%s\"", v->name);
      g_hash_table_add (declared, v->name);
      if (v->type == CARA_VOLUME_TYPE_NONE)
        return cara_validate_fail (error, tp, "volume %s: type is required (Ephemeral, Persistent or HostPath)", v->name);
      {
        g_autofree char *base = g_strdup_printf ("spec.volumes[%u]", i);
        if (!cara_validate_volume_runtime (v, base, error))
          return FALSE;
      }
    }
  return TRUE;
}

static gboolean
validate_port (const char *path, const char *service, gint64 port, GError **error)
{
  if (port < 1 || port > 65535)
    return cara_validate_fail (error, path, "service %s: port %" G_GINT64_FORMAT " is out of range 1-65535", service,
                 port);
  return TRUE;
}

static gboolean
validate_service (const CaraService *s, const char *base, const CaraProject *p, GHashTable *volumes,
                  GHashTable *host_ports, GError **error)
{
  g_autoptr(GHashTable) mount_paths = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *image_path = g_strdup_printf ("%s.image", base);

  if (!cara_validate_image_reference (s->image, image_path, error))
    return FALSE;

  for (guint j = 0; j < s->env->len; j++)
    {
      CaraEnvVar *e = g_ptr_array_index (s->env, j);
      g_autofree char *np = g_strdup_printf ("%s.env[%u].name", base, j);

      if (is_empty (e->name))
        return cara_validate_fail (error, np, "service %s: env name is required", s->name);
      if (strchr (e->name, '=') != NULL)
        return cara_validate_fail (error, np, "service %s: env name \"%s\" must not contain '='", s->name, e->name);
    }

  for (guint j = 0; j < s->volume_mounts->len; j++)
    {
      CaraVolumeMount *m = g_ptr_array_index (s->volume_mounts, j);
      g_autofree char *np = g_strdup_printf ("%s.volumeMounts[%u].name", base, j);
      g_autofree char *mp = g_strdup_printf ("%s.volumeMounts[%u].mountPath", base, j);

      if (is_empty (m->name))
        return cara_validate_fail (error, np, "service %s: volume mount name is required", s->name);
      if (!g_hash_table_contains (volumes, m->name))
        return cara_validate_fail (error, np, "service %s: volume \"%s\" is not declared in spec.volumes", s->name,
                     m->name);
      if (is_empty (m->mount_path))
        return cara_validate_fail (error, mp, "service %s: mountPath is required", s->name);
      if (m->mount_path[0] != '/')
        return cara_validate_fail (error, mp, "service %s: mountPath \"%s\" must be an absolute path", s->name,
                     m->mount_path);
      if (g_hash_table_contains (mount_paths, m->mount_path))
        return cara_validate_fail (error, mp, "service %s: duplicate mountPath \"%s\"", s->name, m->mount_path);
      g_hash_table_add (mount_paths, m->mount_path);
    }

  if (s->command != NULL && s->command[0] != NULL && *s->command[0] == '\0')
    {
      g_autofree char *cp = g_strdup_printf ("%s.command[0]", base);
      return cara_validate_fail (error, cp, "service %s: the program name must not be empty", s->name);
    }

  for (guint j = 0; j < s->ports->len; j++)
    {
      CaraPort *port = g_ptr_array_index (s->ports, j);
      g_autofree char *cp = g_strdup_printf ("%s.ports[%u].containerPort", base, j);
      g_autofree char *hp = g_strdup_printf ("%s.ports[%u].hostPort", base, j);
      g_autofree char *key = NULL;
      const char *proto = port->protocol == CARA_PROTOCOL_UDP ? "udp" : "tcp";

      if (port->container_port == 0)
        return cara_validate_fail (error, cp, "service %s: containerPort is required", s->name);
      if (!validate_port (cp, s->name, port->container_port, error))
        return FALSE;
      if (port->host_port == 0)
        continue;
      if (!validate_port (hp, s->name, port->host_port, error))
        return FALSE;
      key = g_strdup_printf ("%" G_GINT64_FORMAT "/%s", port->host_port, proto);
      if (g_hash_table_contains (host_ports, key))
        return cara_validate_fail (error, hp, "service %s: host port %s is already used by service %s", s->name, key,
                     (const char *) g_hash_table_lookup (host_ports, key));
      g_hash_table_insert (host_ports, g_steal_pointer (&key), s->name);
    }

  if (s->resources.cpu != NULL)
    {
      g_autofree char *rp = g_strdup_printf ("%s.resources.cpu", base);
      gint64 mc;
      if (!cara_cpu_parse (s->resources.cpu, &mc, error))
        {
          cara_error_prefix_field (error, rp);
          return FALSE;
        }
      if (mc == 0)
        return cara_validate_fail (error, rp, "service %s: cpu must be greater than 0", s->name);
    }
  if (s->resources.memory != NULL)
    {
      g_autofree char *rp = g_strdup_printf ("%s.resources.memory", base);
      gint64 bytes;
      if (!cara_bytes_parse (s->resources.memory, &bytes, error))
        {
          cara_error_prefix_field (error, rp);
          return FALSE;
        }
      /* Docker refuses memory limits below 6 MiB; say so before the agent fails. */
      if (bytes < 6 * 1024 * 1024)
        return cara_validate_fail (error, rp, "service %s: memory must be at least 6Mi", s->name);
    }

  if (s->healthcheck != NULL)
    {
      const CaraHealthcheck *h = s->healthcheck;
      g_autofree char *hp = g_strdup_printf ("%s.healthcheck", base);
      const struct {
        const char *name;
        gint64 v;
      } nums[] = { { "intervalSeconds", h->interval_seconds },
                   { "timeoutSeconds", h->timeout_seconds },
                   { "retries", h->retries } };

      if (h->command == NULL || h->command[0] == NULL || *h->command[0] == '\0')
        {
          g_autofree char *cp = g_strconcat (hp, ".command", NULL);
          return cara_validate_fail (error, cp, "service %s: healthcheck command is required", s->name);
        }
      for (guint k = 0; k < G_N_ELEMENTS (nums); k++)
        if (nums[k].v < 0)
          {
            g_autofree char *np = g_strdup_printf ("%s.%s", hp, nums[k].name);
            return cara_validate_fail (error, np, "service %s: must not be negative", s->name);
          }
    }

  if (!cara_validate_service_secrets (s, base, error))
    return FALSE;
  for (guint j = 0; s->depends_on != NULL && s->depends_on[j] != NULL; j++)
    {
      const char *dep = s->depends_on[j];
      g_autofree char *dp = g_strdup_printf ("%s.dependsOn[%u]", base, j);

      if (g_strcmp0 (dep, s->name) == 0)
        return cara_validate_fail (error, dp, "service %s: cannot depend on itself", s->name);
      if (cara_project_find_service (p, dep) == NULL)
        return cara_validate_fail (error, dp, "service %s: depends on unknown service \"%s\"", s->name, dep);
    }
  return cara_validate_service_runtime (s, base, p, error);
}

typedef enum { WHITE, GREY, BLACK } Colour;

/* Depth-first search; on a back edge, @stack holds the path into the cycle. */
static gboolean
find_cycle (const CaraProject *p, guint i, Colour *colour, GArray *stack, GString *cycle)
{
  CaraService *s = g_ptr_array_index (p->spec.services, i);

  colour[i] = GREY;
  g_array_append_val (stack, i);
  for (guint j = 0; s->depends_on != NULL && s->depends_on[j] != NULL; j++)
    {
      guint k;
      for (k = 0; k < p->spec.services->len; k++)
        if (g_strcmp0 (((CaraService *) g_ptr_array_index (p->spec.services, k))->name,
                       s->depends_on[j]) == 0)
          break;
      if (k == p->spec.services->len)
        continue;
      if (colour[k] == GREY)
        {
          guint start = 0;
          while (g_array_index (stack, guint, start) != k)
            start++;
          for (guint m = start; m < stack->len; m++)
            {
              CaraService *c = g_ptr_array_index (p->spec.services, g_array_index (stack, guint, m));
              g_string_append_printf (cycle, "%s -> ", c->name);
            }
          g_string_append (cycle, ((CaraService *) g_ptr_array_index (p->spec.services, k))->name);
          return TRUE;
        }
      if (colour[k] == WHITE && find_cycle (p, k, colour, stack, cycle))
        return TRUE;
    }
  g_array_set_size (stack, stack->len - 1);
  colour[i] = BLACK;
  return FALSE;
}

static gboolean
validate_dependency_cycles (const CaraProject *p, GError **error)
{
  g_autofree Colour *colour = g_new0 (Colour, p->spec.services->len);
  g_autoptr(GArray) stack = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GString) cycle = g_string_new (NULL);

  for (guint i = 0; i < p->spec.services->len; i++)
    if (colour[i] == WHITE && find_cycle (p, i, colour, stack, cycle))
      {
        g_autofree char *path = g_strdup_printf ("spec.services[%u].dependsOn", i);
        return cara_validate_fail (error, path, "dependency cycle: %s", cycle->str);
      }
  return TRUE;
}

/* spec.update: the enums are checked by the decoder; a monitoring window is 0..3600 s. */
static gboolean
validate_update (const CaraProject *p, GError **error)
{
  gint64 m = p->spec.update.monitor_seconds;
  if (m < 0 || m > 3600)
    return cara_validate_fail (error, "spec.update.monitorSeconds", "must be between 0 and 3600, not %" G_GINT64_FORMAT, m);
  return TRUE;
}

gboolean
cara_validate_project_spec (const CaraProject *p, GError **error)
{
  GPtrArray *services = p->spec.services;
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) volumes = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) host_ports = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (!validate_go_rules (p, error))
    return FALSE;
  for (guint i = 0; i < services->len; i++)
    {
      CaraService *s = g_ptr_array_index (services, i);
      g_autofree char *np = g_strdup_printf ("spec.services[%u].name", i);

      if (!cara_validate_service_name (s->name, np, error))
        return FALSE;
      if (g_hash_table_contains (names, s->name))
        return cara_validate_fail (error, np, "duplicate service name \"%s\"", s->name);
      g_hash_table_add (names, s->name);
    }
  if (!validate_volumes (p, volumes, error))
    return FALSE;
  for (guint i = 0; i < services->len; i++)
    {
      g_autofree char *base = g_strdup_printf ("spec.services[%u]", i);
      if (!validate_service (g_ptr_array_index (services, i), base, p, volumes, host_ports, error))
        return FALSE;
    }
  return validate_dependency_cycles (p, error) &&
         cara_validate_label_map (p->spec.node_selector, "spec.nodeSelector", error) &&
         cara_validate_image_pull_secrets (p, error) &&
         validate_update (p, error);
}

/* The outcome of one check into @problems (a GError* each; *@error is taken and cleared): TRUE
 * when it passed.  @error is read after @ok was computed, which a plain GError* argument would not
 * guarantee. */
static gboolean
collect (GPtrArray *problems, gboolean ok, GError **error)
{
  if (!ok && *error != NULL)
    g_ptr_array_add (problems, g_steal_pointer (error));
  g_clear_error (error);
  return ok;
}

void
cara_validate_project_all (const CaraProject *p, GPtrArray *problems)
{
  GPtrArray *services = p->spec.services;
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) volumes = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) host_ports = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree gboolean *named = g_new0 (gboolean, services->len + 1);
  gboolean all_named = TRUE, services_ok = TRUE, volumes_ok;
  GError *e = NULL;

  collect (problems, cara_validate_project_name (p->metadata.name, &e), &e);
  collect (problems, cara_validate_label_map (p->metadata.labels, "metadata.labels", &e), &e);
  collect (problems, validate_annotations (p->metadata.annotations, &e), &e);
  if (!collect (problems, validate_go_rules (p, &e), &e))
    return; /* no services, or the like: nothing below is meaningful */
  for (guint i = 0; i < services->len; i++)
    {
      CaraService *s = g_ptr_array_index (services, i);
      g_autofree char *np = g_strdup_printf ("spec.services[%u].name", i);

      if (!collect (problems, cara_validate_service_name (s->name, np, &e), &e))
        {
          all_named = FALSE;
          continue;
        }
      if (g_hash_table_contains (names, s->name))
        {
          collect (problems, cara_validate_fail (&e, np, "duplicate service name \"%s\"", s->name), &e);
          all_named = FALSE;
          continue;
        }
      g_hash_table_add (names, s->name);
      named[i] = TRUE;
    }
  volumes_ok = collect (problems, validate_volumes (p, volumes, &e), &e);
  /* Each service on its own, once the names and volumes it refers to are known to be sound. */
  for (guint i = 0; volumes_ok && i < services->len; i++)
    {
      g_autofree char *base = g_strdup_printf ("spec.services[%u]", i);
      if (!named[i])
        continue;
      if (!collect (problems, validate_service (g_ptr_array_index (services, i), base, p, volumes, host_ports, &e), &e))
        services_ok = FALSE;
    }
  if (all_named && volumes_ok && services_ok)
    collect (problems, validate_dependency_cycles (p, &e), &e);
  collect (problems, cara_validate_label_map (p->spec.node_selector, "spec.nodeSelector", &e), &e);
  collect (problems, cara_validate_image_pull_secrets (p, &e), &e);
  collect (problems, validate_update (p, &e), &e);
}

gboolean
cara_validate_project (const CaraProject *p, GError **error)
{
  /* A client-supplied status phase is already known to be valid: the decoder rejects others. */
  return cara_validate_project_name (p->metadata.name, error) &&
         cara_validate_label_map (p->metadata.labels, "metadata.labels", error) &&
         validate_annotations (p->metadata.annotations, error) &&
         cara_validate_project_spec (p, error);
}
