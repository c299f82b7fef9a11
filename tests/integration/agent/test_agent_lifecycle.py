#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Container deaths and changes: a killed container is restarted by its policy (Always) and the
restart is reported, or makes the project Failed naming the service and exit code (Never); a
changed env rolls only that service; a container Docker can no longer start (its writable layer
lost) is replaced by a new one; a missing image fails cleanly within seconds, and so does a pull
that outlasts IMAGE_PULL_TIMEOUT (a registry on loopback that accepts and never answers)."""

import os
import signal
import socket
import sys
import threading
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, containers, inspect, project, service

HTTPD = ["httpd", "-f", "-p", "80", "-h", "/www"]


def services_of(p):
    return {s["name"]: s for s in p["status"].get("services", [])}


def crash(container):
    """Kill the container's main process from the host: to Docker this is a crash (docker kill
    would count as a stop by hand, which restart policies ignore)."""
    pid = int(fx.docker("inspect", "-f", "{{.State.Pid}}", container))
    os.kill(pid, signal.SIGKILL)
    return time.monotonic()


def main():
    with AgentCluster() as c:
        agent = c.agent("n1", env={"IMAGE_PULL_TIMEOUT": "3s"})
        name = fx.unique_name("life")
        p = project(name, [
            service("web", command=HTTPD, env=[{"name": "VERSION", "value": "1"}]),
            service("api", command=HTTPD, restartPolicy="Always"),
            service("job", command=["sleep", "3600"], restartPolicy="Never"),
        ])
        c.apply(p)
        c.wait_phase(name, "Running", timeout=60)
        before = {x["labels"]["cara.service"]: x["id"] for x in containers(["cara.project=" + name])}

        # Always: Docker restarts it; the agent reports restartCount >= 1 within seconds
        t0 = crash(name + "-api")

        def death_seen():
            s = services_of(c.project(name)).get("api", {})
            return s.get("restartCount", 0) >= 1 or s.get("state") != "running"
        fx.wait_until(death_seen, timeout=10, interval=0.02, what="api death reported")
        print("death of api (Always) reported after %.2f s" % (time.monotonic() - t0))

        def restarted():
            s = services_of(c.project(name)).get("api", {})
            return s.get("restartCount", 0) >= 1 and s.get("state") == "running"
        fx.wait_until(restarted, timeout=15, what="api restart reported")
        print("api running again, restart reported after %.2f s" % (time.monotonic() - t0))
        assert c.project(name)["status"]["phase"] == "Running"

        # a changed env rolls only that service
        p["spec"]["services"][0]["env"] = [{"name": "VERSION", "value": "2"}]
        c.apply(p)

        def rolled():
            now = {x["labels"]["cara.service"]: x for x in containers(["cara.project=" + name])}
            w = now.get("web")
            return w and w["id"] != before["web"] and w["state"] == "running" and now
        now = fx.wait_until(rolled, timeout=30, what="web to be replaced")
        assert now["api"]["id"] == before["api"] and now["job"]["id"] == before["job"], (before, now)
        assert "VERSION=2" in fx.docker("exec", name + "-web", "env").split("\n")
        assert len(containers(["cara.project=" + name, "cara.service=web"])) == 1
        fx.wait_until(lambda: services_of(c.project(name))["web"].get("containerId") == now["web"]["id"],
                      timeout=10, what="new web container reported")

        # stopped by hand (Docker's policy then does nothing): the agent starts it again, and counts it
        fx.docker("stop", "-t", "0", name + "-web")

        def started_again():
            s = services_of(c.project(name)).get("web", {})
            return s.get("state") == "running" and s.get("restartCount", 0) >= 1
        fx.wait_until(started_again, timeout=15, what="web started again by the agent")
        assert containers(["cara.project=" + name, "cara.service=web"])[0]["id"] == now["web"]["id"]

        # a container Docker refuses to start for good (here its writable layer is deleted under it,
        # as a dockerd restart that outran its shutdown timeout leaves "id already in use"): the
        # agent replaces it with a new container instead of retrying the dead one forever
        upper = inspect(name + "-web")["GraphDriver"]["Data"]["UpperDir"]
        fx.run(["rm", "-rf", upper])
        fx.docker("stop", "-t", "0", name + "-web")

        def replaced():
            ws = containers(["cara.project=" + name, "cara.service=web"])
            return len(ws) == 1 and ws[0]["id"] != now["web"]["id"] and ws[0]["state"] == "running" and ws[0]
        new_web = fx.wait_until(replaced, timeout=30, what="web replaced after Docker refused to start it")
        assert "replacing it" in agent.log(), "the agent did not say why it replaced the container"
        fx.wait_until(lambda: services_of(c.project(name))["web"].get("containerId") == new_web["id"]
                      and c.project(name)["status"]["phase"] == "Running", timeout=10,
                      what="replacement reported, project Running")
        assert "VERSION=2" in fx.docker("exec", name + "-web", "env").split("\n")

        # Never: the project fails, naming the service and its exit code, within 2 s
        t0 = crash(name + "-job")
        failed = c.wait_phase(name, "Failed", timeout=10)
        took = time.monotonic() - t0
        cond = [x for x in failed["status"].get("conditions", []) if x["type"] == "Phase"]
        assert cond and "job" in cond[0].get("message", "") and "137" in cond[0]["message"], failed["status"]
        print("death of job reported Failed after %.2f s: %s" % (took, cond[0]["message"]))
        assert took < 2.5, took
        assert inspect(name + "-job")["State"]["Status"] == "exited"  # not restarted

        # a missing image: Failed within seconds, with the image named in the condition
        bad = fx.unique_name("bad")
        t0 = time.monotonic()
        c.apply(project(bad, [service("x", image="registry.invalid/no/such-image:1")]))
        failed = c.wait_phase(bad, "Failed", timeout=20)
        took = time.monotonic() - t0
        cond = [x for x in failed["status"].get("conditions", []) if x["type"] == "Phase"][0]
        assert cond["reason"] == "ImagePullFailed", cond
        assert "registry.invalid/no/such-image:1" in cond["message"], cond
        print("missing image reported Failed after %.2f s: %s" % (took, cond["message"]))
        assert took < 10, took
        assert containers(["cara.project=" + bad]) == []

        # a pull that hangs (the registry accepts and never answers): Failed once the pull timeout
        # has passed, not retried forever as if Docker itself were away
        with hanging_registry() as port:
            slow = fx.unique_name("slow")
            image = "127.0.0.1:%d/hangs:1" % port
            t0 = time.monotonic()
            c.apply(project(slow, [service("x", image=image)]))
            failed = c.wait_phase(slow, "Failed", timeout=30)
            took = time.monotonic() - t0
            cond = [x for x in failed["status"].get("conditions", []) if x["type"] == "Phase"][0]
            assert cond["reason"] == "ImagePullFailed", cond
            assert image in cond["message"] and "timed out" in cond["message"], cond
            print("hanging pull reported Failed after %.2f s: %s" % (took, cond["message"]))
            assert took >= 3, took
    print("ok")


class hanging_registry:
    """A TCP listener on loopback that accepts connections and never answers them."""

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.conns, self.stop = [], threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return self.sock.getsockname()[1]

    def _accept(self):
        while not self.stop.is_set():
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                pass

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        for s in self.conns + [self.sock]:
            s.close()


if __name__ == "__main__":
    sys.exit(main())
