# SPDX-License-Identifier: Apache-2.0
"""16 client threads apply, update (PUT with resourceVersion) and delete the same and different
projects at once against a real cara-server on a real PostgreSQL (no nodes: projects stay Pending,
so a DELETE removes at once).  Guarantees checked:
  - no 5xx, every status is one the API documents for the operation;
  - a PUT carrying a resourceVersion known to be stale (older than an accepted write) gets 409;
  - every accepted write's resourceVersion is unique per object, and increasing in real time:
    a write whose response arrived before another write was sent has the smaller version;
  - the final state of each object equals its last accepted write (highest resourceVersion), or
    the object is gone and a DELETE was accepted that was not over before that write was sent."""

import http.client
import json
import random
import sys
import threading
import time

from cara_server import CaraServer, postgres

THREADS = 16
OPS = 60
SHARED = ["shared-%d" % i for i in range(3)]


def body(name, marker, rv=None):
    b = {"apiVersion": "caravanserai/v1", "kind": "Project",
         "metadata": {"name": name, "labels": {"marker": marker}},
         "spec": {"services": [{"name": "web", "image": "busybox:" + marker}]}}
    if rv is not None:
        b["metadata"]["resourceVersion"] = rv
    return b


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = None

    def call(self, method, path, b=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                data = json.dumps(b).encode() if b is not None else None
                self.conn.request(method, path, data, {"Content-Type": "application/json"} if data else {})
                r = self.conn.getresponse()
                raw = r.read()
                return r.status, (json.loads(raw) if raw and "json" in r.getheader("Content-Type", "") else raw)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # keep-alive connection closed by the server between requests: only safe for a
                # request the server never saw, which is the case for a reused idle connection
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def main():
    rng0 = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 1302)
    seeds = [rng0.randrange(1 << 30) for _ in range(THREADS)]
    writes = []   # (name, rv int, marker, t_sent, t_done)
    deletes = []  # (name, t_sent, t_done)
    errors = []
    counts = {}
    lock = threading.Lock()

    with postgres() as pg:
        url = pg.create_database("concurrency")
        with CaraServer(database_url=url) as srv:
            def worker(tid):
                rng = random.Random(seeds[tid])
                c = Client(srv.port)
                own = ["own-%d" % tid, "own-%d" % ((tid + 1) % THREADS)]  # neighbours overlap a little
                try:
                    for i in range(OPS):
                        name = rng.choice(SHARED + own)
                        marker = "t%d-%d" % (tid, i)
                        op = rng.choices(["apply", "update", "stale", "delete"], [3, 5, 2, 1])[0]
                        t0 = time.monotonic()
                        if op == "apply":  # create, or last-writer-wins replace when it exists
                            st, d = c.call("POST", "/api/v1/projects", body(name, marker))
                            ok = {201, 409}
                            if st == 409:
                                t0 = time.monotonic()
                                st, d = c.call("PUT", "/api/v1/projects/" + name, body(name, marker))
                                ok = {200, 404}
                        elif op == "update":
                            st, d = c.call("GET", "/api/v1/projects/" + name)
                            if st == 404:
                                key = (op, "GET", st)
                                with lock:
                                    counts[key] = counts.get(key, 0) + 1
                                continue
                            assert st == 200, (st, d)
                            t0 = time.monotonic()
                            st, d = c.call("PUT", "/api/v1/projects/" + name, body(name, marker, d["metadata"]["resourceVersion"]))
                            ok = {200, 409, 404}
                        elif op == "stale":
                            # a version older than the current one (read now) is stale from now on
                            st, d = c.call("GET", "/api/v1/projects/" + name)
                            if st != 200:
                                continue
                            cur = int(d["metadata"]["resourceVersion"])
                            with lock:
                                older = [w[1] for w in writes if w[0] == name and w[1] < cur]
                            if not older:
                                continue
                            st, d = c.call("PUT", "/api/v1/projects/" + name, body(name, marker, str(rng.choice(older))))
                            ok = {409, 404}
                        else:
                            st, d = c.call("DELETE", "/api/v1/projects/" + name)
                            ok = {204, 404}
                        t1 = time.monotonic()
                        key = (op, st)
                        with lock:
                            counts[key] = counts.get(key, 0) + 1
                            if st not in ok:
                                errors.append("%s %s -> %s %r" % (op, name, st, d))
                            elif st in (200, 201):
                                rv = d["metadata"]["resourceVersion"]
                                writes.append((name, int(rv), marker, t0, t1))
                            elif op == "delete" and st == 204:
                                deletes.append((name, t0, t1))
                except Exception as e:  # noqa: BLE001
                    with lock:
                        errors.append("thread %d: %r" % (tid, e))

            t0 = time.monotonic()
            ts = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(240)
            elapsed = time.monotonic() - t0
            assert not any(t.is_alive() for t in ts), "client threads hung"
            print("%d threads x %d ops in %.1fs" % (THREADS, OPS, elapsed))
            for k in sorted(counts, key=str):
                print("  %-40s %d" % (k, counts[k]))
            assert not errors, "\n".join(errors[:30])
            assert not any(k[-1] >= 500 for k in counts), counts

            # A "stale" PUT is only a check when its version really was stale: it was sent after a
            # newer write of that object had been accepted.  Some such PUTs must have happened and
            # none may have been accepted (they would be in `writes` with a non-unique story below).
            by_name = {}
            for w in writes:
                by_name.setdefault(w[0], []).append(w)
            for name, ws in by_name.items():
                rvs = [w[1] for w in ws]
                assert len(rvs) == len(set(rvs)), "%s: duplicate resourceVersion among accepted writes" % name
                ws_sorted = sorted(ws, key=lambda w: w[4])
                for a in ws_sorted:
                    for b in ws:
                        if a[4] < b[3]:  # a finished before b was sent
                            assert a[1] < b[1], "%s: write %s (rv %d) done before %s was sent, got rv %d" % (
                                name, a[2], a[1], b[2], b[1])
            # Final state equals the last accepted write.
            c = Client(srv.port)
            for name in sorted(set(SHARED) | {"own-%d" % i for i in range(THREADS)}):
                ws = by_name.get(name, [])
                st, d = c.call("GET", "/api/v1/projects/" + name)
                if not ws:
                    assert st == 404, (name, st)
                    continue
                last = max(ws, key=lambda w: w[1])
                if st == 200:
                    assert d["metadata"]["labels"]["marker"] == last[2], (name, d["metadata"], last)
                    assert d["spec"]["services"][0]["image"] == "busybox:" + last[2], (name, d["spec"], last)
                    assert int(d["metadata"]["resourceVersion"]) >= last[1], (name, d["metadata"], last)
                else:
                    assert st == 404, (name, st, d)
                    assert any(dn == name and dt1 > last[3] for dn, dt0, dt1 in deletes), \
                        "%s is gone but no accepted DELETE could have come after its last write %s" % (name, last)
            stale_409 = counts.get(("stale", 409), 0)
            print("accepted writes %d, deletes %d, stale PUTs refused 409: %d, version conflicts on "
                  "read-modify-write 409: %d" % (len(writes), len(deletes), stale_409, counts.get(("update", 409), 0)))
            assert stale_409 > 0, "no stale PUT was exercised"
            st, _, b = srv.request("GET", "/api/healthz")
            assert st == 200
            for bad in ("AddressSanitizer", "runtime error", "CRITICAL"):
                assert bad not in srv.log(), "server log has " + bad
    print("PASS")


if __name__ == "__main__":
    main()
