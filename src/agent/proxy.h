/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The ingress reverse proxy (reference §5.7): requests on PROXY_LISTEN_ADDR are routed by their
 * Host header to the container behind a project's ingress entry.  Host rule as the reference API: a
 * host with a dot is used verbatim, otherwise "<host>.<project>.local".  Routes are rebuilt from
 * Docker whenever a project is observed running, and dropped on teardown. */

#include <curl/curl.h>

#include "agent.h"
#include "cara-model.h"
#include "docker.h"

typedef struct _Proxy Proxy;

/* @listen_addr: "HOST:PORT" or ":PORT" (all addresses). */
Proxy *proxy_start (const char *listen_addr, GError **error);
void proxy_stop (Proxy *px);
/* HTTPS on @listen_addr (PROXY_TLS_LISTEN_ADDR), certificates by SNI from the ingress entries'
 * tls.secret (proxy-tls.h); plain HTTP to a host with tls set is redirected there (308). */
gboolean proxy_start_tls (Proxy *px, const char *listen_addr, GError **error);

/* Thread-safe.  Replaces every route of @p by those its ingress entries give now. */
void proxy_update (Proxy *px, DockerClient *dc, const AgentConfig *cfg, const CaraProject *p);
void proxy_remove (Proxy *px, const char *project);
/* Requests being forwarded to container address @ip now (any port); 0 for a NULL @px. */
guint proxy_in_flight_to (Proxy *px, const char *ip);

/* The upstream URL of a request: @backend ("http://ip:port") with the path and query of @target,
 * which must be origin-form ("/path?query"); INVALID otherwise. */
CURLU *proxy_upstream_url (const char *backend, const char *target, GError **error);
/* access.scope Internal: loopback, one of @local_addrs (the node's own addresses), or inside
 * @project_net ("ip/prefix" of the project network). */
gboolean proxy_internal_allowed (const char *client_ip, const char *const *local_addrs, const char *project_net);

/* Exposed for tests of the rule. */
char *proxy_resolve_host (const char *host, const char *project);
