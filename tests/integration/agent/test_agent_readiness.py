#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The project condition ServicesReady end to end (real dockerd, server, agent, private bus):
a service that exits at once under restartPolicy Always is CrashLoop within seconds (status says
so, `apply --wait` exits 1), a healthy project is Ready (`apply --wait` exits 0), a healthcheck
that never passes is Unhealthy, an update waits for the new container (and `get -w` shows the
replacement), and the agent's D-Bus project object carries the condition."""

import json
import os
import subprocess
import sys
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, project, service

CTL = os.environ.get("CARACTRL_BIN", "caractrl")
HTTPD = ["httpd", "-f", "-p", "80", "-h", "/www"]


def ctl(c, *args, input=None, timeout=120):
    env = dict(os.environ, CARA_SERVER=c.url, NO_COLOR="1", LC_ALL="C")
    env.pop("CARA_TOKEN", None)
    return subprocess.run([CTL] + list(args), input=input, env=env, capture_output=True, text=True,
                          timeout=timeout)


def ready_condition(c, name):
    p = c.project(name) or {}
    for cond in p.get("status", {}).get("conditions", []):
        if cond.get("type") == "ServicesReady":
            return cond
    return None


def wait_ready_reason(c, name, reason, timeout=60):
    def reached():
        cond = ready_condition(c, name)
        return cond if cond and cond.get("reason") == reason else None
    try:
        return fx.wait_until(reached, timeout=timeout, what="%s ServicesReady reason %s" % (name, reason))
    except TimeoutError:
        print("last seen: %s" % json.dumps(c.project(name)), flush=True)
        raise


def bus_property(bus, name, prop):
    def path():
        out = bus.busctl("tree", "org.caravanserai.Agent").stdout
        paths = [l[l.index("/org/"):].strip() for l in out.splitlines() if "/project/" in l]
        # sd_bus_path_encode escapes "-" as _2d
        want = name.replace("-", "_2d")
        return next((p for p in paths if p.endswith("/" + want)), None)
    p = fx.wait_until(path, timeout=20, what="project object of " + name)
    return bus.busctl("get-property", "org.caravanserai.Agent", p, "org.caravanserai.Project1", prop).stdout.strip()


def test_crash_loop(c, bus):
    name = fx.unique_name("crash")
    m = project(name, [service("web", command=["sh", "-c", "exit 1"], restartPolicy="Always")])
    t0 = time.monotonic()
    r = ctl(c, "apply", "-f", "-", "--wait", "--timeout", "90s", input=json.dumps(m))
    took = time.monotonic() - t0
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "project %s is crash-looping: web restarted" % name in r.stderr and "times in 5m" in r.stderr, r.stderr
    print("apply --wait on a crash loop exited 1 after %.1f s" % took)
    cond = wait_ready_reason(c, name, "CrashLoop", timeout=10)
    assert cond["status"] == "False" and cond["message"].startswith("web restarted "), cond
    p = c.project(name)
    assert p["status"]["phase"] == "Running", p["status"]
    phase_cond = [x for x in p["status"]["conditions"] if x["type"] == "Phase"][0]
    assert phase_cond["message"] != "All containers running", phase_cond

    r = ctl(c, "status", name, "--lines", "0")
    assert r.returncode == 0, r.stderr
    assert "Ready: CrashLoop: web restarted" in r.stdout, r.stdout
    assert "All containers running" not in r.stdout, r.stdout
    r = ctl(c, "get", "projects", name, "--no-legend")
    assert r.stdout.split()[3] == "CrashLoop", r.stdout

    fx.wait_until(lambda: bus_property(bus, name, "ReadyReason") == 's "CrashLoop"', timeout=20,
                  what="D-Bus ReadyReason CrashLoop")
    assert bus_property(bus, name, "ServicesReady") == "b false"
    assert bus_property(bus, name, "ReadyMessage").startswith('s "web restarted ')
    # An unchanged re-apply of the crash-looping project fails at once, too.
    r = ctl(c, "apply", "-f", "-", "--wait", "--timeout", "30s", input=json.dumps(m))
    assert r.returncode == 1 and "unchanged" in r.stdout and "crash-looping" in r.stderr, (r.stdout, r.stderr)


def test_healthy_and_update(c, bus):
    name = fx.unique_name("fine")
    m = project(name, [service("web", command=HTTPD),
                       service("db", command=HTTPD, healthcheck={"command": ["true"], "intervalSeconds": 1,
                                                                 "timeoutSeconds": 1, "retries": 1})])
    r = ctl(c, "apply", "-f", "-", "--wait", "--timeout", "90s", input=json.dumps(m))
    assert r.returncode == 0, (r.stdout, r.stderr)
    cond = ready_condition(c, name)
    assert cond and cond["status"] == "True" and cond["reason"] == "Ready", c.project(name)
    health = {s["name"]: s.get("health") for s in c.project(name)["status"]["services"]}
    assert health["db"] == "healthy", health
    r = ctl(c, "status", name, "--lines", "0")
    assert "Ready: yes" in r.stdout and "All containers running" in r.stdout, r.stdout
    r = ctl(c, "get", "projects", name, "--no-legend")
    assert r.stdout.split()[3] == "Ready", r.stdout
    fx.wait_until(lambda: bus_property(bus, name, "ServicesReady") == "b true", timeout=20, what="D-Bus ready")

    # An update: --wait returns only once web runs on its new container and all is ready again;
    # get -w says the container was replaced.
    old = {s["name"]: s["containerId"] for s in c.project(name)["status"]["services"]}
    env = dict(os.environ, CARA_SERVER=c.url, NO_COLOR="1", LC_ALL="C")
    w = subprocess.Popen([CTL, "get", "projects", "-w"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        m["spec"]["services"][0]["env"] = [{"name": "V", "value": "2"}]
        # web has no healthcheck: the new container counts as up after monitorSeconds (SPEC §13)
        m["spec"]["update"] = {"monitorSeconds": 2}
        r = ctl(c, "apply", "-f", "-", "--wait", "--timeout", "90s", input=json.dumps(m))
        assert r.returncode == 0 and "configured" in r.stdout, (r.stdout, r.stderr)
        now = {s["name"]: s["containerId"] for s in c.project(name)["status"]["services"]}
        assert now["web"] != old["web"], (old, now)
        assert now["db"] == old["db"], "an unchanged service keeps its container"
        assert ready_condition(c, name)["status"] == "True"
        want = "%s/web: container %s replaced by %s" % (name, old["web"][:12], now["web"][:12])
        deadline = time.monotonic() + 20
        seen = []
        while time.monotonic() < deadline:
            line = w.stdout.readline()
            seen.append(line)
            if want in line:
                break
        assert any(want in l for l in seen), seen
    finally:
        w.kill()
        w.wait()


def test_unhealthy(c):
    name = fx.unique_name("sick")
    m = project(name, [service("web", command=HTTPD, healthcheck={"command": ["false"], "intervalSeconds": 1,
                                                                  "timeoutSeconds": 1, "retries": 1})])
    r = ctl(c, "apply", "-f", "-", "--wait", "--timeout", "8s", input=json.dumps(m))
    assert r.returncode == 1 and "timed out" in r.stderr, (r.stdout, r.stderr)
    cond = wait_ready_reason(c, name, "Unhealthy", timeout=30)
    assert cond["status"] == "False" and cond["message"] == "web is unhealthy", cond
    r = ctl(c, "apply", "-f", "-", "--wait", "--timeout", "2s", input=json.dumps(m))
    assert r.returncode == 1 and "Unhealthy: web is unhealthy" in r.stderr, r.stderr

    # Reported conditions are checked: the field is named, nothing is stored.
    for bad, field in (({"type": "Phase", "status": "True"}, "conditions[0].type"),
                       ({"type": "ServicesReady", "status": "Maybe"}, "conditions[0].status")):
        s, body = c.api("PATCH", "/api/v1/projects/%s/status" % name, {"phase": "Running", "conditions": [bad]})
        assert s == 400 and field in body["detail"], (s, body)
    assert ready_condition(c, name)["reason"] == "Unhealthy"


def main():
    if not os.path.exists(CTL):
        fx.skip("caractrl not built: " + CTL)
    with fx.DBusDaemon() as bus, AgentCluster() as c:
        c.agent("n1", env=bus.env)
        test_crash_loop(c, bus)
        test_healthy_and_update(c, bus)
        test_unhealthy(c)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
