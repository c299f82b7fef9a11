/* SPDX-License-Identifier: Apache-2.0 */
/* The exec channel protocol and Docker's stream demultiplexer (src/common/cara-exec.c). */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-exec.h"
#include "cara-websocket.h"

typedef struct {
  GString *out[3];
  guint calls;
  guint stop_after; /* 0 = never */
} Demuxed;

static gboolean
collect (guint stream, const guint8 *data, gsize len, gpointer user_data)
{
  Demuxed *d = user_data;
  g_assert_cmpuint (stream, <=, 2);
  g_string_append_len (d->out[stream], (const char *) data, (gssize) len);
  d->calls++;
  return d->stop_after == 0 || d->calls < d->stop_after;
}

static void
docker_frame (GByteArray *out, guint8 stream, const char *payload, gsize len)
{
  guint8 h[8] = { stream, 0, 0, 0, (guint8) (len >> 24), (guint8) (len >> 16), (guint8) (len >> 8), (guint8) len };
  g_byte_array_append (out, h, 8);
  g_byte_array_append (out, (const guint8 *) payload, (guint) len);
}

static void
demuxed_init (Demuxed *d)
{
  memset (d, 0, sizeof *d);
  for (guint i = 0; i < 3; i++)
    d->out[i] = g_string_new (NULL);
}

static void
demuxed_clear (Demuxed *d)
{
  for (guint i = 0; i < 3; i++)
    g_string_free (d->out[i], TRUE);
}

/* The same stream fed in pieces of every size gives the same bytes per stream. */
static void
test_demux_pieces (void)
{
  g_autoptr (GByteArray) in = g_byte_array_new ();
  g_autofree char *big = g_malloc (70000);
  for (gsize i = 0; i < 70000; i++)
    big[i] = (char) ('a' + i % 26);
  docker_frame (in, 1, "out-1\n", 6);
  docker_frame (in, 2, "err-1\n", 6);
  docker_frame (in, 1, "", 0); /* an empty frame is legal */
  docker_frame (in, 1, big, 70000);
  docker_frame (in, 2, "err-2", 5);
  static const gsize steps[] = { 1, 2, 7, 8, 9, 13, 4096, 100000 };
  for (guint s = 0; s < G_N_ELEMENTS (steps); s++)
    {
      Demuxed d;
      demuxed_init (&d);
      CaraDockerDemux dm = { 0 };
      for (gsize off = 0; off < in->len; off += steps[s])
        g_assert_true (cara_docker_demux_feed (&dm, in->data + off, MIN (steps[s], in->len - off), collect, &d));
      g_assert_cmpuint (d.out[1]->len, ==, 6 + 70000);
      g_assert_true (memcmp (d.out[1]->str, "out-1\n", 6) == 0);
      g_assert_true (memcmp (d.out[1]->str + 6, big, 70000) == 0);
      g_assert_cmpstr (d.out[2]->str, ==, "err-1\nerr-2");
      g_assert_cmpuint (d.out[0]->len, ==, 0);
      g_assert_cmpuint (dm.frame_left, ==, 0);
      g_assert_cmpuint (dm.header_len, ==, 0);
      demuxed_clear (&d);
    }
}

/* A callback returning FALSE stops delivery at once. */
static void
test_demux_stop (void)
{
  g_autoptr (GByteArray) in = g_byte_array_new ();
  docker_frame (in, 1, "a", 1);
  docker_frame (in, 2, "b", 1);
  Demuxed d;
  demuxed_init (&d);
  d.stop_after = 1;
  CaraDockerDemux dm = { 0 };
  g_assert_false (cara_docker_demux_feed (&dm, in->data, in->len, collect, &d));
  g_assert_cmpstr (d.out[1]->str, ==, "a");
  g_assert_cmpstr (d.out[2]->str, ==, "");
  demuxed_clear (&d);
}

typedef struct {
  guint8 op;
  GByteArray *payload;
} OneFrame;

static gboolean
one_frame (CaraWsOpcode op, gboolean fin, const guint8 *payload, gsize len, gpointer user_data)
{
  OneFrame *f = user_data;
  g_assert_true (fin);
  f->op = (guint8) op;
  g_byte_array_append (f->payload, payload, (guint) len);
  return TRUE;
}

/* A channel frame is one binary WebSocket message: channel byte + data (masked or not). */
static void
test_frame (void)
{
  for (int mask = 0; mask <= 1; mask++)
    {
      g_autoptr (GByteArray) out = g_byte_array_new ();
      cara_exec_frame_append (out, CARA_EXEC_CHANNEL_STDERR, (const guint8 *) "oops", 4, mask);
      g_autoptr (CaraWsDecoder) dec = cara_ws_decoder_new (mask, 0);
      g_autoptr (GByteArray) payload = g_byte_array_new ();
      OneFrame f = { .payload = payload };
      g_assert_true (cara_ws_decoder_feed (dec, out->data, out->len, one_frame, &f, NULL));
      g_assert_cmpuint (f.op, ==, CARA_WS_OP_BINARY);
      g_assert_cmpuint (payload->len, ==, 5);
      g_assert_cmpuint (payload->data[0], ==, 2);
      g_assert_true (memcmp (payload->data + 1, "oops", 4) == 0);
    }
  /* an empty stdin message: the channel byte alone */
  g_autoptr (GByteArray) out = g_byte_array_new ();
  cara_exec_frame_append (out, CARA_EXEC_CHANNEL_STDIN, NULL, 0, FALSE);
  g_assert_cmpuint (out->len, ==, 3);
  g_assert_cmpuint (out->data[1], ==, 1);
  g_assert_cmpuint (out->data[2], ==, 0);
}

static void
test_size (void)
{
  g_autofree char *json = cara_exec_size_json (120, 40);
  guint w = 0, h = 0;
  g_assert_true (cara_exec_parse_size ((const guint8 *) json, strlen (json), &w, &h, NULL));
  g_assert_cmpuint (w, ==, 120);
  g_assert_cmpuint (h, ==, 40);
  static const struct {
    const char *json;
    const char *word;
  } bad[] = {
    { "", "expected a JSON object" },
    { "{\"width\":", "invalid JSON" },
    { "[1,2]", "object" },
    { "{\"width\":80}", "height: required" },
    { "{\"width\":\"80\",\"height\":24}", "width: expected an integer" },
    { "{\"width\":0,\"height\":24}", "width: 0 is out of range" },
    { "{\"width\":80,\"height\":70000}", "height: 70000 is out of range" },
    { "{\"width\":8.5,\"height\":24}", "width: expected an integer" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      w = h = 7;
      g_assert_false (cara_exec_parse_size ((const guint8 *) bad[i].json, strlen (bad[i].json), &w, &h, &error));
      g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
      if (strstr (error->message, bad[i].word) == NULL)
        g_error ("%s: %s lacks %s", bad[i].json, error->message, bad[i].word);
      g_assert_cmpuint (w, ==, 7); /* ret_* untouched on failure */
    }
}

static void
test_status (void)
{
  for (int code = -1; code <= 256; code += 43)
    {
      g_autofree char *json = cara_exec_status_json (code);
      int got = 12345;
      g_assert_true (cara_exec_parse_status ((const guint8 *) json, strlen (json), &got, NULL));
      g_assert_cmpint (got, ==, code);
    }
  g_autoptr (GError) error = NULL;
  int got = 9;
  g_assert_false (cara_exec_parse_status ((const guint8 *) "{\"code\":1}", 10, &got, &error));
  g_assert_nonnull (strstr (error->message, "exitCode: required"));
  g_assert_cmpint (got, ==, 9);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/exec/demux/pieces", test_demux_pieces);
  g_test_add_func ("/exec/demux/stop", test_demux_stop);
  g_test_add_func ("/exec/frame", test_frame);
  g_test_add_func ("/exec/size", test_size);
  g_test_add_func ("/exec/status", test_status);
  return g_test_run ();
}
