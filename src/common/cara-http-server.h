/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* HTTP serving glue on libmicrohttpd: one route table (method, pattern with {name} segments,
 * handler, role), JSON and problem+json responses, a 1 MiB request body limit (413), the
 * authorizer run as soon as the headers are in (401/403 before any body is read), HEAD for
 * GET routes, Go-style 404/405 (reference §2), and streaming responses that do not hold a worker
 * thread while idle (MHD suspend/resume).
 *
 * Threading: MHD runs a pool of worker threads; a handler runs on one of them and must respond
 * exactly once (a handler that does not respond gets a 500).  Handlers may block (database). */

#include <glib.h>
#include <json-glib/json-glib.h>

#define CARA_HTTP_BODY_LIMIT (1024 * 1024)

typedef struct _CaraHttpServer CaraHttpServer;
typedef struct _CaraHttpRequest CaraHttpRequest;
typedef struct _CaraHttpStream CaraHttpStream;

/* Who may call a route (SPEC §9); checked by the server's authorizer when one is set. */
typedef enum {
  CARA_HTTP_ROLE_PUBLIC,   /* anyone (health, version) */
  CARA_HTTP_ROLE_READ,     /* read-only tokens, node tokens (their own objects), admin */
  CARA_HTTP_ROLE_JOIN,     /* registering a node: the join token, a node token (its own node), admin */
  CARA_HTTP_ROLE_AGENT,    /* node tokens (their own node and its projects) or admin */
  CARA_HTTP_ROLE_ADMIN,    /* admin only */
} CaraHttpRole;

/* What a node token (an agent, acting for its own node only: SPEC §9) may reach through a route
 * of role READ, JOIN or AGENT. */
typedef enum {
  CARA_HTTP_NODE_NONE,    /* nothing: 403 */
  CARA_HTTP_NODE_PATH,    /* the route's {name} is a node: its own */
  CARA_HTTP_NODE_QUERY,   /* ?nodeRef= must name its own node (lists and watches of projects) */
  CARA_HTTP_NODE_HANDLER, /* the handler checks (the project's node, the registered name) */
} CaraHttpNodeScope;

typedef void (*CaraHttpHandler) (CaraHttpRequest *req, gpointer user_data);

typedef struct {
  const char *method;  /* "GET", "POST", ... (a GET route also serves HEAD) */
  const char *pattern; /* "/api/v1/nodes/{name}/heartbeat": {x} matches one non-empty segment */
  CaraHttpHandler handler;
  CaraHttpRole role;
  CaraHttpNodeScope node_scope;
} CaraHttpRoute;

/* Returns FALSE with a CARA_ERROR_UNAUTHORIZED/FORBIDDEN/UNAVAILABLE error to refuse the request. */
typedef gboolean (*CaraHttpAuthorizer) (CaraHttpRequest *req, const CaraHttpRoute *route, gpointer user_data,
                                        GError **error);

CaraHttpServer *cara_http_server_new (void);
void cara_http_server_free (CaraHttpServer *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraHttpServer, cara_http_server_free)

/* Routes are matched in the order added; @routes must stay valid (static tables). */
void cara_http_server_add_routes (CaraHttpServer *s, const CaraHttpRoute *routes, gsize n_routes,
                                  gpointer user_data);
void cara_http_server_set_authorizer (CaraHttpServer *s, CaraHttpAuthorizer auth, gpointer user_data);
/* Open connections at most in all (default 1000) and per client address (default 0: no limit);
 * a connection over a limit is closed at once, so one client cannot take every slot.  Call before
 * start. */
void cara_http_server_set_connection_limits (CaraHttpServer *s, guint total, guint per_client);
/* Seconds a connection may take to send a request's headers (default CARA_HTTP_HEADER_TIMEOUT:
 * a half-sent request is dropped soon), and then to send its body and read the answer (default
 * 120).  Streams (watch, logs) are not subject to them while idle, nor upgraded connections. */
#define CARA_HTTP_HEADER_TIMEOUT 10
void cara_http_server_set_timeouts (CaraHttpServer *s, guint header_s, guint idle_s);
/* Number of worker threads (default 4). */
void cara_http_server_set_threads (CaraHttpServer *s, guint n_threads);
/* Called on the worker thread for every finished request (status 0 if none was sent). */
typedef void (*CaraHttpLogFunc) (const char *method, const char *path, guint status, double ms,
                                 gpointer user_data);
void cara_http_server_set_log_func (CaraHttpServer *s, CaraHttpLogFunc func, gpointer user_data);
/* Called on the worker thread for every finished request, with the matched route's template
 * ("/api/v1/projects/{name}", NULL when no route matched) and its duration: what metrics count.
 * @streamed: the answer was a stream or a protocol upgrade (watch, logs, WebSocket), whose
 * duration is the stream's life, not a latency. */
typedef void (*CaraHttpObserveFunc) (const char *method, const char *route, guint status, double seconds,
                                     gboolean streamed, gpointer user_data);
void cara_http_server_set_observer (CaraHttpServer *s, CaraHttpObserveFunc func, gpointer user_data);

/* Serve HTTPS (libmicrohttpd + GnuTLS, cara_tls_get_priority()) with a PEM certificate (chain) and
 * key; call before start.
 * Fails when TLS is not compiled into libmicrohttpd or a file cannot be read or holds no PEM. */
gboolean cara_http_server_set_tls_files (CaraHttpServer *s, const char *cert_file, const char *key_file,
                                         GError **error);
gboolean cara_http_server_get_tls (CaraHttpServer *s);
/* Reads the certificate and key files again (SIGHUP) and serves them to every new handshake;
 * open connections keep theirs.  On error the old ones stay.  Without TLS: nothing to do. */
gboolean cara_http_server_reload_tls (CaraHttpServer *s, GError **error);

/* Serve on an already listening socket (@fd >= 0, e.g. from systemd), or bind @host:@port. */
gboolean cara_http_server_start (CaraHttpServer *s, int fd, const char *host, guint16 port,
                                 GError **error);
/* TRUE when it listens on a loopback address only (other machines cannot reach it). */
gboolean cara_http_server_is_loopback_only (CaraHttpServer *s);
/* The bound port (useful with port 0). */
guint16 cara_http_server_get_port (CaraHttpServer *s);
/* Ends every open stream, lets in-flight requests finish and stops the workers. */
void cara_http_server_stop (CaraHttpServer *s);

/* ---- requests ---- */
const char *cara_http_request_get_method (CaraHttpRequest *r);
const char *cara_http_request_get_path (CaraHttpRequest *r);
/* The value of a {name} pattern segment (percent-decoded), or NULL. */
const char *cara_http_request_get_param (CaraHttpRequest *r, const char *name);
/* First value of a query argument (NULL if absent; "" for "?x" or "?x="). */
const char *cara_http_request_get_query (CaraHttpRequest *r, const char *key);
/* All values of a repeatable query argument, in order (NULL-terminated, never NULL). */
const char * const *cara_http_request_get_query_all (CaraHttpRequest *r, const char *key);
/* For WebSocket endpoints (RFC 6455 §4.2.1): the client's Sec-WebSocket-Key when @r is a valid
 * upgrade handshake; otherwise answers 400 problem+json and returns NULL. */
const char *cara_http_request_websocket_key (CaraHttpRequest *r);
const char *cara_http_request_get_header (CaraHttpRequest *r, const char *name);
/* The request body (empty if none); at most CARA_HTTP_BODY_LIMIT bytes. */
const char *cara_http_request_get_body (CaraHttpRequest *r, gsize *ret_len);
/* TRUE when the request carried a body (Content-Length > 0 or chunked). */
gboolean cara_http_request_has_body (CaraHttpRequest *r);
/* Per-request data for the authorizer and handlers (e.g. the caller's identity). */
void cara_http_request_set_data (CaraHttpRequest *r, gpointer data, GDestroyNotify destroy);
gpointer cara_http_request_get_data (CaraHttpRequest *r);

/* ---- responses (exactly one per request) ---- */
/* Compact JSON, Content-Type application/json, no trailing newline.  Takes no ownership. */
void cara_http_respond_json (CaraHttpRequest *r, guint status, JsonNode *body);
/* The same with the JSON already as text (ownership of @json_text taken). */
void cara_http_respond_json_text (CaraHttpRequest *r, guint status, char *json_text);
void cara_http_respond_text (CaraHttpRequest *r, guint status, const char *content_type, const char *text);
/* A body of @n_pieces pieces sent one after the other as the client reads them, never copied
 * into one buffer (e.g. a list spliced from stored texts).  @piece returns the @i-th; @destroy
 * frees @data once the response is done with it. */
/* @body is sent as it is, without a copy (a reference is held until it is sent). */
void cara_http_respond_bytes (CaraHttpRequest *r, guint status, const char *content_type, GBytes *body);
typedef const char *(*CaraHttpPieceFunc) (gpointer data, guint i, gsize *ret_len);
void cara_http_respond_pieces (CaraHttpRequest *r, guint status, const char *content_type, guint n_pieces,
                               CaraHttpPieceFunc piece, gpointer data, GDestroyNotify destroy);
/* No body (204, 202). */
void cara_http_respond_empty (CaraHttpRequest *r, guint status);
/* application/problem+json {"title","status","type","detail"} (reference §2.1). */
void cara_http_respond_problem (CaraHttpRequest *r, guint status, const char *detail);
/* From a GError: status and title from its CARA_ERROR code; a 500's detail is always the generic
 * "Internal server error" (the real message is logged). */
void cara_http_respond_error (CaraHttpRequest *r, const GError *error);
/* Adds a header to the response about to be sent (call before respond_*). */
void cara_http_request_add_response_header (CaraHttpRequest *r, const char *name, const char *value);

/* Escape hatch for what the helpers above do not cover (e.g. a WebSocket upgrade response made
 * with MHD_create_response_for_upgrade): queues @response (ownership taken) with @status. */
struct MHD_Response;
struct MHD_Connection;
void cara_http_respond_mhd (CaraHttpRequest *r, guint status, struct MHD_Response *response);
struct MHD_Connection *cara_http_request_get_connection (CaraHttpRequest *r);

/* ---- streaming responses ----
 * Starts a chunked response; data is written with cara_http_stream_write() from any thread.  While
 * no data is queued the connection is suspended, so it holds no worker thread.  @on_closed (may be
 * NULL) is called once, on a worker thread, when the connection ended (client gone or stream
 * closed and drained); after that writes return FALSE.  The returned stream holds one reference
 * for the caller: release it with cara_http_stream_unref(). */
CaraHttpStream *cara_http_respond_stream (CaraHttpRequest *r, guint status, const char *content_type,
                                          GDestroyNotify on_closed, gpointer user_data);
/* The same for bulk data (a volume's tar): not chunked but ended by closing the connection, so that
 * the body goes out in blocks of CARA_HTTP_BULK_BLOCK bytes (a chunked body's chunks are bounded by
 * the connection's 32 KiB memory pool, one send() and one reader call each).  The client must check
 * that it got everything by other means (a length or checksum of its own). */
#define CARA_HTTP_BULK_BLOCK (256 * 1024)
CaraHttpStream *cara_http_respond_stream_bulk (CaraHttpRequest *r, guint status, const char *content_type,
                                               GDestroyNotify on_closed, gpointer user_data);
/* Queues data; FALSE if the connection is gone or the stream was closed. */
gboolean cara_http_stream_write (CaraHttpStream *st, const char *data, gsize len);
/* Ends the response after the queued data. */
void cara_http_stream_close (CaraHttpStream *st);
gboolean cara_http_stream_is_open (CaraHttpStream *st);
/* Bytes queued but not yet handed to MHD (for back-pressure). */
gsize cara_http_stream_get_queued (CaraHttpStream *st);
CaraHttpStream *cara_http_stream_ref (CaraHttpStream *st);
void cara_http_stream_unref (CaraHttpStream *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraHttpStream, cara_http_stream_unref)
