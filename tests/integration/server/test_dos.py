# SPDX-License-Identifier: Apache-2.0
"""Denial of service before authentication, with real sockets against a real server:
- the bearer token is checked as soon as the headers are in: a request announcing a 1 MiB body
  without a valid token gets its 401 at once, before any of the body is sent (nothing buffered);
- a request whose headers do not arrive within 10 s is dropped (a half-sent request held the
  connection for 120 s), and so is a kept-alive connection idle for as long;
- while a watch stream with no events stays open well past those 10 s."""

import os
import socket
import time

from cara_fixtures import wait_until
from cara_server import CaraServer, postgres

ADMIN = "admin-dos-" + os.urandom(16).hex()
HEADER_TIMEOUT = 10


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def closed_within(s, seconds):
    """Seconds until the server closed @s (EOF or reset), or None if it stayed open."""
    t0 = time.monotonic()
    s.settimeout(seconds)
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return time.monotonic() - t0
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - t0
    except socket.timeout:
        return None


def check_auth_before_body(srv):
    for headers in [b"", b"Authorization: Bearer wrong-" + os.urandom(16).hex().encode() + b"\r\n"]:
        s = connect(srv.port)
        s.sendall(b"POST /api/v1/projects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headers
                  + b"Content-Length: 1000000\r\n\r\n")
        s.settimeout(5)
        head = read_head(s)  # no body byte sent: the answer cannot wait for it
        assert head.startswith(b"HTTP/1.1 401"), head
        assert b"application/problem+json" in head, head
        s.close()
    # a valid token still gets to send its body and is answered after it
    s = connect(srv.port)
    body = b'{"metadata": {"name": "dos-ok"}, "spec": {"services": [{"name": "a", "image": "busybox"}]}}'
    s.sendall(b"POST /api/v1/projects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer "
              + ADMIN.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body))
    s.settimeout(1)
    try:
        early = s.recv(100)
    except socket.timeout:
        early = b""
    assert early == b"", early
    s.settimeout(10)
    s.sendall(body)
    assert read_head(s).startswith(b"HTTP/1.1 201"), "admin create"
    s.close()
    print("ok   401 before the body is read")


def check_header_timeout(srv):
    half = connect(srv.port)
    half.sendall(b"GET /api/v1/nodes HTTP/1.1\r\nHost: x\r\nX-Slow: a")
    idle = connect(srv.port)
    idle.sendall(b"GET /api/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_head(idle).startswith(b"HTTP/1.1 200")
    watch = connect(srv.port)
    watch.sendall(b"GET /api/v1/projects?watch=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN.encode()
                  + b"\r\n\r\n")
    assert read_head(watch).startswith(b"HTTP/1.1 200"), "watch"
    took = closed_within(half, HEADER_TIMEOUT + 8)
    assert took is not None, "a half-sent request was still open after %d s" % (HEADER_TIMEOUT + 8)
    took_idle = closed_within(idle, 5)
    assert took_idle is not None, "an idle kept-alive connection outlived the header timeout"
    assert closed_within(watch, 4) is None, "the watch stream was closed"
    # and it still delivers
    status, _ = srv.json("POST", "/api/v1/projects",
                         {"metadata": {"name": "dos-late"}, "spec": {"services": [{"name": "a", "image": "busybox"}]}},
                         {"Authorization": "Bearer " + ADMIN})
    assert status == 201, status
    watch.settimeout(10)
    got = b""
    while b"dos-late" not in got:
        chunk = watch.recv(65536)
        assert chunk, "watch closed"
        got += chunk
    watch.close()
    print("ok   half-sent request dropped after %.1f s; the watch stream stayed open" % took)


def main():
    with postgres() as pg:
        with CaraServer(database_url=pg.url, env={"CARA_AUTH": "token", "CARA_ADMIN_TOKEN": ADMIN}) as srv:
            check_auth_before_body(srv)
            check_header_timeout(srv)


if __name__ == "__main__":
    main()
