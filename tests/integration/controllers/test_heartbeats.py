# SPDX-License-Identifier: Apache-2.0
"""Heartbeats that change nothing but the time (SPEC §16): no event, no new resourceVersion, no
NOTIFY; the time still reaches the database (GET shows it, and the Ready condition's
lastHeartbeatTime), so node-health's NotReady decision stays right, also on a leader that did not
receive the heartbeats.  A heartbeat whose body differs, or one after any other write of the node
(NotReady, a label change), takes the full path again."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctrl_helpers import Api, check, condition, log, main, server, wait_until  # noqa: E402


def node_events(pg, name):
    return int(pg.psql("SELECT count(*) FROM events WHERE kind = 'Node' AND name = '%s'" % name).strip())


def is_leader(srv):
    return "Became the controller leader" in srv.log()


def parse_time(s):
    import datetime  # noqa: PLC0415
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def test(pg):
    with server(pg) as a, server(pg) as b:
        # Heartbeats go to whichever server is not the leader: the leader learns their times only
        # from the database.
        wait_until(lambda: is_leader(a) or is_leader(b), timeout=10, what="a leader")
        leader, other = (a, b) if is_leader(a) else (b, a)
        api = Api(other)
        api.node("n1")
        # The first heartbeats take the full path (node-health's Ready write clears the mark once).
        api.wait_node("n1", lambda n: (condition(n, "Ready") or {}).get("status") == "True")
        for _ in range(8):  # a few flush intervals (0.5 s here): the mark is set and known
            api.heartbeat("n1")
            time.sleep(0.25)
        n = api.get_node("n1")
        rv, events = n["metadata"]["resourceVersion"], node_events(pg, "n1")

        t_sent = time.time()
        for _ in range(200):
            api.heartbeat("n1")
        check(node_events(pg, "n1") == events, "200 time-only heartbeats wrote %d events"
              % (node_events(pg, "n1") - events))
        n = Api(leader).wait_node("n1", lambda n: parse_time(n["status"]["lastHeartbeat"]) >= t_sent, timeout=3,
                                  what="the heartbeat time in the database")
        check(n["metadata"]["resourceVersion"] == rv, "time-only heartbeats changed the resourceVersion")
        ready = condition(n, "Ready")
        check(parse_time(ready["lastHeartbeatTime"]) >= t_sent, "Ready.lastHeartbeatTime not moved: %r" % ready)

        # Kept Ready by time-only heartbeats for several timeouts (2 s), judged by the leader.
        t_end = time.monotonic() + 6
        while time.monotonic() < t_end:
            api.heartbeat("n1")
            n = Api(leader).get_node("n1")
            check(n["status"]["state"] == "Ready", "node went %s while heartbeating" % n["status"]["state"])
            time.sleep(0.3)
        check(node_events(pg, "n1") == events, "events written while only the time changed")

        # A heartbeat that says something new is a change.
        api.heartbeat("n1", cpu="8")
        n = api.wait_node("n1", lambda n: n["status"]["allocatable"].get("cpu") == "8", timeout=3)
        check(n["metadata"]["resourceVersion"] != rv and node_events(pg, "n1") > events, "new body not written")

        # Silence: NotReady after the timeout; resumed (same body): Ready again through the full path.
        t0 = time.monotonic()
        Api(leader).wait_node("n1", lambda n: n["status"]["state"] == "NotReady", timeout=8)
        log("NotReady %.1f s after the last heartbeat" % (time.monotonic() - t0))
        for _ in range(3):
            api.heartbeat("n1", cpu="8")
        Api(leader).wait_node("n1", lambda n: n["status"]["state"] == "Ready", timeout=5)

        # A deleted node: at most one more heartbeat is taken before the next gets 404.
        api.call("DELETE", "/api/v1/nodes/n1", expect=(200, 204))
        codes = []
        for _ in range(10):
            st, _ = other.json("POST", "/api/v1/nodes/n1/heartbeat", {"state": "Ready", "capacity": {"cpu": "8", "memory": "8Gi"},
                                                                     "allocatable": {"cpu": "8", "memory": "8Gi"}})
            codes.append(st)
            if st == 404:
                break
            time.sleep(0.6)
        check(codes[-1] == 404, "heartbeats of a deleted node answered %r" % codes)


if __name__ == "__main__":
    main(test)
