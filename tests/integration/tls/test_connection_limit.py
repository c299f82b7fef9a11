# SPDX-License-Identifier: Apache-2.0
"""One client cannot take every connection (issue 11 hardening): with
CARA_MAX_CONNECTIONS_PER_CLIENT=N, a client address holding N open connections gets its next one
closed without an answer, while another client address (127.0.0.2, also loopback) is served at
once; when the first client lets go, it is served again.  Also the default (128) is in force."""

import socket
import time

from cara_fixtures import wait_until
from cara_server import CaraServer, postgres

LIMIT = 8


def request(port, source="127.0.0.1"):
    """Status of GET /api/healthz from @source, or None when the server closed without an answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    try:
        s.sendall(b"GET /api/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return int(data.split()[1]) if data.startswith(b"HTTP/1.1 ") else None
    finally:
        s.close()


def open_served(port):
    """A keep-alive connection the server has answered once, or None when it closed it unanswered."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(b"GET /api/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        if s.recv(4096).startswith(b"HTTP/1.1 200"):
            return s
    except ConnectionResetError:
        pass
    s.close()
    return None


def hold(port, n):
    # An idle connection counts once accepted: make sure the server has taken them all.  A
    # connection the client closed a moment ago (the fixture's readiness probe, the previous
    # check's request) can still count until the server's thread has seen it go, so a refused
    # one is tried again for a short while before that is a failure.
    held = []
    for _ in range(n):
        deadline = time.monotonic() + 3
        s = open_served(port)
        while s is None and time.monotonic() < deadline:
            time.sleep(0.05)
            s = open_served(port)
        assert s is not None, "a held connection was not served (%d held)" % len(held)
        held.append(s)
    return held


def main():
    with postgres() as pg:
        with CaraServer(database_url=pg.url, env={"CARA_MAX_CONNECTIONS_PER_CLIENT": str(LIMIT)}) as srv:
            held = hold(srv.port, LIMIT)
            try:
                assert request(srv.port) is None, "a connection over the per-client limit was served"
                t0 = time.monotonic()
                assert request(srv.port, "127.0.0.2") == 200, "another client was not served"
                other_ms = (time.monotonic() - t0) * 1000
            finally:
                for s in held:
                    s.close()
            wait_until(lambda: request(srv.port) == 200, timeout=10, what="the client served again")
            print("ok: limit %d per client; another client served in %.0f ms meanwhile" % (LIMIT, other_ms))
        # the default is a limit too (128), high enough for the suites' own parallel clients
        with CaraServer(database_url=pg.url) as srv:
            held = hold(srv.port, 128)
            try:
                assert request(srv.port) is None, "the default per-client limit is not 128"
            finally:
                for s in held:
                    s.close()
            wait_until(lambda: request(srv.port) == 200, timeout=10, what="served again")
            print("ok: default limit 128 per client")


if __name__ == "__main__":
    main()
