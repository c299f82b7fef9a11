/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Docker's archive API, streamed both ways (volume moves, SPEC §14): a tar of a path read from a
 * container, and a tar written into one.  Nothing is held in memory beyond one chunk. */

#include <gio/gio.h>

#include "docker.h"

/* GET /containers/{id}/archive?path=@path: the tar goes to @on_data chunk by chunk. */
gboolean docker_archive_get (DockerClient *dc, const char *id, const char *path, CaraHttpDataFunc on_data,
                             gpointer user_data, GCancellable *cancellable, GError **error);

/* PUT /containers/{id}/archive?path=@dir with the tar read from @fd (a socket or pipe) until its
 * end, chunked.  Works on a created, never started container. */
gboolean docker_archive_put_fd (const char *docker_host, const char *api_version, const char *id, const char *dir,
                                int fd, GError **error);
