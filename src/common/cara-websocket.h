/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* RFC 6455 WebSocket framing, shared by the agent's port-forward endpoint and the server's relay
 * (the HTTP handshake itself is libmicrohttpd's upgrade support or libcurl's; this is only the
 * frame codec): masking, fragmentation, control frames (ping/pong/close). */

#include <glib.h>

#define CARA_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

typedef enum {
  CARA_WS_OP_CONTINUATION = 0x0,
  CARA_WS_OP_TEXT = 0x1,
  CARA_WS_OP_BINARY = 0x2,
  CARA_WS_OP_CLOSE = 0x8,
  CARA_WS_OP_PING = 0x9,
  CARA_WS_OP_PONG = 0xA,
} CaraWsOpcode;

/* Close status codes used here. */
#define CARA_WS_CLOSE_NORMAL 1000
#define CARA_WS_CLOSE_GOING_AWAY 1001
#define CARA_WS_CLOSE_PROTOCOL_ERROR 1002
#define CARA_WS_CLOSE_TOO_BIG 1009

/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA-1(key + GUID)). */
char *cara_ws_accept_key (const char *client_key);
/* A fresh random Sec-WebSocket-Key (base64 of 16 random bytes). */
char *cara_ws_new_client_key (void);

/* Appends one frame to @out.  @mask: a client must mask every frame (a random key is drawn). */
void cara_ws_frame_append (GByteArray *out, CaraWsOpcode op, gboolean fin, const guint8 *payload, gsize len,
                           gboolean mask);
/* A CLOSE frame with @code and a short @reason (may be NULL). */
void cara_ws_close_append (GByteArray *out, guint16 code, const char *reason, gboolean mask);

/* Incremental decoder.  @expect_masked: TRUE on a server (clients must mask), FALSE on a client
 * (servers must not).  Frames whose payload exceeds @max_frame are refused (0 = 16 MiB). */
typedef struct _CaraWsDecoder CaraWsDecoder;

CaraWsDecoder *cara_ws_decoder_new (gboolean expect_masked, gsize max_frame);
void cara_ws_decoder_free (CaraWsDecoder *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraWsDecoder, cara_ws_decoder_free)

/* Called once per complete frame, payload unmasked.  For data frames @op is the opcode of the
 * message the frame belongs to (TEXT/BINARY, also for continuation frames) and @fin says whether
 * the message ends with it; control frames come with their own opcode (never fragmented).
 * Returning FALSE stops decoding (feed returns TRUE). */
typedef gboolean (*CaraWsFrameFunc) (CaraWsOpcode op, gboolean fin, const guint8 *payload, gsize len,
                                     gpointer user_data);

/* Feeds received bytes; frames may span calls.  A protocol violation (reserved bits, bad opcode,
 * wrong masking, fragmented or oversized control frame, stray continuation, too big) is a
 * CARA_ERROR_INVALID error: answer it with close code 1002 (1009 for too big). */
gboolean cara_ws_decoder_feed (CaraWsDecoder *d, const guint8 *data, gsize len, CaraWsFrameFunc func,
                               gpointer user_data, GError **error);
/* The close code to send after a feed error (1002 or 1009). */
guint16 cara_ws_decoder_error_code (CaraWsDecoder *d);
