#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The agent and its server: heartbeats carry capacity/allocatable/info and the network; a node
deleted on the server is registered again (heartbeat 404); while the server is down the agent keeps
its containers and retries, and when the server is back the node is Ready again and new work
arrives; services[] carries the health of a service with a healthcheck."""

import sys
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, containers, project, service


def main():
    with AgentCluster() as c:
        a = c.agent("srv")
        s, node = c.api("GET", "/api/v1/nodes/" + a.node)
        st = node["status"]
        for key in ("cpu", "memory", "disk"):
            assert st["capacity"].get(key) and st["allocatable"].get(key), st
        info = st["info"]
        assert info.get("kernelVersion") and info.get("osImage") and info.get("agentVersion"), st
        assert st["network"].get("ip") == "127.0.0.1" and st["network"].get("agentPort") == a.port, st

        # a healthcheck's result is reported
        name = fx.unique_name("hc")
        c.apply(project(name, [service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"],
                                       healthcheck={"command": ["wget", "-qO", "/dev/null", "http://127.0.0.1/"],
                                                    "intervalSeconds": 1, "timeoutSeconds": 1, "retries": 2})]))
        c.wait_phase(name, "Running", timeout=60)

        def healthy():
            svcs = c.project(name)["status"].get("services", [])
            return svcs and svcs[0].get("health") == "healthy"
        fx.wait_until(healthy, timeout=20, what="health reported")
        ids = [x["id"] for x in containers(["cara.project=" + name])]

        # node deleted on the server (no projects on it): the agent registers again
        c.api("DELETE", "/api/v1/projects/%s?force=true" % name)
        fx.wait_until(lambda: containers(["cara.project=" + name]) == [], timeout=20, what="orphan removed")
        s, _ = c.api("DELETE", "/api/v1/nodes/" + a.node)
        assert s == 204, s
        c.wait_node_ready(a.node, timeout=20)

        # the server goes away and comes back
        name = fx.unique_name("hc")
        c.apply(project(name, [service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"])]))
        c.wait_phase(name, "Running", timeout=60)
        ids = [x["id"] for x in containers(["cara.project=" + name])]
        c.server.stop()
        time.sleep(3)
        assert a.running, "the agent must outlive its server"
        assert [x["id"] for x in containers(["cara.project=" + name])] == ids
        c.server.start()
        c.server.wait_http(c.url + "/api/healthz", timeout=60)
        c.wait_node_ready(a.node, timeout=30)
        other = fx.unique_name("after")
        c.apply(project(other, [service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"])]))
        c.wait_phase(other, "Running", timeout=60)
        assert [x["id"] for x in containers(["cara.project=" + name])] == ids
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
