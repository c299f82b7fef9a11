/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Docker's exec API (SPEC §11): create, start with a hijacked stream, resize, exit code.  The
 * start call takes over its connection (HTTP upgrade to a raw stream, as the docker CLI does), so
 * it has a libcurl handle of its own (CONNECT_ONLY) instead of the DockerClient's. */

#include "docker.h"

/* POST /containers/{id}/exec: stdout and stderr attached, stdin when @attach_stdin. */
gboolean docker_exec_create (DockerClient *dc, const char *container_id, const char *const *argv,
                             gboolean attach_stdin, gboolean tty, char **ret_exec_id, GError **error);
/* POST /exec/{id}/resize?h=&w= */
gboolean docker_exec_resize (DockerClient *dc, const char *exec_id, guint width, guint height, GError **error);
/* GET /exec/{id}/json: whether it still runs, and its exit code once it does not. */
gboolean docker_exec_inspect (DockerClient *dc, const char *exec_id, gboolean *ret_running, int *ret_exit_code,
                              GError **error);

/* The hijacked connection of POST /exec/{id}/start: raw bytes both ways (Docker's multiplexed
 * frames from the process unless @tty). */
typedef struct _DockerHijack DockerHijack;

DockerHijack *docker_exec_start (DockerClient *dc, const char *exec_id, gboolean tty, GError **error);
void docker_hijack_free (DockerHijack *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DockerHijack, docker_hijack_free)
int docker_hijack_get_fd (DockerHijack *h);
/* Stream bytes that came with the answer's head; taken once. */
GBytes *docker_hijack_take_pending (DockerHijack *h);
/* > 0 bytes, 0 at end of stream, -1 on error, -2 when nothing is there yet. */
gssize docker_hijack_recv (DockerHijack *h, guint8 *buf, gsize len);
/* > 0 bytes taken, -2 when the socket is full, -1 on error. */
gssize docker_hijack_send (DockerHijack *h, const guint8 *data, gsize len);
/* Half-closes our side: the process sees the end of its stdin. */
void docker_hijack_close_write (DockerHijack *h);
