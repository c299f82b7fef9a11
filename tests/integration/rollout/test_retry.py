# SPDX-License-Identifier: Apache-2.0
"""Reconcile retries with backoff (SPEC §13) against real dockerd and a real agent: a hostPort held
by another process makes the project Failed with the error and the next retry time in its
condition; once the port is freed it is Running by itself within 30 s, with no spec change."""

import re
import socket
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, project, service


def phase_condition(p):
    return [x for x in p["status"].get("conditions", []) if x["type"] == "Phase"][0]


def main():
    with AgentCluster() as c:
        c.agent("rt")
        name = fx.unique_name("rt")
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("0.0.0.0", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        p = project(name, [service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"],
                                   ports=[{"containerPort": 80, "hostPort": port}])])
        c.apply(p)
        failed = c.wait_phase(name, "Failed", timeout=60)
        cond = phase_condition(failed)
        assert str(port) in cond["message"] or "address already in use" in cond["message"], cond
        assert re.search(r"retry \d+ in \d+s at \d{4}-\d\d-\d\dT", cond["message"]), cond
        # it keeps trying (the attempt number grows) while the port is held
        first = int(re.search(r"retry (\d+)", cond["message"]).group(1))
        fx.wait_until(lambda: int(re.search(r"retry (\d+)", phase_condition(c.project(name))["message"]).group(1)) > first,
                      timeout=20, what="another retry")
        holder.close()
        t0 = time.monotonic()
        running = c.wait_phase(name, "Running", timeout=30)
        took = time.monotonic() - t0
        assert running["metadata"]["generation"] == 1, running["metadata"]
        fx.wait_until(lambda: fx.http("GET", "http://127.0.0.1:%d/" % port)[0] == 200, timeout=10,
                      what="the service on its hostPort")
        print("ok   Running %.1f s after the port was freed, generation unchanged" % took)


if __name__ == "__main__":
    main()
