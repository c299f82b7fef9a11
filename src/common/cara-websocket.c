/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "cara-error.h"
#include "cara-websocket.h"

char *
cara_ws_accept_key (const char *client_key)
{
  g_autofree char *s = g_strconcat (client_key, CARA_WS_GUID, NULL);
  guint8 digest[20];
  gsize dlen = sizeof digest;
  g_autoptr (GChecksum) c = g_checksum_new (G_CHECKSUM_SHA1);
  g_checksum_update (c, (const guchar *) s, -1);
  g_checksum_get_digest (c, digest, &dlen);
  return g_base64_encode (digest, dlen);
}

char *
cara_ws_new_client_key (void)
{
  guint8 raw[16];
  for (gsize i = 0; i < sizeof raw; i += 4)
    {
      guint32 r = g_random_int ();
      memcpy (raw + i, &r, 4);
    }
  return g_base64_encode (raw, sizeof raw);
}

void
cara_ws_frame_append (GByteArray *out, CaraWsOpcode op, gboolean fin, const guint8 *payload, gsize len,
                      gboolean mask)
{
  guint8 hdr[14];
  gsize n = 0;
  hdr[n++] = (guint8) ((fin ? 0x80 : 0) | (op & 0x0f));
  guint8 m = mask ? 0x80 : 0;
  if (len < 126)
    hdr[n++] = (guint8) (m | len);
  else if (len <= 0xffff)
    {
      hdr[n++] = m | 126;
      hdr[n++] = (guint8) (len >> 8);
      hdr[n++] = (guint8) len;
    }
  else
    {
      hdr[n++] = m | 127;
      for (int i = 7; i >= 0; i--)
        hdr[n++] = (guint8) ((guint64) len >> (8 * i));
    }
  guint8 key[4] = { 0 };
  if (mask)
    {
      guint32 r = g_random_int ();
      memcpy (key, &r, 4);
      memcpy (hdr + n, key, 4);
      n += 4;
    }
  g_byte_array_append (out, hdr, (guint) n);
  gsize start = out->len;
  if (len)
    g_byte_array_append (out, payload, (guint) len);
  if (mask)
    for (gsize i = 0; i < len; i++)
      out->data[start + i] ^= key[i & 3];
}

void
cara_ws_close_append (GByteArray *out, guint16 code, const char *reason, gboolean mask)
{
  guint8 body[125];
  gsize rlen = reason ? MIN (strlen (reason), sizeof body - 2) : 0;
  body[0] = (guint8) (code >> 8);
  body[1] = (guint8) code;
  if (rlen)
    memcpy (body + 2, reason, rlen);
  cara_ws_frame_append (out, CARA_WS_OP_CLOSE, TRUE, body, rlen + 2, mask);
}

struct _CaraWsDecoder {
  gboolean expect_masked;
  gsize max_frame;
  GByteArray *buf;     /* bytes not yet consumed */
  int message_op;      /* opcode of the fragmented message in progress, or -1 */
  guint16 error_code;
};

CaraWsDecoder *
cara_ws_decoder_new (gboolean expect_masked, gsize max_frame)
{
  CaraWsDecoder *d = g_new0 (CaraWsDecoder, 1);
  d->expect_masked = expect_masked;
  d->max_frame = max_frame ? max_frame : 16 * 1024 * 1024;
  d->buf = g_byte_array_new ();
  d->message_op = -1;
  d->error_code = CARA_WS_CLOSE_PROTOCOL_ERROR;
  return d;
}

void
cara_ws_decoder_free (CaraWsDecoder *d)
{
  if (d == NULL)
    return;
  g_byte_array_unref (d->buf);
  g_free (d);
}

guint16
cara_ws_decoder_error_code (CaraWsDecoder *d)
{
  return d->error_code;
}

static gboolean
protocol_error (CaraWsDecoder *d, guint16 code, GError **error, const char *msg)
{
  d->error_code = code;
  g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "WebSocket protocol error: %s", msg);
  return FALSE;
}

gboolean
cara_ws_decoder_feed (CaraWsDecoder *d, const guint8 *data, gsize len, CaraWsFrameFunc func, gpointer user_data,
                      GError **error)
{
  if (len)
    g_byte_array_append (d->buf, data, (guint) len);
  gsize pos = 0;
  gboolean go_on = TRUE;
  while (go_on)
    {
      const guint8 *p = d->buf->data + pos;
      gsize avail = d->buf->len - pos;
      if (avail < 2)
        break;
      gboolean fin = (p[0] & 0x80) != 0;
      guint8 rsv = p[0] & 0x70;
      guint8 op = p[0] & 0x0f;
      gboolean masked = (p[1] & 0x80) != 0;
      guint64 plen = p[1] & 0x7f;
      gsize hlen = 2;
      if (rsv)
        return protocol_error (d, CARA_WS_CLOSE_PROTOCOL_ERROR, error, "reserved bits set");
      if (masked != d->expect_masked)
        return protocol_error (d, CARA_WS_CLOSE_PROTOCOL_ERROR, error,
                               d->expect_masked ? "unmasked frame from a client" : "masked frame from a server");
      gboolean control = (op & 0x08) != 0;
      if (!(op == CARA_WS_OP_CONTINUATION || op == CARA_WS_OP_TEXT || op == CARA_WS_OP_BINARY
            || op == CARA_WS_OP_CLOSE || op == CARA_WS_OP_PING || op == CARA_WS_OP_PONG))
        return protocol_error (d, CARA_WS_CLOSE_PROTOCOL_ERROR, error, "unknown opcode");
      if (control && (!fin || plen > 125))
        return protocol_error (d, CARA_WS_CLOSE_PROTOCOL_ERROR, error, "fragmented or long control frame");
      if (plen == 126)
        {
          if (avail < 4)
            break;
          plen = ((guint64) p[2] << 8) | p[3];
          hlen = 4;
        }
      else if (plen == 127)
        {
          if (avail < 10)
            break;
          plen = 0;
          for (int i = 0; i < 8; i++)
            plen = (plen << 8) | p[2 + i];
          hlen = 10;
          if (plen >> 63)
            return protocol_error (d, CARA_WS_CLOSE_PROTOCOL_ERROR, error, "bad payload length");
        }
      if (plen > d->max_frame)
        return protocol_error (d, CARA_WS_CLOSE_TOO_BIG, error, "frame too big");
      if (masked)
        hlen += 4;
      if (avail < hlen + plen)
        break;

      guint8 *payload = d->buf->data + pos + hlen;
      if (masked)
        {
          const guint8 *key = p + hlen - 4;
          for (gsize i = 0; i < plen; i++)
            payload[i] ^= key[i & 3];
        }

      CaraWsOpcode deliver_op = op;
      if (!control)
        {
          if (op == CARA_WS_OP_CONTINUATION)
            {
              if (d->message_op < 0)
                return protocol_error (d, CARA_WS_CLOSE_PROTOCOL_ERROR, error, "continuation without a message");
              deliver_op = (CaraWsOpcode) d->message_op;
            }
          else if (d->message_op >= 0)
            return protocol_error (d, CARA_WS_CLOSE_PROTOCOL_ERROR, error, "new message inside a fragmented one");
          d->message_op = fin ? -1 : (int) deliver_op;
        }
      pos += hlen + (gsize) plen;
      go_on = func (deliver_op, fin, payload, (gsize) plen, user_data);
    }
  g_byte_array_remove_range (d->buf, 0, (guint) pos);
  return TRUE;
}
