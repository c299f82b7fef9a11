#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A 2-service project reaches Running; one service fetches a page from the other by service name;
env and published ports work; services[] is reported; an agent restart recreates nothing; delete
removes containers, network and Ephemeral volumes (a Persistent volume stays)."""

import sys
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, containers, inspect, project, service


def main():
    with AgentCluster() as c:
        a = c.agent("n1")
        host_port = fx.free_port()
        name = fx.unique_name("web")
        p = project(name, [
            service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"],
                    env=[{"name": "GREETING", "value": "hello"}],
                    ports=[{"containerPort": 80, "hostPort": host_port}],
                    volumeMounts=[{"name": "scratch", "mountPath": "/scratch"},
                                  {"name": "keep", "mountPath": "/keep"}]),
            service("client", dependsOn=["web"],
                    command=["sh", "-c", "until wget -qO /tmp/page http://web/; do sleep 0.2; done; "
                                         "cat /tmp/page; exec sleep 3600"]),
        ], volumes=[{"name": "scratch", "type": "Ephemeral"}, {"name": "keep", "type": "Persistent"}])
        c.apply(p)
        running = c.wait_phase(name, "Running", timeout=60)
        assert running["status"]["nodeRef"] == a.node, running["status"]

        # status.services[] as reported by the agent
        svcs = {s["name"]: s for s in running["status"].get("services", [])}
        assert set(svcs) == {"web", "client"}, running["status"]
        for s in svcs.values():
            assert s["state"] == "running" and len(s.get("containerId", "")) == 64, s

        # Docker objects: names and labels
        mine = containers(["cara.node=" + a.node, "cara.project=" + name])
        by_service = {x["labels"]["cara.service"]: x for x in mine}
        assert set(by_service) == {"web", "client"}, mine
        assert by_service["web"]["name"] == name + "-web"
        assert by_service["web"]["labels"].get("cara.spec-hash"), mine
        net = fx.docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "cara-" + name)
        assert net.startswith("10.213.") and net.endswith("/26"), net

        # env
        env = fx.docker("exec", name + "-web", "env")
        assert "GREETING=hello" in env.split("\n"), env
        # published port
        status, _, body = fx.http("GET", "http://127.0.0.1:%d/" % host_port)
        assert status == 200 and b"cara-test busybox" in body, (status, body)
        # service-name resolution on the project network
        fx.wait_until(lambda: "cara-test busybox" in fx.docker("logs", name + "-client"), timeout=20,
                      what="client to fetch http://web/")

        # an agent restart recreates nothing
        ids = {x["labels"]["cara.service"]: x["id"] for x in mine}
        a.stop()
        a.start()
        a.wait_ready()
        time.sleep(2)  # give a (wrong) agent time to recreate; polling runs every 500 ms
        after = {x["labels"]["cara.service"]: x["id"]
                 for x in containers(["cara.node=" + a.node, "cara.project=" + name])}
        assert after == ids, (ids, after)
        assert c.project(name)["status"]["phase"] == "Running"

        # delete removes containers, network and the Ephemeral volume; the Persistent one stays
        s, _ = c.api("DELETE", "/api/v1/projects/" + name)
        assert s in (202, 204), s
        c.wait_gone(name, timeout=30)
        assert containers(["cara.project=" + name]) == []
        assert fx.docker("network", "ls", "-q", "--filter", "label=cara.project=" + name) == ""
        vols = fx.docker("volume", "ls", "-q", "--filter", "label=cara.project=" + name).split()
        assert vols == ["cara-%s-keep" % name], vols
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
