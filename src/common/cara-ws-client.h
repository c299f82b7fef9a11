/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The client side of a WebSocket connection (RFC 6455 §4.1) over libcurl: libcurl opens the
 * connection (TCP or TLS, CONNECT_ONLY), we send the upgrade request and check the 101 answer.
 * Used by the server's port-forward relay (to the agent) and by caractrl port-forward (to the
 * server).  Frames are made and read with cara-websocket.h. */

#include <glib.h>

typedef struct _CaraWsClient CaraWsClient;

typedef struct {
  const char *token;   /* bearer token, may be NULL */
  const char *ca_file; /* may be NULL */
  guint timeout_ms;    /* connect + handshake (0 = 10 s) */
  const char *protocol; /* Sec-WebSocket-Protocol to ask for (the answer must name it), may be NULL */
} CaraWsClientOptions;

/* Opens @base_url + @path ("http://host:port", "https://..."; @path with its query) and upgrades.
 * When the peer answers with another status, returns NULL with @ret_status set to it and
 * @ret_body (may be NULL) to the body it sent (e.g. problem+json); *error then holds a
 * CARA_ERROR made from the answer.  A transport failure leaves @ret_status at 0 and gives a
 * CARA_ERROR_UNREACHABLE (or CARA_ERROR_FAILED) error. */
CaraWsClient *cara_ws_client_connect (const char *base_url, const char *path, const CaraWsClientOptions *opts,
                                      guint *ret_status, GBytes **ret_body, GError **error);
void cara_ws_client_free (CaraWsClient *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraWsClient, cara_ws_client_free)

/* The socket to poll (POLLIN) for readability. */
int cara_ws_client_get_fd (CaraWsClient *c);
/* Bytes that arrived with the handshake answer (frames already sent by the peer); taken once. */
GBytes *cara_ws_client_take_pending (CaraWsClient *c);
/* Reads what is available: > 0 bytes, 0 at end of stream, -1 on error; EAGAIN-like "nothing
 * yet" gives -2. */
gssize cara_ws_client_recv (CaraWsClient *c, guint8 *buf, gsize len);
/* Sends what the socket takes now: > 0 bytes, -2 when it is full, -1 on error. */
gssize cara_ws_client_send (CaraWsClient *c, const guint8 *data, gsize len);
/* Sends everything (waits while the socket is full: that is the back-pressure). */
gboolean cara_ws_client_send_all (CaraWsClient *c, const guint8 *data, gsize len);
