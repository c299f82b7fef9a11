#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The agent's HTTP API (reference §5.6): /healthz; logs (Docker's stream headers stripped, tail,
follow); the WebSocket port-forward, checked with an independent RFC 6455 client written here on
the standard library: a page fetched through the tunnel, 1 MiB echoed byte-identical, fragmented
client messages, ping/pong, close handshake; and the error answers."""

import base64
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, project, service

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebSocket:
    """A minimal RFC 6455 client: masked frames out, any frames in."""

    def __init__(self, host, port, path, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           % (path, host, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake: %r" % head)
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            assert self.headers.get("sec-websocket-accept") == want, self.headers
        else:
            length = int(self.headers.get("content-length", "0"))
            while len(self.buf) < length:
                self.buf += self.sock.recv(4096)
            self.body = self.buf[:length]

    def send_frame(self, opcode, payload, fin=True):
        mask = os.urandom(4)
        n = len(payload)
        hdr = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else \
            (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
        self.sock.sendall(hdr + mask + masked)

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk

    def recv_frame(self):
        """(opcode, fin, payload); server frames must not be masked."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        assert b1 & 0x80 == 0, "server frame is masked"
        n, off = b1 & 0x7f, 2
        if n == 126:
            self._need(4)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + n)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return b0 & 0x0f, bool(b0 & 0x80), payload

    def recv_data(self, want):
        """Reads data frames until `want` bytes arrived (answering nothing)."""
        got = b""
        while len(got) < want:
            op, fin, payload = self.recv_frame()
            assert op in (0, 1, 2), (op, payload)
            got += payload
        return got

    def close(self):
        self.sock.close()


def main():
    with AgentCluster() as c:
        a = c.agent("h1")
        s, _, body = fx.http("GET", a.url + "/healthz")
        assert s == 200 and body == b"OK", (s, body)

        name = fx.unique_name("http")
        c.apply(project(name, [
            service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"]),
            service("echo", command=["nc", "-ll", "-p", "7000", "-e", "cat"]),
            service("talker", command=["sh", "-c", "echo out-line-1; echo err-line-1 >&2; i=0; "
                                                    "while true; do i=$((i+1)); echo tick-$i; sleep 0.3; done"]),
        ]))
        c.wait_phase(name, "Running", timeout=60)

        # ---- logs
        base = "%s/api/v1/logs/%s" % (a.url, name)
        fx.wait_until(lambda: b"tick-3" in fx.http("GET", base + "/talker")[2], timeout=20, what="log lines")
        s, h, body = fx.http("GET", base + "/talker")
        assert s == 200 and h["Content-Type"].startswith("text/plain"), (s, dict(h))
        text = body.decode()
        assert text.startswith("out-line-1\n") or text.startswith("err-line-1\n"), text[:80]
        assert "err-line-1\n" in text and "\x00" not in text and "\x01" not in text, repr(text[:80])
        s, _, body = fx.http("GET", base + "/talker?tail=1&timestamps=true")
        lines = body.decode().splitlines()
        assert s == 200 and len(lines) == 1 and "tick-" in lines[0] and lines[0][:4].isdigit(), lines
        # follow: new lines keep arriving on one open response
        conn = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        conn.sendall(("GET /api/v1/logs/%s/talker?follow=true&tail=0 HTTP/1.1\r\nHost: x\r\n\r\n" % name).encode())
        got = b""
        deadline = time.monotonic() + 10
        while got.count(b"tick-") < 3 and time.monotonic() < deadline:
            got += conn.recv(4096)
        conn.close()
        assert b"200" in got.split(b"\r\n")[0] and got.count(b"tick-") >= 3, got
        s, _, body = fx.http("GET", base + "/nosuch")
        assert s == 404 and b"container not found" in body, (s, body)

        # ---- port-forward
        fwd = "/api/v1/forward/%s" % name
        ws = WebSocket("127.0.0.1", a.port, fwd + "/web/80")
        assert ws.status == 101, (ws.status, ws.headers)
        ws.send_frame(2, b"GET / HTTP/1.0\r\nHost: web\r\n\r\n")
        page = b""
        while True:
            op, fin, payload = ws.recv_frame()
            if op == 8:
                break
            page += payload
        assert page.startswith(b"HTTP/1.") and b"cara-test busybox" in page, page[:200]
        assert struct.unpack("!H", payload[:2])[0] == 1000, payload  # the agent closes properly
        ws.close()

        # 1 MiB through the echo service comes back byte-identical
        data = os.urandom(1024 * 1024)
        ws = WebSocket("127.0.0.1", a.port, fwd + "/echo/7000")
        assert ws.status == 101
        t0 = time.monotonic()

        def sender():
            for i in range(0, len(data), 60000):
                ws.send_frame(2, data[i:i + 60000])
        t = threading.Thread(target=sender)
        t.start()
        back = ws.recv_data(len(data))
        t.join()
        took = time.monotonic() - t0
        assert back == data, "echoed data differs"
        print("1 MiB echoed through the agent tunnel in %.3f s (%.1f MB/s both ways)" % (took, 2 / took))
        # a fragmented message (text + continuation), then ping/pong, then the close handshake
        ws.send_frame(1, b"frag-", fin=False)
        ws.send_frame(0, b"ment-", fin=False)
        ws.send_frame(0, b"ed\n", fin=True)
        assert ws.recv_data(len(b"frag-ment-ed\n")) == b"frag-ment-ed\n"
        ws.send_frame(9, b"are you there")
        op, fin, payload = ws.recv_frame()
        assert (op, fin, payload) == (10, True, b"are you there"), (op, payload)
        ws.send_frame(8, struct.pack("!H", 1000))
        op, _, payload = ws.recv_frame()
        assert op == 8, op
        ws.close()
        # an unmasked client frame is a protocol error: close 1002
        ws = WebSocket("127.0.0.1", a.port, fwd + "/echo/7000")
        ws.sock.sendall(bytes([0x82, 3]) + b"bad")
        op, _, payload = ws.recv_frame()
        assert op == 8 and struct.unpack("!H", payload[:2])[0] == 1002, (op, payload)
        ws.close()

        # errors
        for path, status in [(fwd + "/web/0", 400), (fwd + "/web/99999", 400), (fwd + "/nosuch/80", 404),
                             (fwd + "/web/81", 502)]:
            ws = WebSocket("127.0.0.1", a.port, path)
            assert ws.status == status, (path, ws.status, getattr(ws, "body", b""))
            problem = json.loads(ws.body)
            assert problem["status"] == status and problem["detail"], problem
            ws.close()
        s, _, body = fx.http("GET", a.url + fwd + "/web/80")  # not a WebSocket handshake
        assert s == 400, (s, body)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
