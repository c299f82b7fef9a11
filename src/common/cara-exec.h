/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The exec channel protocol (SPEC §11), shared by the agent, the server's relay and caractrl:
 * every binary WebSocket message starts with a channel byte.  Also the demultiplexer of Docker's
 * stdout/stderr stream framing, which the agent maps onto channels 1 and 2.  Pure logic. */

#include <glib.h>

#define CARA_EXEC_SUBPROTOCOL "v1.exec.caravanserai"

typedef enum {
  CARA_EXEC_CHANNEL_STDIN = 0,  /* client -> server; an empty payload closes stdin */
  CARA_EXEC_CHANNEL_STDOUT = 1, /* server -> client */
  CARA_EXEC_CHANNEL_STDERR = 2, /* server -> client */
  CARA_EXEC_CHANNEL_STATUS = 3, /* server -> client: {"exitCode": N}, then close */
  CARA_EXEC_CHANNEL_RESIZE = 4, /* client -> server: {"width": W, "height": H} */
} CaraExecChannel;

/* Appends one (unfragmented) binary WebSocket frame carrying @channel + @data to @out. */
void cara_exec_frame_append (GByteArray *out, CaraExecChannel channel, const guint8 *data, gsize len,
                             gboolean mask);

/* {"width": W, "height": H} with both in 1..65535; CARA_ERROR_INVALID naming the member otherwise. */
gboolean cara_exec_parse_size (const guint8 *data, gsize len, guint *ret_width, guint *ret_height, GError **error);
char *cara_exec_size_json (guint width, guint height);

/* {"exitCode": N}. */
char *cara_exec_status_json (int exit_code);
gboolean cara_exec_parse_status (const guint8 *data, gsize len, int *ret_exit_code, GError **error);

/* Docker's multiplexed stream (non-TTY attach and exec): [stream, 0, 0, 0, size (4 bytes, big
 * endian)] + payload, stream 0 stdin, 1 stdout, 2 stderr.  Fed in pieces of any size; @func gets
 * payload bytes with their stream as they come (a frame may arrive in several calls). */
typedef gboolean (*CaraDockerDemuxFunc) (guint stream, const guint8 *data, gsize len, gpointer user_data);

typedef struct {
  guint8 header[8];
  gsize header_len;
  gsize frame_left;
  guint stream;
} CaraDockerDemux;

/* Returns FALSE when @func did (the rest of @data is then not delivered). */
gboolean cara_docker_demux_feed (CaraDockerDemux *d, const guint8 *data, gsize len, CaraDockerDemuxFunc func,
                                 gpointer user_data);
