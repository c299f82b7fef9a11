/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-server"
#include "config.h"

#include "cara-config.h"
#include "cara-error.h"
#include "cara-tls.h"
#include "server-config.h"

#define GROUP "server"

ServerConfig *
server_config_new (void)
{
  return g_new0 (ServerConfig, 1);
}

void
server_config_free (ServerConfig *cfg)
{
  if (cfg == NULL)
    return;
  g_free (cfg->config_path);
  g_clear_pointer (&cfg->kf, g_key_file_unref);
  g_free (cfg->host);
  g_free (cfg->database_url);
  g_free (cfg->state_dir);
  g_free (cfg->cli.config);
  g_free (cfg->cli.host);
  g_free (cfg->cli.port);
  g_free (cfg->cli.database_url);
  g_free (cfg->cli.data_dir);
  g_free (cfg->cli.threads);
  g_free (cfg->cli.node_heartbeat_timeout);
  g_free (cfg->cli.reschedule_grace_period);
  g_free (cfg->cli.termination_timeout);
  g_free (cfg->cli.resync_interval);
  g_free (cfg->cli.tls_cert);
  g_free (cfg->cli.tls_key);
  g_free (cfg->cli.tls_priority);
  g_free (cfg->tls_cert);
  g_free (cfg->tls_key);
  g_free (cfg->tls_priority);
  g_free (cfg);
}

gboolean
server_config_parse_args (ServerConfig *cfg, int *argc, char ***argv, GError **error)
{
  const GOptionEntry entries[] = {
    { "host", 0, 0, G_OPTION_ARG_STRING, &cfg->cli.host,
      "Address to listen on when not socket-activated ($HOST, [server] host; default 0.0.0.0)", "ADDR" },
    { "port", 0, 0, G_OPTION_ARG_STRING, &cfg->cli.port, "TCP port ($PORT, [server] port; default 8080)", "PORT" },
    { "database-url", 0, 0, G_OPTION_ARG_STRING, &cfg->cli.database_url,
      "PostgreSQL connection URL ($DATABASE_URL, [server] database_url); without it a private PostgreSQL "
      "runs in the state directory", "URL" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &cfg->cli.data_dir,
      "State directory when $STATE_DIRECTORY is unset ([server] data_dir; default " CARA_STATE_DIR ")", "DIR" },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &cfg->cli.config,
      "Configuration file ($CARA_SERVER_CONFIG; default " CARA_CONFIG_DIR "/server.conf)", "FILE" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &cfg->cli.threads,
      "HTTP worker threads ($CARA_THREADS, [server] threads; default 16)", "N" },
    { "node-heartbeat-timeout", 0, 0, G_OPTION_ARG_STRING, &cfg->cli.node_heartbeat_timeout,
      "A node without heartbeat for this long is NotReady ($NODE_HEARTBEAT_TIMEOUT, [server] "
      "node_heartbeat_timeout; default 90s)", "DURATION" },
    { "reschedule-grace-period", 0, 0, G_OPTION_ARG_STRING, &cfg->cli.reschedule_grace_period,
      "How long a Running project waits on a NotReady node before it is moved ($RESCHEDULE_GRACE_PERIOD, "
      "[server] reschedule_grace_period; default 3m)", "DURATION" },
    { "termination-timeout", 0, 0, G_OPTION_ARG_STRING, &cfg->cli.termination_timeout,
      "How long a Terminating project waits on a NotReady node before it is force-terminated "
      "($TERMINATION_TIMEOUT, [server] termination_timeout; default 10m)", "DURATION" },
    { "resync-interval", 0, 0, G_OPTION_ARG_STRING, &cfg->cli.resync_interval,
      "Period of the controllers' full resync ($RESYNC_INTERVAL, [server] resync_interval; default 30s)",
      "DURATION" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &cfg->cli.tls_cert,
      "Serve HTTPS with this PEM certificate (chain) ($CARA_TLS_CERT, [server] tls_cert; needs --tls-key)", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &cfg->cli.tls_key,
      "PEM private key of --tls-cert ($CARA_TLS_KEY, [server] tls_key)", "FILE" },
    { "tls-priority", 0, 0, G_OPTION_ARG_STRING, &cfg->cli.tls_priority,
      "GnuTLS priority string for the API listener and the connections to agents ($CARA_TLS_PRIORITY, "
      "[server] tls_priority; default: TLS 1.2 or 1.3, no static RSA, SHA-1 or CBC)", "STRING" },
    { "debug", 0, 0, G_OPTION_ARG_NONE, &cfg->cli.debug, "Log debug messages ($DEBUG=true, [server] debug)", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &cfg->cli.version, "Print the version and exit", NULL },
    { "rotate-secret-key", 0, 0, G_OPTION_ARG_NONE, &cfg->cli.rotate_secret_key,
      "Seal every Secret value under a new key (one transaction), then exit", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx, "The Caravanserai API server and controller manager.");
  g_option_context_set_description (ctx,
      "Configuration: built-in defaults < the configuration file ([server] group) < environment < options.\n"
      "Socket activation: with one socket passed by systemd it serves on it; with several, on the one "
      "named \"api\".\n"
      "Authorisation (bearer tokens): $CARA_ADMIN_TOKEN, $CARA_JOIN_TOKEN, $CARA_READ_TOKENS (comma-separated) "
      "or [server] admin_token, join_token, read_tokens; unset admin/join tokens are generated into the state "
      "directory (admin.token, join.token, mode 0600).  CARA_AUTH=none ([server] auth=none) turns it off.\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  return g_option_context_parse (ctx, argc, argv, error);
}

static gboolean
parse_uint (const char *s, const char *what, guint max, guint *ret, GError **error)
{
  guint64 v = 0;
  if (s == NULL || !g_ascii_string_to_unsigned (s, 10, 0, max, &v, NULL))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "invalid %s \"%s\"", what, s ? s : "");
      return FALSE;
    }
  *ret = (guint) v;
  return TRUE;
}

gboolean
server_config_load (ServerConfig *cfg, GError **error)
{
  g_free (cfg->config_path);
  cfg->config_path = cara_config_string (NULL, NULL, NULL, "CARA_SERVER_CONFIG", cfg->cli.config,
                                         CARA_CONFIG_DIR "/server.conf");
  g_autoptr (GKeyFile) kf = cara_config_load (cfg->config_path, error);
  if (kf == NULL)
    return FALSE;

  g_autofree char *host = cara_config_string (kf, GROUP, "host", "HOST", cfg->cli.host, "0.0.0.0");
  g_autofree char *port = cara_config_string (kf, GROUP, "port", "PORT", cfg->cli.port, "8080");
  g_autofree char *url = cara_config_string (kf, GROUP, "database_url", "DATABASE_URL", cfg->cli.database_url, NULL);
  g_autofree char *data_dir = cara_config_string (kf, GROUP, "data_dir", NULL, cfg->cli.data_dir, NULL);
  g_autofree char *threads = cara_config_string (kf, GROUP, "threads", "CARA_THREADS", cfg->cli.threads, "16");
  g_autofree char *max_conn = cara_config_string (kf, GROUP, "max_connections", "CARA_MAX_CONNECTIONS", NULL, "1000");
  g_autofree char *max_conn_client = cara_config_string (kf, GROUP, "max_connections_per_client",
                                                         "CARA_MAX_CONNECTIONS_PER_CLIENT", NULL, "128");
  g_autofree char *tls_cert = cara_config_string (kf, GROUP, "tls_cert", "CARA_TLS_CERT", cfg->cli.tls_cert, NULL);
  g_autofree char *tls_key = cara_config_string (kf, GROUP, "tls_key", "CARA_TLS_KEY", cfg->cli.tls_key, NULL);
  g_autofree char *tls_priority = cara_config_string (kf, GROUP, "tls_priority", "CARA_TLS_PRIORITY",
                                                      cfg->cli.tls_priority, NULL);
  if (tls_priority && *tls_priority && !cara_tls_priority_check (tls_priority, error))
    return FALSE;
  if ((tls_cert && *tls_cert) != (tls_key && *tls_key))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "TLS needs both tls_cert and tls_key (--tls-cert, --tls-key)");
      return FALSE;
    }
  g_autofree char *revisions = cara_config_string (kf, GROUP, "revision_history_limit", "REVISION_HISTORY_LIMIT",
                                                  NULL, "10");
  guint revisions_n = 0;
  if (!parse_uint (revisions, "revision_history_limit", 1000000, &revisions_n, error))
    return FALSE;
  guint port_n = 0, threads_n = 0, max_conn_n = 0, max_conn_client_n = 0;
  gboolean debug = FALSE;
  gint64 hb, grace, term, resync;
  if (!parse_uint (port, "port", 65535, &port_n, error) || !parse_uint (threads, "threads", 256, &threads_n, error)
      || !parse_uint (max_conn, "max_connections", 1000000, &max_conn_n, error)
      || !parse_uint (max_conn_client, "max_connections_per_client", 1000000, &max_conn_client_n, error)
      || !cara_config_boolean (kf, GROUP, "debug", "DEBUG", cfg->cli.debug ? "true" : NULL, FALSE, &debug, error)
      || !cara_config_duration (kf, GROUP, "node_heartbeat_timeout", "NODE_HEARTBEAT_TIMEOUT",
                                cfg->cli.node_heartbeat_timeout, "90s", &hb, error)
      || !cara_config_duration (kf, GROUP, "reschedule_grace_period", "RESCHEDULE_GRACE_PERIOD",
                                cfg->cli.reschedule_grace_period, "3m", &grace, error)
      || !cara_config_duration (kf, GROUP, "termination_timeout", "TERMINATION_TIMEOUT",
                                cfg->cli.termination_timeout, "10m", &term, error)
      || !cara_config_duration (kf, GROUP, "resync_interval", "RESYNC_INTERVAL", cfg->cli.resync_interval, "30s",
                                &resync, error))
    return FALSE;

  g_free (cfg->host);
  cfg->host = g_steal_pointer (&host);
  cfg->port = port_n;
  g_free (cfg->database_url);
  cfg->database_url = (url && *url) ? g_steal_pointer (&url) : NULL;
  g_free (cfg->state_dir);
  cfg->state_dir = cara_config_state_dir (data_dir);
  cfg->threads = MAX (threads_n, 1);
  cfg->max_connections = MAX (max_conn_n, 1);
  cfg->max_connections_per_client = max_conn_client_n;
  cfg->debug = debug;
  cfg->node_heartbeat_timeout_usec = hb;
  cfg->reschedule_grace_period_usec = grace;
  cfg->termination_timeout_usec = term;
  cfg->resync_interval_usec = resync;
  cfg->revision_history_limit = MAX (revisions_n, 1);
  g_free (cfg->tls_cert);
  cfg->tls_cert = (tls_cert && *tls_cert) ? g_steal_pointer (&tls_cert) : NULL;
  g_free (cfg->tls_key);
  cfg->tls_key = (tls_key && *tls_key) ? g_steal_pointer (&tls_key) : NULL;
  g_free (cfg->tls_priority);
  cfg->tls_priority = (tls_priority && *tls_priority) ? g_steal_pointer (&tls_priority) : NULL;
  g_clear_pointer (&cfg->kf, g_key_file_unref);
  cfg->kf = g_key_file_ref (kf);
  return TRUE;
}
