/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The agent's effective configuration (SPEC §7: agent.conf < environment < options). */

#include <glib.h>

#include "netpool.h"

#define AGENT_LABEL_PROJECT "cara.project"
#define AGENT_LABEL_SERVICE "cara.service"
#define AGENT_LABEL_NODE "cara.node"
#define AGENT_LABEL_HASH "cara.spec-hash"
#define AGENT_LABEL_VOLUME_TYPE "cara.volume-type"

typedef struct {
  char *server_url;
  char *node_name;
  char *docker_host;
  char *advertise_ip;
  char *token;
  char *proxy_listen_addr;
  char *ca_file;
  char *tls_cert;      /* NULL: the agent API is plain HTTP */
  char *tls_key;
  guint agent_port;
  gint64 heartbeat_usec;
  gint64 poll_usec;    /* polling fallback / watch re-list period */
  gint64 resync_usec;  /* full re-list while watching */
  NetpoolCidr pool;
  guint pool_block;    /* prefix length of one project network */
  guint pull_timeout_s;
  guint stop_timeout_s;
  gboolean debug;
} AgentConfig;

void agent_config_free (AgentConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AgentConfig, agent_config_free)
