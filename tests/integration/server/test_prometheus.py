# SPDX-License-Identifier: Apache-2.0
"""Metrics with a real Prometheus (SPEC §11 "Metrics"): Debian's /usr/bin/prometheus, started on
127.0.0.1 with the shipped docs/prometheus.yml (hosts, token file, node and interval filled in)
and docs/cara-alerts.yml, scrapes the server and one agent through the server with a read-only
bearer token; its HTTP API then answers up == 1 for both, cara_projects{phase="Running"}, a
request rate and the alert expressions.  Also: /metrics's content type and roles, the series
SPEC §11 lists, and the agent's events arriving with authorisation on."""

import json
import os
import shutil
import tempfile
import urllib.parse

import cara_fixtures as fx
from cara_agent import AgentCluster, project, service

PROMETHEUS = "/usr/bin/prometheus"
ADMIN, JOIN, READER = "admin-" + os.urandom(16).hex(), "join-" + os.urandom(16).hex(), "reader-" + os.urandom(16).hex()
SERVER_SERIES = ["cara_nodes", "cara_projects", "cara_http_requests_total", "cara_http_request_duration_seconds_bucket",
                 "cara_scheduling_duration_seconds_bucket", "cara_scheduler_decisions_total", "cara_watchers",
                 "cara_leader", "cara_db_errors_total", "process_resident_memory_bytes", "process_cpu_seconds_total",
                 "process_start_time_seconds", "process_open_fds"]


def api(c, method, path, body=None, token=ADMIN):
    return fx.http_json(method, c.url + path, body, headers={"Authorization": "Bearer " + token})


def series_names(text):
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def check_endpoint(c, node):
    s, hdrs, body = fx.http("GET", c.url + "/metrics", headers={"Authorization": "Bearer " + READER})
    assert s == 200 and hdrs["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8", (s, hdrs)
    names = series_names(body.decode())
    missing = [n for n in SERVER_SERIES if n not in names]
    assert not missing, missing
    text = body.decode()
    assert 'cara_http_requests_total{method="GET",route="/api/v1/projects/{name}",code="200"}' in text, text
    assert "cara_leader 1" in text.splitlines(), text
    assert fx.http("GET", c.url + "/metrics")[0] == 401
    s, _, body = fx.http("GET", c.url + "/api/v1/nodes/%s/metrics" % node, headers={"Authorization": "Bearer " + READER})
    assert s == 200 and b"cara_agent_docker_requests_total" in body, (s, body[:200])


def prometheus_config(tmp, server, node, token_file):
    src = os.environ.get("CARA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    with open(os.path.join(src, "docs", "prometheus.yml")) as f:
        conf = f.read()
    for old, new in [("cara.example.com:8080", server), ("/etc/prometheus/cara.token", token_file),
                     ("node: node-1", "node: " + node), ("scrape_interval: 15s", "scrape_interval: 1s"),
                     ("evaluation_interval: 15s", "evaluation_interval: 1s")]:
        assert old in conf, old
        conf = conf.replace(old, new)
    shutil.copy(os.path.join(src, "docs", "cara-alerts.yml"), os.path.join(tmp, "cara-alerts.yml"))
    path = os.path.join(tmp, "prometheus.yml")
    with open(path, "w") as f:
        f.write(conf)
    return path


def query(port, expr):
    url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(expr))
    s, _, body = fx.http("GET", url)
    assert s == 200, (s, body)
    data = json.loads(body)
    assert data["status"] == "success", data
    return data["data"]["result"]


def main():
    if not os.path.exists(PROMETHEUS):
        fx.skip("prometheus is not installed (apt-get install prometheus)")
    env = {"CARA_AUTH": "token", "CARA_ADMIN_TOKEN": ADMIN, "CARA_JOIN_TOKEN": JOIN, "CARA_READ_TOKENS": READER}
    with AgentCluster(server_env=env) as c:
        a = c.agent("prom", env={"CARA_TOKEN": JOIN}, wait=False)
        a.wait_ready()
        fx.wait_until(lambda: api(c, "GET", "/api/v1/nodes/" + a.node)[2]["status"].get("state") == "Ready",
                      timeout=30, what="node Ready")
        name = fx.unique_name("prom")
        s, _, body = api(c, "POST", "/api/v1/projects",
                         project(name, [service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"])]))
        assert s == 201, (s, body)
        fx.wait_until(lambda: api(c, "GET", "/api/v1/projects/" + name)[2]["status"].get("phase") == "Running",
                      timeout=60, what="project Running")
        # with authorisation on, the agent reports its events with its node token
        fx.wait_until(lambda: "Started" in [e["reason"] for e in
                                            api(c, "GET", "/api/v1/events?project=" + name, token=READER)[2]["items"]],
                      timeout=30, what="the agent's Started event")
        check_endpoint(c, a.node)

        tmp = tempfile.mkdtemp(prefix="cara-prom-")
        fx.on_exit(lambda: shutil.rmtree(tmp, ignore_errors=True))
        token_file = os.path.join(tmp, "cara.token")
        with open(token_file, "w") as f:
            f.write(READER + "\n")
        conf = prometheus_config(tmp, "127.0.0.1:%d" % c.server_port, a.node, token_file)
        fx.run(["/usr/bin/promtool", "check", "config", conf])
        port = fx.free_port()
        prom = fx.Daemon([PROMETHEUS, "--config.file=" + conf, "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                          "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"], name="prometheus")
        try:
            prom.wait_http("http://127.0.0.1:%d/-/ready" % port, timeout=60)

            def up():
                r = query(port, "up == 1")
                jobs = sorted(x["metric"]["job"] for x in r)
                return jobs if jobs == ["cara-agents", "cara-server"] else None
            fx.wait_until(up, timeout=60, interval=0.5, what="both targets up")
            running = fx.wait_until(lambda: query(port, 'cara_projects{phase="Running"} >= 1'), timeout=30,
                                    interval=0.5, what='cara_projects{phase="Running"}')
            assert float(running[0]["value"][1]) == 1, running
            rate = fx.wait_until(lambda: query(port, "sum(rate(cara_http_requests_total[5s])) > 0"), timeout=30,
                                 interval=0.5, what="a request rate")
            assert float(rate[0]["value"][1]) > 0, rate
            agent = fx.wait_until(lambda: query(port, 'cara_agent_containers{state="running"} >= 1'), timeout=30,
                                  interval=0.5, what="the agent's containers")
            assert agent[0]["metric"]["instance"] == a.node, agent
            # the alert expressions of docs/cara-alerts.yml evaluate (nothing fires here)
            rules = fx.wait_until(lambda: (lambda r: r if r and all(g.get("lastEvaluation", "").startswith("20")
                                                                   for g in r) else None)(
                json.loads(fx.http("GET", "http://127.0.0.1:%d/api/v1/rules" % port)[2])["data"]["groups"]),
                timeout=30, interval=0.5, what="rules evaluated")
            states = {r["name"]: (r["health"], r["state"]) for g in rules for r in g["rules"]}
            assert states == {"CaraNodeNotReady": ("ok", "inactive"), "CaraProjectsFailed": ("ok", "inactive"),
                              "CaraApiSlow": ("ok", "inactive")}, states
            assert query(port, 'histogram_quantile(0.99, sum by (le) (rate(cara_http_request_duration_seconds_bucket[1m])))')
        finally:
            prom.stop()
    print("ok   Prometheus scrapes the server and an agent through it")


if __name__ == "__main__":
    main()
