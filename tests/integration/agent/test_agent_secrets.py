#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Secrets on the node (SPEC §12): env[].valueFrom in the container's environment, secrets[] as
files (one key: a file; every key: a directory; path and mode as given, default 0400) written
only under the agent's RuntimeDirectory and bound read-only, no value in Docker labels, the
project's status or the agent's log; a changed Secret rolls only the services that use it; the
files go at teardown; a Secret the server cannot open fails the project with SecretUnavailable."""

import json
import os
import tempfile

import cara_fixtures as fx
from cara_agent import AgentCluster, containers, inspect, project, service

PW1 = "first-Pa55word-xyz"
PW2 = "second-Pa55word-abc"


def secret(name, **data):
    return {"kind": "Secret", "metadata": {"name": name}, "stringData": data}


def ids(name, node):
    return {x["labels"]["cara.service"]: x["id"] for x in containers(["cara.node=" + node, "cara.project=" + name])}


def main():
    runtime = tempfile.mkdtemp(prefix="cara-agent-run-")
    fx.on_exit(lambda: os.path.isdir(runtime) and fx.run(["rm", "-rf", runtime]))
    with fx.DBusDaemon() as bus, AgentCluster() as c:
        a = c.agent("n1", env=dict(bus.env, RUNTIME_DIRECTORY=runtime))
        for doc in (secret("db", password=PW1, user="app"), secret("cfg", a="alpha", b="beta")):
            s, body = c.api("POST", "/api/v1/secrets", doc)
            assert s == 201, (s, body)
        name = fx.unique_name("sec")
        p = project(name, [
            service("app", command=["sleep", "3600"],
                    env=[{"name": "PLAIN", "value": "x"},
                         {"name": "DB_PASSWORD", "valueFrom": {"secret": "db", "key": "password"}}],
                    secrets=[{"secret": "db", "key": "password"},
                             {"secret": "cfg"},
                             {"secret": "db", "key": "user", "path": "/etc/app/user", "mode": 0o440}]),
            service("idle", command=["sleep", "3600"]),
            # a numeric user owns its files: mode 0400 and it can read them
            service("nobody", command=["sleep", "3600"], user="65534:65534", secrets=[{"secret": "cfg"}]),
        ])
        c.apply(p)
        running = c.wait_phase(name, "Running", timeout=60)
        ctr = name + "-app"
        env = fx.docker("exec", ctr, "env").split("\n")
        assert "DB_PASSWORD=" + PW1 in env and "PLAIN=x" in env, env
        assert fx.docker("exec", ctr, "cat", "/run/secrets/db") == PW1
        assert fx.docker("exec", ctr, "cat", "/run/secrets/cfg/a") == "alpha"
        assert fx.docker("exec", ctr, "cat", "/run/secrets/cfg/b") == "beta"
        assert fx.docker("exec", ctr, "cat", "/etc/app/user") == "app"
        assert fx.docker("exec", ctr, "stat", "-c", "%a", "/run/secrets/db") == "400"
        assert fx.docker("exec", ctr, "stat", "-c", "%a", "/etc/app/user") == "440"
        assert fx.docker("exec", name + "-nobody", "stat", "-c", "%u:%g %a", "/run/secrets/cfg/a") == "65534:65534 400"
        assert fx.docker("exec", name + "-nobody", "cat", "/run/secrets/cfg/b") == "beta"
        # read-only binds
        r = fx.run(["docker", "exec", ctr, "sh", "-c", "echo x > /run/secrets/db"], check=False)
        assert r.returncode != 0, r
        mounts = [m for m in inspect(ctr)["Mounts"] if m["Destination"].startswith(("/run/secrets", "/etc/app"))]
        assert len(mounts) == 3 and all(not m["RW"] and m["Source"].startswith(runtime) for m in mounts), mounts
        # the files should be in memory: a runtime directory on a disk is warned about, once
        on_tmpfs = fx.run(["stat", "-f", "-c", "%T", runtime]).stdout.strip() in ("tmpfs", "ramfs")
        warned = a.log().count("which is not a tmpfs")
        assert warned == (0 if on_tmpfs else 1), (on_tmpfs, warned)
        # never a value in labels, status, the agent's log
        for raw in (json.dumps(inspect(ctr)["Config"]["Labels"]), json.dumps(running), a.log()):
            assert PW1 not in raw, raw
        s, listed = c.api("GET", "/api/v1/secrets/db")
        assert PW1 not in json.dumps(listed), listed
        # nor on D-Bus: every property of every object, and ListProjects
        tree = bus.busctl("tree", "--list", "org.caravanserai.Agent").stdout.split()
        assert any("/project/" in p for p in tree), tree
        for path in tree:
            for iface in ("org.caravanserai.Agent1", "org.caravanserai.Project1"):
                r = bus.busctl("introspect", "org.caravanserai.Agent", path, iface, check=False)
                assert PW1 not in r.stdout and PW1 not in r.stderr, r.stdout
        r = bus.busctl("call", "org.caravanserai.Agent", "/org/caravanserai/Agent", "org.caravanserai.Agent1",
                       "ListProjects", check=False)
        assert r.returncode == 0 and PW1 not in r.stdout, r

        # a changed Secret rolls the service using it, and only that one
        before = ids(name, a.node)
        s, body = c.api("PUT", "/api/v1/secrets/db", secret("db", password=PW2, user="app"))
        assert s == 200, (s, body)

        def rolled():
            now = ids(name, a.node)
            return now if now.get("app") not in (None, before["app"]) else None
        after = fx.wait_until(rolled, timeout=30, what="app rolled after the Secret changed")
        assert after["idle"] == before["idle"], (before, after)
        c.wait_phase(name, "Running", timeout=60)
        fx.wait_until(lambda: fx.docker("exec", ctr, "cat", "/run/secrets/db") == PW2, timeout=20,
                      what="the new value in the file")
        assert "DB_PASSWORD=" + PW2 in fx.docker("exec", ctr, "env").split("\n")
        assert PW2 not in a.log() and PW1 not in a.log()

        # teardown removes the files
        files = os.path.join(runtime, "secrets", name)
        assert os.path.isdir(files), files
        s, _ = c.api("DELETE", "/api/v1/projects/" + name)
        assert s in (202, 204), s
        c.wait_gone(name, timeout=30)
        fx.wait_until(lambda: not os.path.exists(files), timeout=10, what="the Secret files removed")

        # the server cannot open the values (its key replaced): the project fails, SecretUnavailable
        key = os.path.join(c.state_dir, "secret.key")
        with open(key) as f:
            right_key = f.read()
        with open(key, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        broken = fx.unique_name("sec")
        c.apply(project(broken, [service("app", command=["sleep", "3600"],
                                         env=[{"name": "PW", "valueFrom": {"secret": "db", "key": "password"}}])]))
        failed = c.wait_phase(broken, "Failed", timeout=60)
        text = json.dumps(failed["status"])
        assert "SecretUnavailable" in text and "sealed with key id" in text, failed["status"]
        assert PW2 not in text
        assert containers(["cara.project=" + broken]) == []
        # the key back and the Secret written again: the Failed project is retried and runs
        with open(key, "w") as f:
            f.write(right_key)
        s, body = c.api("PUT", "/api/v1/secrets/db", secret("db", password=PW1, user="app"))
        assert s == 200, (s, body)
        c.wait_phase(broken, "Running", timeout=60)
        assert "DB_PASSWORD=" not in a.log() and PW1 not in a.log()
    print("ok")


if __name__ == "__main__":
    main()
