/* SPDX-License-Identifier: Apache-2.0 */
/* The shape of a project's references to Secrets (SPEC §12): env[].valueFrom, services[].secrets[]
 * and spec.imagePullSecrets[].  Whether the Secrets exist is the server's check at apply. */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-validate.h"

static gboolean
secret_name (const char *name, const char *path, GError **error)
{
  if (name == NULL || *name == '\0')
    return cara_validate_fail (error, path, "a Secret name is required");
  if (!cara_validate_node_name (name, error))
    {
      cara_error_prefix_field (error, path);
      return FALSE;
    }
  return TRUE;
}

gboolean
cara_validate_service_secrets (const CaraService *s, const char *base, GError **error)
{
  g_autoptr (GHashTable) paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint j = 0; j < s->env->len; j++)
    {
      const CaraEnvVar *e = g_ptr_array_index (s->env, j);
      g_autofree char *vp = g_strdup_printf ("%s.env[%u].valueFrom", base, j);
      g_autofree char *sp = g_strconcat (vp, ".secret", NULL);
      g_autofree char *kp = g_strconcat (vp, ".key", NULL);

      if (e->secret_ref == NULL && e->secret_key == NULL)
        continue;
      if (e->value != NULL)
        return cara_validate_fail (error, vp, "service %s: env %s has both value and valueFrom", s->name, e->name);
      if (!secret_name (e->secret_ref, sp, error))
        return FALSE;
      if (e->secret_key == NULL || *e->secret_key == '\0')
        return cara_validate_fail (error, kp, "service %s: env %s: the key of Secret %s is required", s->name, e->name,
                     e->secret_ref);
    }
  for (guint j = 0; j < s->secrets->len; j++)
    {
      const CaraSecretMount *m = g_ptr_array_index (s->secrets, j);
      g_autofree char *ip = g_strdup_printf ("%s.secrets[%u]", base, j);
      g_autofree char *sp = g_strconcat (ip, ".secret", NULL);
      g_autofree char *pp = g_strconcat (ip, ".path", NULL);
      g_autofree char *mp = g_strconcat (ip, ".mode", NULL);

      if (!secret_name (m->secret, sp, error))
        return FALSE;
      if (m->key != NULL && *m->key == '\0')
        {
          g_autofree char *kp = g_strconcat (ip, ".key", NULL);
          return cara_validate_fail (error, kp, "service %s: an empty key (leave it out for every key)", s->name);
        }
      if (m->path != NULL && (m->path[0] != '/' || strstr (m->path, "/../") != NULL
                              || g_str_has_suffix (m->path, "/..") || strchr (m->path, ':') != NULL))
        return cara_validate_fail (error, pp, "service %s: \"%s\" is not an absolute path in the container", s->name, m->path);
      if (m->mode < 0 || m->mode > 0777)
        return cara_validate_fail (error, mp, "service %s: mode %" G_GINT64_FORMAT " is not a file mode (0 to 0777)", s->name,
                     m->mode);
      g_autofree char *where = m->path ? g_strdup (m->path) : g_strdup_printf ("/run/secrets/%s", m->secret);
      if (g_hash_table_contains (paths, where))
        return cara_validate_fail (error, pp, "service %s: %s is already used by another secret", s->name, where);
      g_hash_table_add (paths, g_steal_pointer (&where));
    }
  return TRUE;
}

gboolean
cara_validate_image_pull_secrets (const CaraProject *p, GError **error)
{
  for (guint i = 0; p->spec.image_pull_secrets && p->spec.image_pull_secrets[i]; i++)
    {
      g_autofree char *path = g_strdup_printf ("spec.imagePullSecrets[%u]", i);
      if (!secret_name (p->spec.image_pull_secrets[i], path, error))
        return FALSE;
    }
  return TRUE;
}
