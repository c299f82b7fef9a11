/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-agent"

#include "cara-error.h"
#include "cara-json.h"
#include "cara-log.h"
#include "cara-token.h"
#include "heartbeat.h"
#include "server-api.h"
#include "sysinfo.h"

struct _Heartbeat {
  const AgentConfig *cfg;
  GMainContext *main_ctx;
  HeartbeatNotify notify;
  gpointer user_data;
  GThread *thread;
  GMutex lock;
  GCond cond;
  gboolean stop;
};

typedef struct {
  Heartbeat *hb;
  gboolean registered, ok;
  gint64 usec;
} Notice;

static gboolean
deliver (gpointer data)
{
  Notice *n = data;
  n->hb->notify (n->registered, n->ok, n->usec, n->hb->user_data);
  return G_SOURCE_REMOVE;
}

static void
post_notice (Heartbeat *hb, gboolean registered, gboolean ok)
{
  if (hb->notify == NULL)
    return;
  Notice *n = g_new0 (Notice, 1);
  n->hb = hb;
  n->registered = registered;
  n->ok = ok;
  n->usec = g_get_real_time ();
  g_main_context_invoke_full (hb->main_ctx, G_PRIORITY_DEFAULT, deliver, n, g_free);
}

/* Sleeps up to @usec; FALSE when asked to stop. */
static gboolean
wait_for (Heartbeat *hb, gint64 usec)
{
  gint64 until = g_get_monotonic_time () + usec;
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&hb->lock);
  while (!hb->stop)
    if (!g_cond_wait_until (&hb->cond, &hb->lock, until))
      break;
  return !hb->stop;
}

/* With the join token, presenting this node's token to be bound to it (SPEC §9). */
static gboolean
do_register (Heartbeat *hb, GError **error)
{
  g_autoptr (CaraHttpClient) http = server_client_new (hb->cfg);
  if (hb->cfg->node_token)
    {
      cara_http_client_set_token (http, hb->cfg->token);
      cara_http_client_add_header (http, CARA_NODE_TOKEN_HEADER, hb->cfg->node_token);
    }
  g_autoptr (CaraNode) node = cara_node_new (hb->cfg->node_name);
  node->spec.hostname = g_strdup (g_get_host_name ());
  /* The address the relays will use: fixed at registration (a heartbeat cannot move it). */
  node->status.network.ip = g_strdup (hb->cfg->advertise_ip);
  node->status.network.agent_port = hb->cfg->agent_port;
  g_autoptr (JsonNode) body = cara_node_to_json (node);
  g_autoptr (GError) local = NULL;
  if (cara_http_client_json (http, "POST", "/api/v1/nodes", body, NULL, NULL, &local))
    {
      cara_log_node (G_LOG_LEVEL_INFO, hb->cfg->node_name, "Registered with %s", hb->cfg->server_url);
      return TRUE;
    }
  /* 409 is the Go server's "exists"; with a node token, a server of ours answers 200 for our own
   * node, so a 409 then means the token is bound to another node: a failure. */
  if (g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT) && hb->cfg->node_token == NULL)
    {
      cara_log_node (G_LOG_LEVEL_INFO, hb->cfg->node_name, "Already registered with %s", hb->cfg->server_url);
      return TRUE;
    }
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

static gboolean
do_heartbeat (Heartbeat *hb, CaraHttpClient *http, GError **error)
{
  g_autoptr (CaraHeartbeat) h = cara_heartbeat_new ();
  h->state = CARA_NODE_STATE_READY;
  h->has_network = TRUE;
  h->network.ip = g_strdup (hb->cfg->advertise_ip);
  h->network.agent_port = hb->cfg->agent_port;
  sysinfo_fill (h, "/var/lib/docker");
  g_autoptr (JsonNode) body = cara_heartbeat_to_json (h);
  g_autofree char *node = cara_http_escape (hb->cfg->node_name);
  g_autofree char *path = g_strdup_printf ("/api/v1/nodes/%s/heartbeat", node);
  return cara_http_client_json (http, "POST", path, body, NULL, NULL, error);
}

static gpointer
run (gpointer data)
{
  Heartbeat *hb = data;
  g_autoptr (CaraHttpClient) http = server_client_new (hb->cfg);
  gboolean registered = FALSE;
  gint64 backoff = G_USEC_PER_SEC;
  gboolean was_ok = TRUE;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      gboolean ok;
      if (!registered)
        {
          ok = registered = do_register (hb, &error);
          if (ok)
            ok = do_heartbeat (hb, http, &error);
        }
      else
        {
          ok = do_heartbeat (hb, http, &error);
          /* Deleted (404), or deleted and so our token unknown (401): register again.  409: the
           * server has another address for us, which only a registration changes. */
          if (!ok && (g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND)
                      || g_error_matches (error, CARA_ERROR, CARA_ERROR_UNAUTHORIZED)
                      || g_error_matches (error, CARA_ERROR, CARA_ERROR_CONFLICT)))
            {
              cara_log_node (G_LOG_LEVEL_WARNING, hb->cfg->node_name, "%s; registering again",
                             g_error_matches (error, CARA_ERROR, CARA_ERROR_CONFLICT) ? error->message
                                                                                       : "Server does not know this node");
              registered = FALSE;
              continue;
            }
        }

      if (ok)
        {
          if (!was_ok)
            cara_log_node (G_LOG_LEVEL_INFO, hb->cfg->node_name, "Server reachable again");
          was_ok = TRUE;
          backoff = G_USEC_PER_SEC;
          post_notice (hb, registered, TRUE);
          if (!wait_for (hb, hb->cfg->heartbeat_usec))
            break;
          continue;
        }

      /* Log the first failure, then only at debug level until it recovers. */
      cara_log_full (G_LOG_DOMAIN, was_ok ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_DEBUG, NULL, hb->cfg->node_name, NULL,
                     "%s failed: %s; retrying in %" G_GINT64_FORMAT " s", registered ? "Heartbeat" : "Registration",
                     error->message, backoff / G_USEC_PER_SEC);
      was_ok = FALSE;
      post_notice (hb, registered, FALSE);
      if (!wait_for (hb, MIN (backoff, hb->cfg->heartbeat_usec * 2)))
        break;
      backoff = MIN (backoff * 2, 60 * G_USEC_PER_SEC);
    }
  return NULL;
}

Heartbeat *
heartbeat_start (const AgentConfig *cfg, GMainContext *main_ctx, HeartbeatNotify notify, gpointer user_data)
{
  Heartbeat *hb = g_new0 (Heartbeat, 1);
  hb->cfg = cfg;
  hb->main_ctx = g_main_context_ref (main_ctx);
  hb->notify = notify;
  hb->user_data = user_data;
  g_mutex_init (&hb->lock);
  g_cond_init (&hb->cond);
  hb->thread = g_thread_new ("heartbeat", run, hb);
  return hb;
}

void
heartbeat_stop (Heartbeat *hb)
{
  if (hb == NULL)
    return;
  g_mutex_lock (&hb->lock);
  hb->stop = TRUE;
  g_cond_broadcast (&hb->cond);
  g_mutex_unlock (&hb->lock);
  g_thread_join (hb->thread);
  g_mutex_clear (&hb->lock);
  g_cond_clear (&hb->cond);
  g_main_context_unref (hb->main_ctx);
  g_free (hb);
}
