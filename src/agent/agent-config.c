/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-config.h"
#include "cara-config.h"
#include "cara-error.h"
#include "cara-tls.h"
#include "cara-token.h"
#include "cara-validate.h"

void
agent_config_free (AgentConfig *c)
{
  if (c == NULL)
    return;
  g_free (c->server_url);
  g_free (c->node_name);
  g_free (c->docker_host);
  g_free (c->advertise_ip);
  g_free (c->token);
  g_free (c->state_dir);
  g_free (c->runtime_dir);
  if (c->node_token)
    memset (c->node_token, 0, strlen (c->node_token));
  g_free (c->node_token);
  g_free (c->agent_secret);
  g_free (c->node_token_path);
  g_free (c->proxy_listen_addr);
  g_free (c->metrics_listen_addr);
  g_free (c->proxy_tls_listen_addr);
  g_free (c->ca_file);
  g_free (c->tls_cert);
  g_free (c->tls_key);
  g_free (c->tls_priority);
  g_free (c);
}

/* The first up, non-loopback IPv4 address that is not a Docker bridge. */
static char *
guess_ip (void)
{
  struct ifaddrs *ifs = NULL;
  if (getifaddrs (&ifs) != 0)
    return g_strdup ("127.0.0.1");
  char *found = NULL;
  for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next)
    {
      if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK)
          || !(i->ifa_flags & IFF_UP))
        continue;
      if (g_str_has_prefix (i->ifa_name, "docker") || g_str_has_prefix (i->ifa_name, "br-")
          || g_str_has_prefix (i->ifa_name, "veth"))
        continue;
      char buf[INET_ADDRSTRLEN];
      if (inet_ntop (AF_INET, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, buf, sizeof buf))
        found = g_strdup (buf);
    }
  freeifaddrs (ifs);
  return found ? found : g_strdup ("127.0.0.1");
}

/* SPEC §9: the join token registers this node; everything after that is done with the node's own
 * token, bound to the node at its first registration.  It must survive restarts (a new token
 * would be refused for the registered node), so unless configured it is kept in the state
 * directory, one file per node name (several agents may share a directory). */
static gboolean
load_node_token (AgentConfig *c, GKeyFile *kf, const char *cli, GError **error)
{
  c->node_token = cara_config_string (kf, "agent", "node_token", "CARA_NODE_TOKEN", cli, NULL);
  if (c->node_token && *c->node_token)
    {
      if (!cara_token_check (c->node_token, "node_token (CARA_NODE_TOKEN)", error))
        return FALSE;
    }
  else
    {
      g_clear_pointer (&c->node_token, g_free);
      c->node_token_path = g_strdup_printf ("%s/node-%s.token", c->state_dir, c->node_name);
      c->node_token = cara_token_load_or_create (c->node_token_path, &c->node_token_created, error);
      if (c->node_token == NULL)
        {
          g_prefix_error (error, "Cannot keep this node's token (set --data-dir or CARA_NODE_TOKEN): ");
          return FALSE;
        }
    }
  c->agent_secret = cara_node_token_agent_secret (c->node_token);
  return TRUE;
}

/* SPEC §9: without a join token the agent API (logs, port-forward) would be open to anyone, so an
 * agent without one starts only when told, explicitly, that the cluster runs without
 * authorisation (CARA_AUTH=none, as the server is told). */
static gboolean
check_auth_mode (GKeyFile *kf, const char *token, GError **error)
{
  g_autofree char *mode = cara_config_string (kf, "agent", "auth", "CARA_AUTH", NULL, "token");
  if (g_strcmp0 (mode, "none") != 0 && g_strcmp0 (mode, "token") != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "CARA_AUTH: unknown mode \"%s\" (token or none)", mode);
      return FALSE;
    }
  if ((token == NULL || *token == '\0') && g_strcmp0 (mode, "none") != 0)
    {
      g_set_error_literal (error, CARA_ERROR, CARA_ERROR_INVALID,
                           "no join token: set CARA_TOKEN (or [agent] token=) to the server's join token, or, "
                           "for a cluster whose server runs with CARA_AUTH=none, set CARA_AUTH=none (or [agent] "
                           "auth=none) for the agent too; without a token its logs and port-forward API is "
                           "open to anyone who reaches it");
      return FALSE;
    }
  return TRUE;
}

AgentConfig *
agent_config_load (int *argc, char ***argv, GError **error)
{
  g_autofree char *o_config = NULL, *o_server = NULL, *o_node = NULL, *o_hb = NULL, *o_docker = NULL;
  g_autofree char *o_port = NULL, *o_ip = NULL, *o_pool = NULL, *o_proxy = NULL, *o_token = NULL;
  g_autofree char *o_tls_cert = NULL, *o_tls_key = NULL, *o_data_dir = NULL, *o_node_token = NULL;
  g_autofree char *o_tls_priority = NULL;
  g_autofree char *o_ca = NULL, *o_poll = NULL, *o_resync = NULL, *o_pull = NULL, *o_stop = NULL;
  gboolean o_debug = FALSE, o_version = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &o_config, "Configuration file (default " CARA_CONFIG_DIR "/agent.conf)", "FILE" },
    { "server-url", 's', 0, G_OPTION_ARG_STRING, &o_server, "cara-server URL [SERVER_URL, default http://localhost:8080]", "URL" },
    { "node-name", 'n', 0, G_OPTION_ARG_STRING, &o_node, "This node's name [NODE_NAME, default the host name]", "NAME" },
    { "heartbeat-interval", 0, 0, G_OPTION_ARG_STRING, &o_hb, "Time between heartbeats [HEARTBEAT_INTERVAL, default 10s]", "DURATION" },
    { "docker-host", 0, 0, G_OPTION_ARG_STRING, &o_docker, "Docker daemon, unix:// or tcp:// [DOCKER_HOST, default unix:///var/run/docker.sock]", "URL" },
    { "agent-port", 'p', 0, G_OPTION_ARG_STRING, &o_port, "Port of the agent API (logs, port-forward) [AGENT_LISTEN_PORT, default 9090]", "PORT" },
    { "advertise-ip", 0, 0, G_OPTION_ARG_STRING, &o_ip, "Address the server reaches this agent at [AGENT_ADVERTISE_IP, default the first non-loopback address]", "IP" },
    { "network-pool", 0, 0, G_OPTION_ARG_STRING, &o_pool, "Subnets for project networks, a /26 each [NETWORK_POOL, default 10.213.0.0/16]", "CIDR" },
    { "proxy-listen-addr", 0, 0, G_OPTION_ARG_STRING, &o_proxy, "Ingress proxy address [PROXY_LISTEN_ADDR, default :8081]", "ADDR" },
    { "token", 0, 0, G_OPTION_ARG_STRING, &o_token, "Join token for the server [CARA_TOKEN; without one the agent starts only with CARA_AUTH=none]", "TOKEN" },
    { "node-token", 0, 0, G_OPTION_ARG_STRING, &o_node_token, "This node's own token [CARA_NODE_TOKEN, default kept in DIR/node-NAME.token]", "TOKEN" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &o_data_dir, "State directory when $STATE_DIRECTORY is unset [default " CARA_STATE_DIR "]", "DIR" },
    { "ca", 0, 0, G_OPTION_ARG_FILENAME, &o_ca, "CA certificate for the server's TLS [CARA_CA]", "FILE" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &o_tls_cert, "Serve the agent API over HTTPS with this PEM certificate [CARA_TLS_CERT; needs --tls-key]", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &o_tls_key, "PEM private key of --tls-cert [CARA_TLS_KEY]", "FILE" },
    { "tls-priority", 0, 0, G_OPTION_ARG_STRING, &o_tls_priority, "GnuTLS priority string for the agent API and the connections to the server [CARA_TLS_PRIORITY, default: TLS 1.2 or 1.3, no static RSA, SHA-1 or CBC]", "STRING" },
    { "poll-interval", 0, 0, G_OPTION_ARG_STRING, &o_poll, "Polling period when the server has no watch [POLL_INTERVAL, default 10s]", "DURATION" },
    { "resync-interval", 0, 0, G_OPTION_ARG_STRING, &o_resync, "Full re-list period while watching [RESYNC_INTERVAL, default 30s]", "DURATION" },
    { "pull-timeout", 0, 0, G_OPTION_ARG_STRING, &o_pull, "Longest an image pull may take [IMAGE_PULL_TIMEOUT, default 5m]", "DURATION" },
    { "stop-timeout", 0, 0, G_OPTION_ARG_STRING, &o_stop, "Grace period when stopping a container [STOP_TIMEOUT, default 10s]", "DURATION" },
    { "debug", 'd', 0, G_OPTION_ARG_NONE, &o_debug, "Debug logging [DEBUG=true]", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &o_version, "Print the version and exit", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx, "The Caravanserai node agent: registers this node with cara-server, heartbeats,\n"
                                     "and runs the projects placed here as Docker containers.\n\n"
                                     "Settings come from " CARA_CONFIG_DIR "/agent.conf ([agent] group, keys\n"
                                     "server_url, node_name, heartbeat_interval, docker_host, listen_port, advertise_ip,\n"
                                     "network_pool, proxy_listen_addr, token, auth, node_token, data_dir, ca, tls_cert, tls_key, tls_priority,\n"
                                     "poll_interval, resync_interval, "
"pull_timeout, stop_timeout, debug), overridden by the environment variables in\n"
                                     "brackets, overridden by the options.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, argc, argv, error))
    {
      g_prefix_error (error, "bad usage: ");
      return NULL;
    }
  if (o_version)
    {
      printf ("cara-agent %s\n", PACKAGE_VERSION);
      exit (0);
    }

  g_autoptr (GKeyFile) kf = cara_config_load (o_config ? o_config : CARA_CONFIG_DIR "/agent.conf", error);
  if (kf == NULL)
    return NULL;
  const char *G = "agent";
  g_autoptr (AgentConfig) c = g_new0 (AgentConfig, 1);
  c->server_url = cara_config_string (kf, G, "server_url", "SERVER_URL", o_server, "http://localhost:8080");
  c->node_name = cara_config_string (kf, G, "node_name", "NODE_NAME", o_node, g_get_host_name ());
  /* The name goes into Docker labels and names, file names and URLs: refuse a bad one at start. */
  if (!cara_validate_node_name (c->node_name, error))
    {
      g_prefix_error (error, "node name \"%s\": ", c->node_name);
      return NULL;
    }
  c->docker_host = cara_config_string (kf, G, "docker_host", "DOCKER_HOST", o_docker, "unix:///var/run/docker.sock");
  c->advertise_ip = cara_config_string (kf, G, "advertise_ip", "AGENT_ADVERTISE_IP", o_ip, NULL);
  if (c->advertise_ip == NULL)
    c->advertise_ip = guess_ip ();
  c->token = cara_config_string (kf, G, "token", "CARA_TOKEN", o_token, NULL);
  g_autofree char *data_dir = cara_config_string (kf, G, "data_dir", NULL, o_data_dir, NULL);
  c->state_dir = cara_config_state_dir (data_dir);
  if (!check_auth_mode (kf, c->token, error))
    return NULL;
  c->runtime_dir = cara_config_string (kf, G, "runtime_dir", "RUNTIME_DIRECTORY", NULL, "/run/cara-agent");
  if (c->token && *c->token && !load_node_token (c, kf, o_node_token, error))
    return NULL;
  c->ca_file = cara_config_string (kf, G, "ca", "CARA_CA", o_ca, NULL);
  c->tls_cert = cara_config_string (kf, G, "tls_cert", "CARA_TLS_CERT", o_tls_cert, NULL);
  c->tls_key = cara_config_string (kf, G, "tls_key", "CARA_TLS_KEY", o_tls_key, NULL);
  if (c->tls_cert && !*c->tls_cert)
    g_clear_pointer (&c->tls_cert, g_free);
  if (c->tls_key && !*c->tls_key)
    g_clear_pointer (&c->tls_key, g_free);
  if ((c->tls_cert == NULL) != (c->tls_key == NULL))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "TLS needs both tls_cert and tls_key (--tls-cert, --tls-key)");
      return NULL;
    }
  c->tls_priority = cara_config_string (kf, G, "tls_priority", "CARA_TLS_PRIORITY", o_tls_priority, NULL);
  if (c->tls_priority && !*c->tls_priority)
    g_clear_pointer (&c->tls_priority, g_free);
  if (c->tls_priority && !cara_tls_priority_check (c->tls_priority, error))
    return NULL;
  c->proxy_listen_addr = cara_config_string (kf, G, "proxy_listen_addr", "PROXY_LISTEN_ADDR", o_proxy, ":8081");
  c->metrics_listen_addr = cara_config_string (kf, G, "metrics_listen_addr", "METRICS_LISTEN_ADDR", NULL, NULL);
  if (c->metrics_listen_addr && !*c->metrics_listen_addr)
    g_clear_pointer (&c->metrics_listen_addr, g_free);
  c->proxy_tls_listen_addr = cara_config_string (kf, G, "proxy_tls_listen_addr", "PROXY_TLS_LISTEN_ADDR", NULL, NULL);
  if (c->proxy_tls_listen_addr && *c->proxy_tls_listen_addr == '\0')
    g_clear_pointer (&c->proxy_tls_listen_addr, g_free);

  g_autofree char *port = cara_config_string (kf, G, "listen_port", "AGENT_LISTEN_PORT", o_port, "9090");
  guint64 p = 0;
  if (!g_ascii_string_to_unsigned (port, 10, 0, 65535, &p, NULL))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "Invalid agent port \"%s\"", port);
      return NULL;
    }
  c->agent_port = (guint) p;

  g_autofree char *pool = cara_config_string (kf, G, "network_pool", "NETWORK_POOL", o_pool, "10.213.0.0/16");
  if (!netpool_parse (pool, &c->pool, error))
    {
      g_prefix_error (error, "network pool: ");
      return NULL;
    }
  c->pool_block = MAX (26, c->pool.prefix);

  gint64 usec = 0;
  if (!cara_config_duration (kf, G, "heartbeat_interval", "HEARTBEAT_INTERVAL", o_hb, "10s", &c->heartbeat_usec, error)
      || !cara_config_duration (kf, G, "poll_interval", "POLL_INTERVAL", o_poll, "10s", &c->poll_usec, error)
      || !cara_config_duration (kf, G, "resync_interval", "RESYNC_INTERVAL", o_resync, "30s", &c->resync_usec, error))
    return NULL;
  if (!cara_config_duration (kf, G, "pull_timeout", "IMAGE_PULL_TIMEOUT", o_pull, "5m", &usec, error))
    return NULL;
  c->pull_timeout_s = (guint) MAX (1, usec / G_USEC_PER_SEC);
  if (!cara_config_duration (kf, G, "stop_timeout", "STOP_TIMEOUT", o_stop, "10s", &usec, error))
    return NULL;
  c->stop_timeout_s = (guint) (usec / G_USEC_PER_SEC);
  c->heartbeat_usec = MAX (c->heartbeat_usec, 100 * 1000);
  c->poll_usec = MAX (c->poll_usec, 100 * 1000);
  c->resync_usec = MAX (c->resync_usec, 2 * G_USEC_PER_SEC);
  if (!cara_config_boolean (kf, G, "debug", "DEBUG", o_debug ? "true" : NULL, FALSE, &c->debug, error))
    return NULL;
  return g_steal_pointer (&c);
}
