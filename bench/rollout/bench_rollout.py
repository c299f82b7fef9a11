#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Rollout benchmark (SPEC §13): one cara-server, one cara-agent with its ingress proxy, real
dockerd, a one-service project (busybox httpd answering its VERSION) with a healthcheck every 1 s.

  1. PUT -> rolled out: --updates image-less updates (env VERSION changes), each timed from the
     moment the PUT is sent to the moment the project shows observedGeneration = generation
     (polled every 10 ms).  Reported against the healthcheck's own first pass (Docker runs the
     first check one interval after the start: 1 s), target <= 1.5 s over it.
  2. Requests lost: --burst updates back to back while --rate requests/s go through the ingress
     (4 client threads, keep-alive connections to the proxy); every non-200 answer or error counts.
     Target 0.

    bench/rollout/bench_rollout.py [--updates 10] [--burst 20] [--rate 200] [--json OUT]

Needs root (or a dockerd it may use) and PostgreSQL 15 binaries, as the integration tests."""

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))
BUILD = os.environ.get("CARA_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
os.environ.setdefault("CARA_SERVER_BIN", os.path.join(BUILD, "src", "server", "cara-server"))
os.environ.setdefault("CARA_AGENT_BIN", os.path.join(BUILD, "src", "agent", "cara-agent"))
import cara_fixtures as fx  # noqa: E402
from cara_agent import AgentCluster, project, service  # noqa: E402

WEB_CMD = ["sh", "-c", "mkdir -p /tmp/w; echo $VERSION > /tmp/w/index.html; trap 'exit 0' TERM; "
                       "httpd -f -p 80 -h /tmp/w & wait"]
HEALTH = {"command": ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"], "intervalSeconds": 1,
          "timeoutSeconds": 1, "retries": 1}


def manifest(name, version):
    p = project(name, [service("web", command=WEB_CMD, env=[{"name": "VERSION", "value": version}],
                               healthcheck=HEALTH)])
    p["spec"]["ingress"] = [{"name": "web", "host": "web", "target": {"service": "web", "port": 80}}]
    p["spec"]["update"] = {"monitorSeconds": 2}
    return p


def rolled_out(c, name, gen):
    p = c.project(name)
    return p and p["metadata"]["generation"] == gen and p["status"].get("observedGeneration", 0) >= gen


def update(c, name, version, timeout=60):
    t0 = time.monotonic()
    gen = c.apply(manifest(name, version))["metadata"]["generation"]
    deadline = t0 + timeout
    while not rolled_out(c, name, gen):
        if time.monotonic() > deadline:
            raise TimeoutError("generation %d not rolled out" % gen)
        time.sleep(0.01)
    return time.monotonic() - t0


class Load:
    """@rate requests/s through the ingress from 4 threads; counts what is not a 200."""

    def __init__(self, port, host, rate):
        self.port, self.host, self.rate = port, host, rate
        self.ok = self.lost = 0
        self.errors = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(4)]

    def run(self):
        conn = None
        period = 4.0 / self.rate
        nxt = time.monotonic()
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", "/", headers={"Host": self.host})
                r = conn.getresponse()
                r.read()
                good = r.status == 200
                what = r.status
            except Exception as e:  # noqa: BLE001 - every failure counts
                good, what = False, repr(e)
                conn = None
            with self.lock:
                if good:
                    self.ok += 1
                else:
                    self.lost += 1
                    self.errors.append(what)
            nxt += period
            time.sleep(max(0.0, nxt - time.monotonic()))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(15)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--updates", type=int, default=10)
    ap.add_argument("--burst", type=int, default=20)
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--json")
    args = ap.parse_args()
    load0 = os.getloadavg()
    with AgentCluster() as c:
        a = c.agent("bench", env={"STOP_TIMEOUT": "5s"})
        name = fx.unique_name("rb")
        host = "web.%s.local" % name
        c.apply(manifest(name, "v0"))
        fx.wait_until(lambda: rolled_out(c, name, 1), timeout=60, what="first rollout")
        times = [update(c, name, "t%d" % i) for i in range(args.updates)]
        t0 = time.monotonic()
        with Load(a.proxy_port, host, args.rate) as load:
            time.sleep(1)
            for i in range(args.burst):
                update(c, name, "b%d" % i)
            time.sleep(1)
        took = time.monotonic() - t0
        result = {
            "updates": args.updates, "put_to_rolled_out_s": times,
            "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "over_first_healthcheck_s": statistics.median(times) - HEALTH["intervalSeconds"],
            "burst": args.burst, "rate": args.rate, "requests": load.ok + load.lost, "lost": load.lost,
            "errors": load.errors[:10], "burst_seconds": took,
            "achieved_rate": (load.ok + load.lost) / took, "load_before": load0, "load_after": os.getloadavg(),
        }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0 if result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
