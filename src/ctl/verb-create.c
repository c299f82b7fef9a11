/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl create secret NAME --from-literal KEY=VALUE... --from-file [KEY=]PATH...
 * caractrl create secret registry NAME --server HOST --username USER --password-stdin */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cara-error.h"
#include "cara-json.h"
#include "cara-secret.h"
#include "ctl.h"

static gboolean
add_value (JsonObject *data, const char *key, const char *value, gsize len, const char *from, GError **error)
{
  if (json_object_has_member (data, key))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("key \"%s\" given twice (%s)"), key, from);
      return FALSE;
    }
  g_autofree char *b64 = g_base64_encode ((const guchar *) value, len);
  json_object_set_string_member (data, key, b64);
  return TRUE;
}

static gboolean
opaque_data (CtlArgs *args, JsonObject *data, GError **error)
{
  g_autoptr (GPtrArray) literals = ctl_opt_strings (args, "from-literal");
  g_autoptr (GPtrArray) files = ctl_opt_strings (args, "from-file");
  for (guint i = 0; literals && i < literals->len; i++)
    {
      const char *kv = literals->pdata[i];
      const char *eq = strchr (kv, '=');
      if (eq == NULL || eq == kv)
        {
          g_set_error (error, CTL_USAGE_ERROR, 0, _("--from-literal %s: expected KEY=VALUE"), kv);
          return FALSE;
        }
      g_autofree char *key = g_strndup (kv, eq - kv);
      if (!add_value (data, key, eq + 1, strlen (eq + 1), "--from-literal", error))
        return FALSE;
    }
  for (guint i = 0; files && i < files->len; i++)
    {
      const char *arg = files->pdata[i];
      const char *eq = strchr (arg, '=');
      g_autofree char *key = eq ? g_strndup (arg, eq - arg) : g_path_get_basename (arg);
      const char *path = eq ? eq + 1 : arg;
      g_autofree char *contents = NULL;
      gsize len = 0;
      g_autoptr (GError) local = NULL;
      if (*key == '\0' || *path == '\0')
        {
          g_set_error (error, CTL_USAGE_ERROR, 0, _("--from-file %s: expected [KEY=]PATH"), arg);
          return FALSE;
        }
      if (!g_file_get_contents (path, &contents, &len, &local))
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, _("--from-file %s: %s"), arg, local->message);
          return FALSE;
        }
      if (!add_value (data, key, contents, len, "--from-file", error))
        return FALSE;
    }
  return TRUE;
}

static char *
read_stdin (GError **error)
{
  g_autoptr (GString) s = g_string_new (NULL);
  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
    g_string_append_len (s, buf, (gssize) n);
  if (ferror (stdin))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("cannot read the password from standard input"));
      return NULL;
    }
  /* One trailing newline (echo, a here-string) is not part of the password. */
  if (s->len > 0 && s->str[s->len - 1] == '\n')
    g_string_truncate (s, s->len - 1);
  if (s->len > 0 && s->str[s->len - 1] == '\r')
    g_string_truncate (s, s->len - 1);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
registry_data (CtlArgs *args, JsonObject *data, GError **error)
{
  const char *server = ctl_opt_string (args, "server");
  const char *user = ctl_opt_string (args, "username");
  if (ctl_opt_strings (args, "from-literal") || ctl_opt_strings (args, "from-file"))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("a registry secret takes --server, --username and --password-stdin"));
      return FALSE;
    }
  if (server == NULL || user == NULL || !ctl_opt_bool (args, "password-stdin"))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0,
                   _("create secret registry needs --server HOST, --username USER and --password-stdin"));
      return FALSE;
    }
  g_autofree char *password = read_stdin (error);
  if (password == NULL)
    return FALSE;
  if (*password == '\0')
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("--password-stdin: standard input held no password"));
      return FALSE;
    }
  return add_value (data, "server", server, strlen (server), "--server", error)
         && add_value (data, "username", user, strlen (user), "--username", error)
         && add_value (data, "password", password, strlen (password), "--password-stdin", error);
}

int
ctl_verb_create (Ctl *ctl, CtlArgs *args, GError **error)
{
  GPtrArray *pos = args->positional;
  gboolean registry = pos->len == 3 && g_str_equal (pos->pdata[1], "registry");
  if (pos->len < 2 || !g_str_equal (pos->pdata[0], "secret") || (pos->len == 3 && !registry))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("expected: create secret NAME or create secret registry NAME"));
      return -1;
    }
  const char *name = pos->pdata[pos->len - 1];
  if (!registry && (ctl_opt_string (args, "server") || ctl_opt_string (args, "username")
                    || ctl_opt_bool (args, "password-stdin")))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("--server, --username and --password-stdin are for create secret registry"));
      return -1;
    }
  g_autoptr (JsonObject) data = json_object_new ();
  if (!(registry ? registry_data (args, data, error) : opaque_data (args, data, error)))
    return -1;

  JsonObject *doc = json_object_new ();
  JsonObject *meta = json_object_new ();
  json_object_set_string_member (doc, "apiVersion", CARA_API_VERSION);
  json_object_set_string_member (doc, "kind", "Secret");
  json_object_set_string_member (meta, "name", name);
  json_object_set_object_member (doc, "metadata", meta);
  json_object_set_string_member (doc, "type", registry ? "Registry" : "Opaque");
  json_object_set_object_member (doc, "data", json_object_ref (data));
  g_autoptr (JsonNode) body = json_node_init_object (json_node_alloc (), doc);
  json_object_unref (doc);

  /* Checked here first, so a bad key is a usage error with nothing sent. */
  g_autoptr (CaraSecret) s = cara_secret_from_json (body, error);
  if (s == NULL || !cara_secret_validate (s, error))
    return -1;
  g_autoptr (JsonNode) obj = NULL;
  if (!ctl_request (ctl, "POST", "/api/v1/secrets", body, NULL, &obj, error))
    return -1;
  if (ctl->output == CTL_OUTPUT_JSON || ctl->output == CTL_OUTPUT_YAML)
    return ctl_print_json_or_yaml (ctl, obj, error) ? 0 : -1;
  if (!ctl->quiet)
    printf (_("secret/%s created\n"), name);
  return 0;
}
