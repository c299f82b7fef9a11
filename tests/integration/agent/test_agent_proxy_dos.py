# SPDX-License-Identifier: Apache-2.0
"""The agent's ingress proxy against slow and greedy clients, with real sockets:
- a body announced over the 64 MiB limit is refused (413) before any of it is sent;
- a request whose headers do not arrive within 10 s is dropped (it held a connection 120 s);
- one client address may hold at most 64 connections (others are still served)."""

import socket
import time

from cara_agent import AgentCluster


def connect(port, source="127.0.0.1"):
    return socket.create_connection(("127.0.0.1", port), timeout=20, source_address=(source, 0))


def closed_within(s, seconds):
    t0 = time.monotonic()
    s.settimeout(seconds)
    try:
        while s.recv(4096):
            pass
        return time.monotonic() - t0
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - t0
    except socket.timeout:
        return None


def status_of(port, source="127.0.0.1"):
    s = connect(port, source)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: nosuch.example\r\nConnection: close\r\n\r\n")
        s.settimeout(10)
        data = s.recv(4096)
        return int(data.split()[1]) if data.startswith(b"HTTP/1.") else None
    except (ConnectionResetError, socket.timeout):
        return None
    finally:
        s.close()


def main():
    with AgentCluster() as c:
        a = c.agent("n1")
        port = a.proxy_port
        s = connect(port)
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (100 * 1024 * 1024))
        s.settimeout(5)
        assert s.recv(4096).startswith(b"HTTP/1.1 413"), "no 413 before the body"
        s.close()
        print("ok   413 before a too-large body is read")

        half = connect(port)
        half.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        took = closed_within(half, 18)
        assert took is not None, "a half-sent request was still open after 18 s"
        print("ok   half-sent request dropped after %.1f s" % took)

        held = []
        for _ in range(64):
            h = connect(port)
            h.sendall(b"GET / HTTP/1.1\r\nHost: nosuch.example\r\n\r\n")
            assert h.recv(4096).startswith(b"HTTP/1.1 "), "a held connection was not served"
            held.append(h)
        assert status_of(port) is None, "a 65th connection from one address was served"
        assert status_of(port, "127.0.0.2") == 404, "another address was not served"
        for h in held:
            h.close()
        print("ok   64 connections per client address")


if __name__ == "__main__":
    main()
