#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Idle daemons sleep: a cara-agent on a D-Bus system bus with a running project, and a cara-server
with two agents heartbeating, each use < 2% of a core over 20 s (CPU time from /proc/PID/stat) and
wake up rarely (context switches of all their threads). An agent whose sd-bus GSource re-armed its
fd on every main-loop iteration spun a whole core."""

import sys
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, project, service

IDLE_SECONDS = 20
MAX_CPU_FRACTION = 0.02
# A spinning loop wakes thousands of times a second; heartbeats, watch keep-alives and the
# server's timers stay well under this.
MAX_WAKEUPS_PER_SECOND = 100


def main():
    with fx.DBusDaemon() as bus, AgentCluster() as c:
        with_bus = c.agent("bus", env=bus.env)
        plain = c.agent("plain")
        names = []
        for _ in range(2):  # the scheduler spreads them: one on each node
            name = fx.unique_name("idle")
            c.apply(project(name, [service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"])]))
            names.append(name)
        for name in names:
            c.wait_phase(name, "Running", timeout=60)
        # The agent's bus object must be there: otherwise this would measure an agent without a bus.
        fx.wait_until(lambda: "/project/" in bus.busctl("tree", "org.caravanserai.Agent").stdout,
                      timeout=10, what="agent on the bus")
        time.sleep(2)  # let the start-up settle (first reports, watch catch-up)

        usage = fx.idle_usage({"cara-agent (D-Bus)": with_bus.pid, "cara-agent": plain.pid,
                               "cara-server": c.server.pid}, IDLE_SECONDS)
        failures = []
        for k, (cpu, wakeups) in usage.items():
            print("%-20s idle %d s: %.2f%% of a core, %.1f wakeups/s" % (k, IDLE_SECONDS, cpu * 100, wakeups))
            if cpu >= MAX_CPU_FRACTION:
                failures.append("%s used %.1f%% of a core while idle" % (k, cpu * 100))
            if wakeups >= MAX_WAKEUPS_PER_SECOND:
                failures.append("%s woke up %.0f times a second while idle" % (k, wakeups))
        if failures:
            fx.fail("; ".join(failures))
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
