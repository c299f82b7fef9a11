# SPDX-License-Identifier: Apache-2.0
"""Project creates by group commit and the node-token cache (SPEC §16), against a real server and
PostgreSQL:
- 16 clients create 480 projects at once, 4 tries per name: exactly one 201 per name, 409 for the
  others; one row and one ADDED event per name, nothing else; concurrent creates shared
  transactions (rows with the same xmin); a watch started before sees every ADDED once, in rv
  order.
- A node token, once used, is cached: deleting the node or resetting its token on this server
  makes the old token 401 at once."""

import http.client
import json
import threading
from collections import Counter

from cara_server import CaraServer, postgres

CLIENTS = 16
NAMES = 120
TRIES = 4


def project(name):
    return {"apiVersion": "caravanserai/v1", "kind": "Project", "metadata": {"name": name},
            "spec": {"services": [{"name": "web", "image": "busybox:1.36"}]}}


class Watch(threading.Thread):
    def __init__(self, srv, rv):
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        self.conn.request("GET", "/api/v1/projects?watch=true&resourceVersion=%s" % rv)
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.status
        self.events = []
        self.want = None
        self.done = threading.Event()

    def run(self):
        for line in self.resp:
            ev = json.loads(line)
            if ev["type"] != "ADDED":
                continue
            self.events.append(ev)
            if self.want and len(self.events) >= self.want:
                break
        self.done.set()


def check_concurrent_creates(pg, db, srv):
    # A watch from the rv of a first write (a node), before the creates start.
    st, node = srv.json("POST", "/api/v1/nodes", {"metadata": {"name": "anchor"}})
    assert st == 201, (st, node)
    watch = Watch(srv, node["metadata"]["resourceVersion"])
    watch.want = NAMES
    watch.start()
    work = ["gc-%03d" % (i % NAMES) for i in range(NAMES * TRIES)]
    statuses = {}
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        start.wait()
        for name in work[k::CLIENTS]:
            conn.request("POST", "/api/v1/projects", json.dumps(project(name)), {"Content-Type": "application/json"})
            r = conn.getresponse()
            body = json.loads(r.read())
            with lock:
                statuses.setdefault(name, []).append((r.status, body))
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in sorted(set(work)):
        got = Counter(s for s, _ in statuses[name])
        assert got == Counter({201: 1, 409: TRIES - 1}), (name, got)
        for s, body in statuses[name]:
            if s == 409:
                assert body["status"] == 409 and "already exists" in body["detail"] and name in body["detail"], body
            else:
                assert body["metadata"]["name"] == name and body["status"]["phase"] == "Pending", body
    # The database holds each project once, with one ADDED event, the one the 201 answered.
    # (The scheduler may have written statuses since: compare names, and the ADDED events' rvs.)
    rows = pg.psql("SELECT name FROM projects ORDER BY name", db=db).split()
    assert rows == sorted(set(work)), rows
    answered = {n: next(b for s, b in v if s == 201)["metadata"]["resourceVersion"] for n, v in statuses.items()}
    events = pg.psql("SELECT name, rv FROM events WHERE kind = 'Project' AND type = 'ADDED' ORDER BY rv", db=db).split()
    assert len(events) == NAMES and {e.split("|")[0]: e.split("|")[1] for e in events} == answered, events
    # Group commit: concurrent creates were written by shared transactions.
    n_txn = int(pg.psql("SELECT count(DISTINCT xmin::text) FROM events WHERE kind = 'Project' AND type = 'ADDED'", db=db))
    assert n_txn < NAMES, "every create had a transaction of its own (%d)" % n_txn
    # The watch saw every ADDED once, in rv order, as the 201s answered them.
    assert watch.done.wait(60), "watch saw %d of %d ADDED" % (len(watch.events), NAMES)
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in watch.events]
    assert rvs == sorted(rvs), rvs
    assert {e["object"]["metadata"]["name"]: e["object"]["metadata"]["resourceVersion"] for e in watch.events} == answered
    assert len(watch.events) == NAMES
    print("ok   %d concurrent creates of %d names: one 201 each, %d transactions, watch in rv order"
          % (len(work), NAMES, n_txn))


def bearer(token):
    return {"Authorization": "Bearer " + token}


def check_token_cache(srv):
    with open(srv.data_dir + "/join.token") as f:
        join = f.read().strip()
    with open(srv.data_dir + "/admin.token") as f:
        admin = f.read().strip()
    tok = "node-cache-" + "a" * 40
    beat = {"state": "Ready"}
    st, _, data = srv.request("POST", "/api/v1/nodes", {"metadata": {"name": "cached"}},
                              dict(bearer(join), **{"Cara-Node-Token": tok}))
    assert st == 201, (st, data)
    for _ in range(3):
        assert srv.request("POST", "/api/v1/nodes/cached/heartbeat", beat, bearer(tok))[0] == 204
    # Deleted on this server: the cached token stops working at once.
    assert srv.request("DELETE", "/api/v1/nodes/cached", None, bearer(admin))[0] in (200, 204)
    assert srv.request("GET", "/api/v1/nodes/cached", None, bearer(tok))[0] == 401
    # Registered again with another token: only that one works.
    tok2 = "node-cache-" + "b" * 40
    st, _, data = srv.request("POST", "/api/v1/nodes", {"metadata": {"name": "cached"}},
                              dict(bearer(join), **{"Cara-Node-Token": tok2}))
    assert st == 201, (st, data)
    assert srv.request("POST", "/api/v1/nodes/cached/heartbeat", beat, bearer(tok2))[0] == 204
    assert srv.request("POST", "/api/v1/nodes/cached/heartbeat", beat, bearer(tok))[0] == 401
    # Reset by the admin: the cached one is refused at once, the new one works.
    st, _, data = srv.request("POST", "/api/v1/nodes/cached/reset-token", None, bearer(admin))
    assert st == 200, (st, data)
    tok3 = json.loads(data)["token"]
    assert srv.request("POST", "/api/v1/nodes/cached/heartbeat", beat, bearer(tok2))[0] == 401
    assert srv.request("POST", "/api/v1/nodes/cached/heartbeat", beat, bearer(tok3))[0] == 204
    print("ok   node token cache: delete and reset-token take effect at once")


def main():
    with postgres() as pg:
        url = pg.create_database("batch")
        with CaraServer(database_url=url) as srv:
            check_concurrent_creates(pg, "batch", srv)
        with CaraServer(database_url=pg.create_database("tokens"), env={"CARA_AUTH": "token"}) as srv:
            check_token_cache(srv)


if __name__ == "__main__":
    main()
