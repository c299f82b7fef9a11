#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The agent's HTTP API (reference §5.6): /healthz; logs (Docker's stream headers stripped, tail,
follow); the WebSocket port-forward, checked with an independent RFC 6455 client written here on
the standard library: a page fetched through the tunnel, 1 MiB echoed byte-identical, fragmented
client messages, ping/pong, close handshake; and the error answers."""

import json
import os
import socket
import struct
import sys
import threading
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, stream_test_project
from cara_ws import WebSocket


def main():
    with AgentCluster() as c:
        a = c.agent("h1")
        s, _, body = fx.http("GET", a.url + "/healthz")
        assert s == 200 and body == b"OK", (s, body)

        name = fx.unique_name("http")
        c.apply(stream_test_project(name))
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
