#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Streams do not hold API workers (issue 7): with 50 followed log streams and 50 forwarded
connections open through the server at once, the API keeps answering normally, every stream
keeps flowing, and closing them frees the server's stream slots."""

import socket
import statistics
import sys
import time

import cara_fixtures as fx  # noqa: E402
from cara_agent import AgentCluster, project, service  # noqa: E402
from cara_ws import WebSocket  # noqa: E402

N = 50


def api_latencies(c, rounds=20):
    out = []
    for _ in range(rounds):
        for path in ("/api/healthz", "/api/v1/projects", "/api/v1/nodes"):
            t0 = time.monotonic()
            s, _, _ = fx.http("GET", c.url + path, timeout=10)
            out.append(time.monotonic() - t0)
            assert s == 200, (path, s)
    return out


def threads_of(pid):
    with open("/proc/%d/status" % pid) as f:
        return int([l for l in f if l.startswith("Threads:")][0].split()[1])


def ws_echo(ws, msg):
    ws.send_frame(2, msg)
    return ws.recv_data(len(msg)) == msg


def main():
    with AgentCluster() as c:
        c.agent("l1")
        name = fx.unique_name("load")
        c.apply(project(name, [
            service("echo", command=["nc", "-ll", "-p", "7000", "-e", "cat"]),
            service("talker", command=["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done"]),
        ]))
        c.wait_phase(name, "Running", timeout=60)
        base = api_latencies(c)

        logs = []
        for i in range(N):
            s = socket.create_connection(("127.0.0.1", c.server_port), timeout=15)
            s.sendall(("GET /api/v1/projects/%s/logs?service=talker&follow=true&tail=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                       % name).encode())
            logs.append(s)
        for s in logs:
            got = b""
            while b"tick-" not in got:
                b = s.recv(4096)
                assert b, "log stream closed early"
                got += b
            assert b" 200 " in got.split(b"\r\n")[0], got[:100]
        fwds = []
        for i in range(N):
            ws = WebSocket("127.0.0.1", c.server_port,
                           "/api/v1/projects/%s/portforward?service=echo&port=7000" % name, timeout=15)
            assert ws.status == 101, (i, ws.status, getattr(ws, "body", b""))
            fwds.append(ws)
        for i, ws in enumerate(fwds):
            assert ws_echo(ws, b"hello-%d\n" % i)

        loaded = api_latencies(c)
        print("server threads with %d log streams + %d forwarded connections open: %d"
              % (N, N, threads_of(c.server.pid)))
        print("API latency idle: median %.1f ms, max %.1f ms; loaded: median %.1f ms, max %.1f ms"
              % (statistics.median(base) * 1000, max(base) * 1000, statistics.median(loaded) * 1000,
                 max(loaded) * 1000))
        assert max(loaded) < 1.0 and statistics.median(loaded) < 0.1, loaded

        # every stream still flows
        for s in logs:
            s.settimeout(10)
            got = b""
            while got.count(b"tick-") < 1:
                b = s.recv(4096)
                assert b, "log stream closed"
                got += b
        for i, ws in enumerate(fwds):
            assert ws_echo(ws, b"again-%d\n" % i)

        for s in logs:
            s.close()
        for ws in fwds:
            ws.close()
        # the slots come back: the server's thread count falls back
        fx.wait_until(lambda: threads_of(c.server.pid) < 2 * N, timeout=20,
                      what="relay threads gone (now %d)" % threads_of(c.server.pid))
        ws = WebSocket("127.0.0.1", c.server_port, "/api/v1/projects/%s/portforward?service=echo&port=7000" % name)
        assert ws.status == 101 and ws_echo(ws, b"last\n")
        ws.close()
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
