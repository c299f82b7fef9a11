# SPDX-License-Identifier: Apache-2.0
"""Cluster events (SPEC §11 "Events"): the scheduler's Scheduled/Unschedulable and node health's
NodeNotReady recorded as they happen, agents' reports through POST /api/v1/nodes/{name}/events
(validated whole: nothing stored from a bad report), GET /api/v1/events with its filters, oldest
first, the NDJSON watch, heartbeats never making an event, and retention (EVENT_LIMIT, EVENT_TTL)."""

import datetime
import http.client
import json
import time

from cara_server import CaraServer, postgres, wait_until

NODE = {"metadata": {"name": "n1"}}


def ev(reason="Pulled", type_="Normal", name="web", **kw):
    e = {"type": type_, "reason": reason, "object": {"kind": "Project", "name": name}, "message": "m " + reason}
    e.update(kw)
    return e


def events(srv, query=""):
    status, body = srv.json("GET", "/api/v1/events" + query)
    assert status == 200, (status, body)
    return body["items"]


def reasons(items):
    return [e["reason"] for e in items]


def check_reports(srv):
    # one event, or a list; the node is filled in
    status, body = srv.json("POST", "/api/v1/nodes/n1/events", ev("Pulled"))
    assert status == 201, (status, body)
    assert body["items"][0]["node"] == "n1" and body["items"][0]["reason"] == "Pulled", body
    status, body = srv.json("POST", "/api/v1/nodes/n1/events",
                            {"items": [ev("Started"), ev("Killed", "Warning", message="out of memory")]})
    assert status == 201, (status, body)
    before = events(srv, "?project=web")
    # bad reports: 400 naming the field, and nothing stored (not even the good ones before it)
    bad = [
        ({"items": [ev("Started"), ev("Started", "Info")]}, "items[1].type"),
        ({"items": [ev("Started"), dict(ev("Started"), colour="red")]}, "colour"),
        (dict(ev("Pulled"), object={"kind": "Project"}), "object.name"),
        (ev("not camel"), "reason"),
        (ev("Pulled", time="yesterday"), "time"),
        ({"items": []}, "items"),
        (ev("Pulled", node="n2"), "node"),
        ([1, 2], "event"),
    ]
    for body_, field in bad:
        status, problem = srv.json("POST", "/api/v1/nodes/n1/events", body_)
        assert status == 400 and field in problem["detail"], (body_, status, problem)
    after = events(srv, "?project=web")
    assert after == before, [e for e in after if e not in before]
    status, _ = srv.json("POST", "/api/v1/nodes/nobody/events", ev())
    assert status == 404, status
    # an agent's own time is kept
    status, body = srv.json("POST", "/api/v1/nodes/n1/events", ev("Restarted", time="2020-01-02T03:04:05Z", name="old"))
    assert status == 201
    assert events(srv, "?project=old")[0]["time"] == "2020-01-02T03:04:05Z"


def check_filters(srv):
    web = events(srv, "?project=web")
    assert reasons(web) == ["Pulled", "Started", "Killed"], reasons(web)
    assert all(e["object"] == {"kind": "Project", "name": "web"} for e in web)
    assert reasons(events(srv, "?project=web&type=Warning")) == ["Killed"]
    assert reasons(events(srv, "?node=n1&type=Warning&project=web")) == ["Killed"]
    assert events(srv, "?node=n9") == []
    # oldest first; since as a duration or an RFC 3339 time
    all_ = events(srv)
    times = [e["time"] for e in all_]
    assert times == sorted(times), times
    assert "old" not in [e["object"]["name"] for e in events(srv, "?since=1h")]
    assert "old" in [e["object"]["name"] for e in events(srv, "?since=2019-01-01T00:00:00Z")]
    assert events(srv, "?since=2999-01-01T00:00:00Z") == []
    assert len(events(srv, "?limit=2")) == 2 and events(srv, "?limit=2")[-1] == all_[-1]
    for q, field in [("?type=Info", "type"), ("?since=soon", "since"), ("?limit=0", "limit")]:
        status, problem = srv.json("GET", "/api/v1/events" + q)
        assert status == 400 and field in problem["detail"], (q, status, problem)


def check_watch(srv):
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    conn.request("GET", "/api/v1/events?watch=true&project=watched&since=1h")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type") == "application/x-ndjson"
    srv.json("POST", "/api/v1/nodes/n1/events", ev("Pulled", name="other"))
    srv.json("POST", "/api/v1/nodes/n1/events", ev("Started", name="watched"))
    line = json.loads(resp.readline())
    assert line["type"] == "ADDED" and line["object"]["reason"] == "Started", line
    assert line["object"]["object"]["name"] == "watched" and line["object"]["node"] == "n1", line
    conn.close()


def main():
    with postgres() as pg:
        url = pg.create_database("events")
        env = {"NODE_HEARTBEAT_TIMEOUT": "1s", "RESYNC_INTERVAL": "1s", "RESCHEDULE_GRACE_PERIOD": "1s"}
        with CaraServer(database_url=url, env=env) as srv:
            assert srv.json("POST", "/api/v1/nodes", NODE)[0] == 201
            assert srv.request("POST", "/api/v1/nodes/n1/heartbeat", {"state": "Ready"})[0] == 204
            # the scheduler: Scheduled, Unschedulable (Warning)
            srv.json("POST", "/api/v1/projects", {"metadata": {"name": "p1"},
                                                  "spec": {"services": [{"name": "web", "image": "busybox"}]}})
            srv.json("POST", "/api/v1/projects", {"metadata": {"name": "p2"},
                                                  "spec": {"services": [{"name": "web", "image": "busybox"}],
                                                           "nodeSelector": {"disk": "ssd"}}})
            e1 = wait_until(lambda: events(srv, "?project=p1"), what="Scheduled event")
            assert e1[0]["reason"] == "Scheduled" and e1[0]["type"] == "Normal" and e1[0]["node"] == "n1", e1
            e2 = wait_until(lambda: events(srv, "?project=p2"), what="Unschedulable event")
            assert e2[0]["reason"] == "Unschedulable" and e2[0]["type"] == "Warning", e2
            # p1 runs on n1 (as its agent would report)
            assert srv.json("PATCH", "/api/v1/projects/p1/status", {"phase": "Running"})[0] == 204
            # heartbeats are never events
            n = len(events(srv))
            for _ in range(5):
                assert srv.request("POST", "/api/v1/nodes/n1/heartbeat", {"state": "Ready"})[0] == 204
            assert len(events(srv)) == n
            # node health: NodeNotReady once the heartbeats stop
            nr = wait_until(lambda: events(srv, "?node=n1&type=Warning"), timeout=20, what="NodeNotReady")
            assert nr[0]["reason"] == "NodeNotReady" and nr[0]["object"] == {"kind": "Node", "name": "n1"}, nr
            # the rescheduler moves p1 off the NotReady node after the grace period
            moved = wait_until(lambda: [e for e in events(srv, "?project=p1") if e["reason"] == "Rescheduled"],
                               timeout=20, what="Rescheduled")
            assert moved[0]["type"] == "Warning" and moved[0]["node"] == "n1", moved
            # drain
            assert srv.json("POST", "/api/v1/nodes/n1/drain")[0] == 200
            drained = [e for e in events(srv, "?node=n1") if e["reason"] == "Drained"]
            assert drained and drained[0]["object"] == {"kind": "Node", "name": "n1"}, events(srv, "?node=n1")
            check_reports(srv)
            check_filters(srv)
            check_watch(srv)
            total = len(events(srv))
            assert total > 5
        # retention: EVENT_LIMIT keeps the newest rows, EVENT_TTL drops old ones (applied at start;
        # what the restarted server records itself comes after)
        start = datetime.datetime.now(datetime.timezone.utc)

        def before_start(items):
            return [e for e in items if datetime.datetime.fromisoformat(e["time"]) < start]
        with CaraServer(database_url=url, env={"EVENT_LIMIT": "5"}) as srv:
            # the 5 newest rows: then "old" (dated 2020) is past the default EVENT_TTL of 24h
            kept = [(e["reason"], e["object"]["name"]) for e in before_start(events(srv))]
            assert kept == [("Started", "web"), ("Killed", "web"), ("Pulled", "other"), ("Started", "watched")], kept
        start = datetime.datetime.now(datetime.timezone.utc)
        with CaraServer(database_url=url, env={"EVENT_TTL": "1ms"}) as srv:
            assert before_start(events(srv)) == [], events(srv)
        for bad in ({"EVENT_TTL": "soon"}, {"EVENT_LIMIT": "lots"}):
            srv = CaraServer(database_url=url, env=bad, start=False)
            srv.wait = False
            srv.start()
            assert srv.proc.wait(30) != 0, bad
            assert list(bad)[0] in srv.log(), srv.log()
            srv.proc = None
            srv.close()
    print("ok   events: controllers, reports, filters, watch, heartbeats, retention")


if __name__ == "__main__":
    main()
