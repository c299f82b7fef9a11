# SPDX-License-Identifier: Apache-2.0
"""Several cara-server replicas on one database: all serve the API, exactly one runs the
controllers (PostgreSQL advisory lock), and when it is killed (-9) another takes over within
seconds."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctrl_helpers import Api, Heartbeater, check, log, main, server, wait_until  # noqa: E402

LEADER_LINE = "Became the controller leader"


def leaders(servers):
    return [s for s in servers if s.proc is not None and s.proc.poll() is None and LEADER_LINE in s.log()]


def test(pg):
    with server(pg) as a, server(pg) as b, server(pg) as c:
        everyone = [a, b, c]
        first = wait_until(lambda: leaders(everyone), timeout=10, what="a leader")
        time.sleep(1.5)  # the others keep retrying the lock every second: still one leader
        check(len(leaders(everyone)) == 1, "more than one leader")
        leader = first[0]
        others = [s for s in everyone if s is not leader]
        log("leader: port %d" % leader.port)

        api = Api(others[0])  # any replica serves the API
        api.node("n1")
        hb = Heartbeater(api, ["n1"])
        try:
            api.project("before")
            api.wait_project("before", lambda p: p["status"].get("phase") == "Scheduled")

            leader.kill()  # SIGKILL: no clean shutdown, the lock goes with its connection
            t0 = time.monotonic()
            new = wait_until(lambda: leaders(others), timeout=10, what="a new leader")
            took = time.monotonic() - t0
            log("new leader (port %d) after %.2f s" % (new[0].port, took))
            check(took < 5, "takeover took %.2f s" % took)
            time.sleep(1.5)
            check(len(leaders(others)) == 1, "more than one leader after the takeover")

            # The controllers work again: scheduling and node-health.
            api.project("after")
            api.wait_project("after", lambda p: p["status"].get("phase") == "Scheduled", timeout=3)
            hb.alive.discard("n1")
            api.wait_node("n1", lambda n: n["status"]["state"] == "NotReady", timeout=6)
        finally:
            hb.stop()


if __name__ == "__main__":
    main(test)
