#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The agent's events and metrics (SPEC §11): Started, Restarted, Unhealthy, Killed (OOM) and a
failed pull reach GET /api/v1/events as they happen; the agent's metrics are served on
METRICS_LISTEN_ADDR without auth and relayed by the server (GET /api/v1/nodes/{name}/metrics)."""

import sys

import cara_fixtures as fx
from cara_agent import AgentCluster, project, service


def events(c, name):
    s, body = c.api("GET", "/api/v1/events?project=" + name)
    assert s == 200, (s, body)
    return body["items"]


def wait_reason(c, name, reason, timeout=60):
    def seen():
        return [e for e in events(c, name) if e["reason"] == reason]
    return fx.wait_until(seen, timeout=timeout, what="%s event of %s" % (reason, name))[0]


def sample(text, series):
    """The value of one series line in a text exposition (None when absent)."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def main():
    with AgentCluster() as c:
        mport = fx.free_port()
        a = c.agent("ev", env={"METRICS_LISTEN_ADDR": "127.0.0.1:%d" % mport})
        web = fx.unique_name("web")
        c.apply(project(web, [service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"])]))
        c.wait_phase(web, "Running", timeout=60)
        started = wait_reason(c, web, "Started")
        assert started["type"] == "Normal" and started["node"] == a.node and "service web" in started["message"], started
        assert [e["reason"] for e in events(c, web)][:2] == ["Scheduled", "Started"], events(c, web)

        crash = fx.unique_name("crash")
        c.apply(project(crash, [service("job", command=["sh", "-c", "sleep 1; exit 3"])]))
        r = wait_reason(c, crash, "Restarted")
        assert r["type"] == "Warning" and "service job" in r["message"], r

        sick = fx.unique_name("sick")
        c.apply(project(sick, [service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"],
                                       healthcheck={"command": ["false"], "intervalSeconds": 1,
                                                    "timeoutSeconds": 1, "retries": 1})]))
        u = wait_reason(c, sick, "Unhealthy")
        assert u["type"] == "Warning" and "healthcheck" in u["message"], u

        oom = fx.unique_name("oom")
        c.apply(project(oom, [service("hog", command=["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
                                      resources={"memory": "8Mi"}, restartPolicy="Never")]))
        k = wait_reason(c, oom, "Killed")
        assert k["type"] == "Warning" and "out of memory" in k["message"] and "hog" in k["message"], k

        # a pull that fails (a registry on a closed loopback port: no traffic leaves the host)
        nopull = fx.unique_name("nopull")
        c.apply(project(nopull, [service("x", image="127.0.0.1:1/cara-test/none:1")]))
        f = wait_reason(c, nopull, "PullFailed")
        assert f["type"] == "Warning", f

        # metrics: unauthenticated on METRICS_LISTEN_ADDR, and relayed through the server
        s, hdrs, body = fx.http("GET", "http://127.0.0.1:%d/metrics" % mport)
        assert s == 200 and hdrs["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8", (s, hdrs)
        text = body.decode()
        assert sample(text, 'cara_agent_reconciles_total{result="success"}') >= 1, text
        assert sample(text, 'cara_agent_containers{state="running"}') >= 1, text
        assert sample(text, 'cara_agent_docker_requests_total{code="200"}') >= 1, text
        assert sample(text, 'cara_agent_image_pulls_total{result="failure"}') >= 1, text
        assert sample(text, "cara_agent_heartbeat_failures_total") == 0, text
        assert sample(text, "cara_agent_reconcile_duration_seconds_count") >= 1, text
        for name in ("process_resident_memory_bytes", "process_cpu_seconds_total", "process_start_time_seconds",
                     "process_open_fds"):
            assert sample(text, name) is not None, name
        s, hdrs, body = fx.http("GET", c.url + "/api/v1/nodes/%s/metrics" % a.node)
        assert s == 200 and hdrs["Content-Type"].startswith("text/plain; version=0.0.4"), (s, body)
        assert b"cara_agent_reconciles_total" in body, body
        s, _, _ = fx.http("GET", c.url + "/api/v1/nodes/nobody/metrics")
        assert s == 404, s
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
