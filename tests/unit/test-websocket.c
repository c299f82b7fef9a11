/* SPDX-License-Identifier: Apache-2.0 */
/* The RFC 6455 frame codec (src/common/cara-websocket.c). */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-websocket.h"

typedef struct {
  GPtrArray *frames; /* GBytes: op(1) fin(1) payload */
} Collect;

static gboolean
collect (CaraWsOpcode op, gboolean fin, const guint8 *payload, gsize len, gpointer user_data)
{
  Collect *c = user_data;
  GByteArray *b = g_byte_array_new ();
  guint8 hdr[2] = { (guint8) op, (guint8) fin };
  g_byte_array_append (b, hdr, 2);
  g_byte_array_append (b, payload, (guint) len);
  g_ptr_array_add (c->frames, g_byte_array_free_to_bytes (b));
  return TRUE;
}

static void
test_accept_key (void)
{
  /* The example of RFC 6455 §1.3. */
  g_autofree char *k = cara_ws_accept_key ("dGhlIHNhbXBsZSBub25jZQ==");
  g_assert_cmpstr (k, ==, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  g_autofree char *c = cara_ws_new_client_key ();
  g_assert_cmpuint (strlen (c), ==, 24);
}

static void
roundtrip (gsize len, gboolean mask, gsize step)
{
  g_autofree guint8 *payload = g_malloc (len + 1);
  for (gsize i = 0; i < len; i++)
    payload[i] = (guint8) (i * 7);
  g_autoptr (GByteArray) wire = g_byte_array_new ();
  cara_ws_frame_append (wire, CARA_WS_OP_BINARY, TRUE, payload, len, mask);
  g_autoptr (CaraWsDecoder) d = cara_ws_decoder_new (mask, 0);
  Collect c = { .frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref) };
  g_autoptr (GError) error = NULL;
  for (gsize off = 0; off < wire->len; off += step)
    g_assert_true (cara_ws_decoder_feed (d, wire->data + off, MIN (step, wire->len - off), collect, &c, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.frames->len, ==, 1);
  gsize flen;
  const guint8 *f = g_bytes_get_data (g_ptr_array_index (c.frames, 0), &flen);
  g_assert_cmpuint (f[0], ==, CARA_WS_OP_BINARY);
  g_assert_cmpuint (f[1], ==, 1);
  g_assert_cmpuint (flen - 2, ==, len);
  g_assert_true (len == 0 || memcmp (f + 2, payload, len) == 0);
  g_ptr_array_unref (c.frames);
}

static void
test_roundtrip (void)
{
  gsize lens[] = { 0, 1, 125, 126, 127, 65535, 65536, 200000 };
  for (guint i = 0; i < G_N_ELEMENTS (lens); i++)
    {
      roundtrip (lens[i], TRUE, 1 + lens[i] / 3);
      roundtrip (lens[i], FALSE, 65536);
    }
  roundtrip (300, TRUE, 1); /* byte by byte */
}

static void
test_fragments_and_control (void)
{
  g_autoptr (GByteArray) wire = g_byte_array_new ();
  cara_ws_frame_append (wire, CARA_WS_OP_TEXT, FALSE, (const guint8 *) "ab", 2, TRUE);
  cara_ws_frame_append (wire, CARA_WS_OP_PING, TRUE, (const guint8 *) "p", 1, TRUE); /* between fragments */
  cara_ws_frame_append (wire, CARA_WS_OP_CONTINUATION, FALSE, (const guint8 *) "cd", 2, TRUE);
  cara_ws_frame_append (wire, CARA_WS_OP_CONTINUATION, TRUE, (const guint8 *) "e", 1, TRUE);
  cara_ws_close_append (wire, CARA_WS_CLOSE_NORMAL, "bye", TRUE);
  g_autoptr (CaraWsDecoder) d = cara_ws_decoder_new (TRUE, 0);
  Collect c = { .frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref) };
  g_autoptr (GError) error = NULL;
  g_assert_true (cara_ws_decoder_feed (d, wire->data, wire->len, collect, &c, &error));
  g_assert_cmpuint (c.frames->len, ==, 5);
  guint8 want_op[] = { CARA_WS_OP_TEXT, CARA_WS_OP_PING, CARA_WS_OP_TEXT, CARA_WS_OP_TEXT, CARA_WS_OP_CLOSE };
  guint8 want_fin[] = { 0, 1, 0, 1, 1 };
  for (guint i = 0; i < 5; i++)
    {
      const guint8 *f = g_bytes_get_data (g_ptr_array_index (c.frames, i), NULL);
      g_assert_cmpuint (f[0], ==, want_op[i]);
      g_assert_cmpuint (f[1], ==, want_fin[i]);
    }
  gsize len;
  const guint8 *close = g_bytes_get_data (g_ptr_array_index (c.frames, 4), &len);
  g_assert_cmpuint (len, ==, 2 + 2 + 3);
  g_assert_cmpuint ((close[2] << 8) | close[3], ==, 1000);
  g_assert_true (memcmp (close + 4, "bye", 3) == 0);
  g_ptr_array_unref (c.frames);
}

static void
expect_error (const guint8 *wire, gsize len, gboolean server, guint16 code)
{
  g_autoptr (CaraWsDecoder) d = cara_ws_decoder_new (server, 1000);
  Collect c = { .frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref) };
  g_autoptr (GError) error = NULL;
  g_assert_false (cara_ws_decoder_feed (d, wire, len, collect, &c, &error));
  g_assert_error (error, CARA_ERROR, CARA_ERROR_INVALID);
  g_assert_cmpuint (cara_ws_decoder_error_code (d), ==, code);
  g_ptr_array_unref (c.frames);
}

static void
test_errors (void)
{
  const guint8 unmasked[] = { 0x82, 0x01, 'x' };
  expect_error (unmasked, sizeof unmasked, TRUE, CARA_WS_CLOSE_PROTOCOL_ERROR);
  const guint8 masked_from_server[] = { 0x82, 0x81, 1, 2, 3, 4, 'x' };
  expect_error (masked_from_server, sizeof masked_from_server, FALSE, CARA_WS_CLOSE_PROTOCOL_ERROR);
  const guint8 rsv[] = { 0xc2, 0x80, 0, 0, 0, 0 };
  expect_error (rsv, sizeof rsv, TRUE, CARA_WS_CLOSE_PROTOCOL_ERROR);
  const guint8 bad_op[] = { 0x83, 0x80, 0, 0, 0, 0 };
  expect_error (bad_op, sizeof bad_op, TRUE, CARA_WS_CLOSE_PROTOCOL_ERROR);
  const guint8 frag_ping[] = { 0x09, 0x80, 0, 0, 0, 0 };
  expect_error (frag_ping, sizeof frag_ping, TRUE, CARA_WS_CLOSE_PROTOCOL_ERROR);
  const guint8 stray_cont[] = { 0x80, 0x80, 0, 0, 0, 0 };
  expect_error (stray_cont, sizeof stray_cont, TRUE, CARA_WS_CLOSE_PROTOCOL_ERROR);
  const guint8 nested[] = { 0x01, 0x80, 0, 0, 0, 0, 0x82, 0x80, 0, 0, 0, 0 };
  expect_error (nested, sizeof nested, TRUE, CARA_WS_CLOSE_PROTOCOL_ERROR);
  const guint8 too_big[] = { 0x82, 0xfe, 0x10, 0x00 }; /* 4096 > 1000 */
  expect_error (too_big, sizeof too_big, TRUE, CARA_WS_CLOSE_TOO_BIG);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/websocket/accept-key", test_accept_key);
  g_test_add_func ("/websocket/roundtrip", test_roundtrip);
  g_test_add_func ("/websocket/fragments-control", test_fragments_and_control);
  g_test_add_func ("/websocket/errors", test_errors);
  return g_test_run ();
}
