/* SPDX-License-Identifier: Apache-2.0 */
/* /api/v1/secrets[/{name}] and the agents' GET /api/v1/nodes/{name}/secrets/{secret} (SPEC §12).
 * No answer but the agents' carries a value; no log line names one. */
#define G_LOG_DOMAIN "cara-api"
#include "config.h"

#include "api.h"
#include "cara-error.h"
#include "cara-log.h"
#include "cara-secret.h"
#include "server-events.h"
#include "store.h"

static void
respond_secret (CaraHttpRequest *req, guint status, const CaraSecret *s)
{
  g_autoptr (JsonNode) json = cara_secret_to_json (s);
  cara_http_respond_json (req, status, json);
}

static CaraSecret *
decode_secret (CaraHttpRequest *req)
{
  g_autoptr (JsonNode) json = api_parse_body (req);
  g_autoptr (GError) error = NULL;
  if (json == NULL || !api_check_fields (req, "Secret", json))
    return NULL;
  g_autoptr (CaraSecret) s = cara_secret_from_json (json, &error);
  if (s == NULL)
    {
      api_respond_invalid_body (req, error);
      return NULL;
    }
  return g_steal_pointer (&s);
}

void
api_secrets_list (CaraHttpRequest *req, gpointer user_data)
{
  g_autoptr (GPtrArray) items = NULL;
  g_autoptr (GError) error = NULL;
  if (!store_list_secrets (NULL, &items, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_autoptr (JsonNode) json = cara_secret_list_to_json (items);
  cara_http_respond_json (req, 200, json);
}

void
api_secrets_get (CaraHttpRequest *req, gpointer user_data)
{
  g_autoptr (CaraSecret) s = NULL;
  g_autoptr (GError) error = NULL;
  if (!store_get_secret (cara_http_request_get_param (req, "name"), FALSE, &s, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  respond_secret (req, 200, s);
}

void
api_secrets_create (CaraHttpRequest *req, gpointer user_data)
{
  g_autoptr (CaraSecret) s = decode_secret (req);
  g_autoptr (GError) error = NULL;
  if (s == NULL)
    return;
  if (!cara_secret_validate (s, &error) || !store_create_secret (s, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_info ("Created secret %s (%u key%s)", s->metadata.name, s->keys->len, s->keys->len == 1 ? "" : "s");
  respond_secret (req, 201, s);
}

void
api_secrets_update (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  g_autoptr (CaraSecret) s = decode_secret (req);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) users = NULL;
  if (s == NULL)
    return;
  if (s->metadata.name != NULL && *s->metadata.name != '\0' && g_strcmp0 (s->metadata.name, name) != 0)
    {
      g_autofree char *detail = g_strdup_printf ("metadata.name \"%s\" does not match URL path \"%s\"",
                                                 s->metadata.name, name);
      cara_http_respond_problem (req, 400, detail);
      return;
    }
  g_free (s->metadata.name);
  s->metadata.name = g_strdup (name);
  if (!cara_secret_validate (s, &error) || !store_replace_secret (s, &users, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_info ("Updated secret %s (%u key%s); projects using it: %u", name, s->keys->len, s->keys->len == 1 ? "" : "s",
          g_strv_length (users));
  for (guint i = 0; users[i] != NULL; i++)
    {
      cara_log_project (G_LOG_LEVEL_INFO, users[i], "Secret %s changed: rolling the services of project %s that use it",
                        name, users[i]);
      cara_events_record (CARA_EVENT_NORMAL, "SecretChanged", "Project", users[i], NULL,
                          "Secret %s changed: the services that use it roll", name);
    }
  respond_secret (req, 200, s);
}

void
api_secrets_delete (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  g_autoptr (GError) error = NULL;
  if (!store_delete_secret (name, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_info ("Deleted secret %s", name);
  cara_http_respond_empty (req, 204);
}

void
api_nodes_secret (CaraHttpRequest *req, gpointer user_data)
{
  const char *node = cara_http_request_get_param (req, "name");
  const char *name = cara_http_request_get_param (req, "secret");
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) users = NULL;
  g_autoptr (CaraSecret) s = NULL;

  if (!store_secret_users (name, node, &users, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  if (users[0] == NULL)
    {
      g_autofree char *detail = g_strdup_printf ("secret %s is not used by any project placed on node %s", name, node);
      cara_http_respond_problem (req, 403, detail);
      return;
    }
  if (!store_get_secret (name, TRUE, &s, &error))
    {
      if (g_error_matches (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE))
        g_warning ("Cannot open secret %s for node %s: %s", name, node, error->message);
      cara_http_respond_error (req, error);
      return;
    }
  g_autoptr (JsonNode) json = cara_secret_to_json_with_values (s);
  cara_http_respond_json (req, 200, json);
}

/* ---- references of a project, checked at apply ---- */

static gboolean
check_ref (GHashTable *by_name, const char *secret, const char *key, const char *secret_path, const char *key_path,
           GError **error)
{
  const CaraSecret *s = g_hash_table_lookup (by_name, secret);
  if (s == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: secret \"%s\" not found", secret_path, secret);
      return FALSE;
    }
  if (key != NULL && cara_secret_find_key (s, key) == NULL)
    {
      g_autoptr (GString) keys = g_string_new (NULL);
      for (guint i = 0; i < s->keys->len; i++)
        g_string_append_printf (keys, "%s%s", i ? ", " : "", ((CaraSecretKey *) s->keys->pdata[i])->name);
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: secret \"%s\" has no key \"%s\" (its keys: %s)", key_path,
                   secret, key, keys->len ? keys->str : "none");
      return FALSE;
    }
  return TRUE;
}

gboolean
api_secrets_check_project (const CaraProject *p, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (guint i = 0; i < p->spec.services->len; i++)
    {
      const CaraService *svc = g_ptr_array_index (p->spec.services, i);
      for (guint j = 0; j < svc->env->len; j++)
        {
          const CaraEnvVar *e = g_ptr_array_index (svc->env, j);
          if (e->secret_ref != NULL)
            g_ptr_array_add (names, e->secret_ref);
        }
      for (guint j = 0; j < svc->secrets->len; j++)
        g_ptr_array_add (names, ((CaraSecretMount *) svc->secrets->pdata[j])->secret);
    }
  for (guint i = 0; p->spec.image_pull_secrets && p->spec.image_pull_secrets[i]; i++)
    g_ptr_array_add (names, p->spec.image_pull_secrets[i]);
  for (guint i = 0; i < p->spec.ingress->len; i++)
    {
      const CaraIngress *in = g_ptr_array_index (p->spec.ingress, i);
      if (in->tls.secret != NULL)
        g_ptr_array_add (names, in->tls.secret);
    }
  if (names->len == 0)
    return TRUE;
  g_ptr_array_add (names, NULL);

  g_autoptr (GPtrArray) found = NULL;
  if (!store_list_secrets ((const char *const *) names->pdata, &found, error))
    return FALSE;
  g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < found->len; i++)
    g_hash_table_insert (by_name, ((CaraSecret *) found->pdata[i])->metadata.name, found->pdata[i]);

  for (guint i = 0; i < p->spec.services->len; i++)
    {
      const CaraService *svc = g_ptr_array_index (p->spec.services, i);
      for (guint j = 0; j < svc->env->len; j++)
        {
          const CaraEnvVar *e = g_ptr_array_index (svc->env, j);
          g_autofree char *sp = g_strdup_printf ("spec.services[%u].env[%u].valueFrom.secret", i, j);
          g_autofree char *kp = g_strdup_printf ("spec.services[%u].env[%u].valueFrom.key", i, j);
          if (e->secret_ref != NULL && !check_ref (by_name, e->secret_ref, e->secret_key, sp, kp, error))
            return FALSE;
        }
      for (guint j = 0; j < svc->secrets->len; j++)
        {
          const CaraSecretMount *m = g_ptr_array_index (svc->secrets, j);
          g_autofree char *sp = g_strdup_printf ("spec.services[%u].secrets[%u].secret", i, j);
          g_autofree char *kp = g_strdup_printf ("spec.services[%u].secrets[%u].key", i, j);
          if (!check_ref (by_name, m->secret, m->key, sp, kp, error))
            return FALSE;
        }
    }
  for (guint i = 0; p->spec.image_pull_secrets && p->spec.image_pull_secrets[i]; i++)
    {
      g_autofree char *sp = g_strdup_printf ("spec.imagePullSecrets[%u]", i);
      const char *n = p->spec.image_pull_secrets[i];
      if (!check_ref (by_name, n, NULL, sp, NULL, error))
        return FALSE;
      if (((CaraSecret *) g_hash_table_lookup (by_name, n))->type != CARA_SECRET_TYPE_REGISTRY)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: secret \"%s\" is not of type Registry", sp, n);
          return FALSE;
        }
    }
  /* SPEC §13: an ingress certificate is a Secret with tls.crt and tls.key. */
  for (guint i = 0; i < p->spec.ingress->len; i++)
    {
      const CaraIngress *in = g_ptr_array_index (p->spec.ingress, i);
      g_autofree char *sp = g_strdup_printf ("spec.ingress[%u].tls.secret", i);
      if (in->tls.secret != NULL
          && (!check_ref (by_name, in->tls.secret, "tls.crt", sp, sp, error)
              || !check_ref (by_name, in->tls.secret, "tls.key", sp, sp, error)))
        return FALSE;
    }
  return TRUE;
}
