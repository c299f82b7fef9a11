#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Metrics scrape benchmark (SPEC §11): GET /metrics of a cara-server holding --projects projects
(default 10 000) on --nodes simulated nodes, after enough API traffic to fill the request series;
reports the scrape time (p50/p99/max over --scrapes scrapes on one keep-alive connection) and
exits 1 when the p50 is over --target-ms (default 10).  A scrape renders what is in memory: it
must not grow with the number of projects (no database query).

    bench/metrics/bench_metrics.py [--projects 10000] [--nodes 100] [--scrapes 200]
        [--server build/src/server/cara-server]"""

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


def conn(srv):
    return http.client.HTTPConnection(srv.host, srv.port, timeout=30)


def call(c, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    c.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
    r = c.getresponse()
    return r.status, r.read()


def create(srv, names):
    c = conn(srv)
    for n in names:
        st, body = call(c, "POST", "/api/v1/projects",
                        {"metadata": {"name": n}, "spec": {"services": [{"name": "web", "image": "busybox"}]}})
        assert st == 201, (st, body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--projects", type=int, default=10000)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--scrapes", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--target-ms", type=float, default=10.0)
    ap.add_argument("--server", default=None)
    a = ap.parse_args()
    if a.server:
        os.environ["CARA_SERVER_BIN"] = a.server
    with postgres() as pg, CaraServer(database_url=pg.url) as srv:
        c = conn(srv)
        for i in range(a.nodes):
            call(c, "POST", "/api/v1/nodes", {"metadata": {"name": "n%04d" % i}})
            call(c, "POST", "/api/v1/nodes/n%04d/heartbeat" % i,
                 {"state": "Ready", "allocatable": {"cpu": "64", "memory": "256Gi"}})
        t0 = time.monotonic()
        names = ["p%05d" % i for i in range(a.projects)]
        threads = [threading.Thread(target=create, args=(srv, names[k::a.clients])) for k in range(a.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        created = time.monotonic() - t0
        # every route the API has a series for, a few status codes
        for path in ("/api/v1/projects/p00001", "/api/v1/projects/nope", "/api/v1/nodes", "/api/v1/version",
                     "/api/healthz", "/api/v1/events?limit=1", "/nowhere"):
            call(c, "GET", path)

        def scheduled():
            st, body = call(c, "GET", "/metrics")
            for line in body.decode().splitlines():
                if line.startswith('cara_projects{phase="Scheduled"} '):
                    return int(float(line.split()[-1]))
            return 0
        deadline = time.monotonic() + 300
        while scheduled() < a.projects and time.monotonic() < deadline:
            time.sleep(0.5)
        times = []
        size = 0
        for _ in range(a.scrapes):
            s = time.perf_counter()
            st, body = call(c, "GET", "/metrics")
            times.append((time.perf_counter() - s) * 1000)
            assert st == 200
            size = len(body)
        times.sort()
        p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99) - 1]
        result = {"projects": a.projects, "nodes": a.nodes, "scheduled": scheduled(), "create_s": round(created, 1),
                  "scrape_bytes": size, "scrape_ms_p50": round(p50, 2), "scrape_ms_p99": round(p99, 2),
                  "scrape_ms_max": round(times[-1], 2), "target_ms": a.target_ms}
        print(json.dumps(result))
        return 0 if p50 <= a.target_ms else 1


if __name__ == "__main__":
    sys.exit(main())
