#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Project1.Restart on the agent's D-Bus object restarts the service's container (on a private
bus), and an unknown service is refused."""

import sys

import cara_fixtures as fx
from cara_agent import AgentCluster, inspect, project, service


def main():
    with fx.DBusDaemon() as bus, AgentCluster() as c:
        c.agent("db", env=bus.env)
        name = fx.unique_name("rs")
        c.apply(project(name, [service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"])]))
        c.wait_phase(name, "Running", timeout=60)
        before = inspect(name + "-web")["State"]["StartedAt"]

        def project_path():
            out = bus.busctl("tree", "org.caravanserai.Agent").stdout
            paths = [l[l.index("/org/"):].strip() for l in out.splitlines() if "/project/" in l]
            return paths[0] if paths else None
        path = fx.wait_until(project_path, timeout=10, what="project object")
        r = bus.busctl("call", "org.caravanserai.Agent", path, "org.caravanserai.Project1", "Restart", "s", "web",
                       check=False)
        assert r.returncode == 0, r.stderr
        fx.wait_until(lambda: inspect(name + "-web")["State"]["StartedAt"] != before, timeout=20,
                      what="container restart")
        r = bus.busctl("call", "org.caravanserai.Agent", path, "org.caravanserai.Project1", "Restart", "s", "nosuch",
                       check=False)
        assert r.returncode != 0 and "nosuch" in r.stderr, (r.returncode, r.stderr)
        c.wait_phase(name, "Running", timeout=20)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
