#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Measures apply-to-Running for a 1-service project (POST to the server until the server shows
Running, as reported by the agent) next to what the raw Docker Engine API takes for the same work
(network with a subnet, container create, start, until running).  Prints both; fails only when the
agent adds more than a few seconds of its own."""

import json
import statistics
import sys
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, project, service

HTTPD = ["httpd", "-f", "-p", "80", "-h", "/www"]
ROUNDS = 3


def docker_api(method, path, body=None):
    status, _, data = fx.http(method, "unix:%s:/v1.41%s" % (fx.docker_socket(), path), body, timeout=60)
    if status >= 300:
        raise RuntimeError("%s %s: %s %s" % (method, path, status, data))
    return json.loads(data) if data.strip() else None


def raw_docker_once(tag):
    name = fx.unique_name("raw")
    labels = {"cara.test": "latency", "cara.node": tag}
    used = fx.used_subnets()
    subnet = str(next(n for n in fx.TEST_SUBNET_POOL.subnets(new_prefix=26)
                      if not any(n.overlaps(u) for u in used)))
    t0 = time.monotonic()
    net = docker_api("POST", "/networks/create", {"Name": name, "Driver": "bridge", "Labels": labels,
                                                   "IPAM": {"Config": [{"Subnet": subnet}]}})
    docker_api("GET", "/images/%s/json" % fx.BUSYBOX_IMAGE)
    c = docker_api("POST", "/containers/create?name=" + name, {
        "Image": fx.BUSYBOX_IMAGE, "Cmd": HTTPD, "Labels": labels,
        "HostConfig": {"RestartPolicy": {"Name": "always"}},
        "NetworkingConfig": {"EndpointsConfig": {name: {"Aliases": ["web"]}}}})
    docker_api("POST", "/containers/%s/start" % c["Id"])
    while docker_api("GET", "/containers/%s/json" % c["Id"])["State"]["Status"] != "running":
        time.sleep(0.01)
    took = time.monotonic() - t0
    docker_api("DELETE", "/containers/%s?force=1" % c["Id"])
    docker_api("DELETE", "/networks/%s" % net["Id"])
    return took


def main():
    with AgentCluster() as c:
        a = c.agent("lat")
        raw_tag = a.node + "-raw"
        fx.on_exit(lambda: fx.docker_cleanup("cara.node=" + raw_tag))
        agent_times, raw_times = [], []
        for i in range(ROUNDS):
            name = fx.unique_name("lat")
            t0 = time.monotonic()
            c.apply(project(name, [service("web", command=HTTPD)]))
            c.wait_phase(name, "Running", timeout=60)
            agent_times.append(time.monotonic() - t0)
            c.api("DELETE", "/api/v1/projects/" + name)
            c.wait_gone(name)
            raw_times.append(raw_docker_once(raw_tag))
        ag, raw = statistics.median(agent_times), statistics.median(raw_times)
        print("apply-to-Running (1 service, via cara-server + cara-agent): median %.3f s  %s"
              % (ag, " ".join("%.3f" % t for t in agent_times)))
        print("raw Docker API (network + create + start, same container): median %.3f s  %s"
              % (raw, " ".join("%.3f" % t for t in raw_times)))
        print("agent overhead: %.3f s" % (ag - raw))
        assert ag - raw < 3.0, (agent_times, raw_times)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
