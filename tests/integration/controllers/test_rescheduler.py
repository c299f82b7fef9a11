# SPDX-License-Identifier: Apache-2.0
"""rescheduler: projects on a node that went NotReady move (Scheduled at once, Running after the
grace period, 2 s here), Terminating ones are force-terminated after TERMINATION_TIMEOUT (2 s) and
removed, and the NotReadyAt clock is cleared when the node recovers in time."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctrl_helpers import Api, Heartbeater, check, condition, log, main, server  # noqa: E402


def on(node, phase="Scheduled"):
    return lambda p: p["status"].get("phase") == phase and p["status"].get("nodeRef") == node


def test(pg):
    with server(pg) as srv:
        api = Api(srv)
        api.node("n1")
        hb = Heartbeater(api, ["n1"], interval=0.2)
        try:
            for name in ("s1", "r1", "t1"):
                api.project(name)
                api.wait_project(name, on("n1"))
            api.set_phase("r1", "Running")
            api.set_phase("t1", "Running")
            api.call("DELETE", "/api/v1/projects/t1", expect=202)
            check(api.phase("t1") == "Terminating", api.get_project("t1"))

            api.node("n2")
            hb.alive.add("n2")

            # n1 dies.
            hb.alive.discard("n1")
            api.wait_node("n1", lambda n: n["status"]["state"] == "NotReady", timeout=6)
            t_down = time.monotonic()

            # Scheduled: moved at once, with a condition saying why.
            p = api.wait_project("s1", on("n2"), timeout=3)
            log("s1 moved %.2f s after n1 went NotReady" % (time.monotonic() - t_down))
            c = condition(p, "Phase")
            check(c is not None and c["reason"] == "NodeNotReady", p["status"])

            # Running: the grace clock starts, and it moves only when the clock runs out.
            # Terminating: its clock starts too.
            p = api.wait_project("r1", lambda p: condition(p, "NotReadyAt") is not None, timeout=3)
            check(p["status"]["phase"] == "Running" and p["status"]["nodeRef"] == "n1", p["status"])
            p = api.wait_project("t1", lambda p: condition(p, "TerminatingAt") is not None, timeout=3)
            check(p["status"]["phase"] == "Terminating", p["status"])
            p = api.wait_project("r1", on("n2"), timeout=6)
            waited = time.monotonic() - t_down
            log("r1 moved %.2f s after n1 went NotReady (grace 2 s)" % waited)
            check(waited >= 1.5, "r1 moved before its grace period ran out (%.2f s)" % waited)
            check(condition(p, "NotReadyAt") is None, p["status"])

            # Terminating: force-terminated after the timeout, then removed.
            api.wait_gone("t1", timeout=6)
            log("t1 removed %.2f s after n1 went NotReady (timeout 2 s)" % (time.monotonic() - t_down))

            # A node that comes back within the grace period: the clock is cleared, nothing moves.
            api.set_phase("r1", "Running")
            hb.alive.add("n1")
            api.wait_node("n1", lambda n: n["status"]["state"] == "Ready", timeout=3)
            hb.alive.discard("n2")
            api.wait_project("r1", lambda p: condition(p, "NotReadyAt") is not None, timeout=6)
            hb.alive.add("n2")
            p = api.wait_project("r1", lambda p: condition(p, "NotReadyAt") is None, timeout=3)
            check(p["status"]["phase"] == "Running" and p["status"]["nodeRef"] == "n2", p["status"])
            time.sleep(2.5)  # past the grace period: still there
            p = api.get_project("r1")
            check(p["status"]["phase"] == "Running" and p["status"]["nodeRef"] == "n2", p["status"])
        finally:
            hb.stop()


if __name__ == "__main__":
    main(test)
