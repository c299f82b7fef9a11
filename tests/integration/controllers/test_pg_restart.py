# SPDX-License-Identifier: Apache-2.0
"""PostgreSQL restarts under a running cara-server: open watch streams end with an ERROR event
(the client watches again from its last resourceVersion and misses nothing), and the controllers
come back (leadership re-acquired) and schedule again."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctrl_helpers import Api, Heartbeater, Watch, check, is_event, log, main, server, wait_until  # noqa: E402


def test(pg):
    with server(pg) as srv:
        api = Api(srv)
        api.node("n1")
        hb = Heartbeater(api, ["n1"])
        try:
            api.project("before")
            p = api.wait_project("before", lambda p: p["status"].get("phase") == "Scheduled")
            rv = p["metadata"]["resourceVersion"]
            w = Watch(srv, "/api/v1/projects", resourceVersion=rv)
            try:
                pg.restart()
                _, e = w.next(lambda e: e["type"] == "ERROR", timeout=10)
                check(w.ended.wait(5), "stream did not end after the ERROR")
            finally:
                w.close()
            t0 = time.monotonic()
            # The API answers again (503 meanwhile is fine), then scheduling works again.
            wait_until(lambda: srv.json("GET", "/api/v1/nodes")[0] == 200, timeout=15, what="API back")
            wait_until(lambda: srv.json("POST", "/api/v1/projects", {
                "apiVersion": "caravanserai/v1", "kind": "Project", "metadata": {"name": "after"},
                "spec": {"services": [{"name": "web", "image": "busybox"}]}})[0] in (201, 409),
                timeout=15, what="project created")
            api.wait_project("after", lambda p: p["status"].get("phase") == "Scheduled", timeout=15)
            log("scheduling again %.2f s after PostgreSQL came back" % (time.monotonic() - t0))
            # Resuming from the rv we had sees what happened since, nothing lost.  The watch hub
            # reconnects on its own schedule: until it has, a watch ends at once with a 503
            # ERROR event and the client (like the agent) tries again.
            deadline = time.monotonic() + 15
            while True:
                w2 = Watch(srv, "/api/v1/projects", resourceVersion=rv)
                _, first = w2.next(timeout=10)
                if first["type"] != "ERROR" or first["object"].get("code") != 503 or time.monotonic() > deadline:
                    break
                w2.close()
                time.sleep(0.2)
            with w2:
                check(is_event("ADDED", "after")(first) or w2.next(is_event("ADDED", "after")), "ADDED after")
                w2.next(is_event("MODIFIED", "after", "Scheduled"))
        finally:
            hb.stop()


if __name__ == "__main__":
    main(test)
