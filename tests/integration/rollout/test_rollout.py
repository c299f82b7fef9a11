# SPDX-License-Identifier: Apache-2.0
"""Updates without downtime (SPEC §13) against real dockerd, a real agent and its ingress proxy: a
client asking every 50 ms through the ingress during v1 -> v2 sees no failure, then only v2; a v3
whose healthcheck never passes is rolled back with no failure (condition UpdateFailed, the
RolledBack event, the spec back to v2, history >= 3); rollout undo --to-revision 1; an agent
killed with SIGKILL in the middle of an update leaves exactly one running copy, by its own name,
after it restarts."""

import json
import os
import sys
import threading
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, containers, project, service

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ctl"))
from ctlkit import Ctl  # noqa: E402

# busybox httpd answering its VERSION, and leaving at once on SIGTERM
WEB_CMD = ["sh", "-c", "mkdir -p /tmp/w; echo $VERSION > /tmp/w/index.html; trap 'exit 0' TERM; "
                       "httpd -f -p 80 -h /tmp/w & wait"]
HEALTHY = {"command": ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"], "intervalSeconds": 1,
           "timeoutSeconds": 1, "retries": 1}


def web_project(name, version, healthcheck=None, **update):
    p = project(name, [service("web", command=WEB_CMD, env=[{"name": "VERSION", "value": version}],
                               healthcheck=healthcheck or HEALTHY)])
    p["spec"]["ingress"] = [{"name": "web", "host": "web", "target": {"service": "web", "port": 80}}]
    p["spec"]["update"] = dict({"monitorSeconds": 2}, **update)
    return p


class Client(threading.Thread):
    """GET through the ingress every 50 ms: [(status, body)]."""

    def __init__(self, proxy, host):
        super().__init__(daemon=True)
        self.proxy, self.host = proxy, host
        self.seen = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                status, _, body = fx.http("GET", self.proxy + "/", headers={"Host": self.host}, timeout=5)
                self.seen.append((status, body.decode(errors="replace").strip()))
            except Exception as e:  # noqa: BLE001 - a failure is what we count
                self.seen.append((0, repr(e)))
            time.sleep(0.05)

    def finish(self):
        self.stop.set()
        self.join(10)
        return self.seen


def running_web(node, name):
    return [c for c in containers(["cara.node=" + node, "cara.project=" + name, "cara.service=web"])
            if c["state"] == "running"]


def wait_rolled_out(c, name, gen, timeout=60):
    def done():
        p = c.project(name)
        return p if p["status"].get("observedGeneration", 0) >= gen and p["metadata"]["generation"] == gen else None
    return fx.wait_until(done, timeout=timeout, interval=0.05, what="%s rolled out to generation %d" % (name, gen))


def failures(seen):
    return [s for s in seen if s[0] != 200]


def wait_events(c, name, wanted):
    """Every (type, reason) of @wanted among the project's events in the events API (SPEC §11)."""
    def have():
        s, body = c.api("GET", "/api/v1/events?project=" + name)
        assert s == 200, (s, body)
        got = {(e["type"], e["reason"]) for e in body["items"]}
        return got if wanted <= got else None
    fx.wait_until(have, timeout=20, what="events %s of project %s" % (sorted(wanted), name))


def main():
    with AgentCluster() as c, Ctl(c.url) as ctl:
        a = c.agent("ro", env={"STOP_TIMEOUT": "5s"})
        proxy = "http://127.0.0.1:%d" % a.proxy_port
        name = fx.unique_name("ro")
        host = "web.%s.local" % name
        c.apply(web_project(name, "v1"))
        c.wait_phase(name, "Running", timeout=60)
        wait_rolled_out(c, name, 1)
        fx.wait_until(lambda: fx.http("GET", proxy + "/", headers={"Host": host})[2].strip() == b"v1", timeout=20,
                      what="v1 through the ingress")

        # v1 -> v2: no failure, then only v2
        client = Client(proxy, host)
        client.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        c.apply(web_project(name, "v2"))
        wait_rolled_out(c, name, 2)
        took = time.monotonic() - t0
        time.sleep(0.5)
        seen = client.finish()
        bodies = [b for _, b in seen]
        assert not failures(seen), failures(seen)
        assert "v2" in bodies and bodies[-1] == "v2", bodies
        assert "v1" not in bodies[bodies.index("v2"):], bodies
        running = running_web(a.node, name)
        assert len(running) == 1 and running[0]["name"] == "%s-web" % name, running
        print("ok   v1 -> v2: %d requests, 0 failed, rolled out in %.2f s" % (len(seen), took), flush=True)
        wait_events(c, name, {("Normal", "UpdateStarted"), ("Normal", "UpdateCompleted")})

        # v3 never gets healthy: rolled back, v2 serving all along
        client = Client(proxy, host)
        client.start()
        time.sleep(0.3)
        c.apply(web_project(name, "v3", healthcheck=dict(HEALTHY, command=["false"])))

        def rolled_back():
            p = c.project(name)
            return p if p["metadata"]["generation"] == 4 and p["status"].get("observedGeneration") == 4 else None
        p = fx.wait_until(rolled_back, timeout=60, interval=0.1, what="v3 rolled back")
        time.sleep(0.5)
        seen = client.finish()
        assert not failures(seen), failures(seen)
        assert set(b for _, b in seen) == {"v2"}, seen
        env = p["spec"]["services"][0]["env"]
        assert env == [{"name": "VERSION", "value": "v2"}], p["spec"]
        cond = [x for x in p["status"]["conditions"] if x["type"] == "UpdateFailed"]
        assert cond and cond[0]["status"] == "True" and "generation 3" in cond[0]["message"], p["status"]
        assert "RolledBack" in c.server.log(), "no RolledBack event in the server's log"
        wait_events(c, name, {("Warning", "UpdateFailed"), ("Warning", "RolledBack")})
        print("ok   events: UpdateStarted, UpdateCompleted, UpdateFailed, RolledBack in the events API", flush=True)
        s, revs = c.api("GET", "/api/v1/projects/%s/revisions" % name)
        assert s == 200 and len(revs["items"]) >= 3, revs
        running = running_web(a.node, name)
        assert len(running) == 1 and running[0]["name"] == "%s-web" % name, running
        r = ctl.run("rollout", "status", "project", name, "--timeout", "5s")
        assert r.rc == 1 and "generation 3" in r.err, r
        print("ok   v3 rolled back: %d requests, 0 failed" % len(seen), flush=True)

        # rollout undo --to-revision 1
        ctl.ok("rollout", "undo", "project", name, "--to-revision", "1")
        wait_rolled_out(c, name, 5)
        ctl.ok("rollout", "status", "project", name, "--timeout", "30s")
        fx.wait_until(lambda: fx.http("GET", proxy + "/", headers={"Host": host})[2].strip() == b"v1", timeout=20,
                      what="v1 again")
        r = ctl.ok("rollout", "history", "project", name)
        assert "rollback to revision 1" in r.out, r.out
        print("ok   undo --to-revision 1", flush=True)

        # SIGKILL while the new container is starting: after the restart exactly one copy runs
        # fails twice, then passes: about 3 s before it is up
        slow = dict(HEALTHY, command=["sh", "-c", "n=$(cat /tmp/n 2>/dev/null || echo 0); echo $((n+1)) > /tmp/n; "
                                                  "test $n -ge 2"], retries=4)
        c.apply(web_project(name, "v6", healthcheck=slow, monitorSeconds=10))
        fx.wait_until(lambda: any(x["name"].endswith("-next") for x in running_web(a.node, name)), timeout=30,
                      interval=0.05, what="the new container beside the old")
        a.kill()
        a.start()
        a.wait_ready()
        wait_rolled_out(c, name, 6, timeout=90)
        running = running_web(a.node, name)
        assert len(running) == 1 and running[0]["name"] == "%s-web" % name, running
        all_web = containers(["cara.node=" + a.node, "cara.project=" + name, "cara.service=web"])
        assert len(all_web) == 1, all_web
        fx.wait_until(lambda: fx.http("GET", proxy + "/", headers={"Host": host})[2].strip() == b"v6", timeout=20,
                      what="v6 after the agent restart")
        print("ok   agent SIGKILL mid-update: one copy", flush=True)

        # rollout restart: every service rolled (a new container), no spec change
        before = running_web(a.node, name)[0]["id"]
        gen = c.project(name)["metadata"]["generation"]
        ctl.ok("rollout", "restart", "project", name)
        wait_rolled_out(c, name, gen + 1)
        running = running_web(a.node, name)
        assert len(running) == 1 and running[0]["id"] != before and running[0]["name"] == "%s-web" % name, running
        assert c.project(name)["spec"]["services"][0]["env"] == [{"name": "VERSION", "value": "v6"}]
        print("ok   rollout restart", flush=True)

        # failureAction Pause: the old one keeps serving, UpdatePaused, the spec stays as applied
        c.apply(web_project(name, "v8", healthcheck=dict(HEALTHY, command=["false"]), failureAction="Pause"))
        gen = c.project(name)["metadata"]["generation"]

        def paused():
            p = c.project(name)
            cond = [x for x in p["status"].get("conditions", []) if x["type"] == "UpdatePaused"]
            return p if cond and cond[0]["status"] == "True" and "generation %d" % gen in cond[0]["message"] else None
        p = fx.wait_until(paused, timeout=60, interval=0.1, what="UpdatePaused")
        assert p["metadata"]["generation"] == gen and p["status"].get("observedGeneration", 0) < gen, p
        assert fx.http("GET", proxy + "/", headers={"Host": host})[2].strip() == b"v6"
        running = running_web(a.node, name)
        assert len(running) == 1 and running[0]["name"] == "%s-web" % name, running
        r = ctl.run("rollout", "status", "project", name, "--timeout", "5s")
        assert r.rc == 1 and "paused" in r.err, r
        # the next change goes through and clears it
        c.apply(web_project(name, "v9", failureAction="Pause"))
        p = wait_rolled_out(c, name, gen + 1)
        cond = [x for x in p["status"]["conditions"] if x["type"] == "UpdatePaused"]
        assert cond and cond[0]["status"] == "False", p["status"]
        print("ok   failureAction Pause", flush=True)


if __name__ == "__main__":
    main()
