/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

/* A bounded byte pipe between two threads of one process: one writer, one reader, a ring of a
 * fixed capacity allocated once.  Bulk data (a volume's tar) goes through it with one memcpy in
 * and one out, done outside the lock, instead of a socketpair's two trips through the kernel.
 * Writes block while the ring is full, reads while it is empty. */
typedef struct _CaraBytePipe CaraBytePipe;

CaraBytePipe *cara_byte_pipe_new (gsize capacity);
void cara_byte_pipe_free (CaraBytePipe *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraBytePipe, cara_byte_pipe_free)

/* Copies all of @data in, waiting for room.  FALSE (nothing more is taken) once the reader closed. */
gboolean cara_byte_pipe_write (CaraBytePipe *p, const void *data, gsize len);
/* The writer is done: the reader gets what is queued, then 0. */
void cara_byte_pipe_close_write (CaraBytePipe *p);
/* Up to @max bytes, waiting until there are some; 0 at the end (the writer closed, all read). */
gsize cara_byte_pipe_read (CaraBytePipe *p, void *buf, gsize max);
/* The reader gives up: writes waiting or to come return FALSE. */
void cara_byte_pipe_close_read (CaraBytePipe *p);
