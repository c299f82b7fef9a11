/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "agent.h"
#include "cara-error.h"
#include "cara-quantity.h"
#include "reconcile-spec.h"
#include "reconcile-spec-runtime.h"

const char *
reconcile_restart_policy_name (CaraRestartPolicy policy)
{
  switch (policy)
    {
    case CARA_RESTART_POLICY_ON_FAILURE:
      return "on-failure";
    case CARA_RESTART_POLICY_NEVER:
      return "no";
    case CARA_RESTART_POLICY_NONE:
    case CARA_RESTART_POLICY_ALWAYS:
    default:
      return "always";
    }
}

static void
add_string_array (JsonBuilder *b, const char *member, char **strv)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (char **s = strv; s && *s; s++)
    json_builder_add_string_value (b, *s);
  json_builder_end_array (b);
}

static const CaraVolume *
find_volume (const CaraProject *p, const char *name)
{
  for (guint i = 0; i < p->spec.volumes->len; i++)
    {
      const CaraVolume *v = g_ptr_array_index (p->spec.volumes, i);
      if (g_strcmp0 (v->name, name) == 0)
        return v;
    }
  return NULL;
}

/* Everything but the labels: the hash is taken over this part plus the volume types. */
static gboolean
build_config (JsonBuilder *b, const CaraProject *p, const CaraService *svc, const char *network,
              GHashTable *volume_names, GError **error)
{
  json_builder_set_member_name (b, "Image");
  json_builder_add_string_value (b, svc->image);

  json_builder_set_member_name (b, "Env");
  json_builder_begin_array (b);
  for (guint i = 0; i < svc->env->len; i++)
    {
      const CaraEnvVar *e = g_ptr_array_index (svc->env, i);
      g_autofree char *kv = g_strdup_printf ("%s=%s", e->name, e->value ? e->value : "");
      json_builder_add_string_value (b, kv);
    }
  json_builder_end_array (b);

  if (svc->command && svc->command[0])
    add_string_array (b, "Cmd", svc->command);
  /* The fields below are written only when set, so a spec without them hashes as it did. */
  reconcile_spec_add_runtime (b, svc);

  if (svc->ports->len > 0)
    {
      json_builder_set_member_name (b, "ExposedPorts");
      json_builder_begin_object (b);
      for (guint i = 0; i < svc->ports->len; i++)
        {
          const CaraPort *port = g_ptr_array_index (svc->ports, i);
          g_autofree char *key = g_strdup_printf ("%" G_GINT64_FORMAT "/%s", port->container_port,
                                                  port->protocol == CARA_PROTOCOL_UDP ? "udp" : "tcp");
          json_builder_set_member_name (b, key);
          json_builder_begin_object (b);
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
    }

  if (svc->healthcheck && svc->healthcheck->command && svc->healthcheck->command[0])
    {
      const CaraHealthcheck *h = svc->healthcheck;
      json_builder_set_member_name (b, "Healthcheck");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "Test");
      json_builder_begin_array (b);
      /* Docker's own forms pass through; a plain argv runs directly (no shell). */
      const char *first = h->command[0];
      if (g_strcmp0 (first, "CMD") != 0 && g_strcmp0 (first, "CMD-SHELL") != 0 && g_strcmp0 (first, "NONE") != 0)
        json_builder_add_string_value (b, "CMD");
      for (char **s = h->command; *s; s++)
        json_builder_add_string_value (b, *s);
      json_builder_end_array (b);
      if (h->interval_seconds > 0)
        {
          json_builder_set_member_name (b, "Interval");
          json_builder_add_int_value (b, h->interval_seconds * G_GINT64_CONSTANT (1000000000));
        }
      if (h->timeout_seconds > 0)
        {
          json_builder_set_member_name (b, "Timeout");
          json_builder_add_int_value (b, h->timeout_seconds * G_GINT64_CONSTANT (1000000000));
        }
      if (h->retries > 0)
        {
          json_builder_set_member_name (b, "Retries");
          json_builder_add_int_value (b, h->retries);
        }
      if (h->start_period_seconds > 0)
        {
          json_builder_set_member_name (b, "StartPeriod");
          json_builder_add_int_value (b, h->start_period_seconds * G_GINT64_CONSTANT (1000000000));
        }
      json_builder_end_object (b);
    }

  json_builder_set_member_name (b, "HostConfig");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "Binds");
  json_builder_begin_array (b);
  for (guint i = 0; i < svc->volume_mounts->len; i++)
    {
      const CaraVolumeMount *m = g_ptr_array_index (svc->volume_mounts, i);
      const char *vol = volume_names ? g_hash_table_lookup (volume_names, m->name) : NULL;
      if (vol == NULL)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "service %s mounts undeclared volume %s", svc->name,
                       m->name);
          return FALSE;
        }
      g_autofree char *bind = g_strdup_printf ("%s:%s%s", vol, m->mount_path, m->read_only ? ":ro" : "");
      json_builder_add_string_value (b, bind);
    }
  json_builder_end_array (b);
  if (svc->ports->len > 0)
    {
      json_builder_set_member_name (b, "PortBindings");
      json_builder_begin_object (b);
      for (guint i = 0; i < svc->ports->len; i++)
        {
          const CaraPort *port = g_ptr_array_index (svc->ports, i);
          /* A hostIP without a hostPort: an ephemeral port of that address, as Docker and Compose do. */
          if (port->host_port <= 0 && port->host_ip == NULL)
            continue;
          g_autofree char *key = g_strdup_printf ("%" G_GINT64_FORMAT "/%s", port->container_port,
                                                  port->protocol == CARA_PROTOCOL_UDP ? "udp" : "tcp");
          g_autofree char *hp = port->host_port > 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, port->host_port) : g_strdup ("");
          json_builder_set_member_name (b, key);
          json_builder_begin_array (b);
          json_builder_begin_object (b);
          if (port->host_ip)
            {
              json_builder_set_member_name (b, "HostIp");
              json_builder_add_string_value (b, port->host_ip);
            }
          json_builder_set_member_name (b, "HostPort");
          json_builder_add_string_value (b, hp);
          json_builder_end_object (b);
          json_builder_end_array (b);
        }
      json_builder_end_object (b);
    }
  json_builder_set_member_name (b, "RestartPolicy");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "Name");
  json_builder_add_string_value (b, reconcile_restart_policy_name (svc->restart_policy));
  json_builder_end_object (b);
  if (svc->resources.cpu)
    {
      gint64 milli = 0;
      if (!cara_cpu_parse (svc->resources.cpu, &milli, error))
        {
          g_prefix_error (error, "service %s: resources.cpu: ", svc->name);
          return FALSE;
        }
      json_builder_set_member_name (b, "NanoCpus");
      json_builder_add_int_value (b, milli * 1000000);
    }
  if (svc->resources.memory)
    {
      gint64 bytes = 0;
      if (!cara_bytes_parse (svc->resources.memory, &bytes, error))
        {
          g_prefix_error (error, "service %s: resources.memory: ", svc->name);
          return FALSE;
        }
      json_builder_set_member_name (b, "Memory");
      json_builder_add_int_value (b, bytes);
    }
  reconcile_spec_add_host_runtime (b, svc);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "NetworkingConfig");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "EndpointsConfig");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, network);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "Aliases");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, svc->name);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  return TRUE;
}

JsonNode *
reconcile_container_body (const CaraProject *p, const CaraService *svc, const char *node, const char *network,
                          GHashTable *volume_names, char **ret_hash, GError **error)
{
  /* Hash input: the config without labels, and the types of the mounted volumes. */
  g_autoptr (JsonBuilder) hb = json_builder_new ();
  json_builder_begin_object (hb);
  if (!build_config (hb, p, svc, network, volume_names, error))
    return NULL;
  json_builder_set_member_name (hb, "VolumeTypes");
  json_builder_begin_array (hb);
  for (guint i = 0; i < svc->volume_mounts->len; i++)
    {
      const CaraVolumeMount *m = g_ptr_array_index (svc->volume_mounts, i);
      const CaraVolume *v = find_volume (p, m->name);
      json_builder_add_string_value (hb, v ? cara_volume_type_to_string (v->type) : "");
    }
  json_builder_end_array (hb);
  if (svc->labels && g_hash_table_size (svc->labels) > 0)
    {
      json_builder_set_member_name (hb, "UserLabels");
      json_builder_begin_object (hb);
      reconcile_spec_add_labels (hb, svc->labels);
      json_builder_end_object (hb);
    }
  /* caractrl rollout restart (SPEC §13): a new mark rolls every service. */
  const char *restarted = g_hash_table_lookup (p->metadata.annotations, CARA_RESTARTED_AT_ANNOTATION);
  if (restarted)
    {
      json_builder_set_member_name (hb, "RestartedAt");
      json_builder_add_string_value (hb, restarted);
    }
  json_builder_end_object (hb);
  g_autoptr (JsonNode) hn = json_builder_get_root (hb);
  g_autofree char *hs = json_to_string (hn, FALSE);
  g_autofree char *full = g_compute_checksum_for_string (G_CHECKSUM_SHA256, hs, -1);
  g_autofree char *hash = g_strndup (full, 16);

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  if (!build_config (b, p, svc, network, volume_names, error))
    return NULL;
  json_builder_set_member_name (b, "Labels");
  json_builder_begin_object (b);
  /* The user's first: ours (cara.*, refused in a spec) are the ones that count. */
  if (svc->labels)
    reconcile_spec_add_labels (b, svc->labels);
  json_builder_set_member_name (b, AGENT_LABEL_PROJECT);
  json_builder_add_string_value (b, p->metadata.name);
  json_builder_set_member_name (b, AGENT_LABEL_SERVICE);
  json_builder_add_string_value (b, svc->name);
  json_builder_set_member_name (b, AGENT_LABEL_NODE);
  json_builder_add_string_value (b, node);
  json_builder_set_member_name (b, AGENT_LABEL_HASH);
  json_builder_add_string_value (b, hash);
  json_builder_end_object (b);
  json_builder_end_object (b);
  if (ret_hash)
    *ret_hash = g_steal_pointer (&hash);
  return json_builder_get_root (b);
}

static void
visit (const CaraProject *p, const CaraService *svc, GHashTable *state, GPtrArray *out)
{
  /* state: 1 = in progress, 2 = done; a cycle (rejected by validation anyway) is simply cut. */
  gpointer st = g_hash_table_lookup (state, svc->name);
  if (st != NULL)
    return;
  g_hash_table_insert (state, svc->name, GINT_TO_POINTER (1));
  for (char **d = svc->depends_on; d && *d; d++)
    {
      const CaraService *dep = cara_project_find_service (p, *d);
      if (dep)
        visit (p, dep, state, out);
    }
  g_hash_table_insert (state, svc->name, GINT_TO_POINTER (2));
  g_ptr_array_add (out, (gpointer) svc);
}

GPtrArray *
reconcile_service_order (const CaraProject *p)
{
  GPtrArray *out = g_ptr_array_new ();
  g_autoptr (GHashTable) state = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < p->spec.services->len; i++)
    visit (p, g_ptr_array_index (p->spec.services, i), state, out);
  return out;
}
