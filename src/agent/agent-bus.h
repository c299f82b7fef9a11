/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The agent on D-Bus: owns org.caravanserai.Agent (system bus; DBUS_SYSTEM_BUS_ADDRESS points it
 * elsewhere), object /org/caravanserai/Agent with interface org.caravanserai.Agent1, and one child
 * object per project, /org/caravanserai/Agent/project/<escaped name>, interface
 * org.caravanserai.Project1, announced through org.freedesktop.DBus.ObjectManager.
 * The contract is dbus/org.caravanserai.Agent1.xml.
 *
 * Every function here must be called from the thread that runs @ctx (the agent's main loop); the
 * bus is dispatched from a GSource attached to that context, and the callbacks below run there. */

#include <glib.h>

typedef struct _AgentBus AgentBus;

typedef struct {
  /* Reconcile(): resync now.  Should only schedule the work and return at once.  NULL: the method
   * answers NotSupported. */
  gboolean (*reconcile) (gpointer user_data, GError **error);
  /* Project1.Restart(s service).  CARA_ERROR_NOT_FOUND for an unknown service.  NULL: NotSupported. */
  gboolean (*restart_service) (gpointer user_data, const char *project, const char *service,
                               GError **error);
  /* GetProject(s name): the project's status as JSON (the status object of the wire format, or
   * the whole project).  Returns a newly allocated string.  NULL callback: the bus answers the
   * status object ({"phase","nodeRef","services":[...]}, cara_project_status_to_json) built from
   * what agent_bus_project_changed() was told. */
  char *(*get_project_json) (gpointer user_data, const char *project, GError **error);
} AgentBusCallbacks;

/* Connects to the system bus, registers the objects, attaches to @ctx (NULL: the thread-default
 * context) and requests the name org.caravanserai.Agent — synchronously, so call it as the LAST
 * step of start-up, right before sd_notify ("READY=1").  Fails (CARA_ERROR_UNAVAILABLE) when there
 * is no bus or the name is taken; the agent may log that and carry on without D-Bus.
 * @cb is copied; @user_data is passed to every callback.  Initial State is "registering". */
AgentBus *agent_bus_start (GMainContext *ctx, const char *node_name, const char *server_url,
                           const char *version, const AgentBusCallbacks *cb, gpointer user_data,
                           GError **error);

/* Releases the name, removes the objects, detaches from the loop.  Accepts NULL. */
void agent_bus_free (AgentBus *bus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AgentBus, agent_bus_free)

/* Property setters: emit PropertiesChanged only when the value really changes. */
void agent_bus_set_state (AgentBus *bus, const char *state); /* registering | ready | disconnected */
void agent_bus_set_server_url (AgentBus *bus, const char *server_url);
void agent_bus_set_last_heartbeat (AgentBus *bus, guint64 usec); /* g_get_real_time () */

/* A project placed on this node appeared or changed: creates or updates its object, emits
 * InterfacesAdded (new) or PropertiesChanged, and ProjectChanged(name, phase) when it is new or
 * its phase or services (name, state, containerId) changed; a call that changes nothing emits
 * nothing.  @phase e.g. "Running" (cara_project_phase_to_string);
 * @services holds CaraServiceStatus* (cara-model.h), may be NULL; both are copied. */
void agent_bus_project_changed (AgentBus *bus, const char *name, const char *phase,
                                GPtrArray *services);
/* The project's ServicesReady condition (status True, its reason and message) on its object:
 * properties ServicesReady, ReadyReason, ReadyMessage; PropertiesChanged only on a change.
 * Unknown names are ignored (call agent_bus_project_changed() first). */
void agent_bus_project_set_ready (AgentBus *bus, const char *name, gboolean ready, const char *reason,
                                  const char *message);
/* The project left this node: its object vanishes (InterfacesRemoved) and ProjectChanged(name, "")
 * is emitted.  Unknown names are ignored. */
void agent_bus_project_removed (AgentBus *bus, const char *name);
