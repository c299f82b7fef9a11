#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Three agents on one dockerd (different NODE_NAME) never touch each other's containers: each
runs its own projects, a restart of one leaves the others' containers alone, and when a project
moves between two of them while the old agent is down, the new one runs it under suffixed names
(cara-{project}-{node}, {project}-{service}-{node}) and the old one removes only its own copy."""

import sys
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, containers, project, service

HTTPD = ["httpd", "-f", "-p", "80", "-h", "/www"]


def ids(label_filters):
    return sorted(x["id"] for x in containers(label_filters))


def main():
    with AgentCluster() as c:
        agents = [c.agent("a"), c.agent("b"), c.agent("c")]
        names = {}
        # The scheduler spreads: one project per node (least allocated first).
        for i in range(3):
            n = fx.unique_name("m%d" % i)
            c.apply(project(n, [service("web", command=HTTPD)]))
            p = c.wait_phase(n, "Running", timeout=60)
            names[n] = p["status"]["nodeRef"]
        assert sorted(names.values()) == sorted(a.node for a in agents), names

        for n, node in names.items():
            mine = containers(["cara.project=" + n])
            assert len(mine) == 1 and mine[0]["labels"]["cara.node"] == node, mine
        snapshot = {a.node: ids(["cara.node=" + a.node]) for a in agents}

        # restarting every agent changes no container of anyone
        for a in agents:
            a.stop()
            a.start()
            a.wait_ready()
        time.sleep(2)
        assert {a.node: ids(["cara.node=" + a.node]) for a in agents} == snapshot

        # Move a project from its node to another one while the first agent is down.
        moved, old_node = next(iter(names.items()))
        old = next(a for a in agents if a.node == old_node)
        new = next(a for a in agents if a.node != old_node)
        old.kill()
        old_id = ids(["cara.node=" + old.node, "cara.project=" + moved])
        # What the rescheduler does to a project on a dead node, done here through the API: cordon
        # the old node, then re-place the project (delete --force and create again).
        c.api("POST", "/api/v1/nodes/%s/drain" % old.node)
        s, _ = c.api("DELETE", "/api/v1/projects/%s?force=true" % moved)
        assert s == 204, s
        p = project(moved, [service("web", command=HTTPD)], node_selector=None)
        # Only the chosen new node is eligible: drain the third one for a moment too.
        third = next(a for a in agents if a not in (old, new))
        c.api("POST", "/api/v1/nodes/%s/drain" % third.node)
        c.apply(p)
        got = c.wait_phase(moved, "Running", timeout=60)
        assert got["status"]["nodeRef"] == new.node, got["status"]
        c.api("POST", "/api/v1/nodes/%s/uncordon" % third.node)
        copies = {x["labels"]["cara.node"]: x for x in containers(["cara.project=" + moved])}
        assert set(copies) == {old.node, new.node}, copies
        assert copies[new.node]["name"] == "%s-web-%s" % (moved, new.node), copies
        assert copies[old.node]["id"] == old_id[0]
        net = fx.docker("network", "ls", "--format", "{{.Name}}", "--filter", "label=cara.node=" + new.node,
                        "--filter", "label=cara.project=" + moved)
        assert net == "cara-%s-%s" % (moved, new.node), net

        # The old agent comes back: it removes its own copy, and only that.
        old.start()
        old.wait_ready()
        fx.wait_until(lambda: set(x["labels"]["cara.node"] for x in containers(["cara.project=" + moved]))
                      == {new.node}, timeout=20, what="old copy removed")
        assert copies[new.node]["id"] in ids(["cara.project=" + moved])
        assert c.project(moved)["status"]["phase"] == "Running"
        for n, node in names.items():
            if n != moved:
                assert ids(["cara.project=" + n]) == ids(["cara.node=" + node, "cara.project=" + n]) != []
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
