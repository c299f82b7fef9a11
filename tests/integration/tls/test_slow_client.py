# SPDX-License-Identifier: Apache-2.0
"""A slow client (slowloris: request headers one byte per second, on many connections) does not keep
other clients from being served, even with a single HTTP worker thread."""

import socket
import time

from cara_server import CaraServer, postgres

SLOW = 32          # slow connections, more than worker threads
DURATION = 6.0     # seconds of dribbling
MAX_LATENCY = 2.0  # a normal request meanwhile must answer within this


def main():
    with postgres() as pg:
        with CaraServer(database_url=pg.url, env={"CARA_THREADS": "1"}) as srv:
            request = ("GET /api/v1/nodes HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: %s\r\n\r\n" % ("a" * 64)).encode()
            slow = []
            try:
                for _ in range(SLOW):
                    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
                    slow.append(s)
                served = 0
                worst = 0.0
                pos = 0
                deadline = time.monotonic() + DURATION
                next_byte = time.monotonic()
                while time.monotonic() < deadline:
                    if time.monotonic() >= next_byte:
                        for s in slow:
                            s.send(request[pos:pos + 1])
                        pos += 1
                        next_byte += 1.0
                    t0 = time.monotonic()
                    status, _ = srv.json("GET", "/api/v1/nodes", timeout=MAX_LATENCY + 3)
                    took = time.monotonic() - t0
                    assert status == 200, status
                    worst = max(worst, took)
                    served += 1
                    time.sleep(0.05)
                assert pos < len(request), "the slow requests must still be incomplete"
                assert worst < MAX_LATENCY, "a normal request took %.2fs while slow clients dribbled" % worst
                assert served >= 20, served
                print("ok: %d requests served while %d slow clients dribbled; worst %.0f ms" % (served, SLOW, worst * 1000))
            finally:
                for s in slow:
                    s.close()


if __name__ == "__main__":
    main()
