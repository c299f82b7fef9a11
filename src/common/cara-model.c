/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "cara-model.h"

/* ---- enums ---- */

static const char *const project_phase_names[] = {
  "", "Pending", "Scheduled", "Running", "Failed", "Terminating", "Terminated",
};
static const char *const node_state_names[] = { "", "Ready", "NotReady", "Draining" };
static const char *const restart_policy_names[] = { "", "Always", "OnFailure", "Never" };
static const char *const volume_type_names[] = { "", "Ephemeral", "Persistent", "HostPath" };
static const char *const protocol_names[] = { "", "tcp", "udp" };
static const char *const ingress_scope_names[] = { "", "Internal" };
static const char *const depend_condition_names[] = { "", "Started", "Healthy", "Completed" };
static const char *const update_order_names[] = { "", "StartFirst", "StopFirst" };
static const char *const failure_action_names[] = { "", "Rollback", "Pause" };

static const char *
enum_to_string (const char *const *names, guint n, int v)
{
  if (v < 0 || (guint) v >= n)
    return NULL;
  return names[v];
}

static gboolean
enum_from_string (const char *const *names, guint n, const char *s, int *ret)
{
  if (s == NULL)
    s = "";
  for (guint i = 0; i < n; i++)
    if (strcmp (names[i], s) == 0)
      {
        *ret = (int) i;
        return TRUE;
      }
  return FALSE;
}

#define DEFINE_ENUM(lower, Type, names)                                          \
  const char *cara_##lower##_to_string (Type v)                                 \
  {                                                                              \
    return enum_to_string (names, G_N_ELEMENTS (names), (int) v);                \
  }                                                                              \
  gboolean cara_##lower##_from_string (const char *s, Type *ret)                \
  {                                                                              \
    int v;                                                                       \
    if (!enum_from_string (names, G_N_ELEMENTS (names), s, &v))                  \
      return FALSE;                                                              \
    *ret = (Type) v;                                                             \
    return TRUE;                                                                 \
  }

DEFINE_ENUM (project_phase, CaraProjectPhase, project_phase_names)
DEFINE_ENUM (node_state, CaraNodeState, node_state_names)
DEFINE_ENUM (restart_policy, CaraRestartPolicy, restart_policy_names)
DEFINE_ENUM (volume_type, CaraVolumeType, volume_type_names)
DEFINE_ENUM (protocol, CaraProtocol, protocol_names)
DEFINE_ENUM (ingress_scope, CaraIngressScope, ingress_scope_names)
DEFINE_ENUM (depend_condition, CaraDependCondition, depend_condition_names)
DEFINE_ENUM (update_order, CaraUpdateOrder, update_order_names)
DEFINE_ENUM (failure_action, CaraFailureAction, failure_action_names)

/* ---- helpers ---- */

static GHashTable *
string_map_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static GHashTable *
string_map_copy (GHashTable *src)
{
  GHashTable *dst = string_map_new ();
  GHashTableIter it;
  gpointer k, v;

  if (src == NULL)
    return dst;
  g_hash_table_iter_init (&it, src);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_hash_table_insert (dst, g_strdup (k), g_strdup (v));
  return dst;
}

static GDateTime *
time_ref (GDateTime *t)
{
  return t != NULL ? g_date_time_ref (t) : NULL;
}

static void
time_unref (GDateTime *t)
{
  if (t != NULL)
    g_date_time_unref (t);
}

static GPtrArray *
array_copy (GPtrArray *src, GCopyFunc copy, GDestroyNotify free_func)
{
  GPtrArray *dst = g_ptr_array_new_with_free_func (free_func);

  if (src == NULL)
    return dst;
  for (guint i = 0; i < src->len; i++)
    g_ptr_array_add (dst, copy (g_ptr_array_index (src, i), NULL));
  return dst;
}

static void
object_meta_init (CaraObjectMeta *m, const char *name)
{
  m->name = g_strdup (name);
  m->labels = string_map_new ();
  m->annotations = string_map_new ();
}

static void
object_meta_clear (CaraObjectMeta *m)
{
  g_free (m->name);
  g_clear_pointer (&m->labels, g_hash_table_unref);
  g_clear_pointer (&m->annotations, g_hash_table_unref);
  g_clear_pointer (&m->created_at, g_date_time_unref);
  g_clear_pointer (&m->updated_at, g_date_time_unref);
  g_free (m->resource_version);
}

static void
object_meta_copy (CaraObjectMeta *dst, const CaraObjectMeta *src)
{
  dst->name = g_strdup (src->name);
  dst->labels = string_map_copy (src->labels);
  dst->annotations = string_map_copy (src->annotations);
  dst->created_at = time_ref (src->created_at);
  dst->updated_at = time_ref (src->updated_at);
  dst->resource_version = g_strdup (src->resource_version);
  dst->generation = src->generation;
}

/* ---- conditions ---- */

CaraCondition *
cara_condition_new (const char *type, const char *status, const char *reason, const char *message)
{
  CaraCondition *c = g_new0 (CaraCondition, 1);

  c->type = g_strdup (type);
  c->status = g_strdup (status);
  c->reason = g_strdup (reason);
  c->message = g_strdup (message);
  return c;
}

CaraCondition *
cara_condition_copy (const CaraCondition *c)
{
  CaraCondition *r;

  if (c == NULL)
    return NULL;
  r = cara_condition_new (c->type, c->status, c->reason, c->message);
  r->last_heartbeat_time = time_ref (c->last_heartbeat_time);
  r->last_transition_time = time_ref (c->last_transition_time);
  return r;
}

void
cara_condition_free (CaraCondition *c)
{
  if (c == NULL)
    return;
  g_free (c->type);
  g_free (c->status);
  time_unref (c->last_heartbeat_time);
  time_unref (c->last_transition_time);
  g_free (c->reason);
  g_free (c->message);
  g_free (c);
}

static gpointer
condition_copy_func (gconstpointer src, gpointer data)
{
  return cara_condition_copy (src);
}

static GPtrArray *
conditions_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) cara_condition_free);
}

CaraCondition *
cara_conditions_find (GPtrArray *conditions, const char *type)
{
  for (guint i = 0; conditions != NULL && i < conditions->len; i++)
    {
      CaraCondition *c = g_ptr_array_index (conditions, i);
      if (g_strcmp0 (c->type, type) == 0)
        return c;
    }
  return NULL;
}

void
cara_conditions_upsert (GPtrArray *conditions, CaraCondition *c)
{
  time_unref (c->last_transition_time);
  c->last_transition_time = g_date_time_new_now_utc ();
  for (guint i = 0; i < conditions->len; i++)
    {
      CaraCondition *old = g_ptr_array_index (conditions, i);
      if (g_strcmp0 (old->type, c->type) == 0)
        {
          /* A transition is a change of status or reason: restating the same condition keeps
           * its time, so "Running since ..." does not move with every status report. */
          if (g_strcmp0 (old->status, c->status) == 0 && g_strcmp0 (old->reason, c->reason) == 0
              && old->last_transition_time != NULL)
            {
              time_unref (c->last_transition_time);
              c->last_transition_time = g_date_time_ref (old->last_transition_time);
            }
          /* Replace in place so the list keeps the order of first insertion. */
          cara_condition_free (old);
          conditions->pdata[i] = c;
          return;
        }
    }
  g_ptr_array_add (conditions, c);
}

gboolean
cara_conditions_remove (GPtrArray *conditions, const char *type)
{
  for (guint i = 0; i < conditions->len; i++)
    {
      CaraCondition *c = g_ptr_array_index (conditions, i);
      if (g_strcmp0 (c->type, type) == 0)
        {
          g_ptr_array_remove_index (conditions, i);
          return TRUE;
        }
    }
  return FALSE;
}

/* ---- Node ---- */

static void
node_network_clear (CaraNodeNetwork *n)
{
  g_free (n->ip);
  g_free (n->dns_name);
  g_free (n->mode);
  g_free (n->throughput.download);
  g_free (n->throughput.upload);
  time_unref (n->throughput.last_test_time);
  memset (n, 0, sizeof *n);
}

static void
node_network_copy (CaraNodeNetwork *dst, const CaraNodeNetwork *src)
{
  dst->ip = g_strdup (src->ip);
  dst->dns_name = g_strdup (src->dns_name);
  dst->mode = g_strdup (src->mode);
  dst->agent_port = src->agent_port;
  dst->throughput.download = g_strdup (src->throughput.download);
  dst->throughput.upload = g_strdup (src->throughput.upload);
  dst->throughput.last_test_time = time_ref (src->throughput.last_test_time);
}

static void
node_info_clear (CaraNodeInfo *i)
{
  g_free (i->kernel_version);
  g_free (i->os_image);
  g_free (i->agent_version);
  memset (i, 0, sizeof *i);
}

static void
node_info_copy (CaraNodeInfo *dst, const CaraNodeInfo *src)
{
  dst->kernel_version = g_strdup (src->kernel_version);
  dst->os_image = g_strdup (src->os_image);
  dst->agent_version = g_strdup (src->agent_version);
}

CaraNode *
cara_node_new (const char *name)
{
  CaraNode *n = g_new0 (CaraNode, 1);

  object_meta_init (&n->metadata, name);
  n->status.capacity = string_map_new ();
  n->status.allocatable = string_map_new ();
  n->status.conditions = conditions_new ();
  return n;
}

CaraNode *
cara_node_copy (const CaraNode *n)
{
  CaraNode *r;

  if (n == NULL)
    return NULL;
  r = g_new0 (CaraNode, 1);
  object_meta_copy (&r->metadata, &n->metadata);
  r->spec.hostname = g_strdup (n->spec.hostname);
  r->spec.unschedulable = n->spec.unschedulable;
  r->status.state = n->status.state;
  node_network_copy (&r->status.network, &n->status.network);
  r->status.capacity = string_map_copy (n->status.capacity);
  r->status.allocatable = string_map_copy (n->status.allocatable);
  node_info_copy (&r->status.info, &n->status.info);
  r->status.last_heartbeat = time_ref (n->status.last_heartbeat);
  r->status.conditions = array_copy (n->status.conditions, condition_copy_func,
                                     (GDestroyNotify) cara_condition_free);
  return r;
}

void
cara_node_free (CaraNode *n)
{
  if (n == NULL)
    return;
  object_meta_clear (&n->metadata);
  g_free (n->spec.hostname);
  node_network_clear (&n->status.network);
  g_clear_pointer (&n->status.capacity, g_hash_table_unref);
  g_clear_pointer (&n->status.allocatable, g_hash_table_unref);
  node_info_clear (&n->status.info);
  time_unref (n->status.last_heartbeat);
  g_clear_pointer (&n->status.conditions, g_ptr_array_unref);
  g_free (n);
}

CaraHeartbeat *
cara_heartbeat_new (void)
{
  return g_new0 (CaraHeartbeat, 1);
}

void
cara_heartbeat_free (CaraHeartbeat *h)
{
  if (h == NULL)
    return;
  node_network_clear (&h->network);
  g_clear_pointer (&h->capacity, g_hash_table_unref);
  g_clear_pointer (&h->allocatable, g_hash_table_unref);
  node_info_clear (&h->info);
  g_free (h);
}

/* ---- Project ---- */

static void
env_var_free (CaraEnvVar *e)
{
  g_free (e->name);
  g_free (e->value);
  g_free (e->secret_ref);
  g_free (e->secret_key);
  g_free (e);
}

static gpointer
env_var_copy (gconstpointer p, gpointer data)
{
  const CaraEnvVar *e = p;
  CaraEnvVar *r = g_new0 (CaraEnvVar, 1);

  r->name = g_strdup (e->name);
  r->value = g_strdup (e->value);
  r->secret_ref = g_strdup (e->secret_ref);
  r->secret_key = g_strdup (e->secret_key);
  return r;
}

static void
volume_mount_free (CaraVolumeMount *m)
{
  g_free (m->name);
  g_free (m->mount_path);
  g_free (m);
}

static gpointer
volume_mount_copy (gconstpointer p, gpointer data)
{
  const CaraVolumeMount *m = p;
  CaraVolumeMount *r = g_new0 (CaraVolumeMount, 1);

  r->name = g_strdup (m->name);
  r->mount_path = g_strdup (m->mount_path);
  r->read_only = m->read_only;
  return r;
}

static void
secret_mount_free (CaraSecretMount *m)
{
  g_free (m->secret);
  g_free (m->key);
  g_free (m->path);
  g_free (m);
}

static gpointer
secret_mount_copy (gconstpointer p, gpointer data)
{
  const CaraSecretMount *m = p;
  CaraSecretMount *r = g_new0 (CaraSecretMount, 1);

  r->secret = g_strdup (m->secret);
  r->key = g_strdup (m->key);
  r->path = g_strdup (m->path);
  r->mode = m->mode;
  return r;
}

static gpointer
port_copy (gconstpointer p, gpointer data)
{
  CaraPort *r = g_memdup2 (p, sizeof (CaraPort));

  r->host_ip = g_strdup (r->host_ip);
  return r;
}

static void
port_free (CaraPort *p)
{
  g_free (p->host_ip);
  g_free (p);
}

static GHashTable *
string_map_copy_or_null (GHashTable *src)
{
  return src != NULL ? string_map_copy (src) : NULL;
}

static void
healthcheck_free (CaraHealthcheck *h)
{
  if (h == NULL)
    return;
  g_strfreev (h->command);
  g_free (h);
}

static CaraHealthcheck *
healthcheck_copy (const CaraHealthcheck *h)
{
  CaraHealthcheck *r;

  if (h == NULL)
    return NULL;
  r = g_memdup2 (h, sizeof *h);
  r->command = g_strdupv (h->command);
  return r;
}

CaraService *
cara_service_new (const char *name, const char *image)
{
  CaraService *s = g_new0 (CaraService, 1);

  s->name = g_strdup (name);
  s->image = g_strdup (image);
  s->env = g_ptr_array_new_with_free_func ((GDestroyNotify) env_var_free);
  s->volume_mounts = g_ptr_array_new_with_free_func ((GDestroyNotify) volume_mount_free);
  s->ports = g_ptr_array_new_with_free_func ((GDestroyNotify) port_free);
  s->stop_grace_period_seconds = -1;
  s->secrets = g_ptr_array_new_with_free_func ((GDestroyNotify) secret_mount_free);
  return s;
}

void
cara_service_free (CaraService *s)
{
  if (s == NULL)
    return;
  g_free (s->name);
  g_free (s->image);
  g_clear_pointer (&s->env, g_ptr_array_unref);
  g_clear_pointer (&s->volume_mounts, g_ptr_array_unref);
  g_strfreev (s->command);
  g_clear_pointer (&s->ports, g_ptr_array_unref);
  g_free (s->resources.cpu);
  g_free (s->resources.memory);
  healthcheck_free (s->healthcheck);
  g_strfreev (s->depends_on);
  g_free (s->depends_on_conditions);
  g_strfreev (s->entrypoint);
  g_free (s->working_dir);
  g_free (s->user);
  g_clear_pointer (&s->labels, g_hash_table_unref);
  g_strfreev (s->cap_add);
  g_strfreev (s->cap_drop);
  g_free (s->stop_signal);
  g_clear_pointer (&s->secrets, g_ptr_array_unref);
  g_free (s);
}

static gpointer
service_copy (gconstpointer p, gpointer data)
{
  const CaraService *s = p;
  CaraService *r = g_new0 (CaraService, 1);

  r->name = g_strdup (s->name);
  r->image = g_strdup (s->image);
  r->env = array_copy (s->env, env_var_copy, (GDestroyNotify) env_var_free);
  r->volume_mounts = array_copy (s->volume_mounts, volume_mount_copy,
                                 (GDestroyNotify) volume_mount_free);
  r->command = g_strdupv (s->command);
  r->ports = array_copy (s->ports, port_copy, (GDestroyNotify) port_free);
  r->resources.cpu = g_strdup (s->resources.cpu);
  r->resources.memory = g_strdup (s->resources.memory);
  r->restart_policy = s->restart_policy;
  r->healthcheck = healthcheck_copy (s->healthcheck);
  r->depends_on = g_strdupv (s->depends_on);
  if (s->depends_on_conditions != NULL)
    r->depends_on_conditions = g_memdup2 (s->depends_on_conditions,
                                          sizeof (CaraDependCondition) * g_strv_length (s->depends_on));
  r->entrypoint = g_strdupv (s->entrypoint);
  r->working_dir = g_strdup (s->working_dir);
  r->user = g_strdup (s->user);
  r->labels = string_map_copy_or_null (s->labels);
  r->cap_add = g_strdupv (s->cap_add);
  r->cap_drop = g_strdupv (s->cap_drop);
  r->stop_grace_period_seconds = s->stop_grace_period_seconds;
  r->stop_signal = g_strdup (s->stop_signal);
  r->secrets = array_copy (s->secrets, secret_mount_copy, (GDestroyNotify) secret_mount_free);
  return r;
}

static void
volume_free (CaraVolume *v)
{
  g_free (v->name);
  g_free (v->host_path);
  g_free (v);
}

static gpointer
volume_copy (gconstpointer p, gpointer data)
{
  const CaraVolume *v = p;
  CaraVolume *r = g_new0 (CaraVolume, 1);

  r->name = g_strdup (v->name);
  r->type = v->type;
  r->host_path = g_strdup (v->host_path);
  return r;
}

static void
ingress_free (CaraIngress *i)
{
  g_free (i->name);
  g_free (i->host);
  g_free (i->target.service);
  g_free (i->tls.secret);
  g_free (i);
}

static gpointer
ingress_copy (gconstpointer p, gpointer data)
{
  const CaraIngress *i = p;
  CaraIngress *r = g_new0 (CaraIngress, 1);

  r->name = g_strdup (i->name);
  r->host = g_strdup (i->host);
  r->target.service = g_strdup (i->target.service);
  r->target.port = i->target.port;
  r->access.scope = i->access.scope;
  r->tls.secret = g_strdup (i->tls.secret);
  return r;
}

CaraServiceStatus *
cara_service_status_new (const char *name)
{
  CaraServiceStatus *s = g_new0 (CaraServiceStatus, 1);

  s->name = g_strdup (name);
  return s;
}

void
cara_service_status_free (CaraServiceStatus *s)
{
  if (s == NULL)
    return;
  g_free (s->name);
  g_free (s->container_id);
  g_free (s->state);
  g_free (s->health);
  g_free (s);
}

static gpointer
service_status_copy (gconstpointer p, gpointer data)
{
  const CaraServiceStatus *s = p;
  CaraServiceStatus *r = cara_service_status_new (s->name);

  r->container_id = g_strdup (s->container_id);
  r->state = g_strdup (s->state);
  r->restart_count = s->restart_count;
  r->health = g_strdup (s->health);
  return r;
}

CaraProject *
cara_project_new (const char *name)
{
  CaraProject *p = g_new0 (CaraProject, 1);

  object_meta_init (&p->metadata, name);
  p->spec.services = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_service_free);
  p->spec.volumes = g_ptr_array_new_with_free_func ((GDestroyNotify) volume_free);
  p->spec.ingress = g_ptr_array_new_with_free_func ((GDestroyNotify) ingress_free);
  p->spec.node_selector = string_map_new ();
  p->status.conditions = conditions_new ();
  p->status.services = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_service_status_free);
  return p;
}

void
cara_project_swap_desired (CaraProject *a, CaraProject *b)
{
  __typeof__ (a->spec) spec = a->spec; /* an anonymous struct */
  GHashTable *labels = a->metadata.labels;
  GHashTable *annotations = a->metadata.annotations;

  a->spec = b->spec;
  b->spec = spec;
  a->metadata.labels = b->metadata.labels;
  b->metadata.labels = labels;
  a->metadata.annotations = b->metadata.annotations;
  b->metadata.annotations = annotations;
}

CaraProject *
cara_project_copy (const CaraProject *p)
{
  CaraProject *r;

  if (p == NULL)
    return NULL;
  r = g_new0 (CaraProject, 1);
  object_meta_copy (&r->metadata, &p->metadata);
  r->spec.services = array_copy (p->spec.services, service_copy,
                                 (GDestroyNotify) cara_service_free);
  r->spec.volumes = array_copy (p->spec.volumes, volume_copy, (GDestroyNotify) volume_free);
  r->spec.ingress = array_copy (p->spec.ingress, ingress_copy, (GDestroyNotify) ingress_free);
  r->spec.node_selector = string_map_copy (p->spec.node_selector);
  r->spec.expire_at = time_ref (p->spec.expire_at);
  r->spec.image_pull_secrets = g_strdupv (p->spec.image_pull_secrets);
  r->spec.update = p->spec.update;
  r->status.phase = p->status.phase;
  r->status.observed_generation = p->status.observed_generation;
  r->status.node_ref = g_strdup (p->status.node_ref);
  r->status.conditions = array_copy (p->status.conditions, condition_copy_func,
                                     (GDestroyNotify) cara_condition_free);
  r->status.services = array_copy (p->status.services, service_status_copy,
                                   (GDestroyNotify) cara_service_status_free);
  r->status.migration = cara_migration_copy (p->status.migration);
  return r;
}

void
cara_project_free (CaraProject *p)
{
  if (p == NULL)
    return;
  object_meta_clear (&p->metadata);
  g_clear_pointer (&p->spec.services, g_ptr_array_unref);
  g_clear_pointer (&p->spec.volumes, g_ptr_array_unref);
  g_clear_pointer (&p->spec.ingress, g_ptr_array_unref);
  g_clear_pointer (&p->spec.node_selector, g_hash_table_unref);
  time_unref (p->spec.expire_at);
  g_strfreev (p->spec.image_pull_secrets);
  g_free (p->status.node_ref);
  g_clear_pointer (&p->status.conditions, g_ptr_array_unref);
  g_clear_pointer (&p->status.services, g_ptr_array_unref);
  cara_migration_free (p->status.migration);
  g_free (p);
}

CaraService *
cara_project_find_service (const CaraProject *p, const char *name)
{
  for (guint i = 0; i < p->spec.services->len; i++)
    {
      CaraService *s = g_ptr_array_index (p->spec.services, i);
      if (g_strcmp0 (s->name, name) == 0)
        return s;
    }
  return NULL;
}

CaraDependCondition
cara_service_depend_condition (const CaraService *s, guint i)
{
  if (s->depends_on_conditions == NULL || s->depends_on_conditions[i] == CARA_DEPEND_CONDITION_NONE)
    return CARA_DEPEND_CONDITION_STARTED;
  return s->depends_on_conditions[i];
}

CaraStatusReport *
cara_status_report_new (void)
{
  CaraStatusReport *r = g_new0 (CaraStatusReport, 1);

  r->services = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_service_status_free);
  r->conditions = conditions_new ();
  return r;
}

void
cara_status_report_free (CaraStatusReport *r)
{
  if (r == NULL)
    return;
  g_free (r->reason);
  g_free (r->message);
  g_free (r->rollback_reason);
  g_clear_pointer (&r->services, g_ptr_array_unref);
  g_clear_pointer (&r->conditions, g_ptr_array_unref);
  g_free (r);
}

void
cara_object_meta_init (CaraObjectMeta *m, const char *name)
{
  object_meta_init (m, name);
}

void
cara_object_meta_clear (CaraObjectMeta *m)
{
  object_meta_clear (m);
}
