/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Docker's archive API, streamed both ways (volume moves, SPEC §14): a tar of a path read from a
 * container, and a tar written into one.  Nothing is held in memory beyond one chunk. */

#include <gio/gio.h>

#include "cara-byte-pipe.h"
#include "docker.h"

/* GET /containers/{id}/archive?path=@path: the tar goes to @on_data chunk by chunk. */
gboolean docker_archive_get (DockerClient *dc, const char *id, const char *path, CaraHttpDataFunc on_data,
                             gpointer user_data, GCancellable *cancellable, GError **error);

/* PUT /containers/{id}/archive?path=@dir with the tar read from @pipe (filled by another thread)
 * until its end, chunked.  Works on a created, never started container.  Closes @pipe's reading
 * end when it returns, so that a writer waiting on a Docker that gave up early sees it at once. */
gboolean docker_archive_put_pipe (const char *docker_host, const char *api_version, const char *id, const char *dir,
                                  CaraBytePipe *pipe, GError **error);
