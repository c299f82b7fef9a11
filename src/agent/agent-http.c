/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-agent-http"

#include "agent-http.h"
#include "cara-daemon.h"
#include "cara-error.h"
#include "cara-http-server.h"

struct _AgentHttp {
  const AgentConfig *cfg;
  CaraHttpServer *server;
};

static void
handle_healthz (CaraHttpRequest *req, gpointer user_data)
{
  cara_http_respond_text (req, 200, "text/plain; charset=utf-8", "OK");
}

static const CaraHttpRoute routes[] = {
  { "GET", "/healthz", handle_healthz, CARA_HTTP_ROLE_PUBLIC },
};

AgentHttp *
agent_http_start (const AgentConfig *cfg, GError **error)
{
  int fd = -1;
  if (!cara_daemon_listen_fd ("api", &fd, error))
    return NULL;
  AgentHttp *h = g_new0 (AgentHttp, 1);
  h->cfg = cfg;
  h->server = cara_http_server_new ();
  cara_http_server_add_routes (h->server, routes, G_N_ELEMENTS (routes), h);
  if (!cara_http_server_start (h->server, fd, "0.0.0.0", (guint16) cfg->agent_port, error))
    {
      agent_http_stop (h);
      return NULL;
    }
  return h;
}

void
agent_http_stop (AgentHttp *h)
{
  if (h == NULL)
    return;
  if (h->server)
    {
      cara_http_server_stop (h->server);
      cara_http_server_free (h->server);
    }
  g_free (h);
}
