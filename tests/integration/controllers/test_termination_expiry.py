# SPDX-License-Identifier: Apache-2.0
"""termination: a project the agent reports Terminated is removed.  expiry: a project past its
spec.expireAt is deleted — directly when it was never placed, through Terminating when it runs on a
node (the agent then tears it down and reports Terminated)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctrl_helpers import Api, Heartbeater, check, condition, log, main, server  # noqa: E402


def test(pg):
    with server(pg, env={"RESYNC_INTERVAL": "60s"}) as srv:
        api = Api(srv)
        api.node("n1")
        hb = Heartbeater(api, ["n1"])
        try:
            # Terminated -> removed.
            api.project("done")
            api.wait_project("done", lambda p: p["status"].get("phase") == "Scheduled")
            api.set_phase("done", "Running")
            api.call("DELETE", "/api/v1/projects/done", expect=202)
            api.set_phase("done", "Terminated")
            t0 = time.monotonic()
            api.wait_gone("done", timeout=3)
            log("Terminated project removed in %.3f s" % (time.monotonic() - t0))

            # Never placed (no node matches): deleted directly once expired, not before.
            now = time.time()
            api.project("short-pending", selector={"nowhere": "yes"}, expire_at=now + 2)
            api.project("short-running", expire_at=now + 2)
            api.wait_project("short-running", lambda p: p["status"].get("phase") == "Scheduled")
            api.set_phase("short-running", "Running")
            time.sleep(max(0, now + 1.5 - time.time()))
            check(api.get_project("short-pending") is not None, "deleted before expireAt")
            check(api.phase("short-running") == "Running", api.get_project("short-running"))
            api.wait_gone("short-pending", timeout=3)
            log("Pending project deleted %.2f s after expireAt" % (time.time() - now - 2))

            # Running: Terminating with a condition; the agent's Terminated report removes it.
            p = api.wait_project("short-running", lambda p: p["status"].get("phase") == "Terminating", timeout=3)
            c = condition(p, "Phase")
            check(c is not None and c["reason"] == "Expired", p["status"])
            check(p["status"]["nodeRef"] == "n1", p["status"])
            api.set_phase("short-running", "Terminated")
            api.wait_gone("short-running", timeout=3)

            # Already expired when created.
            api.project("stale", selector={"nowhere": "yes"}, expire_at=time.time() - 60)
            api.wait_gone("stale", timeout=3)
        finally:
            hb.stop()


if __name__ == "__main__":
    main(test)
