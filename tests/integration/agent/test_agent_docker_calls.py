#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Docker calls a new project costs (SPEC §16: the fewest per project), counted on a relay
socket in front of dockerd, up to ServicesReady: at most 5 (the floor of network create, container
create and start, and two container lists), no container or image inspect.  Its network is created
in one call with a subnet from the agent's in-memory view of the host's networks (no network list,
no inspect), and many projects at once get distinct subnets with no lock around the creates.  A network removed by hand is noticed
(Docker's event stream) and made again; so is a name another node took meanwhile."""

import collections
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
import cara_fixtures as fx  # noqa: E402
from cara_agent import AgentCluster, project, service  # noqa: E402
from docker_relay import DockerRelay  # noqa: E402

N = 6
# Network create, container list, container create, start, and the readiness recheck's list.
MAX_CALLS_PER_PROJECT = 5
# Container list, stop, remove; network list, remove; volume list.
MAX_TEARDOWN_CALLS_PER_PROJECT = 6


def services_ready(c, name):
    p = c.project(name) or {}
    return any(x.get("type") == "ServicesReady" and x.get("status") == "True"
               for x in p.get("status", {}).get("conditions", []))


def call_kind(path):
    """/v1.41/containers/<id>/start -> /containers/{id}/start (names and ids folded)."""
    path = re.sub(r"/(cara-|ag-|calls-)[^/?]+", "/{name}", path.split("?")[0])
    return re.sub(r"/[0-9a-f]{12,64}(?=/|$)", "/{id}", path)


def main():
    with DockerRelay() as relay, AgentCluster() as c:
        t_start = time.monotonic()
        # A pool of its own: what other agents on this daemon create does not collide with it.
        # No periodic full re-list inside the counted windows (the fixture's 10 s would fall into
        # one now and then and add its lists to the count): Docker's events and the watch drive
        # everything counted here.
        a = c.agent("n1", env={"DOCKER_HOST": relay.url, "NETWORK_POOL": "10.215.0.0/16", "RESYNC_INTERVAL": "600s"})
        warm = fx.unique_name("warm")
        c.apply(project(warm, [service("s", command=["sleep", "3600"])]))
        c.wait_phase(warm, "Running", timeout=60)
        # Past the first reports, and past the first 10 s, when a create also looks for a network a
        # killed predecessor's request may have made.
        time.sleep(max(1.5, 11 - (time.monotonic() - t_start)))
        relay.reset()

        names = [fx.unique_name("calls") for _ in range(N)]
        for n in names:
            c.apply(project(n, [service("s", command=["sleep", "3600"])]))
        for n in names:
            c.wait_phase(n, "Running", timeout=90)
        # Up to ServicesReady (the readiness recheck after 2 s of uptime is part of the cost), and
        # the status echoes and Docker events that follow.
        for n in names:
            fx.wait_until(lambda: services_ready(c, n), timeout=60, what="%s ServicesReady" % n)
        time.sleep(1.5)
        calls = relay.calls()
        kinds = collections.Counter("%s %s" % (m, call_kind(p)) for m, p in calls)
        # (A network someone else creates meanwhile - other tests share this daemon - is inspected
        # once, from the event stream: that is not on a project's path.)
        own = [1 for m, p in calls if not p.startswith("/events") and call_kind(p) != "/networks/{name}"]
        per_project = len(own) / N
        print("Docker calls for %d new projects (%.1f per project):" % (N, per_project))
        for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]):
            print("  %4d  %s" % (v, k))
        # The floor is 3 (network create, container create, start); besides those: the project's
        # container list before the creates and the one of the readiness recheck.  No inspect: the
        # status comes from what create and start returned, the agent's own start event and the
        # server's echo of its own status report cause no observation, and the image is not
        # inspected when the create finds it.
        assert per_project <= MAX_CALLS_PER_PROJECT, \
            "%.1f Docker calls per project (at most %d)" % (per_project, MAX_CALLS_PER_PROJECT)
        for kind in ("GET /containers/{id}/json", "GET /images/{name}/busybox:latest/json"):
            assert kinds.get(kind, 0) == 0, "%d x %s" % (kinds[kind], kind)
        creates = kinds.get("POST /networks/create", 0)
        lists = kinds.get("GET /networks", 0)
        assert creates == N, "%d network creates for %d projects" % (creates, N)
        assert lists == 0, "the networks were listed %d times" % lists

        subnets = set()
        for n in names:
            nets = fx.docker("network", "ls", "-q", "--filter", "label=cara.project=" + n).split()
            assert len(nets) == 1, (n, nets)
            subnets.add(fx.docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", nets[0]))
        assert len(subnets) == N, subnets

        # Its container and network removed by hand (the agent paused meanwhile, so that it does not
        # make the container again before the network is gone): whichever it hears of first, the
        # network's destroy event or the container's, the project runs again on a new network.
        victim = names[0]
        net = fx.docker("network", "ls", "-q", "--filter", "label=cara.project=" + victim)
        a.send_signal(signal.SIGSTOP)
        try:
            for cid in fx.docker("ps", "-aq", "--filter", "label=cara.project=" + victim).split():
                fx.docker("rm", "-f", cid)
            fx.docker("network", "rm", net)
        finally:
            a.send_signal(signal.SIGCONT)
        fx.wait_until(lambda: fx.docker("network", "ls", "-q", "--filter", "label=cara.project=" + victim)
                      and fx.docker("ps", "-q", "--filter", "label=cara.project=" + victim),
                      timeout=60, what="the network and container made again")
        c.wait_phase(victim, "Running", timeout=60)

        # Teardown: the project's container list, stop and remove (its stop timeout known from its
        # start), its network list and remove, its volume list; the events of what the agent
        # removes itself cause no second teardown.
        rest = names[1:]
        fx.wait_until(lambda: services_ready(c, victim), timeout=60, what="%s ServicesReady" % victim)
        time.sleep(1.5)
        relay.reset()
        for n in rest:
            c.api("DELETE", "/api/v1/projects/" + n)
        for n in rest:
            c.wait_gone(n, timeout=60)
        time.sleep(1.5)
        calls = relay.calls()
        kinds = collections.Counter("%s %s" % (m, call_kind(p)) for m, p in calls)
        own = [1 for m, p in calls if not p.startswith("/events") and call_kind(p) != "/networks/{name}"]
        per_project = len(own) / len(rest)
        print("Docker calls to remove %d projects (%.1f per project):" % (len(rest), per_project))
        for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]):
            print("  %4d  %s" % (v, k))
        assert per_project <= MAX_TEARDOWN_CALLS_PER_PROJECT, \
            "%.1f Docker calls per project removed (at most %d)" % (per_project, MAX_TEARDOWN_CALLS_PER_PROJECT)
        assert kinds.get("GET /containers/{id}/json", 0) == 0, kinds

        assert a.running
    print("ok")


if __name__ == "__main__":
    main()
