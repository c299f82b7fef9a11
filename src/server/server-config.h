/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* cara-server's configuration (SPEC §7): built-in defaults < /etc/caravanserai/server.conf
 * ([server] group) < environment < command-line options. */

#include <glib.h>

typedef struct {
  /* effective values */
  char *config_path;
  GKeyFile *kf;        /* the configuration file as loaded (for other modules' keys) */
  char *host;
  guint16 port;
  char *database_url;  /* NULL or "": run a private PostgreSQL in state_dir */
  char *state_dir;
  gboolean debug;
  guint threads;
  guint max_connections;            /* HTTP connections in all */
  guint max_connections_per_client; /* ... per client address (0: no limit) */
  gint64 node_heartbeat_timeout_usec;
  gint64 reschedule_grace_period_usec;
  gint64 termination_timeout_usec;
  gint64 resync_interval_usec;
  guint revision_history_limit; /* revisions kept per project (SPEC §13) */
  char *tls_cert;      /* NULL: plain HTTP */
  char *tls_key;
  char *tls_priority;  /* GnuTLS priority string, NULL: CARA_TLS_DEFAULT_PRIORITY */

  /* command-line values (NULL when not given) */
  struct {
    char *config, *host, *port, *database_url, *data_dir, *threads;
    char *node_heartbeat_timeout, *reschedule_grace_period, *termination_timeout, *resync_interval;
    char *tls_cert, *tls_key, *tls_priority;
    gboolean debug, version;
    gboolean rotate_secret_key;
  } cli;
} ServerConfig;

ServerConfig *server_config_new (void);
void server_config_free (ServerConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ServerConfig, server_config_free)

/* Parses the command line (exits for --help). */
gboolean server_config_parse_args (ServerConfig *cfg, int *argc, char ***argv, GError **error);
/* (Re)computes the effective values from file, environment and command line. */
gboolean server_config_load (ServerConfig *cfg, GError **error);
