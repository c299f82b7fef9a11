# SPDX-License-Identifier: Apache-2.0
"""node-health: NotReady after NODE_HEARTBEAT_TIMEOUT (2 s here) without heartbeats, detected when the
heartbeat goes stale (not on a resync); Ready again when heartbeats resume; the Ready condition is
kept current; Draining is never changed."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctrl_helpers import Api, Heartbeater, check, condition, log, main, server  # noqa: E402


def ready_is(status, reason):
    def pred(n):
        c = condition(n, "Ready")
        return c is not None and c["status"] == status and c["reason"] == reason
    return pred


def test(pg):
    # A long resync shows that detection does not depend on it.
    with server(pg, env={"RESYNC_INTERVAL": "60s"}) as srv:
        api = Api(srv)

        # Registered, never heartbeated: NotReady, and the condition says why.
        api.node("quiet", heartbeat=False)
        n = api.wait_node("quiet", ready_is("False", "HeartbeatTimeout"))
        check(n["status"]["state"] == "NotReady", n["status"])

        api.node("n1")
        hb = Heartbeater(api, ["n1"], interval=0.2)
        try:
            n = api.wait_node("n1", ready_is("True", "AgentReady"))
            check(n["status"]["state"] == "Ready", n["status"])

            # Heartbeats stop: NotReady about 2 s after the last one.
            hb.alive.discard("n1")
            t0 = time.monotonic()
            n = api.wait_node("n1", lambda n: n["status"]["state"] == "NotReady", timeout=6)
            took = time.monotonic() - t0
            log("NotReady detected %.2f s after the heartbeats stopped (timeout 2 s)" % took)
            check(1.5 <= took <= 4.0, "detection took %.2f s" % took)
            check(ready_is("False", "HeartbeatTimeout")(n), n["status"])

            # Back: Ready, and the condition follows.
            hb.alive.add("n1")
            n = api.wait_node("n1", lambda n: n["status"]["state"] == "Ready" and ready_is("True", "AgentReady")(n),
                              timeout=3)

            # Draining is kept whatever the heartbeats do; only the Ready condition follows them.
            api.call("POST", "/api/v1/nodes/n1/drain", expect=200)
            time.sleep(0.5)  # a few heartbeats land while Draining
            check(api.get_node("n1")["status"]["state"] == "Draining", api.get_node("n1")["status"])
            hb.alive.discard("n1")
            n = api.wait_node("n1", ready_is("False", "HeartbeatTimeout"), timeout=6)
            check(n["status"]["state"] == "Draining", n["status"])
            hb.alive.add("n1")
            n = api.wait_node("n1", ready_is("True", "AgentReady"), timeout=3)
            check(n["status"]["state"] == "Draining", n["status"])
        finally:
            hb.stop()


if __name__ == "__main__":
    main(test)
