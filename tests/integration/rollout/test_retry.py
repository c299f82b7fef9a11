# SPDX-License-Identifier: Apache-2.0
"""Reconcile retries with backoff (SPEC §13) against real dockerd and a real agent: a hostPort held
by another process makes the project Failed with the error and the next retry time in its
condition and a BackOff Warning event per attempt; a changed spec starts the retry count over;
once the port is freed it is Running by itself within 30 s, with no spec change.  Then
the same hostPort service, updated StopFirst, to a spec that never gets healthy: rolled back."""

import re
import socket
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, containers, project, service


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
        def retry_count():
            return int(re.search(r"retry (\d+)", phase_condition(c.project(name))["message"]).group(1))
        fx.wait_until(lambda: retry_count() > first, timeout=20, what="another retry")
        # each failed attempt is a BackOff Warning in the events API (the agent's events come in batches)
        def backoffs():
            s, body = c.api("GET", "/api/v1/events?project=" + name)
            assert s == 200, (s, body)
            return [e for e in body["items"] if e["reason"] == "BackOff"]
        got = fx.wait_until(lambda: backoffs() if len(backoffs()) >= 2 else None, timeout=20,
                            what="BackOff events in the events API")
        assert all(e["type"] == "Warning" and "retry" in e["message"] for e in got), got
        print("ok   %d BackOff Warning events while the port is held" % len(got))
        # a changed spec while a retry is pending: tried at once, and the retry count starts over
        # (worker.c resets it when the spec digest changes)
        before = fx.wait_until(lambda: retry_count() if retry_count() >= 3 else None, timeout=30,
                               what="a third retry")
        p["spec"]["services"][0]["env"] = [{"name": "CHANGED", "value": "1"}]
        c.apply(p)

        def started_over():
            q = c.project(name)
            m = re.search(r"retry (\d+)", phase_condition(q)["message"])
            return m and q["metadata"]["generation"] == 2 and int(m.group(1)) < before
        fx.wait_until(started_over, timeout=20, interval=0.1, what="the retry count started over")
        print("ok   a changed spec starts the retry count over (was %d)" % before)
        holder.close()
        t0 = time.monotonic()
        running = c.wait_phase(name, "Running", timeout=30)
        took = time.monotonic() - t0
        assert running["metadata"]["generation"] == 2, running["metadata"]
        fx.wait_until(lambda: fx.http("GET", "http://127.0.0.1:%d/" % port)[0] == 200, timeout=10,
                      what="the service on its hostPort")
        print("ok   Running %.1f s after the port was freed, no spec change" % took)

        # a hostPort service is updated StopFirst, and watched the same way: one that never gets
        # healthy is rolled back (the previous spec runs again on the port)
        bad = project(name, [service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"],
                                     ports=[{"containerPort": 80, "hostPort": port}],
                                     healthcheck={"command": ["false"], "intervalSeconds": 1, "timeoutSeconds": 1,
                                                  "retries": 1})])
        bad["spec"]["update"] = {"monitorSeconds": 1}
        c.apply(bad)

        def rolled_back():
            p = c.project(name)
            return p if (p["metadata"]["generation"] == 4 and p["status"].get("phase") == "Running"
                         and p["status"].get("observedGeneration") == 4) else None
        p = fx.wait_until(rolled_back, timeout=60, interval=0.1, what="the StopFirst update rolled back")
        assert "healthcheck" not in p["spec"]["services"][0], p["spec"]
        cond = [x for x in p["status"]["conditions"] if x["type"] == "UpdateFailed"]
        assert cond and cond[0]["status"] == "True" and "generation 3" in cond[0]["message"], p["status"]
        running = [x for x in containers(["cara.project=" + name]) if x["state"] == "running"]
        assert len(running) == 1 and running[0]["name"] == "%s-web" % name, running
        fx.wait_until(lambda: fx.http("GET", "http://127.0.0.1:%d/" % port)[0] == 200, timeout=10,
                      what="the previous spec on its hostPort")
        print("ok   StopFirst update of a hostPort service rolled back")


if __name__ == "__main__":
    main()
