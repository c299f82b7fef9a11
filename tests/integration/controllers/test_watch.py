# SPDX-License-Identifier: Apache-2.0
"""Watch API (SPEC §3): NDJSON ADDED/MODIFIED/DELETED; ADDED for current objects when no
resourceVersion is given; the nodeRef filter (objects entering it are ADDED, leaving it DELETED
with the name only, not the spec they have elsewhere);
resume from a resourceVersion; 410 Expired when that is older than the kept events; changes made
through another replica; BOOKMARK lines on idle streams; bad resourceVersion -> 400."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctrl_helpers import Api, Heartbeater, Watch, check, is_event, log, main, server  # noqa: E402


def test(pg):
    env = {"CARA_WATCH_BOOKMARK_INTERVAL": "500ms"}
    with server(pg, env=env) as a, server(pg, env=env) as b:
        api, api_b = Api(a), Api(b)
        api.node("n1")
        api.node("n2")
        hb = Heartbeater(api, ["n1", "n2"], interval=0.3)
        try:
            api.project("first")
            api.wait_project("first", lambda p: p["status"].get("phase") == "Scheduled")

            # No resourceVersion: ADDED for what exists, then live changes.
            with Watch(a, "/api/v1/projects") as w:
                check(w.status == 200 and w.content_type.startswith("application/x-ndjson"),
                      (w.status, w.content_type))
                _, e = w.next()
                check(e["type"] == "ADDED" and e["object"]["metadata"]["name"] == "first", e)
                check(e["object"]["kind"] == "Project" and e["object"]["apiVersion"] == "caravanserai/v1", e)
                # A change made through the other replica arrives here.
                api_b.project("second")
                _, e = w.next(is_event("ADDED", "second"))
                _, e = w.next(is_event("MODIFIED", "second", "Scheduled"))
                rv_second = int(e["object"]["metadata"]["resourceVersion"])
                # Idle: bookmarks keep the stream alive and carry the newest rv.
                _, bm = w.next(lambda e: e["type"] == "BOOKMARK", skip_bookmarks=False, timeout=3)
                check(int(bm["object"]["metadata"]["resourceVersion"]) >= rv_second, bm)
                api_b.call("DELETE", "/api/v1/projects/second?force=true", expect=204)
                _, e = w.next(is_event("DELETED", "second"))

            # Resume: exactly what happened after the given version, in order.
            api.project("third")
            api.wait_project("third", lambda p: p["status"].get("phase") == "Scheduled")
            api.set_phase("third", "Running")
            api.call("DELETE", "/api/v1/projects/third?force=true", expect=204)
            with Watch(b, "/api/v1/projects", resourceVersion=str(rv_second)) as w:
                got = [(e["type"], e["object"]["metadata"]["name"], e["object"]["status"].get("phase"))
                       for e in w.drain(quiet=0.5) if e["type"] != "BOOKMARK"]
            check(got == [("DELETED", "second", "Scheduled"), ("ADDED", "third", "Pending"),
                          ("MODIFIED", "third", "Scheduled"), ("MODIFIED", "third", "Running"),
                          ("DELETED", "third", "Running")], got)

            # nodeRef filter: what is placed on n1 only; moving away is DELETED for this watcher.
            with Watch(a, "/api/v1/projects", nodeRef="n1") as w:
                initial = w.drain(quiet=0.3)
                names = {e["object"]["metadata"]["name"] for e in initial if e["type"] == "ADDED"}
                check(all(e["object"]["status"]["nodeRef"] == "n1" for e in initial if e["type"] == "ADDED"), initial)
                for i in range(4):
                    api.project("f%d" % i)
                mine = set()
                for i in range(4):
                    p = api.wait_project("f%d" % i, lambda p: p["status"].get("phase") == "Scheduled")
                    if p["status"]["nodeRef"] == "n1":
                        mine.add("f%d" % i)
                check(mine, "nothing landed on n1")
                for name in sorted(mine):
                    _, e = w.next(is_event("ADDED", name))
                    check(e["object"]["status"]["phase"] == "Scheduled", e)
                api.call("POST", "/api/v1/nodes/n1/drain?evict=true", expect=200)
                gone = set()
                for _ in range(len(mine | names)):
                    _, e = w.next(lambda e: e["type"] == "DELETED")
                    gone.add(e["object"]["metadata"]["name"])
                    # moved away: the name only, never the spec it has on its new node
                    check(set(e["object"]) == {"apiVersion", "kind", "metadata"}, e)
                    check(set(e["object"]["metadata"]) <= {"name", "resourceVersion"}, e)
                check(gone == mine | names, (gone, mine, names))
                rest = [e for e in w.drain(quiet=0.5) if e["type"] != "BOOKMARK"]
                check(not rest, rest)  # n2's projects never show up
                api.call("POST", "/api/v1/nodes/n1/uncordon", expect=200)

            # Nodes: ADDED for each, MODIFIED on change.
            with Watch(a, "/api/v1/nodes") as w:
                seen = {w.next()[1]["object"]["metadata"]["name"] for _ in range(2)}
                check(seen == {"n1", "n2"}, seen)
                api.call("POST", "/api/v1/nodes/n2/drain", expect=200)
                _, e = w.next(lambda e: e["type"] == "MODIFIED" and e["object"]["status"].get("state") == "Draining")
                check(e["object"]["metadata"]["name"] == "n2", e)
                api.call("POST", "/api/v1/nodes/n2/uncordon", expect=200)

            # Too old: events before it were trimmed -> one ERROR 410 event, then the stream ends.
            pg.psql("DELETE FROM events WHERE rv <= %d" % (rv_second + 3))
            with Watch(a, "/api/v1/projects", resourceVersion="1") as w:
                _, e = w.next(skip_bookmarks=True)
                check(e["type"] == "ERROR" and e["object"]["code"] == 410 and e["object"]["reason"] == "Expired", e)
                check(w.ended.wait(3), "stream did not end after the 410")
            # Right at the oldest kept event: fine.
            oldest = int(pg.psql("SELECT min(rv) FROM events").strip())
            with Watch(a, "/api/v1/projects", resourceVersion=str(oldest - 1)) as w:
                events = w.drain(quiet=0.5)
                check(events and events[0]["type"] != "ERROR", events[:1])

            # From the future (another database): list again.
            with Watch(a, "/api/v1/projects", resourceVersion="99999999") as w:
                _, e = w.next()
                check(e["type"] == "ERROR" and e["object"]["code"] == 410, e)

            # Streams hold no worker thread: far more open watches than workers, the API still answers,
            # and every stream gets the next change.
            many = [Watch(a if i % 2 else b, "/api/v1/projects") for i in range(24)]
            try:
                for _ in range(5):
                    st, _ = api.call("GET", "/api/v1/nodes", expect=200)
                api.project("for-all")
                for w in many:
                    w.next(is_event("ADDED", "for-all"))
            finally:
                for w in many:
                    w.close()

            # Bad resourceVersion.
            st, body = api.call("GET", "/api/v1/projects?watch=true&resourceVersion=abc", expect=400)
            check(body["status"] == 400, body)
        finally:
            hb.stop()


if __name__ == "__main__":
    main(test)
