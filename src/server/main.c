/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-server"
#include "config.h"

#include <locale.h>
#include <stdio.h>

#include <glib-unix.h>

#include "api.h"
#include "api-streams.h" /* logs and port-forward relays */
#include "cara-daemon.h"
#include "cara-error.h"
#include "cara-http-server.h"
#include "cara-log.h"
#include "cara-tls.h"
#include "controller-setup.h"
#include "pg-private.h"
#include "secret-keys.h"
#include "server-auth.h"
#include "server-config.h"
#include "heartbeat-batch.h"
#include "list-cache.h"
#include "server-events.h"
#include "server-metrics.h"
#include "store.h"

#define EVENTS_KEEP 10000
#define EVENTS_MAX_AGE_USEC ((gint64) G_USEC_PER_SEC * 3600)

typedef struct {
  GMainLoop *loop;
  ServerConfig *cfg;
  CaraHttpServer *http;
  ServerAuth *auth;
  char *listen_desc;
  char *last_status;
} Server;

static char *status_text (Server *s);

static gboolean
on_quit (gpointer user_data)
{
  Server *s = user_data;
  g_message ("Stopping");
  cara_daemon_notify_stopping ();
  g_main_loop_quit (s->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_reload (gpointer user_data)
{
  Server *s = user_data;
  g_autoptr (GError) error = NULL;
  cara_daemon_notify_reloading ();
  /* Listening address, database and TLS priorities stay as they are; log level, tokens and the
   * TLS certificate follow the files (open connections keep the certificate they got). */
  if (!server_config_load (s->cfg, &error))
    g_warning ("Reloading the configuration failed, keeping the old one: %s", error->message);
  else if (!server_auth_reload (s->auth, s->cfg->kf, &error))
    g_warning ("Reloading the tokens failed, keeping the old ones: %s", error->message);
  else if (!cara_events_configure (s->cfg->kf, &error))
    g_warning ("Reloading the event retention failed, keeping the old one: %s", error->message);
  else
    {
      cara_log_init ("cara-server", s->cfg->debug);
      g_message ("Configuration and tokens reloaded from %s", s->cfg->config_path);
    }
  g_clear_error (&error);
  if (cara_http_server_get_tls (s->http))
    {
      if (s->cfg->tls_cert == NULL)
        g_warning ("TLS stays on until a restart (tls_cert is no longer set)");
      else if (!cara_http_server_set_tls_files (s->http, s->cfg->tls_cert, s->cfg->tls_key, &error))
        g_warning ("Reloading the TLS certificate failed, keeping the old one: %s", error->message);
      else
        g_message ("TLS certificate reloaded from %s", s->cfg->tls_cert);
    }
  g_autofree char *status = status_text (s);
  cara_daemon_notify_ready (status);
  return G_SOURCE_CONTINUE;
}

static gboolean
trim_events (gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  if (!store_trim_events (EVENTS_KEEP, EVENTS_MAX_AGE_USEC, &error))
    g_debug ("Trimming old events failed, will retry: %s", error->message);
  cara_events_trim ();
  return G_SOURCE_CONTINUE;
}

/* STATUS= for systemctl status: where we serve, whether the database answers, our role. */
static char *
status_text (Server *s)
{
  return g_strdup_printf ("Serving the API on %s; database %s; controllers %s", s->listen_desc,
                          store_is_available () ? "reachable" : "UNAVAILABLE",
                          controllers_is_leader () ? "running (leader)" : "standby");
}

static gboolean
update_status (gpointer user_data)
{
  Server *s = user_data;
  g_autofree char *text = status_text (s);
  if (g_strcmp0 (text, s->last_status) != 0)
    {
      cara_daemon_notify_status ("%s", text);
      g_free (s->last_status);
      s->last_status = g_steal_pointer (&text);
    }
  return G_SOURCE_CONTINUE;
}

static void
log_request (const char *method, const char *path, guint status, double ms, gpointer user_data)
{
  g_debug ("%s %s %u %.1fms", method, path, status, ms);
}

/* Connects and migrates, retrying for a while: the database may start at the same time. */
static gboolean
setup_store (const char *url, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  for (;;)
    {
      g_autoptr (GError) local = NULL;
      if (store_setup (url, &local))
        return TRUE;
      if (!g_error_matches (local, CARA_ERROR, CARA_ERROR_UNAVAILABLE) || g_get_monotonic_time () > deadline)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      cara_daemon_notify_status ("Waiting for the database: %s", local->message);
      g_usleep (G_USEC_PER_SEC / 2);
    }
}

/* cara-server --rotate-secret-key */
static int
server_rotate_secret_key (void)
{
  g_autoptr (GError) error = NULL;
  guint count = 0;
  if (!secret_keys_rotate (&count, &error))
    {
      fprintf (stderr, "cara-server: %s\n", error->message);
      return 1;
    }
  printf ("Sealed %u secret value%s under a new key in %s\n", count, count == 1 ? "" : "s", secret_keys_path ());
  return 0;
}

int
main (int argc, char **argv)
{
  g_autoptr (ServerConfig) cfg = server_config_new ();
  g_autoptr (GError) error = NULL;

  setlocale (LC_ALL, "");
  g_set_prgname ("cara-server");
  if (!server_config_parse_args (cfg, &argc, &argv, &error))
    {
      fprintf (stderr, "cara-server: %s\n", error->message);
      return 2;
    }
  if (cfg->cli.version)
    {
      printf ("cara-server %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (!server_config_load (cfg, &error))
    {
      fprintf (stderr, "cara-server: %s\n", error->message);
      return 2;
    }
  cara_log_init ("cara-server", cfg->debug);
  cara_daemon_raise_fd_limit (cfg->max_connections + 1024);

  /* The database: the configured one, or our own private PostgreSQL. */
  g_autoptr (PgPrivate) pg = NULL;
  const char *url = cfg->database_url;
  if (url == NULL)
    {
      cara_daemon_notify_status ("Starting the private PostgreSQL in %s", cfg->state_dir);
      pg = pg_private_start (cfg->state_dir, &error);
      if (pg == NULL)
        {
          g_critical ("Cannot start the private PostgreSQL: %s", error->message);
          return 1;
        }
      url = pg_private_get_url (pg);
    }
  cara_daemon_notify_status ("Migrating the database");
  store_set_revision_history_limit (cfg->revision_history_limit);
  if (!setup_store (url, &error))
    {
      g_critical ("Database: %s", error->message);
      return 1;
    }
  /* Never fatal: without its key the server serves everything but Secret values. */
  gint64 n_sealed = 0;
  if (!store_count_sealed_values (&n_sealed, &error) || !secret_keys_setup (cfg->state_dir, n_sealed, &error))
    {
      g_warning ("Secret values are unavailable: %s", error->message);
      g_clear_error (&error);
    }
  if (cfg->cli.rotate_secret_key)
    return server_rotate_secret_key ();

  heartbeat_batch_start (cfg->node_heartbeat_timeout_usec);

  /* The API: on the socket systemd passed, else on HOST:PORT. */
  int fd = -1;
  if (!cara_daemon_listen_fd ("api", &fd, &error))
    {
      g_critical ("%s", error->message);
      return 1;
    }
  g_autoptr (ServerAuth) auth = server_auth_new (cfg->kf, cfg->state_dir, &error);
  if (auth == NULL)
    {
      g_critical ("%s", error->message);
      return 1;
    }
  if (!cara_tls_set_priority (cfg->tls_priority, &error))
    {
      g_critical ("%s", error->message);
      return 1;
    }
  g_autoptr (CaraHttpServer) http = cara_http_server_new ();
  if (server_auth_enabled (auth))
    cara_http_server_set_authorizer (http, server_auth_authorize, auth);
  if (cfg->tls_cert && !cara_http_server_set_tls_files (http, cfg->tls_cert, cfg->tls_key, &error))
    {
      g_critical ("%s", error->message);
      return 1;
    }
  cara_http_server_set_threads (http, cfg->threads);
  cara_http_server_set_connection_limits (http, cfg->max_connections, cfg->max_connections_per_client);
  cara_http_server_set_log_func (http, log_request, NULL);
  if (!cara_events_configure (cfg->kf, &error))
    {
      g_critical ("%s", error->message);
      return 1;
    }
  api_metrics_init ();
  cara_http_server_set_observer (http, server_metrics_observe_request, NULL);
  api_register (http);
  api_streams_configure (cfg->kf);

  /* controllers and watch: watch hub, watch handler, drain/uncordon routes */
  ControllerTimeouts timeouts = {
    .heartbeat_timeout = cfg->node_heartbeat_timeout_usec,
    .grace_period = cfg->reschedule_grace_period_usec,
    .terminating_timeout = cfg->termination_timeout_usec,
    .resync_interval = cfg->resync_interval_usec,
  };
  controllers_register (http, &timeouts);

  /* The signals are ours before the first client can see the server: a SIGTERM (or SIGHUP) sent
     as soon as a request is answered is a clean stop (or a reload), not death by signal. */
  Server s = { 0 };
  s.cfg = cfg;
  s.http = http;
  s.auth = auth;
  s.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_quit, &s);
  g_unix_signal_add (SIGINT, on_quit, &s);
  g_unix_signal_add (SIGHUP, on_reload, &s);
  if (!cara_http_server_start (http, fd, cfg->host, cfg->port, &error))
    {
      g_critical ("%s", error->message);
      g_main_loop_unref (s.loop);
      return 1;
    }
  s.listen_desc = fd >= 0 ? g_strdup_printf ("the socket from systemd (port %u)", cara_http_server_get_port (http))
                          : g_strdup_printf ("%s:%u", cfg->host, cara_http_server_get_port (http));
  g_timeout_add_seconds (60, trim_events, NULL);
  cara_events_trim (); /* what a restart with a shorter EVENT_TTL/EVENT_LIMIT no longer keeps */
  cara_daemon_watchdog_start (NULL);

  /* controllers: the manager runs them while this replica is the leader */
  controllers_start ();

  g_message ("Serving the API%s on %s (database %s)", cfg->tls_cert ? " over HTTPS" : "", s.listen_desc,
             pg ? "private" : "from DATABASE_URL");
  /* Plain HTTP on 0.0.0.0 stays the default (as the Go version), but not silently. */
  if (!cara_http_server_is_loopback_only (http))
    {
      if (!server_auth_enabled (auth))
        g_warning ("Authorisation is off (CARA_AUTH=none) and %s is reachable from other machines: anyone "
                   "there controls the cluster; listen on 127.0.0.1 (HOST) or turn authorisation on", s.listen_desc);
      if (!cara_http_server_get_tls (http))
        g_warning ("TLS is off and %s is reachable from other machines: tokens and project specs cross the "
                   "network in clear text; see --tls-cert (docs/tls.md)", s.listen_desc);
    }
  s.last_status = status_text (&s);
  cara_daemon_notify_ready (s.last_status);
  g_timeout_add_seconds (2, update_status, &s);

  g_main_loop_run (s.loop);

  /* controllers and watch: stop them and end the watch streams first */
  controllers_shutdown ();

  cara_http_server_stop (http);
  heartbeat_batch_stop ();
  list_cache_clear ();
  store_thread_disconnect ();
  g_main_loop_unref (s.loop);
  g_free (s.listen_desc);
  g_free (s.last_status);
  g_message ("Stopped");
  return 0;
}
