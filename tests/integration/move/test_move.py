#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Moves with data (SPEC §14), with a real server, two real agents and dockerd.

1. A project with a Persistent volume holding MOVE_MB (default 200) MB of random files and a
   checksum manifest moves from node a to node b with `caractrl move --wait`: the manifest checks
   on b, bytesCopied covers the data, and a's volume is gone once the project runs on b.
2. Moving it back while the target agent is killed mid-copy: the move Fails, the project is back
   Running on b with its data intact.
   The old node's agent killed mid-copy and restarted: the same, once it is back.
3. The server restarted mid-copy: the move is aborted cleanly, the project Running on b, intact.
4. `drain --evict` of b moves it, with its data, to a.
5. kill -9 of the agent holding it: after the grace the project is not moved, NodeLost/DataOnNode
   is set; a stateless project on that node still moves on its own.
6. `--discard-data` moves it to b with empty volumes, and the event says so.
"""

import json
import os
import sys
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, containers, project, service

MOVE_MB = int(os.environ.get("MOVE_MB", "200"))
SLEEP = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]


def ctl(c, *args, check=True):
    return fx.run([os.environ.get("CARACTRL_BIN", "caractrl"), "-s", c.url] + list(args), check=check, timeout=600)


def container_of(name, node):
    found = [x for x in containers(["cara.project=" + name, "cara.node=" + node])]
    assert len(found) == 1, found
    return found[0]


def sh(cid, script, check=True):
    return fx.run(["docker", "exec", cid, "sh", "-c", script], check=check, timeout=600)


def volumes_of(name, node):
    out = fx.docker("volume", "ls", "-q", "--filter", "label=cara.project=" + name, "--filter", "label=cara.node=" + node)
    return [v for v in out.splitlines() if v]


def events_of(c, name, reason):
    s, body = c.api("GET", "/api/v1/events?project=" + name)
    assert s == 200, (s, body)
    return [e for e in body["items"] if e["reason"] == reason]


def migration(c, name):
    p = c.project(name)
    return (p or {}).get("status", {}).get("migration") or {}


def wait_migration(c, name, phase, timeout=300):
    try:
        return fx.wait_until(lambda: migration(c, name).get("phase") == phase and migration(c, name), timeout=timeout,
                             interval=0.1, what="move of %s %s" % (name, phase))
    except TimeoutError:
        print("last seen: %s" % json.dumps(c.project(name)), flush=True)
        raise


def main():
    env = {"NODE_HEARTBEAT_TIMEOUT": "3s", "RESCHEDULE_GRACE_PERIOD": "2s", "RESYNC_INTERVAL": "1s"}
    with AgentCluster(server_env=env) as c:
        a = c.agent("a")
        name = fx.unique_name("db")
        c.apply(project(name, [service("db", command=SLEEP, volumeMounts=[{"name": "data", "mountPath": "/data"}])],
                        volumes=[{"name": "data", "type": "Persistent"}]))
        c.wait_phase(name, "Running", timeout=60, node=a.node)
        b = c.agent("b")

        # ---- 1. a -> b with the data
        old = container_of(name, a.node)["id"]
        sh(old, "mkdir -p /data/d && for i in $(seq 1 %d); do head -c 10485760 /dev/urandom > /data/d/f$i; done; "
                "echo small > /data/top.txt; cd /data && sha256sum top.txt d/* > /data/manifest.sha" % (MOVE_MB // 10))
        manifest = sh(old, "cat /data/manifest.sha").stdout
        t0 = time.monotonic()
        r = ctl(c, "move", "project", name, "--to", b.node, "--wait", "--timeout", "5m")
        took = time.monotonic() - t0
        assert "moved to node " + b.node in r.stdout, r.stdout
        p = c.wait_phase(name, "Running", timeout=60, node=b.node)
        m = p["status"]["migration"]
        assert m["phase"] == "Done" and m["from"] == a.node and m["to"] == b.node, m
        assert m["bytesCopied"] >= MOVE_MB * 1024 * 1024, m
        assert m["bytesTotal"] > 0, m
        new = container_of(name, b.node)["id"]
        assert sh(new, "cat /data/manifest.sha").stdout == manifest
        sh(new, "cd /data && sha256sum -c -s manifest.sha")
        fx.wait_until(lambda: volumes_of(name, a.node) == [], timeout=30, what="old volume removed")
        assert len(volumes_of(name, b.node)) == 1
        r = ctl(c, "describe", "project", name)
        assert "Done, %s -> %s" % (a.node, b.node) in r.stdout, r.stdout
        # the events API: MoveRequested, then Migrated at Done (migration.c)
        assert events_of(c, name, "MoveRequested"), events_of(c, name, "MoveRequested")
        moved = fx.wait_until(lambda: events_of(c, name, "Migrated"), timeout=10, what="a Migrated event")
        assert (len(moved) == 1 and moved[0]["type"] == "Normal"
                and "moved from node %s to node %s" % (a.node, b.node) in moved[0]["message"]), moved
        print("moved %d MB in %.1f s (%.0f MB/s end to end, with stop and start)" % (MOVE_MB, took, MOVE_MB / took),
              flush=True)

        # ---- 2. b -> a, target killed mid-copy: back on b, data intact
        s, _ = c.api("POST", "/api/v1/projects/%s/move?node=%s" % (name, a.node))
        assert s == 202, s
        fx.wait_until(lambda: migration(c, name).get("phase") == "Copying", timeout=60, interval=0.01,
                      what="copying")
        a.kill()
        m = wait_migration(c, name, "Failed", timeout=120)
        assert "stays on node " + b.node in m["message"], m
        p = c.wait_phase(name, "Running", timeout=60, node=b.node)
        fx.wait_until(lambda: container_of(name, b.node)["state"] == "running", timeout=60, what="running again on b")
        sh(container_of(name, b.node)["id"], "cd /data && sha256sum -c -s manifest.sha")
        a.start()
        a.wait_ready()
        c.wait_node_ready(a.node)

        # ---- 2b. the old node's agent restarted mid-copy: aborted, and when it is back it runs the project again
        s, _ = c.api("POST", "/api/v1/projects/%s/move?node=%s" % (name, a.node))
        assert s == 202, s
        fx.wait_until(lambda: migration(c, name).get("phase") == "Copying", timeout=60, interval=0.01,
                      what="copying")
        b.kill()
        m = wait_migration(c, name, "Failed", timeout=120)
        assert "stays on node " + b.node in m["message"], m
        b.start()
        b.wait_ready()
        c.wait_node_ready(b.node)
        fx.wait_until(lambda: container_of(name, b.node)["state"] == "running", timeout=60, what="running again on b")
        sh(container_of(name, b.node)["id"], "cd /data && sha256sum -c -s manifest.sha")
        fx.wait_until(lambda: volumes_of(name, a.node) == [], timeout=30, what="a's partial copy removed")
        assert c.project(name)["status"]["nodeRef"] == b.node

        # ---- 3. the server restarted mid-copy: the move is aborted cleanly, back on b with its data
        s, _ = c.api("POST", "/api/v1/projects/%s/move?node=%s" % (name, a.node))
        assert s == 202, s
        fx.wait_until(lambda: migration(c, name).get("phase") == "Copying", timeout=60, interval=0.01,
                      what="copying")
        c.server.stop()
        c.server.start()
        c.server.wait_http(c.url + "/api/healthz", timeout=60)
        m = wait_migration(c, name, "Failed", timeout=120)
        assert "stays on node " + b.node in m["message"], m
        c.wait_phase(name, "Running", timeout=60, node=b.node)
        fx.wait_until(lambda: container_of(name, b.node)["state"] == "running", timeout=60, what="running again on b")
        sh(container_of(name, b.node)["id"], "cd /data && sha256sum -c -s manifest.sha")
        fx.wait_until(lambda: volumes_of(name, a.node) == [], timeout=30, what="a's partial copy removed")

        # ---- 4. drain --evict moves it with its data (b -> a)
        r = ctl(c, "drain", "node", b.node, "--evict")
        wait_migration(c, name, "Done", timeout=300)
        c.wait_phase(name, "Running", timeout=60, node=a.node)
        sh(container_of(name, a.node)["id"], "cd /data && sha256sum -c -s manifest.sha")
        ctl(c, "uncordon", "node", b.node)
        c.wait_node_ready(b.node)

        # ---- 5. kill -9 of a: the Persistent project stays, a stateless one moves
        c.api("POST", "/api/v1/nodes/%s/drain" % b.node)
        stateless = fx.unique_name("web")
        c.apply(project(stateless, [service("web", command=SLEEP)]))
        c.wait_phase(stateless, "Running", timeout=60, node=a.node)
        c.api("POST", "/api/v1/nodes/%s/uncordon" % b.node)
        c.wait_node_ready(b.node)
        a.kill()
        c.wait_phase(stateless, "Running", timeout=60, node=b.node)

        def node_lost():
            p = c.project(name)
            cond = [x for x in p["status"].get("conditions", []) if x["type"] == "NodeLost"]
            return cond and cond[0]
        cond = fx.wait_until(node_lost, timeout=60, what="NodeLost condition")
        assert cond["reason"] == "DataOnNode" and "caractrl move project" in cond["message"], cond
        time.sleep(3)  # well past the grace period
        p = c.project(name)
        assert p["status"]["nodeRef"] == a.node, p["status"]
        assert "DataOnNode" in c.server.log()

        # ---- 6. --discard-data: on b with an empty volume, and the event says so
        r = ctl(c, "move", "project", name, "--to", b.node, "--discard-data", "--wait", "--timeout", "2m")
        assert "without its data" in r.stdout, r.stdout
        p = c.wait_phase(name, "Running", timeout=60, node=b.node)
        assert p["status"]["migration"]["phase"] == "Done", p["status"]
        assert not [x for x in p["status"].get("conditions", []) if x["type"] == "NodeLost"], p["status"]
        fx.wait_until(lambda: container_of(name, b.node)["state"] == "running", timeout=60, what="running on b")
        r = sh(container_of(name, b.node)["id"], "ls /data", check=False)
        assert r.stdout.strip() == "", r.stdout
        assert "DataDiscarded" in c.server.log()
        got = events_of(c, name, "DataDiscarded")
        assert got and got[-1]["type"] == "Warning", got
    return 0


if __name__ == "__main__":
    sys.exit(main())
