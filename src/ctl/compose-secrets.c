/* SPDX-License-Identifier: Apache-2.0 */
/* Compose secrets (SPEC §10's secrets: row, §12): a service's secrets: list becomes its
 * secrets[] (mounted at /run/secrets/NAME, or the target), and every top-level secret a service
 * uses becomes a Secret {project}-{NAME} made from its file: (read on the client's disk, beside
 * the Compose file) or environment: variable.  The Secret documents travel with the Project
 * manifest until ctl_compose_split_secrets() makes them documents of their own. */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "cara-error.h"
#include "cara-manifest.h"
#include "compose.h"

/* The Project manifest's member that carries the Secret documents to ctl_compose_split_secrets. */
#define SECRETS_MEMBER "x-caravanserai-compose-secrets"

static char *
join (const char *path, const char *key)
{
  return *path ? g_strconcat (path, ".", key, NULL) : g_strdup (key);
}

static const char *
string_of (JsonNode *n)
{
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING ? json_node_get_string (n)
                                                                                          : NULL;
}

char *
ctl_compose_secret_name (const char *project, const char *name)
{
  g_autofree char *raw = g_strdup_printf ("%s-%s", project, name);
  return ctl_compose_normalize_name (raw);
}

/* The key a Compose secret's value is kept under: its name when that is a valid key. */
static const char *
secret_key (const char *name)
{
  for (const char *c = name; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '-' && *c != '_' && *c != '.')
      return "value";
  return *name && strcmp (name, ".") != 0 && strcmp (name, "..") != 0 ? name : "value";
}

void
ctl_compose_service_secrets (JsonObject *top, const char *project, JsonObject *svc, const char *path,
                             JsonObject *out, CtlComposeDiag *diag)
{
  JsonNode *n = json_object_get_member (svc, "secrets");
  g_autofree char *sp = join (path, "secrets");
  JsonNode *declared_node = json_object_get_member (top, "secrets");
  JsonObject *declared = declared_node && JSON_NODE_HOLDS_OBJECT (declared_node) ? json_node_get_object (declared_node)
                                                                                  : NULL;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return;
  if (!JSON_NODE_HOLDS_ARRAY (n))
    {
      ctl_compose_error (diag, sp, _("must be a list of secret names or {source, target, mode}"));
      return;
    }
  JsonArray *items = json_array_new ();
  JsonArray *a = json_node_get_array (n);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *item = json_array_get_element (a, i);
      g_autofree char *ip = g_strdup_printf ("%s[%u]", sp, i);
      const char *source = string_of (item), *target = NULL;
      JsonNode *mode = NULL;
      if (source == NULL && JSON_NODE_HOLDS_OBJECT (item))
        {
          JsonObject *o = json_node_get_object (item);
          CtlKeyIter it;
          const char *k;
          JsonNode *v;
          source = string_of (json_object_get_member (o, "source"));
          target = string_of (json_object_get_member (o, "target"));
          mode = json_object_get_member (o, "mode");
          ctl_key_iter_init (&it, o);
          while (ctl_key_iter_next (&it, &k, &v))
            {
              g_autofree char *kp = join (ip, k);
              if (strcmp (k, "uid") == 0 || strcmp (k, "gid") == 0)
                ctl_compose_warn (diag, kp, _("ignored: the file belongs to root (use mode to let others read it)"));
              else if (strcmp (k, "source") != 0 && strcmp (k, "target") != 0 && strcmp (k, "mode") != 0)
                ctl_compose_error (diag, kp, _("unknown key (expected source, target, uid, gid or mode)"));
            }
        }
      if (source == NULL || *source == '\0')
        {
          ctl_compose_error (diag, ip, _("a secret name, or a mapping with source:"));
          continue;
        }
      if (declared == NULL || !json_object_has_member (declared, source))
        {
          ctl_compose_error (diag, ip, _("refers to the undefined secret \"%s\" (declare it under the top-level secrets:)"),
                             source);
          continue;
        }
      JsonObject *s = json_object_new ();
      g_autofree char *secret = ctl_compose_secret_name (project, source);
      g_autofree char *where = target == NULL ? g_strconcat ("/run/secrets/", source, NULL)
                               : g_path_is_absolute (target) ? g_strdup (target)
                                                             : g_strconcat ("/run/secrets/", target, NULL);
      json_object_set_string_member (s, "secret", secret);
      json_object_set_string_member (s, "key", secret_key (source));
      json_object_set_string_member (s, "path", where);
      if (mode != NULL && JSON_NODE_HOLDS_VALUE (mode)
          && (json_node_get_value_type (mode) == G_TYPE_INT64 || json_node_get_value_type (mode) == G_TYPE_STRING))
        json_object_set_member (s, "mode", json_node_copy (mode));
      else if (mode != NULL)
        {
          g_autofree char *mp = join (ip, "mode");
          ctl_compose_error (diag, mp, _("must be a file mode such as 0440"));
        }
      json_array_add_object_element (items, s);
    }
  json_object_set_array_member (out, "secrets", items);
}

/* The names of the secrets the services of @spec use, from their secrets[] (secret names). */
static gboolean
used (JsonObject *spec, const char *secret)
{
  JsonArray *services = json_object_get_array_member (spec, "services");
  for (guint i = 0; services && i < json_array_get_length (services); i++)
    {
      JsonObject *svc = json_array_get_object_element (services, i);
      JsonNode *sn = json_object_get_member (svc, "secrets");
      JsonArray *a = sn && JSON_NODE_HOLDS_ARRAY (sn) ? json_node_get_array (sn) : NULL;
      for (guint j = 0; a && j < json_array_get_length (a); j++)
        if (g_strcmp0 (json_object_get_string_member_with_default (json_array_get_object_element (a, j), "secret", ""),
                       secret) == 0)
          return TRUE;
    }
  return FALSE;
}

void
ctl_compose_top_secrets (JsonObject *top, const char *project, GHashTable *env, const char *dir, JsonObject *spec,
                         CtlComposeDiag *diag)
{
  JsonNode *n = json_object_get_member (top, "secrets");
  CtlKeyIter it;
  const char *name;
  JsonNode *v;

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return;
  if (!JSON_NODE_HOLDS_OBJECT (n))
    {
      ctl_compose_error (diag, "secrets", _("must be a mapping of secret names"));
      return;
    }
  JsonArray *docs = json_array_new ();
  ctl_key_iter_init (&it, json_node_get_object (n));
  while (ctl_key_iter_next (&it, &name, &v))
    {
      g_autofree char *sp = join ("secrets", name);
      g_autofree char *secret = ctl_compose_secret_name (project, name);
      JsonObject *o = v && JSON_NODE_HOLDS_OBJECT (v) ? json_node_get_object (v) : NULL;
      const char *file = o ? string_of (json_object_get_member (o, "file")) : NULL;
      const char *var = o ? string_of (json_object_get_member (o, "environment")) : NULL;
      g_autofree char *value = NULL;
      gsize len = 0;

      if (o == NULL || (file == NULL) == (var == NULL))
        {
          if (o && json_object_has_member (o, "external"))
            ctl_compose_error (diag, sp, _("external secrets are not supported: name the Secret in the Project manifest"));
          else
            ctl_compose_error (diag, sp, _("must have either file: or environment:"));
          continue;
        }
      if (!used (spec, secret))
        {
          ctl_compose_warn (diag, sp, _("ignored: no enabled service uses it"));
          continue;
        }
      if (file != NULL)
        {
          g_autofree char *full = g_path_is_absolute (file) ? g_strdup (file) : g_build_filename (dir, file, NULL);
          g_autoptr (GError) error = NULL;
          g_autofree char *fp = join (sp, "file");
          if (!g_file_test (full, G_FILE_TEST_EXISTS))
            {
              ctl_compose_error (diag, fp, _("cannot read %s: no such file"), file);
              continue;
            }
          if (!g_file_get_contents (full, &value, &len, &error))
            {
              ctl_compose_error (diag, fp, _("cannot read %s: %s"), file, error->message);
              continue;
            }
        }
      else
        {
          const char *val = g_hash_table_lookup (env, var);
          g_autofree char *ep = join (sp, "environment");
          if (val == NULL)
            {
              ctl_compose_error (diag, ep, _("the variable %s is not set"), var);
              continue;
            }
          value = g_strdup (val);
          len = strlen (val);
        }
      JsonObject *doc = json_object_new ();
      JsonObject *meta = json_object_new ();
      JsonObject *data = json_object_new ();
      g_autofree char *b64 = g_base64_encode ((const guchar *) value, len);
      json_object_set_string_member (doc, "apiVersion", "caravanserai/v1");
      json_object_set_string_member (doc, "kind", "Secret");
      json_object_set_string_member (meta, "name", secret);
      json_object_set_object_member (doc, "metadata", meta);
      json_object_set_string_member (data, secret_key (name), b64);
      json_object_set_object_member (doc, "data", data);
      json_array_add_object_element (docs, doc);
    }
  if (json_array_get_length (docs) > 0)
    json_object_set_array_member (spec, SECRETS_MEMBER, docs);
  else
    json_array_unref (docs);
}

GPtrArray *
ctl_compose_split_secrets (CaraManifestDoc *d)
{
  GPtrArray *out = g_ptr_array_new ();
  JsonObject *top = JSON_NODE_HOLDS_OBJECT (d->node) ? json_node_get_object (d->node) : NULL;
  JsonNode *sn = top ? json_object_get_member (top, "spec") : NULL;
  JsonObject *root = sn && JSON_NODE_HOLDS_OBJECT (sn) ? json_node_get_object (sn) : NULL;
  JsonNode *n = root ? json_object_get_member (root, SECRETS_MEMBER) : NULL;
  if (n == NULL)
    return out;
  JsonArray *a = json_node_get_array (n);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      CaraManifestDoc *s = g_new0 (CaraManifestDoc, 1);
      s->file = g_strdup (d->file);
      s->index = d->index;
      s->line = d->line;
      s->node = json_node_copy (json_array_get_element (a, i));
      s->lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_ptr_array_add (out, s);
    }
  json_object_remove_member (root, SECRETS_MEMBER);
  return out;
}
