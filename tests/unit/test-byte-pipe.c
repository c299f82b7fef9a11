/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded byte pipe between two threads (src/common/cara-byte-pipe.c) that carries a volume's
 * tar from the relay's stream to Docker's PUT: every byte arrives once and in order through a
 * ring much smaller than the data, whatever the sizes of the writes and reads; the end reaches
 * the reader after what was queued; a reader that gives up releases a blocked writer. */
#include "config.h"

#include "cara-byte-pipe.h"

#define TOTAL (3 * 1024 * 1024 + 17)

static guint8
byte_at (gsize i)
{
  return (guint8) ((i * 2654435761u) >> 13);
}

typedef struct {
  CaraBytePipe *pipe;
  gsize written;
  gboolean ok;
} Writer;

static gpointer
writer_thread (gpointer data)
{
  Writer *w = data;
  guint8 buf[7919];
  gsize sizes[] = { 1, 4096, 7919, 333, 5000 };
  w->ok = TRUE;
  for (guint k = 0; w->written < TOTAL; k++)
    {
      gsize n = MIN (sizes[k % G_N_ELEMENTS (sizes)], TOTAL - w->written);
      for (gsize i = 0; i < n; i++)
        buf[i] = byte_at (w->written + i);
      if (!cara_byte_pipe_write (w->pipe, buf, n))
        {
          w->ok = FALSE;
          break;
        }
      w->written += n;
    }
  cara_byte_pipe_close_write (w->pipe);
  return NULL;
}

static void
test_order (void)
{
  g_autoptr (CaraBytePipe) pipe = cara_byte_pipe_new (10007);
  Writer w = { .pipe = pipe };
  GThread *th = g_thread_new ("writer", writer_thread, &w);
  guint8 buf[65536];
  gsize sizes[] = { 65536, 3, 10007, 12000, 1 };
  gsize got = 0, bad = 0;
  for (guint k = 0;; k++)
    {
      gsize n = cara_byte_pipe_read (pipe, buf, sizes[k % G_N_ELEMENTS (sizes)]);
      if (n == 0)
        break;
      g_assert_cmpuint (n, <=, sizes[k % G_N_ELEMENTS (sizes)]);
      for (gsize i = 0; i < n; i++)
        bad += buf[i] != byte_at (got + i);
      got += n;
    }
  g_thread_join (th);
  g_assert_true (w.ok);
  g_assert_cmpuint (got, ==, TOTAL);
  g_assert_cmpuint (bad, ==, 0);
  /* At the end it stays at the end. */
  g_assert_cmpuint (cara_byte_pipe_read (pipe, buf, sizeof buf), ==, 0);
}

static void
test_end_after_queued (void)
{
  g_autoptr (CaraBytePipe) pipe = cara_byte_pipe_new (16);
  char buf[16];
  g_assert_true (cara_byte_pipe_write (pipe, "0123456789", 10));
  cara_byte_pipe_close_write (pipe);
  g_assert_cmpuint (cara_byte_pipe_read (pipe, buf, 4), ==, 4);
  g_assert_cmpmem (buf, 4, "0123", 4);
  g_assert_cmpuint (cara_byte_pipe_read (pipe, buf, sizeof buf), ==, 6);
  g_assert_cmpmem (buf, 6, "456789", 6);
  g_assert_cmpuint (cara_byte_pipe_read (pipe, buf, sizeof buf), ==, 0);
}

static void
test_reader_gives_up (void)
{
  g_autoptr (CaraBytePipe) pipe = cara_byte_pipe_new (4096);
  Writer w = { .pipe = pipe };
  GThread *th = g_thread_new ("writer", writer_thread, &w);
  guint8 buf[100];
  g_assert_cmpuint (cara_byte_pipe_read (pipe, buf, sizeof buf), >, 0);
  /* The writer has far more than the ring holds: it is (or will be) blocked until this. */
  cara_byte_pipe_close_read (pipe);
  g_thread_join (th);
  g_assert_false (w.ok);
  g_assert_cmpuint (w.written, <, TOTAL);
  g_assert_false (cara_byte_pipe_write (pipe, "x", 1));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/byte-pipe/order", test_order);
  g_test_add_func ("/byte-pipe/end-after-queued", test_end_after_queued);
  g_test_add_func ("/byte-pipe/reader-gives-up", test_reader_gives_up);
  return g_test_run ();
}
