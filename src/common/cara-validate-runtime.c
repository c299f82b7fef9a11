/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "cara-error.h"
#include "cara-validate.h"
#include "cara-validate-runtime.h"

/* The fields of SPEC §10 that shape how a service's container runs (entrypoint, workingDir,
 * user, labels, capabilities, stop signal and grace period, hostIP, HostPath volumes, dependsOn
 * conditions, healthcheck start period).  Each check names the field path. */

static gboolean
has_space_or_control (const char *s)
{
  for (; *s != '\0'; s++)
    if (g_ascii_isspace (*s) || g_ascii_iscntrl (*s))
      return TRUE;
  return FALSE;
}

/* Capability names as Docker takes them: NET_ADMIN, CAP_NET_ADMIN, ALL (any case). */
static gboolean
capability_ok (const char *s)
{
  if (s == NULL || *s == '\0')
    return FALSE;
  for (; *s != '\0'; s++)
    if (!g_ascii_isalnum (*s) && *s != '_')
      return FALSE;
  return TRUE;
}

static gboolean
validate_caps (char **caps, const char *base, const char *field, const char *service, GError **error)
{
  for (guint i = 0; caps != NULL && caps[i] != NULL; i++)
    if (!capability_ok (caps[i]))
      {
        g_autofree char *p = g_strdup_printf ("%s.%s[%u]", base, field, i);
        return cara_validate_fail (error, p, "service %s: \"%s\" is not a capability name (e.g. NET_ADMIN, or ALL)", service,
                     caps[i]);
      }
  return TRUE;
}

/* SIGTERM, TERM, SIGRTMIN+3, 15 */
static gboolean
signal_ok (const char *s)
{
  if (*s == '\0')
    return FALSE;
  for (; *s != '\0'; s++)
    if (!g_ascii_isalnum (*s) && *s != '+' && *s != '-')
      return FALSE;
  return TRUE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
validate_labels (GHashTable *labels, const char *base, const char *service, GError **error)
{
  GHashTableIter it;
  gpointer k, v;
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();

  if (labels == NULL)
    return TRUE;
  g_hash_table_iter_init (&it, labels);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_ptr_array_add (keys, k);
  /* Sorted, so the one reported is always the same. */
  g_ptr_array_sort (keys, compare_strings);
  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = g_ptr_array_index (keys, i);
      g_autofree char *p = g_strdup_printf ("%s.labels.%s", base, key);

      if (*key == '\0' || has_space_or_control (key))
        return cara_validate_fail (error, p, "service %s: a label key must be non-empty, without spaces", service);
      if (g_ascii_strncasecmp (key, "cara.", 5) == 0 || g_ascii_strcasecmp (key, "cara") == 0)
        return cara_validate_fail (error, p, "service %s: label keys cara.* are reserved for the agent", service);
    }
  return TRUE;
}

static gboolean
validate_depends_conditions (const CaraService *s, const char *base, const CaraProject *p, GError **error)
{
  for (guint i = 0; s->depends_on != NULL && s->depends_on[i] != NULL; i++)
    {
      CaraDependCondition cond = cara_service_depend_condition (s, i);
      const CaraService *dep = cara_project_find_service (p, s->depends_on[i]);
      g_autofree char *dp = g_strdup_printf ("%s.dependsOn[%u]", base, i);

      if (dep == NULL)
        continue; /* reported by the name check */
      if (cond == CARA_DEPEND_CONDITION_HEALTHY &&
          (dep->healthcheck == NULL || dep->healthcheck->command == NULL || dep->healthcheck->command[0] == NULL))
        return cara_validate_fail (error, dp,
                     "service %s: condition Healthy needs a healthcheck on service %s, which has none", s->name,
                     dep->name);
      if (cond == CARA_DEPEND_CONDITION_COMPLETED &&
          (dep->restart_policy == CARA_RESTART_POLICY_ALWAYS || dep->restart_policy == CARA_RESTART_POLICY_NONE))
        return cara_validate_fail (error, dp,
                     "service %s: condition Completed needs service %s to have restartPolicy Never or OnFailure "
                     "(with Always it is started again when it completes)",
                     s->name, dep->name);
    }
  return TRUE;
}

gboolean
cara_validate_service_runtime (const CaraService *s, const char *base, const CaraProject *p, GError **error)
{
  if (s->entrypoint != NULL && s->entrypoint[0] != NULL && *s->entrypoint[0] == '\0')
    {
      g_autofree char *ep = g_strdup_printf ("%s.entrypoint[0]", base);
      return cara_validate_fail (error, ep, "service %s: the program name must not be empty", s->name);
    }
  if (s->working_dir != NULL && s->working_dir[0] != '/')
    {
      g_autofree char *wp = g_strdup_printf ("%s.workingDir", base);
      return cara_validate_fail (error, wp, "service %s: workingDir \"%s\" must be an absolute path", s->name, s->working_dir);
    }
  if (s->user != NULL && (*s->user == '\0' || has_space_or_control (s->user)))
    {
      g_autofree char *up = g_strdup_printf ("%s.user", base);
      return cara_validate_fail (error, up, "service %s: user must be a name or id, optionally :group (e.g. 1000:1000)", s->name);
    }
  if (!validate_labels (s->labels, base, s->name, error) ||
      !validate_caps (s->cap_add, base, "capAdd", s->name, error) ||
      !validate_caps (s->cap_drop, base, "capDrop", s->name, error))
    return FALSE;
  if (s->stop_signal != NULL && !signal_ok (s->stop_signal))
    {
      g_autofree char *sp = g_strdup_printf ("%s.stopSignal", base);
      return cara_validate_fail (error, sp, "service %s: \"%s\" is not a signal (e.g. SIGINT, SIGQUIT or 3)", s->name,
                   s->stop_signal);
    }
  if (s->stop_grace_period_seconds < -1)
    {
      g_autofree char *gp = g_strdup_printf ("%s.stopGracePeriodSeconds", base);
      return cara_validate_fail (error, gp, "service %s: must not be negative", s->name);
    }
  if (s->healthcheck != NULL && s->healthcheck->start_period_seconds < 0)
    {
      g_autofree char *hp = g_strdup_printf ("%s.healthcheck.startPeriodSeconds", base);
      return cara_validate_fail (error, hp, "service %s: must not be negative", s->name);
    }
  for (guint i = 0; i < s->ports->len; i++)
    {
      const CaraPort *port = g_ptr_array_index (s->ports, i);
      g_autoptr(GInetAddress) addr = NULL;

      if (port->host_ip == NULL)
        continue;
      addr = g_inet_address_new_from_string (port->host_ip);
      if (addr == NULL)
        {
          g_autofree char *ip = g_strdup_printf ("%s.ports[%u].hostIP", base, i);
          return cara_validate_fail (error, ip, "service %s: \"%s\" is not an IP address", s->name, port->host_ip);
        }
    }
  return validate_depends_conditions (s, base, p, error);
}

gboolean
cara_validate_volume_runtime (const CaraVolume *v, const char *base, GError **error)
{
  g_autofree char *hp = g_strdup_printf ("%s.hostPath", base);

  if (v->type != CARA_VOLUME_TYPE_HOST_PATH)
    {
      if (v->host_path != NULL)
        return cara_validate_fail (error, hp, "volume %s: hostPath is only for type HostPath", v->name);
      return TRUE;
    }
  if (v->host_path == NULL || *v->host_path == '\0')
    return cara_validate_fail (error, hp, "volume %s: type HostPath needs hostPath (an absolute path on the node)", v->name);
  if (v->host_path[0] != '/')
    return cara_validate_fail (error, hp, "volume %s: hostPath \"%s\" must be an absolute path on the node", v->name,
                 v->host_path);
  if (strchr (v->host_path, ':') != NULL || strchr (v->host_path, ',') != NULL)
    return cara_validate_fail (error, hp, "volume %s: hostPath \"%s\" must not contain ':' or ','", v->name, v->host_path);
  return TRUE;
}
