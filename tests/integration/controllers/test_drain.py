# SPDX-License-Identifier: Apache-2.0
"""Drain and uncordon (SPEC §3): Draining persists through heartbeats and takes no new projects;
?evict=true moves the node's Scheduled/Running projects to other nodes (Terminating ones stay);
uncordon goes back to Ready with fresh heartbeats, NotReady without."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctrl_helpers import Api, Heartbeater, check, condition, log, main, server  # noqa: E402


def scheduled(p):
    return p["status"].get("phase") == "Scheduled"


def test(pg):
    with server(pg) as srv:
        api = Api(srv)
        api.node("n1")
        api.node("n2")
        hb = Heartbeater(api, ["n1", "n2"], interval=0.2)
        try:
            for i in range(4):
                api.project("p%d" % i)
            where = {i: api.wait_project("p%d" % i, scheduled)["status"]["nodeRef"] for i in range(4)}
            on_n1 = ["p%d" % i for i, n in where.items() if n == "n1"]
            check(len(on_n1) == 2, where)
            api.set_phase(on_n1[0], "Running")

            # Drain without evict: Draining, kept through heartbeats, nothing new lands there.
            st, n = api.call("POST", "/api/v1/nodes/n1/drain", expect=200)
            check(n["status"]["state"] == "Draining", n["status"])
            time.sleep(0.6)
            check(api.get_node("n1")["status"]["state"] == "Draining", "a heartbeat overwrote Draining")
            for i in range(4, 7):
                api.project("p%d" % i)
                p = api.wait_project("p%d" % i, scheduled)
                check(p["status"]["nodeRef"] == "n2", p["status"])
            for name in on_n1:
                check(api.get_project(name)["status"]["nodeRef"] == "n1", "moved without evict")

            # A Terminating project on n1 stays for n1's agent to finish.
            st, _ = api.call("POST", "/api/v1/nodes/n2/drain", expect=200)
            api.call("POST", "/api/v1/nodes/n1/uncordon", expect=200)
            api.project("leaving")
            p = api.wait_project("leaving", scheduled)
            check(p["status"]["nodeRef"] == "n1", p["status"])
            api.call("POST", "/api/v1/nodes/n2/uncordon", expect=200)
            api.call("DELETE", "/api/v1/projects/leaving", expect=202)

            # Drain with evict: n1's projects move to n2.
            t0 = time.monotonic()
            api.call("POST", "/api/v1/nodes/n1/drain?evict=true", expect=200)
            for name in on_n1:
                p = api.wait_project(name, lambda p: scheduled(p) and p["status"]["nodeRef"] == "n2", timeout=3)
                c = condition(p, "Phase")
                check(c is not None and c["reason"] == "NodeDrained", p["status"])
            log("evicted projects rescheduled within %.3f s" % (time.monotonic() - t0))
            p = api.get_project("leaving")
            check(p["status"]["phase"] == "Terminating" and p["status"]["nodeRef"] == "n1", p["status"])
            check(api.get_node("n1")["status"]["state"] == "Draining", api.get_node("n1")["status"])

            # Uncordon: back to Ready (heartbeats are fresh); projects go there again.
            st, n = api.call("POST", "/api/v1/nodes/n1/uncordon", expect=200)
            check(n["status"]["state"] == "Ready", n["status"])
            api.project("after")
            p = api.wait_project("after", scheduled)
            check(p["status"]["nodeRef"] == "n1", p["status"])  # the emptier node

            # Uncordon without heartbeats: NotReady.
            api.node("silent", heartbeat=False)
            api.call("POST", "/api/v1/nodes/silent/drain", expect=200)
            st, n = api.call("POST", "/api/v1/nodes/silent/uncordon", expect=200)
            check(n["status"]["state"] == "NotReady", n["status"])

            # Unknown node.
            st, body = api.call("POST", "/api/v1/nodes/nope/drain", expect=404)
            check(body["title"] == "Not Found", body)
            api.call("POST", "/api/v1/nodes/nope/uncordon", expect=404)
        finally:
            hb.stop()


if __name__ == "__main__":
    main(test)
