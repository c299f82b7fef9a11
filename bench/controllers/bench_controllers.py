#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Controller benchmark (issue 5): N simulated nodes heartbeating, M projects created as fast as
the API takes them; reports projects scheduled per second, apply-to-Scheduled latency (p50/p99,
from the moment the POST is sent to the moment the watch stream shows the project Scheduled) and
cara-server's memory.

    bench/controllers/bench_controllers.py [--nodes 1000] [--projects 10000] [--clients 8]
        [--heartbeat-interval 10] [--server build/src/server/cara-server] [--time-limit 600]

Needs PostgreSQL 15 binaries (a private instance is started, as in the tests).  Everything is
bounded by --time-limit; the server and database are stopped at the end."""

import argparse
import http.client
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))
from cara_server import CaraServer, postgres  # noqa: E402


class Client:
    """One keep-alive connection."""

    def __init__(self, srv):
        self.srv = srv
        self.conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data else {}
        for attempt in range(3):
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                r = self.conn.getresponse()
                payload = r.read()
                return r.status, payload
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=30)
        raise RuntimeError("%s %s failed" % (method, path))


def rss_kib(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":")
                out[k] = int(v.split()[0])
    return out


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--projects", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=8, help="concurrent project creators")
    ap.add_argument("--heartbeat-interval", type=float, default=10.0)
    ap.add_argument("--heartbeaters", type=int, default=4)
    ap.add_argument("--server", default=os.environ.get("CARA_SERVER_BIN",
                                                        os.path.join(HERE, "..", "..", "build", "src", "server",
                                                                     "cara-server")))
    ap.add_argument("--time-limit", type=float, default=600)
    ap.add_argument("--burst", action="store_true",
                    help="create every project while the nodes are NotReady, then start the heartbeats: "
                         "measures how fast the scheduler places a backlog")
    args = ap.parse_args()
    deadline = time.monotonic() + args.time_limit
    stop = threading.Event()

    with postgres() as pg:
        env = {"NODE_HEARTBEAT_TIMEOUT": "%ds" % int(max(30, args.heartbeat_interval * 3))}
        with CaraServer(database_url=pg.url, env=env, bin=args.server) as srv:
            c = Client(srv)
            t0 = time.monotonic()
            for i in range(args.nodes):
                name = "node-%04d" % i
                c.call("POST", "/api/v1/nodes", {"apiVersion": "caravanserai/v1", "kind": "Node",
                                                 "metadata": {"name": name}, "spec": {"hostname": name}})
            print("registered %d nodes in %.1f s" % (args.nodes, time.monotonic() - t0))

            # Heartbeats, spread evenly over the interval.
            hb_count = [0]

            def heartbeater(k):
                cl = Client(srv)
                mine = ["node-%04d" % i for i in range(k, args.nodes, args.heartbeaters)]
                body = {"state": "Ready", "allocatable": {"cpu": "8", "memory": "16Gi"},
                        "capacity": {"cpu": "8", "memory": "16Gi"}}
                while not stop.is_set():
                    start = time.monotonic()
                    for n in mine:
                        if stop.is_set():
                            return
                        cl.call("POST", "/api/v1/nodes/%s/heartbeat" % n, body)
                        hb_count[0] += 1
                        # pace: the whole list once per interval
                        target = start + args.heartbeat_interval * (mine.index(n) + 1) / len(mine)
                        delay = target - time.monotonic()
                        if delay > 0:
                            stop.wait(delay)

            hbs = [threading.Thread(target=heartbeater, args=(k,), daemon=True) for k in range(args.heartbeaters)]

            def start_heartbeats():
                for t in hbs:
                    t.start()
                # Let every node be Ready once.
                while time.monotonic() < deadline:
                    st, body = c.call("GET", "/api/v1/nodes")
                    items = json.loads(body)["items"]
                    if sum(1 for n in items if n["status"].get("state") == "Ready") == args.nodes:
                        break
                    time.sleep(0.5)
                print("all %d nodes Ready after %.1f s" % (args.nodes, time.monotonic() - t0))

            if not args.burst:
                start_heartbeats()

            # Watch: when each project shows up Scheduled.
            scheduled_at = {}
            wconn = http.client.HTTPConnection(srv.host, srv.port, timeout=600)
            wconn.request("GET", "/api/v1/projects?watch=true")
            wresp = wconn.getresponse()

            def watcher_safe():
                try:
                    watcher()
                except Exception:  # noqa: BLE001 - the stream is closed at the end
                    pass

            def watcher():
                while not stop.is_set():
                    line = wresp.readline()
                    if not line:
                        return
                    e = json.loads(line)
                    if e.get("type") in ("ADDED", "MODIFIED") and e["object"]["status"].get("phase") == "Scheduled":
                        scheduled_at.setdefault(e["object"]["metadata"]["name"], time.monotonic())

            wt = threading.Thread(target=watcher_safe, daemon=True)
            wt.start()

            sent_at = {}
            errors = [0]

            def creator(k):
                cl = Client(srv)
                for i in range(k, args.projects, args.clients):
                    if time.monotonic() > deadline:
                        return
                    name = "p-%05d" % i
                    body = {"apiVersion": "caravanserai/v1", "kind": "Project", "metadata": {"name": name},
                            "spec": {"services": [{"name": "web", "image": "busybox",
                                                   "resources": {"cpu": "10m", "memory": "16Mi"}}]}}
                    sent_at[name] = time.monotonic()
                    st, _ = cl.call("POST", "/api/v1/projects", body)
                    if st != 201:
                        errors[0] += 1

            t_create = time.monotonic()
            creators = [threading.Thread(target=creator, args=(k,)) for k in range(args.clients)]
            for t in creators:
                t.start()
            for t in creators:
                t.join()
            create_s = time.monotonic() - t_create
            print("created %d projects in %.1f s (%.0f/s, %d errors)" % (len(sent_at), create_s,
                                                                         len(sent_at) / create_s, errors[0]))
            if args.burst:
                t_create = time.monotonic()
                start_heartbeats()
            while len(scheduled_at) < len(sent_at) and time.monotonic() < deadline:
                time.sleep(0.2)
            done = time.monotonic()
            mem = rss_kib(srv.proc.pid)
            stop.set()

            lat = [(scheduled_at[n] - sent_at[n]) * 1000 for n in sent_at if n in scheduled_at]
            first = min(scheduled_at.values()) if scheduled_at else done
            last = max(scheduled_at.values()) if scheduled_at else done
            # Burst: from the first placement (nodes just became Ready) to the last.
            span = max(last - (first if args.burst else t_create), 1e-9)
            st, body = c.call("GET", "/api/v1/projects")
            per_node = {}
            for p in json.loads(body)["items"]:
                ref = p["status"].get("nodeRef")
                if ref:
                    per_node[ref] = per_node.get(ref, 0) + 1
            counts = sorted(per_node.values())
            res = {
                "nodes": args.nodes, "projects": args.projects, "clients": args.clients,
                "heartbeat_interval_s": args.heartbeat_interval, "heartbeats_sent": hb_count[0],
                "created_per_s": round(len(sent_at) / create_s, 1),
                "scheduled": len(scheduled_at),
                "scheduled_per_s": round(len(scheduled_at) / span, 1),
                "mode": "burst" if args.burst else "steady",
                "apply_to_scheduled_ms_p50": round(pct(lat, 50), 1),
                "apply_to_scheduled_ms_p99": round(pct(lat, 99), 1),
                "apply_to_scheduled_ms_max": round(max(lat), 1) if lat else None,
                "projects_per_node_min_max": [counts[0], counts[-1]] if counts else None,
                "server_rss_mib": round(mem.get("VmRSS", 0) / 1024, 1),
                "server_peak_rss_mib": round(mem.get("VmHWM", 0) / 1024, 1),
            }
            print(json.dumps(res, indent=2))
            for t in hbs:
                t.join(5)
            wconn.close()
            ok = len(scheduled_at) == args.projects
            return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
