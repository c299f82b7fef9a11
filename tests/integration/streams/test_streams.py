#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Logs and port-forward through the server (SPEC §3, §6; issue 7), with a real server, agent,
dockerd and the busybox image: the server's logs route (one service, all services prefixed,
tail, timestamps, follow) and `caractrl logs`; the server's portforward route spoken to by an
independent RFC 6455 client (page, 1 MiB echo, fragmentation, ping/pong, close, protocol error);
`caractrl port-forward` fetching a page with curl and echoing 1 MiB byte-identical; clear errors;
a dropped agent reported while new local connections keep being served; Ctrl-C exits 0.
Prints the tunnel's throughput against a direct connection to the container."""

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import cara_fixtures as fx  # noqa: E402
from cara_agent import Agent, AgentCluster, inspect, stream_test_project  # noqa: E402
from cara_ws import WebSocket  # noqa: E402

CTL = os.environ.get("CARACTRL_BIN", "caractrl")
MIB = 1024 * 1024


def ctl(c, *args, timeout=30):
    return subprocess.run([CTL, "-s", c.url, "--no-pager"] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, NO_COLOR="1", LANG="C"))


class Forwarder:
    """A running `caractrl port-forward`; stderr collected by a thread."""

    def __init__(self, c, target, *ports):
        self.p = subprocess.Popen([CTL, "-s", c.url, "port-forward", target] + list(ports), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=dict(os.environ, LANG="C"))
        fx.on_exit(self.kill)
        self.err = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        m = fx.wait_until(lambda: self._find(r"Forwarding from 127\.0\.0\.1:(\d+)"), timeout=15,
                          what="port-forward listening: %s" % self.stderr())
        self.port = int(m.group(1))

    def _read(self):
        for line in self.p.stderr:
            with self.lock:
                self.err.append(line)

    def stderr(self):
        with self.lock:
            return "".join(self.err)

    def _find(self, pattern):
        if self.p.poll() is not None:
            raise AssertionError("port-forward exited %s: %s" % (self.p.returncode, self.stderr()))
        return re.search(pattern, self.stderr())

    def wait_stderr(self, pattern, timeout=15):
        return fx.wait_until(lambda: self._find(pattern), timeout=timeout, what="%r in %s" % (pattern, self.stderr()))

    def interrupt(self):
        self.p.send_signal(signal.SIGINT)
        return self.p.wait(timeout=10)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def echo_roundtrip(sock, data, chunk=60000):
    """Sends @data while reading it back; returns (echoed bytes, seconds)."""
    t0 = time.monotonic()

    def sender():
        for i in range(0, len(data), chunk):
            sock.sendall(data[i:i + chunk])
    t = threading.Thread(target=sender)
    t.start()
    back = bytearray()
    while len(back) < len(data):
        b = sock.recv(262144)
        if not b:
            break
        back += b
    t.join()
    return bytes(back), time.monotonic() - t0


def main():
    if not os.path.exists(CTL):
        fx.skip("caractrl binary not found: " + CTL)
    with AgentCluster() as c:
        a = c.agent("s1")
        name = fx.unique_name("streams")
        c.apply(stream_test_project(name))
        c.wait_phase(name, "Running", timeout=60)
        logs = "%s/api/v1/projects/%s/logs" % (c.url, name)

        # ---- logs through the server
        fx.wait_until(lambda: b"tick-3" in fx.http("GET", logs + "?service=talker")[2], timeout=20, what="log lines")
        s, h, body = fx.http("GET", logs + "?service=talker")
        assert s == 200 and h["Content-Type"].startswith("text/plain"), (s, dict(h))
        text = body.decode()
        assert "out-line-1\n" in text and "err-line-1\n" in text and "\x00" not in text and "\x01" not in text, text[:80]
        s, _, body = fx.http("GET", logs + "?service=talker&tail=1&timestamps=true")
        lines = body.decode().splitlines()
        assert s == 200 and len(lines) == 1 and "tick-" in lines[0] and lines[0][:4].isdigit(), lines
        s, _, body = fx.http("GET", logs)  # every service, line by line with its prefix
        lines = body.decode().splitlines()
        assert s == 200 and "talker | out-line-1" in lines, lines[:5]
        assert all(re.match(r"^(web|echo|talker) \| ", l) for l in lines), [l for l in lines if " | " not in l][:3]
        # follow: new lines keep arriving on one open response
        conn = socket.create_connection(("127.0.0.1", c.server_port), timeout=10)
        conn.sendall(("GET /api/v1/projects/%s/logs?service=talker&follow=true&tail=0 HTTP/1.1\r\nHost: x\r\n\r\n"
                      % name).encode())
        got = b""
        deadline = time.monotonic() + 10
        while got.count(b"tick-") < 3 and time.monotonic() < deadline:
            got += conn.recv(4096)
        conn.close()
        assert b" 200 " in got.split(b"\r\n")[0] and got.count(b"tick-") >= 3, got
        # errors: problem+json
        for url, status, word in [(logs + "?service=nosuch", 404, "nosuch"),
                                  ("%s/api/v1/projects/nosuch-%s/logs" % (c.url, name), 404, "not found"),
                                  (logs + "?service=talker&tail=x", 400, "tail")]:
            s, h, body = fx.http("GET", url)
            assert s == status and h["Content-Type"] == "application/problem+json", (url, s, body)
            assert word in json.loads(body)["detail"], body

        # ---- caractrl logs
        r = ctl(c, "logs", name + "/talker")
        assert r.returncode == 0 and "out-line-1" in r.stdout and "err-line-1" in r.stdout, (r.returncode, r.stderr)
        r = ctl(c, "logs", name, "--tail", "2")
        assert r.returncode == 0 and "talker | tick-" in r.stdout, (r.stdout, r.stderr)
        r = ctl(c, "logs", name + "/nosuch")
        assert r.returncode == 1 and "nosuch" in r.stderr, (r.returncode, r.stderr)
        p = subprocess.Popen([CTL, "-s", c.url, "logs", "-f", "--tail", "0", name + "/talker"], stdout=subprocess.PIPE,
                             text=True)
        fx.on_exit(lambda: p.poll() is None and p.kill())
        seen = []
        deadline = time.monotonic() + 15
        while len(seen) < 3 and time.monotonic() < deadline:
            line = p.stdout.readline()
            if "tick-" in line:
                seen.append(line)
        assert len(seen) == 3, seen
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=10) == 0, p.returncode

        # ---- the server's portforward route, spoken to by an independent WebSocket client
        fwd = "/api/v1/projects/%s/portforward" % name
        ws = WebSocket("127.0.0.1", c.server_port, fwd + "?service=web&port=80")
        assert ws.status == 101, (ws.status, ws.headers, getattr(ws, "body", b""))
        ws.send_frame(2, b"GET / HTTP/1.0\r\nHost: web\r\n\r\n")
        page = b""
        while True:
            op, fin, payload = ws.recv_frame()
            if op == 8:
                break
            page += payload
        assert page.startswith(b"HTTP/1.") and b"cara-test busybox" in page, page[:200]
        assert struct.unpack("!H", payload[:2])[0] == 1000, payload
        ws.close()

        data = os.urandom(MIB)
        ws = WebSocket("127.0.0.1", c.server_port, fwd + "?service=echo&port=7000")
        assert ws.status == 101
        t0 = time.monotonic()
        t = threading.Thread(target=lambda: [ws.send_frame(2, data[i:i + 60000]) for i in range(0, MIB, 60000)])
        t.start()
        back = ws.recv_data(MIB)
        t.join()
        ws_secs = time.monotonic() - t0
        assert back == data, "echoed data differs"
        ws.send_frame(1, b"frag-", fin=False)
        ws.send_frame(0, b"ment-", fin=False)
        ws.send_frame(0, b"ed\n", fin=True)
        assert ws.recv_data(len(b"frag-ment-ed\n")) == b"frag-ment-ed\n"
        ws.send_frame(9, b"are you there")
        assert ws.recv_frame() == (10, True, b"are you there")
        ws.send_frame(8, struct.pack("!H", 1000))
        assert ws.recv_frame()[0] == 8
        ws.close()
        ws = WebSocket("127.0.0.1", c.server_port, fwd + "?service=echo&port=7000")
        ws.sock.sendall(bytes([0x82, 3]) + b"bad")  # unmasked client frame: protocol error
        op, _, payload = ws.recv_frame()
        assert op == 8 and struct.unpack("!H", payload[:2])[0] == 1002, (op, payload)
        ws.close()
        for query, status in [("?service=web&port=0", 400), ("?service=web", 400), ("?service=nosuch&port=80", 404),
                              ("?service=web&port=81", 502)]:
            ws = WebSocket("127.0.0.1", c.server_port, fwd + query)
            assert ws.status == status, (query, ws.status, getattr(ws, "body", b""))
            problem = json.loads(ws.body)
            assert problem["status"] == status and problem["detail"], problem
            ws.close()
        ws = WebSocket("127.0.0.1", c.server_port, "/api/v1/projects/nosuch-%s/portforward?service=web&port=80" % name)
        assert ws.status == 404, ws.status
        ws.close()
        s, _, body = fx.http("GET", c.url + fwd + "?service=web&port=80")  # not a WebSocket handshake
        assert s == 400, (s, body)

        # ---- caractrl port-forward
        f = Forwarder(c, name + "/web", "0:80")
        if shutil.which("curl"):
            out = subprocess.run(["curl", "-sS", "--max-time", "10", "http://127.0.0.1:%d/" % f.port],
                                 capture_output=True, text=True, timeout=20)
            assert out.returncode == 0 and "cara-test busybox" in out.stdout, (out.returncode, out.stdout, out.stderr)
        else:
            s, _, body = fx.http("GET", "http://127.0.0.1:%d/" % f.port)
            assert s == 200 and b"cara-test busybox" in body
        f.wait_stderr(r"Handling connection for 127\.0\.0\.1:\d+")
        assert f.interrupt() == 0, f.stderr()

        f = Forwarder(c, name + "/echo", "0:7000", "0:7001")
        sock = socket.create_connection(("127.0.0.1", f.port), timeout=20)
        back, tunnel_secs = echo_roundtrip(sock, data)
        sock.close()
        assert back == data, "1 MiB through caractrl port-forward differs (%d bytes back)" % len(back)
        # a port nothing listens on: the error is reported, the local connection closed, the command goes on
        port2 = int(re.findall(r"Forwarding from 127\.0\.0\.1:(\d+)", f.stderr())[1])
        s2 = socket.create_connection(("127.0.0.1", port2), timeout=10)
        assert s2.recv(10) == b""
        s2.close()
        f.wait_stderr(r"Error: Bad Gateway: .*7001")

        # direct connection to the container, for comparison
        ip = None
        for net, v in inspect("%s-echo" % name)["NetworkSettings"]["Networks"].items():
            ip = v.get("IPAddress") or ip
        direct_secs = None
        try:
            d = socket.create_connection((ip, 7000), timeout=5)
            back, direct_secs = echo_roundtrip(d, data)
            d.close()
            assert back == data
        except OSError as e:
            print("direct connection to %s:7000 not possible here: %s" % (ip, e))
        print("1 MiB echoed: direct %s, server WebSocket (Python client) %.1f MB/s, caractrl port-forward %.1f MB/s"
              " (MB/s = 2 MiB moved / s)" % ("%.1f MB/s" % (2 / direct_secs) if direct_secs else "n/a", 2 / ws_secs,
                                              2 / tunnel_secs))
        # throughput on a longer run (16 MiB each way), best of 3
        big = os.urandom(16 * MIB)

        def best(host, port):
            secs = []
            for _ in range(3):
                sk = socket.create_connection((host, port), timeout=30)
                back, t = echo_roundtrip(sk, big)
                sk.close()
                assert back == big, "16 MiB echo differs (%d bytes back)" % len(back)
                secs.append(t)
            return 32 / min(secs)
        tunnel_rate = best("127.0.0.1", f.port)
        direct_rate = best(ip, 7000) if direct_secs else None
        print("THROUGHPUT 16 MiB echo: direct to the container %s MB/s, through caractrl port-forward -> server -> "
              "agent %.1f MB/s" % ("%.1f" % direct_rate if direct_rate else "n/a", tunnel_rate))

        # a dropped agent is reported; new local connections are still served once it is back
        sock = socket.create_connection(("127.0.0.1", f.port), timeout=10)
        sock.sendall(b"ping\n")
        assert sock.recv(5) == b"ping\n"
        follow = socket.create_connection(("127.0.0.1", c.server_port), timeout=10)
        follow.sendall(("GET /api/v1/projects/%s/logs?follow=true&tail=0 HTTP/1.1\r\nHost: x\r\n\r\n" % name).encode())
        got = b""
        while b"talker | tick-" not in got:
            b = follow.recv(4096)
            assert b, got
            got += b
        a.kill()
        f.wait_stderr(r"lost the connection")
        # the interleaved log stream says in-band that the agent went away, then ends
        deadline = time.monotonic() + 15
        while b"log stream from the agent lost" not in got and time.monotonic() < deadline:
            b = follow.recv(4096)
            if not b:
                break
            got += b
        follow.close()
        assert b"talker | (log stream from the agent lost" in got, got[-300:]
        sock.close()
        s3 = socket.create_connection(("127.0.0.1", f.port), timeout=10)
        assert s3.recv(10) == b""  # no agent: refused, with an error on stderr
        s3.close()
        f.wait_stderr(r"Error: .*(Bad Gateway|cannot reach)")
        a2 = Agent(a.node, c.url, env={"AGENT_ADVERTISE_IP": "127.0.0.1"})
        c.agents.append(a2)
        a2.wait_ready()

        def agent_moved():
            s, n = c.api("GET", "/api/v1/nodes/" + a.node)
            return s == 200 and n["status"].get("network", {}).get("agentPort") == a2.port
        fx.wait_until(agent_moved, timeout=30, what="node's agentPort updated")

        def echo_works():
            try:
                s4 = socket.create_connection(("127.0.0.1", f.port), timeout=5)
                s4.sendall(b"again\n")
                ok = s4.recv(6) == b"again\n"
                s4.close()
                return ok
            except OSError:
                return False
        fx.wait_until(echo_works, timeout=30, what="echo through port-forward after the agent came back")
        assert f.interrupt() == 0, f.stderr()

        # unknown project / service: clear errors, exit 1; bad ports: usage, exit 2
        r = ctl(c, "port-forward", "nosuch-%s/web" % name, "8080")
        assert r.returncode == 1 and "not found" in r.stderr, (r.returncode, r.stderr)
        r = ctl(c, "port-forward", name + "/nosuch", "8080")
        assert r.returncode == 1 and "nosuch" in r.stderr, (r.returncode, r.stderr)
        r = ctl(c, "port-forward", name + "/web", "70000")
        assert r.returncode == 2 and "70000" in r.stderr, (r.returncode, r.stderr)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
