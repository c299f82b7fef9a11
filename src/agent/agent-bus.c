/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-agent-bus"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "agent-bus.h"
#include "cara-cleanup.h"
#include "cara-error.h"
#include "cara-json.h"
#include "cara-model.h"

#define BUS_NAME "org.caravanserai.Agent"
#define AGENT_PATH "/org/caravanserai/Agent"
#define AGENT_IFACE "org.caravanserai.Agent1"
#define PROJECT_PREFIX "/org/caravanserai/Agent/project"
#define PROJECT_IFACE "org.caravanserai.Project1"

typedef struct {
  AgentBus *bus;   /* not owned */
  char *name;
  char *path;
  char *phase;
  GPtrArray *services; /* CaraServiceStatus*, copies of what the agent reported */
  gboolean ready;      /* the ServicesReady condition */
  char *ready_reason;
  char *ready_message;
} BusProject;

/* The GSource that drives sd-bus from the GMainLoop. */
typedef struct {
  GSource source;
  sd_bus *bus;     /* not owned */
  AgentBus *owner; /* not owned */
  gpointer fd_tag;
  int events; /* what fd_tag polls for now */
} BusSource;

/* After losing the bus (dbus-daemon restarted), try again this often. */
#define RECONNECT_SECONDS 2

struct _AgentBus {
  GMainContext *ctx;
  sd_bus *bus;
  GSource *source;
  GSource *reconnect;
  sd_bus_slot *agent_slot;
  sd_bus_slot *project_slot;
  sd_bus_slot *enum_slot;
  sd_bus_slot *manager_slot;
  char *node_name;
  char *server_url;
  char *version;
  char *state;
  guint64 last_heartbeat;
  AgentBusCallbacks cb;
  gpointer user_data;
  GHashTable *projects; /* name -> BusProject* */
};

/* ---- main-loop integration ---- */

static void bus_lost (AgentBus *self);

static gboolean
bus_source_prepare (GSource *source, gint *timeout)
{
  BusSource *s = (BusSource *) source;
  uint64_t until = UINT64_MAX;
  int events = sd_bus_get_events (s->bus);

  if (events < 0)
    {
      /* The connection is closed: dispatch now, which notices it. */
      *timeout = 0;
      return TRUE;
    }
  /* Only on a change: g_source_modify_unix_fd() wakes the context, so calling it on every
   * iteration keeps the main loop from ever sleeping. */
  if (events != s->events)
    {
      g_source_modify_unix_fd (source, s->fd_tag, (GIOCondition) events);
      s->events = events;
    }

  *timeout = -1;
  if (sd_bus_get_timeout (s->bus, &until) > 0 && until != UINT64_MAX)
    {
      gint64 now = g_get_monotonic_time (); /* CLOCK_MONOTONIC, as sd-bus uses */
      if ((gint64) until <= now)
        {
          *timeout = 0;
          return TRUE;
        }
      *timeout = (gint) MIN ((until - now + 999) / 1000, (uint64_t) G_MAXINT);
    }
  return FALSE;
}

static gboolean
bus_source_check (GSource *source)
{
  BusSource *s = (BusSource *) source;
  uint64_t until = UINT64_MAX;

  if (g_source_query_unix_fd (source, s->fd_tag) != 0)
    return TRUE;
  return sd_bus_get_timeout (s->bus, &until) > 0 && until != UINT64_MAX &&
         (gint64) until <= g_get_monotonic_time ();
}

static gboolean
bus_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  BusSource *s = (BusSource *) source;
  int r;

  /* sd_bus_process handles one message per call: drain until it has nothing left. */
  while ((r = sd_bus_process (s->bus, NULL)) > 0)
    ;
  if (r < 0)
    g_debug ("Failed to process D-Bus messages: %s", g_strerror (-r));
  if (!sd_bus_is_open (s->bus))
    {
      /* e.g. dbus-daemon restarted: stop polling a dead fd and connect again later. */
      bus_lost (s->owner);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs bus_source_funcs = {
  .prepare = bus_source_prepare,
  .check = bus_source_check,
  .dispatch = bus_source_dispatch,
};

static GSource *
bus_source_new (sd_bus *bus, AgentBus *owner)
{
  GSource *source = g_source_new (&bus_source_funcs, sizeof (BusSource));
  BusSource *s = (BusSource *) source;

  s->bus = bus;
  s->owner = owner;
  s->events = G_IO_IN;
  s->fd_tag = g_source_add_unix_fd (source, sd_bus_get_fd (bus), (GIOCondition) s->events);
  g_source_set_name (source, "sd-bus");
  return source;
}

/* ---- helpers ---- */

static void
bus_project_free (BusProject *p)
{
  g_free (p->name);
  g_free (p->path);
  g_free (p->phase);
  g_ptr_array_unref (p->services);
  g_free (p->ready_reason);
  g_free (p->ready_message);
  g_free (p);
}

static int
set_dbus_error (sd_bus_error *ret_error, const GError *error)
{
  const char *name = "org.caravanserai.Error.Failed";

  if (error != NULL && error->domain == CARA_ERROR)
    name = cara_error_to_dbus_name (error);
  return sd_bus_error_set (ret_error, name, error != NULL ? error->message : "Failed");
}

/* Defence in depth behind the bus policy: state-changing methods are for root (and the agent's
 * own user, which controls the agent anyway). */
static int
check_privileged (sd_bus_message *m, sd_bus_error *ret_error)
{
  sd_bus_creds *creds = NULL;
  uid_t uid;
  int r, known;

  r = sd_bus_query_sender_creds (m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID, &creds);
  if (r < 0)
    return sd_bus_error_set_errnof (ret_error, -r, "Failed to query caller credentials: %s",
                                    g_strerror (-r));
  known = sd_bus_creds_get_euid (creds, &uid) >= 0 || sd_bus_creds_get_uid (creds, &uid) >= 0;
  sd_bus_creds_unref (creds);
  if (!known)
    return sd_bus_error_set (ret_error, SD_BUS_ERROR_ACCESS_DENIED,
                             "Caller credentials unknown");
  if (uid != 0 && uid != geteuid ())
    return sd_bus_error_setf (ret_error, SD_BUS_ERROR_ACCESS_DENIED,
                              "Only root may call %s", sd_bus_message_get_member (m));
  return 1;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* Project names, sorted, so listings are stable. */
static GPtrArray *
sorted_project_names (AgentBus *self)
{
  GPtrArray *names = g_ptr_array_sized_new (g_hash_table_size (self->projects));
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->projects);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (names, key);
  g_ptr_array_sort (names, compare_names);
  return names;
}

static const char *
str_or_empty (const char *s)
{
  return s != NULL ? s : "";
}

static int
append_services (sd_bus_message *reply, BusProject *p)
{
  int r = sd_bus_message_open_container (reply, 'a', "(sss)");
  if (r < 0)
    return r;
  for (guint i = 0; i < p->services->len; i++)
    {
      CaraServiceStatus *s = g_ptr_array_index (p->services, i);
      r = sd_bus_message_append (reply, "(sss)", str_or_empty (s->name), str_or_empty (s->state),
                                 str_or_empty (s->container_id));
      if (r < 0)
        return r;
    }
  return sd_bus_message_close_container (reply);
}

static GPtrArray *
copy_services (GPtrArray *services)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) cara_service_status_free);

  for (guint i = 0; services != NULL && i < services->len; i++)
    {
      const CaraServiceStatus *src = g_ptr_array_index (services, i);
      CaraServiceStatus *s = cara_service_status_new (src->name);
      s->container_id = g_strdup (src->container_id);
      s->state = g_strdup (src->state);
      s->restart_count = src->restart_count;
      s->health = g_strdup (src->health);
      g_ptr_array_add (out, s);
    }
  return out;
}

/* Without a get_project_json callback: the project's status in the API's wire format, built
 * from what the agent reported (phase, this node, services). */
static char *
default_project_json (AgentBus *self, BusProject *p)
{
  g_autoptr (CaraProject) project = cara_project_new (p->name);
  g_autoptr (JsonNode) status = NULL;

  if (!cara_project_phase_from_string (p->phase, &project->status.phase))
    project->status.phase = CARA_PROJECT_PHASE_NONE;
  project->status.node_ref = g_strdup (self->node_name);
  g_ptr_array_unref (project->status.services);
  project->status.services = copy_services (p->services);
  if (p->ready_reason != NULL)
    g_ptr_array_add (project->status.conditions,
                     cara_condition_new ("ServicesReady", p->ready ? "True" : "False", p->ready_reason,
                                         p->ready_message));
  status = cara_project_status_to_json (project);
  return cara_json_to_string (status, FALSE);
}

/* ---- org.caravanserai.Agent1 ---- */

static int
agent_get_string (sd_bus *bus, const char *path, const char *interface, const char *property,
                  sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
  AgentBus *self = userdata;
  const char *v = NULL;

  if (g_str_equal (property, "NodeName"))
    v = self->node_name;
  else if (g_str_equal (property, "ServerURL"))
    v = self->server_url;
  else if (g_str_equal (property, "State"))
    v = self->state;
  else if (g_str_equal (property, "Version"))
    v = self->version;
  return sd_bus_message_append (reply, "s", v != NULL ? v : "");
}

static int
agent_get_last_heartbeat (sd_bus *bus, const char *path, const char *interface,
                          const char *property, sd_bus_message *reply, void *userdata,
                          sd_bus_error *ret_error)
{
  AgentBus *self = userdata;
  return sd_bus_message_append (reply, "t", (uint64_t) self->last_heartbeat);
}

static int
agent_get_project_count (sd_bus *bus, const char *path, const char *interface,
                         const char *property, sd_bus_message *reply, void *userdata,
                         sd_bus_error *ret_error)
{
  AgentBus *self = userdata;
  return sd_bus_message_append (reply, "u", (uint32_t) g_hash_table_size (self->projects));
}

static int
agent_method_list_projects (sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
  AgentBus *self = userdata;
  g_autoptr (sd_bus_message) reply = NULL;
  g_autoptr (GPtrArray) names = sorted_project_names (self);
  int r;

  r = sd_bus_message_new_method_return (m, &reply);
  if (r < 0)
    return r;
  r = sd_bus_message_open_container (reply, 'a', "(ssuo)");
  if (r < 0)
    return r;
  for (guint i = 0; i < names->len; i++)
    {
      BusProject *p = g_hash_table_lookup (self->projects, g_ptr_array_index (names, i));
      r = sd_bus_message_append (reply, "(ssuo)", p->name, p->phase, (uint32_t) p->services->len,
                                 p->path);
      if (r < 0)
        return r;
    }
  r = sd_bus_message_close_container (reply);
  if (r < 0)
    return r;
  return sd_bus_send (NULL, reply, NULL);
}

static int
agent_method_reconcile (sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
  AgentBus *self = userdata;
  g_autoptr (GError) error = NULL;
  int r;

  r = check_privileged (m, ret_error);
  if (r < 0)
    return r;
  if (self->cb.reconcile == NULL)
    return sd_bus_error_set (ret_error, SD_BUS_ERROR_NOT_SUPPORTED, "Reconcile is not available");
  if (!self->cb.reconcile (self->user_data, &error))
    return set_dbus_error (ret_error, error);
  return sd_bus_reply_method_return (m, NULL);
}

static int
agent_method_get_project (sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
  AgentBus *self = userdata;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;
  const char *name = NULL;
  BusProject *p;
  int r;

  r = sd_bus_message_read (m, "s", &name);
  if (r < 0)
    return r;
  p = g_hash_table_lookup (self->projects, name);
  if (p == NULL)
    return sd_bus_error_setf (ret_error, "org.caravanserai.Error.NotFound",
                              "Project %s is not on this node", name);
  if (self->cb.get_project_json != NULL)
    {
      json = self->cb.get_project_json (self->user_data, name, &error);
      if (json == NULL)
        return set_dbus_error (ret_error, error);
    }
  else
    json = default_project_json (self, p);
  return sd_bus_reply_method_return (m, "s", json);
}

static const sd_bus_vtable agent_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_PROPERTY ("NodeName", "s", agent_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
  SD_BUS_PROPERTY ("ServerURL", "s", agent_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("State", "s", agent_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("Version", "s", agent_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
  SD_BUS_PROPERTY ("LastHeartbeat", "t", agent_get_last_heartbeat, 0,
                   SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("ProjectCount", "u", agent_get_project_count, 0,
                   SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_METHOD_WITH_ARGS ("ListProjects", SD_BUS_NO_ARGS,
                           SD_BUS_RESULT ("a(ssuo)", projects),
                           agent_method_list_projects, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_ARGS ("Reconcile", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
                           agent_method_reconcile, 0),
  SD_BUS_METHOD_WITH_ARGS ("GetProject", SD_BUS_ARGS ("s", name), SD_BUS_RESULT ("s", json),
                           agent_method_get_project, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_SIGNAL_WITH_ARGS ("ProjectChanged", SD_BUS_ARGS ("s", name, "s", phase), 0),
  SD_BUS_VTABLE_END,
};

/* ---- org.caravanserai.Project1 (fallback vtable: one object per project) ---- */

static int
project_find (sd_bus *bus, const char *path, const char *interface, void *userdata,
              void **ret_found, sd_bus_error *ret_error)
{
  AgentBus *self = userdata;
  g_autofree char *name = NULL;
  BusProject *p;

  if (sd_bus_path_decode (path, PROJECT_PREFIX, &name) <= 0)
    return 0;
  p = g_hash_table_lookup (self->projects, name);
  if (p == NULL)
    return 0;
  *ret_found = p;
  return 1;
}

static int
project_enumerate (sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                   sd_bus_error *ret_error)
{
  AgentBus *self = userdata;
  g_autoptr (GPtrArray) names = sorted_project_names (self);
  /* sd-bus frees the result with free(): allocate with malloc/strdup, not GLib. */
  char **nodes = calloc (names->len + 1, sizeof (char *));

  if (nodes == NULL)
    return -ENOMEM;
  for (guint i = 0; i < names->len; i++)
    {
      BusProject *p = g_hash_table_lookup (self->projects, g_ptr_array_index (names, i));
      nodes[i] = strdup (p->path);
      if (nodes[i] == NULL)
        {
          for (guint j = 0; j < i; j++)
            free (nodes[j]);
          free (nodes);
          return -ENOMEM;
        }
    }
  *ret_nodes = nodes;
  return 1;
}

static int
project_get_string (sd_bus *bus, const char *path, const char *interface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
  BusProject *p = userdata;
  const char *v = g_str_equal (property, "Name")          ? p->name
                  : g_str_equal (property, "ReadyReason")  ? p->ready_reason
                  : g_str_equal (property, "ReadyMessage") ? p->ready_message
                                                           : p->phase;
  return sd_bus_message_append (reply, "s", v ? v : "");
}

static int
project_get_ready (sd_bus *bus, const char *path, const char *interface, const char *property,
                   sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
  BusProject *p = userdata;
  return sd_bus_message_append (reply, "b", p->ready);
}

static int
project_get_services (sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
  return append_services (reply, userdata);
}

static int
agent_method_restart (sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
  BusProject *p = userdata;
  AgentBus *self = p->bus;
  g_autoptr (GError) error = NULL;
  g_autofree char *project = NULL;
  const char *service = NULL;
  int r;

  r = sd_bus_message_read (m, "s", &service);
  if (r < 0)
    return r;
  r = check_privileged (m, ret_error);
  if (r < 0)
    return r;
  if (self->cb.restart_service == NULL)
    return sd_bus_error_set (ret_error, SD_BUS_ERROR_NOT_SUPPORTED, "Restart is not available");
  /* The callback may change the project list, which would free @p. */
  project = g_strdup (p->name);
  if (!self->cb.restart_service (self->user_data, project, service, &error))
    return set_dbus_error (ret_error, error);
  return sd_bus_reply_method_return (m, NULL);
}

static const sd_bus_vtable project_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_PROPERTY ("Name", "s", project_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
  SD_BUS_PROPERTY ("Phase", "s", project_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("Services", "a(sss)", project_get_services, 0,
                   SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("ServicesReady", "b", project_get_ready, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("ReadyReason", "s", project_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("ReadyMessage", "s", project_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_METHOD_WITH_ARGS ("Restart", SD_BUS_ARGS ("s", service), SD_BUS_NO_RESULT,
                           agent_method_restart, 0),
  SD_BUS_VTABLE_END,
};

/* ---- public API ---- */

static void
warn_emit (int r, const char *what)
{
  if (r < 0)
    g_debug ("Failed to emit %s: %s, ignoring", what, g_strerror (-r));
}

/* Drops the connection (if any) and everything registered on it. */
static void
bus_disconnect (AgentBus *self)
{
  if (self->source != NULL)
    {
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  g_clear_pointer (&self->manager_slot, sd_bus_slot_unref);
  g_clear_pointer (&self->enum_slot, sd_bus_slot_unref);
  g_clear_pointer (&self->project_slot, sd_bus_slot_unref);
  g_clear_pointer (&self->agent_slot, sd_bus_slot_unref);
  /* Closing the connection releases the name; flush so queued signals still go out. */
  g_clear_pointer (&self->bus, sd_bus_flush_close_unref);
}

/* Connects to the system bus, registers the objects and attaches to the loop.  The name is
 * requested by the caller, last. */
static gboolean
bus_connect (AgentBus *self, GError **error)
{
  int r;

  r = sd_bus_open_system (&self->bus);
  if (r < 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE,
                   "Failed to connect to the system bus: %s", g_strerror (-r));
      return FALSE;
    }
  sd_bus_set_description (self->bus, "cara-agent");

  r = sd_bus_add_object_vtable (self->bus, &self->agent_slot, AGENT_PATH, AGENT_IFACE,
                                agent_vtable, self);
  if (r >= 0)
    r = sd_bus_add_fallback_vtable (self->bus, &self->project_slot, PROJECT_PREFIX,
                                    PROJECT_IFACE, project_vtable, project_find, self);
  if (r >= 0)
    r = sd_bus_add_node_enumerator (self->bus, &self->enum_slot, PROJECT_PREFIX,
                                    project_enumerate, self);
  if (r >= 0)
    r = sd_bus_add_object_manager (self->bus, &self->manager_slot, AGENT_PATH);
  if (r < 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Failed to register D-Bus objects: %s",
                   g_strerror (-r));
      bus_disconnect (self);
      return FALSE;
    }

  self->source = bus_source_new (self->bus, self);
  g_source_attach (self->source, self->ctx);
  return TRUE;
}

static int
on_name_reply (sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
  const sd_bus_error *e = sd_bus_message_get_error (m);

  if (e != NULL)
    g_warning ("Failed to acquire D-Bus name %s again: %s", BUS_NAME, e->message);
  else
    g_message ("Reconnected to the system bus as %s", BUS_NAME);
  return 0;
}

static gboolean
on_reconnect (gpointer user_data)
{
  AgentBus *self = user_data;
  g_autoptr (GError) error = NULL;
  int r;

  bus_disconnect (self);
  if (!bus_connect (self, &error))
    {
      g_debug ("%s; retrying in %d s", error->message, RECONNECT_SECONDS);
      return G_SOURCE_CONTINUE;
    }
  /* Asynchronously this time: the agent is running and must not wait on the bus. */
  r = sd_bus_request_name_async (self->bus, NULL, BUS_NAME, 0, on_name_reply, self);
  if (r < 0)
    {
      g_debug ("Failed to request D-Bus name %s: %s; retrying", BUS_NAME, g_strerror (-r));
      bus_disconnect (self);
      return G_SOURCE_CONTINUE;
    }
  g_clear_pointer (&self->reconnect, g_source_unref);
  return G_SOURCE_REMOVE;
}

static void
bus_lost (AgentBus *self)
{
  if (self->reconnect != NULL)
    return;
  g_warning ("Lost the connection to the system bus; reconnecting every %d s", RECONNECT_SECONDS);
  self->reconnect = g_timeout_source_new_seconds (RECONNECT_SECONDS);
  g_source_set_callback (self->reconnect, on_reconnect, self, NULL);
  g_source_attach (self->reconnect, self->ctx);
}

AgentBus *
agent_bus_start (GMainContext *ctx, const char *node_name, const char *server_url,
                 const char *version, const AgentBusCallbacks *cb, gpointer user_data,
                 GError **error)
{
  g_autoptr (AgentBus) self = g_new0 (AgentBus, 1);
  int r;

  self->ctx = ctx != NULL ? g_main_context_ref (ctx) : g_main_context_ref_thread_default ();
  self->node_name = g_strdup (node_name);
  self->server_url = g_strdup (server_url);
  self->version = g_strdup (version);
  self->state = g_strdup ("registering");
  if (cb != NULL)
    self->cb = *cb;
  self->user_data = user_data;
  self->projects = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) bus_project_free);

  if (!bus_connect (self, error))
    return NULL;

  /* Last: once the name is ours, clients can reach a fully set-up object. */
  r = sd_bus_request_name (self->bus, BUS_NAME, 0);
  if (r < 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "Failed to acquire D-Bus name %s: %s",
                   BUS_NAME, g_strerror (-r));
      return NULL;
    }
  return g_steal_pointer (&self);
}

void
agent_bus_free (AgentBus *self)
{
  if (self == NULL)
    return;
  if (self->reconnect != NULL)
    {
      g_source_destroy (self->reconnect);
      g_clear_pointer (&self->reconnect, g_source_unref);
    }
  bus_disconnect (self);
  g_clear_pointer (&self->projects, g_hash_table_unref);
  g_clear_pointer (&self->ctx, g_main_context_unref);
  g_free (self->node_name);
  g_free (self->server_url);
  g_free (self->version);
  g_free (self->state);
  g_free (self);
}

static void
set_string_property (AgentBus *self, char **field, const char *value, const char *property)
{
  if (self == NULL || g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  warn_emit (sd_bus_emit_properties_changed (self->bus, AGENT_PATH, AGENT_IFACE, property, NULL),
             property);
}

void
agent_bus_set_state (AgentBus *self, const char *state)
{
  if (self != NULL)
    set_string_property (self, &self->state, state, "State");
}

void
agent_bus_set_server_url (AgentBus *self, const char *server_url)
{
  if (self != NULL)
    set_string_property (self, &self->server_url, server_url, "ServerURL");
}

void
agent_bus_set_last_heartbeat (AgentBus *self, guint64 usec)
{
  if (self == NULL || self->last_heartbeat == usec)
    return;
  self->last_heartbeat = usec;
  warn_emit (sd_bus_emit_properties_changed (self->bus, AGENT_PATH, AGENT_IFACE, "LastHeartbeat",
                                             NULL),
             "LastHeartbeat");
}

/* Whether the (name, state, containerId) triples shown on the bus are the same. */
static gboolean
services_equal (GPtrArray *a, GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    {
      CaraServiceStatus *x = g_ptr_array_index (a, i), *y = g_ptr_array_index (b, i);
      if (g_strcmp0 (x->name, y->name) != 0 || g_strcmp0 (x->state, y->state) != 0 ||
          g_strcmp0 (x->container_id, y->container_id) != 0)
        return FALSE;
    }
  return TRUE;
}

static void
emit_project_changed (AgentBus *self, const char *name, const char *phase)
{
  warn_emit (sd_bus_emit_signal (self->bus, AGENT_PATH, AGENT_IFACE, "ProjectChanged", "ss", name,
                                 phase),
             "ProjectChanged");
}

void
agent_bus_project_changed (AgentBus *self, const char *name, const char *phase,
                           GPtrArray *services)
{
  g_autoptr (GPtrArray) new_services = NULL;
  BusProject *p;
  int r;

  if (self == NULL || name == NULL || *name == '\0')
    return;
  if (phase == NULL)
    phase = "";
  new_services = copy_services (services);

  p = g_hash_table_lookup (self->projects, name);
  if (p == NULL)
    {
      p = g_new0 (BusProject, 1);
      p->bus = self;
      p->name = g_strdup (name);
      p->phase = g_strdup (phase);
      p->services = g_steal_pointer (&new_services);
      r = sd_bus_path_encode (PROJECT_PREFIX, name, &p->path);
      if (r < 0)
        {
          g_warning ("Failed to encode object path for project %s: %s", name, g_strerror (-r));
          bus_project_free (p);
          return;
        }
      g_hash_table_insert (self->projects, p->name, p);
      warn_emit (sd_bus_emit_interfaces_added (self->bus, p->path, PROJECT_IFACE, NULL),
                 "InterfacesAdded");
      warn_emit (sd_bus_emit_properties_changed (self->bus, AGENT_PATH, AGENT_IFACE,
                                                 "ProjectCount", NULL),
                 "ProjectCount");
      emit_project_changed (self, name, phase);
      return;
    }

  gboolean phase_changed = !g_str_equal (p->phase, phase);
  gboolean services_changed = !services_equal (p->services, new_services);
  /* Keep restartCount/health for GetProject even when nothing visible on the bus changed. */
  g_ptr_array_unref (p->services);
  p->services = g_steal_pointer (&new_services);
  if (!phase_changed && !services_changed)
    return;
  if (phase_changed)
    {
      g_free (p->phase);
      p->phase = g_strdup (phase);
    }
  warn_emit (sd_bus_emit_properties_changed (self->bus, p->path, PROJECT_IFACE,
                                             phase_changed ? "Phase" : "Services",
                                             phase_changed && services_changed ? "Services" : NULL,
                                             NULL),
             "PropertiesChanged");
  emit_project_changed (self, name, phase);
}

void
agent_bus_project_set_ready (AgentBus *self, const char *name, gboolean ready, const char *reason,
                             const char *message)
{
  BusProject *p;

  if (self == NULL || name == NULL)
    return;
  p = g_hash_table_lookup (self->projects, name);
  if (p == NULL)
    return;
  ready = !!ready;
  if (p->ready == ready && g_strcmp0 (p->ready_reason, reason) == 0
      && g_strcmp0 (p->ready_message, message) == 0)
    return;
  p->ready = ready;
  g_free (p->ready_reason);
  p->ready_reason = g_strdup (reason);
  g_free (p->ready_message);
  p->ready_message = g_strdup (message);
  warn_emit (sd_bus_emit_properties_changed (self->bus, p->path, PROJECT_IFACE, "ServicesReady",
                                             "ReadyReason", "ReadyMessage", NULL),
             "PropertiesChanged");
}

void
agent_bus_project_removed (AgentBus *self, const char *name)
{
  BusProject *p;

  if (self == NULL || name == NULL)
    return;
  p = g_hash_table_lookup (self->projects, name);
  if (p == NULL)
    return;
  warn_emit (sd_bus_emit_interfaces_removed (self->bus, p->path, PROJECT_IFACE, NULL),
             "InterfacesRemoved");
  g_hash_table_remove (self->projects, name);
  warn_emit (sd_bus_emit_properties_changed (self->bus, AGENT_PATH, AGENT_IFACE, "ProjectCount",
                                             NULL),
             "ProjectCount");
  /* An empty phase tells ProjectChanged listeners the project is gone. */
  emit_project_changed (self, name, "");
}
