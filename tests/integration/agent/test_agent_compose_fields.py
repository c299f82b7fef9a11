#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""SPEC §10's service fields end to end (real dockerd, server, agent): what the API stores comes
back as given, and `docker inspect` of the container shows each field (Entrypoint, WorkingDir,
User, Labels, CapAdd, CapDrop, StopSignal, StopTimeout, Healthcheck.StartPeriod, the HostIP of a
port binding, the bind mount of a HostPath volume); stopGracePeriodSeconds is what teardown waits;
dependsOn conditions order the starts (Healthy waits for the healthcheck, Completed for exit 0) and
a Completed dependency that exits non-zero keeps its dependent from starting, with the reason."""

import os
import sys
import tempfile
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, containers, docker_time, first_healthy_at, inspect, project, service



def quick(s):
    """Stopped within a second (httpd as PID 1 ignores SIGTERM; the agent here waits 30 s)."""
    s["stopGracePeriodSeconds"] = 1
    return s


def container_of(c, name, service_name):
    node = c.agents[0].node
    found = containers(["cara.project=" + name, "cara.service=" + service_name, "cara.node=" + node])
    return inspect(found[0]["id"]) if found else None


def test_fields(c):
    name = fx.unique_name("fields")
    host_dir = tempfile.mkdtemp(prefix="cara-hostpath-")
    fx.on_exit(lambda: fx.run(["rm", "-rf", host_dir], check=False))
    with open(os.path.join(host_dir, "hello.txt"), "w") as f:
        f.write("from the node\n")
    os.chmod(host_dir, 0o755)
    os.chmod(os.path.join(host_dir, "hello.txt"), 0o644)
    port = fx.free_port()
    web = service("web", entrypoint=["sh", "-c"], command=["exec httpd -f -p 8080 -h /www"],
                  workingDir="/tmp", user="65534:65534",
                  labels={"com.example.team": "payments", "com.example.tier": "1"},
                  capAdd=["NET_ADMIN"], capDrop=["MKNOD", "AUDIT_WRITE"],
                  stopSignal="SIGINT", stopGracePeriodSeconds=3,
                  healthcheck={"command": ["true"], "intervalSeconds": 1, "retries": 1, "startPeriodSeconds": 7},
                  ports=[{"containerPort": 8080, "hostPort": port, "hostIP": "127.0.0.1"},
                         {"containerPort": 8081, "hostIP": "127.0.0.1"}],
                  volumeMounts=[{"name": "media", "mountPath": "/data", "readOnly": True}])
    m = project(name, [web], volumes=[{"name": "media", "type": "HostPath", "hostPath": host_dir}])
    c.apply(m)
    got = c.project(name)["spec"]
    assert got["services"][0]["labels"] == web["labels"], got
    assert got["services"][0]["stopGracePeriodSeconds"] == 3 and got["volumes"][0]["hostPath"] == host_dir, got
    c.wait_phase(name, "Running", timeout=60)

    i = container_of(c, name, "web")
    cfg, host = i["Config"], i["HostConfig"]
    assert cfg["Entrypoint"] == ["sh", "-c"], cfg["Entrypoint"]
    assert cfg["Cmd"] == ["exec httpd -f -p 8080 -h /www"], cfg["Cmd"]
    assert cfg["WorkingDir"] == "/tmp", cfg["WorkingDir"]
    assert cfg["User"] == "65534:65534", cfg["User"]
    assert cfg["Labels"]["com.example.team"] == "payments" and cfg["Labels"]["com.example.tier"] == "1", cfg["Labels"]
    assert cfg["Labels"]["cara.project"] == name, cfg["Labels"]
    assert host["CapAdd"] == ["NET_ADMIN"], host["CapAdd"]
    assert sorted(host["CapDrop"]) == ["AUDIT_WRITE", "MKNOD"], host["CapDrop"]
    assert cfg["StopSignal"] == "SIGINT", cfg.get("StopSignal")
    assert cfg["StopTimeout"] == 3, cfg.get("StopTimeout")
    assert cfg["Healthcheck"]["StartPeriod"] == 7 * 10**9, cfg["Healthcheck"]
    binding = host["PortBindings"]["8080/tcp"][0]
    assert binding == {"HostIp": "127.0.0.1", "HostPort": str(port)}, binding
    # hostIP alone: Docker picks a port of that address
    assert host["PortBindings"]["8081/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": ""}], host["PortBindings"]
    eph = i["NetworkSettings"]["Ports"]["8081/tcp"]
    assert eph and eph[0]["HostIp"] == "127.0.0.1" and int(eph[0]["HostPort"]) > 0, eph
    mounts = [mt for mt in i["Mounts"] if mt["Destination"] == "/data"]
    assert mounts and mounts[0]["Type"] == "bind" and mounts[0]["Source"] == host_dir and not mounts[0]["RW"], i["Mounts"]
    assert fx.docker("exec", i["Id"], "cat", "/data/hello.txt") == "from the node"
    assert fx.docker("exec", i["Id"], "id", "-u") == "65534"
    assert fx.docker("exec", i["Id"], "pwd") == "/tmp"
    page = fx.wait_until(lambda: fx.http("GET", "http://127.0.0.1:%d/" % port, timeout=5), timeout=20,
                         what="the page on 127.0.0.1:%d" % port)
    assert page[0] == 200 and b"cara-test busybox" in page[2], page

    # Teardown waits the service's grace period (3 s), not the agent's 30 s: sh as PID 1 ignores SIGINT.
    t0 = time.monotonic()
    s, _ = c.api("DELETE", "/api/v1/projects/" + name)
    assert s in (200, 202), s
    c.wait_gone(name, timeout=25)
    took = time.monotonic() - t0
    assert took < 20, "teardown took %.1f s: the agent's stop timeout, not stopGracePeriodSeconds" % took
    assert os.path.exists(os.path.join(host_dir, "hello.txt")), "a HostPath directory is the node's: never removed"
    print("fields: every one in docker inspect; teardown with a 3 s grace period took %.1f s" % took)


def test_order(c):
    name = fx.unique_name("order")
    # db is healthy only once the test says so (it touches /tmp/ready): no race with the clock.
    db = service("db", command=["httpd", "-f", "-p", "80", "-h", "/www"],
                 healthcheck={"command": ["test", "-f", "/tmp/ready"], "intervalSeconds": 1, "retries": 1000})
    init = service("init", command=["sh", "-c", "sleep 1; echo done"], restartPolicy="Never")
    web = service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"],
                  dependsOn=[{"name": "db", "condition": "Healthy"}, {"name": "init", "condition": "Completed"}])
    cache = service("cache", command=["httpd", "-f", "-p", "80", "-h", "/www"], dependsOn=["db"])
    c.apply(project(name, [quick(x) for x in (web, cache, db, init)]))
    got = c.project(name)["spec"]["services"]
    assert got[0]["dependsOn"] == web["dependsOn"] and got[1]["dependsOn"] == ["db"], got

    # While db is not healthy, web waits (the same report says what for), and has no container;
    # cache, which waits only for db to start, runs; init completes.
    def waiting():
        p = c.project(name) or {}
        states = {s["name"]: s.get("state") for s in p.get("status", {}).get("services", [])}
        ok = states.get("web") == "waiting" and states.get("cache") == "running" and states.get("init") == "exited"
        return p if ok else None
    p = fx.wait_until(waiting, timeout=60, what="web waiting, cache running, init done")
    cond = [x for x in p["status"]["conditions"] if x["type"] == "ServicesReady"]
    assert cond and cond[0]["status"] == "False" and "web is waiting for db to be healthy" in cond[0]["message"], cond
    assert container_of(c, name, "web") is None, "web must not be started before db is healthy"
    d = container_of(c, name, "db")
    assert d["State"]["Health"]["Status"] != "healthy", d["State"]["Health"]
    fx.docker("exec", d["Id"], "touch", "/tmp/ready")

    def all_ready():
        p = c.project(name) or {}
        return any(x["type"] == "ServicesReady" and x["status"] == "True" for x in p.get("status", {}).get("conditions", []))
    fx.wait_until(all_ready, timeout=60, what="project %s ready" % name)

    d, i, w = (container_of(c, name, s) for s in ("db", "init", "web"))
    web_started = docker_time(w["State"]["StartedAt"])
    healthy_at = first_healthy_at(d)
    init_done = docker_time(i["State"]["FinishedAt"])
    assert i["State"]["ExitCode"] == 0 and i["State"]["Status"] == "exited", i["State"]
    assert web_started >= healthy_at, (web_started, healthy_at)
    assert web_started >= init_done, (web_started, init_done)
    assert c.project(name)["status"]["phase"] == "Running"
    print("order: init done %s, db healthy %s, web started %s" % (init_done.time(), healthy_at.time(), web_started.time()))
    c.api("DELETE", "/api/v1/projects/" + name)
    c.wait_gone(name, timeout=30)


def test_completed_failed(c):
    name = fx.unique_name("broken")
    init = service("init", command=["sh", "-c", "exit 3"], restartPolicy="Never")
    web = service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"],
                  dependsOn=[{"name": "init", "condition": "Completed"}])
    c.apply(project(name, [quick(web), quick(init)]))
    p = c.wait_phase(name, "Failed", timeout=30)
    text = " ".join("%s %s" % (x.get("reason", ""), x.get("message", "")) for x in p["status"]["conditions"])
    assert "DependencyFailed" in text and "dependency init exited with code 3" in text, p["status"]
    assert container_of(c, name, "web") is None, "web must not start"
    c.api("DELETE", "/api/v1/projects/" + name)
    c.wait_gone(name, timeout=30)


def test_refused(c):
    """Bad values of the new fields: 400 naming the field, nothing stored."""
    name = fx.unique_name("bad")
    cases = [
        ({"labels": {"cara.node": "x"}}, None, "spec.services[0].labels.cara.node"),
        ({"capAdd": ["NET ADMIN"]}, None, "spec.services[0].capAdd[0]"),
        ({"workingDir": "relative"}, None, "spec.services[0].workingDir"),
        ({"ports": [{"containerPort": 80, "hostPort": 8080, "hostIP": "not-an-ip"}]}, None, "spec.services[0].ports[0].hostIP"),
        ({"dependsOn": [{"name": "db", "condition": "Ready"}]}, None, "spec.services[0].dependsOn[0].condition"),
        ({"dependsOn": [{"name": "db", "condition": "Healthy"}]}, [service("db")], "spec.services[0].dependsOn[0]"),
        ({"volumeMounts": [{"name": "m", "mountPath": "/m"}]}, "no-host-path", "spec.volumes[0].hostPath"),
        ({"entrypoint": "sh"}, None, "spec.services[0].entrypoint"),
    ]
    for extra, others, field in cases:
        volumes = None
        if others == "no-host-path":
            volumes, others = [{"name": "m", "type": "HostPath"}], None
        m = project(name, [service("web", **extra)] + (others or []), volumes=volumes)
        s, body = c.api("POST", "/api/v1/projects", m)
        assert s == 400 and field in body.get("detail", ""), (extra, s, body)
        assert c.project(name) is None, "nothing is stored"


def main():
    with AgentCluster() as c:
        c.agent("n1", env={"STOP_TIMEOUT": "30s"})
        test_fields(c)
        test_order(c)
        test_completed_failed(c)
        test_refused(c)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
