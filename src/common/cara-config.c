/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "cara-config.h"
#include "cara-error.h"
#include "cara-quantity.h"

GKeyFile *
cara_config_load (const char *path, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  if (path == NULL)
    return g_steal_pointer (&kf);
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&kf);
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: %s", path, local->message);
      return NULL;
    }
  return g_steal_pointer (&kf);
}

static char *
lookup (GKeyFile *kf, const char *group, const char *key, const char *env, const char *cli,
        const char *def, char **ret_origin)
{
  if (cli != NULL)
    {
      *ret_origin = g_strdup_printf ("--%s", key);
      return g_strdup (cli);
    }
  const char *e = env ? g_getenv (env) : NULL;
  if (e != NULL && *e != '\0')
    {
      *ret_origin = g_strdup_printf ("$%s", env);
      return g_strdup (e);
    }
  if (kf != NULL && group != NULL && g_key_file_has_key (kf, group, key, NULL))
    {
      *ret_origin = g_strdup_printf ("[%s] %s", group, key);
      return g_strstrip (g_key_file_get_string (kf, group, key, NULL));
    }
  *ret_origin = g_strdup ("default");
  return g_strdup (def);
}

char *
cara_config_string (GKeyFile *kf, const char *group, const char *key, const char *env, const char *cli,
                    const char *def)
{
  g_autofree char *origin = NULL;
  return lookup (kf, group, key, env, cli, def, &origin);
}

gboolean
cara_config_duration (GKeyFile *kf, const char *group, const char *key, const char *env, const char *cli,
                      const char *def, gint64 *ret_usec, GError **error)
{
  g_autofree char *origin = NULL;
  g_autofree char *v = lookup (kf, group, key, env, cli, def, &origin);
  gint64 usec = 0;
  if (v == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: a duration is required", origin);
      return FALSE;
    }
  if (!cara_duration_parse (v, &usec, error))
    {
      g_prefix_error (error, "%s: ", origin);
      return FALSE;
    }
  *ret_usec = usec;
  return TRUE;
}

gboolean
cara_config_boolean (GKeyFile *kf, const char *group, const char *key, const char *env, const char *cli,
                     gboolean def, gboolean *ret, GError **error)
{
  g_autofree char *origin = NULL;
  g_autofree char *v = lookup (kf, group, key, env, cli, NULL, &origin);
  if (v == NULL)
    {
      *ret = def;
      return TRUE;
    }
  g_autofree char *lower = g_ascii_strdown (v, -1);
  if (g_str_equal (lower, "1") || g_str_equal (lower, "true") || g_str_equal (lower, "yes") || g_str_equal (lower, "on"))
    *ret = TRUE;
  else if (g_str_equal (lower, "0") || g_str_equal (lower, "false") || g_str_equal (lower, "no") || g_str_equal (lower, "off"))
    *ret = FALSE;
  else
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: invalid boolean \"%s\"", origin, v);
      return FALSE;
    }
  return TRUE;
}

char *
cara_config_state_dir (const char *cli_data_dir)
{
  const char *sd = g_getenv ("STATE_DIRECTORY");
  if (sd != NULL && *sd != '\0')
    {
      /* systemd passes a colon-separated list when several are configured. */
      const char *colon = strchr (sd, ':');
      return colon ? g_strndup (sd, colon - sd) : g_strdup (sd);
    }
  if (cli_data_dir != NULL && *cli_data_dir != '\0')
    return g_strdup (cli_data_dir);
  return g_strdup (CARA_STATE_DIR);
}
