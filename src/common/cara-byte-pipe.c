/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "cara-byte-pipe.h"

struct _CaraBytePipe {
  GMutex lock;
  GCond cond;   /* the writer waits for room, the reader for data: one of them at a time */
  guint8 *ring;
  gsize capacity;
  gsize head;   /* total bytes written; under lock */
  gsize tail;   /* total bytes read; under lock */
  gboolean write_closed, read_closed;
};

CaraBytePipe *
cara_byte_pipe_new (gsize capacity)
{
  g_return_val_if_fail (capacity > 0, NULL);
  CaraBytePipe *p = g_new0 (CaraBytePipe, 1);
  g_mutex_init (&p->lock);
  g_cond_init (&p->cond);
  p->ring = g_malloc (capacity);
  p->capacity = capacity;
  return p;
}

void
cara_byte_pipe_free (CaraBytePipe *p)
{
  if (p == NULL)
    return;
  g_mutex_clear (&p->lock);
  g_cond_clear (&p->cond);
  g_free (p->ring);
  g_free (p);
}

gboolean
cara_byte_pipe_write (CaraBytePipe *p, const void *data, gsize len)
{
  const guint8 *src = data;
  while (len > 0)
    {
      g_mutex_lock (&p->lock);
      while (p->head - p->tail == p->capacity && !p->read_closed)
        g_cond_wait (&p->cond, &p->lock);
      if (p->read_closed)
        {
          g_mutex_unlock (&p->lock);
          return FALSE;
        }
      /* The free span from head to the end of the ring or to the tail: only we write there. */
      gsize at = p->head % p->capacity;
      gsize n = MIN (MIN (len, p->capacity - (p->head - p->tail)), p->capacity - at);
      g_mutex_unlock (&p->lock);
      memcpy (p->ring + at, src, n);
      g_mutex_lock (&p->lock);
      gboolean was_empty = p->head == p->tail;
      p->head += n;
      if (was_empty)
        g_cond_broadcast (&p->cond);
      g_mutex_unlock (&p->lock);
      src += n;
      len -= n;
    }
  return TRUE;
}

/* Either end's close wakes the other end, whichever way it waits. */
static void
close_end (CaraBytePipe *p, gboolean *closed)
{
  g_mutex_lock (&p->lock);
  *closed = TRUE;
  g_cond_broadcast (&p->cond);
  g_mutex_unlock (&p->lock);
}

void
cara_byte_pipe_close_write (CaraBytePipe *p)
{
  close_end (p, &p->write_closed);
}

gsize
cara_byte_pipe_read (CaraBytePipe *p, void *buf, gsize max)
{
  g_mutex_lock (&p->lock);
  while (p->head == p->tail && !p->write_closed)
    g_cond_wait (&p->cond, &p->lock);
  gsize at = p->tail % p->capacity;
  gsize n = MIN (MIN (max, p->head - p->tail), p->capacity - at);
  g_mutex_unlock (&p->lock);
  if (n == 0)
    return 0;
  memcpy (buf, p->ring + at, n);
  g_mutex_lock (&p->lock);
  gboolean was_full = p->head - p->tail == p->capacity;
  p->tail += n;
  if (was_full)
    g_cond_broadcast (&p->cond);
  g_mutex_unlock (&p->lock);
  return n;
}

void
cara_byte_pipe_close_read (CaraBytePipe *p)
{
  close_end (p, &p->read_closed);
}
