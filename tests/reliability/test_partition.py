# SPDX-License-Identifier: Apache-2.0
"""Partition: two real agents; projects Running on n1; n1 is frozen with SIGSTOP (cut off: no
heartbeat, no reconciling, its containers keep running in dockerd).  Short timeouts via env:
NODE_HEARTBEAT_TIMEOUT=3s, RESCHEDULE_GRACE_PERIOD=3s.  Checks: n1 goes NotReady; its projects
become Running on n2 after the grace period (not before); after SIGCONT, n1 removes its stale
copies; once converged each project has exactly one container, on n2, and keeps it (observed
for several agent resync rounds)."""

import signal
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, containers, project, service

COUNT = 4
GRACE = 3.0


def main():
    fx.ensure_dockerd()
    with AgentCluster(server_env={"NODE_HEARTBEAT_TIMEOUT": "3s", "RESCHEDULE_GRACE_PERIOD": "3s",
                                  "RESYNC_INTERVAL": "1s"}) as c:
        a1 = c.agent("n1")
        names = ["%s-p%d" % (c.prefix, i) for i in range(COUNT)]
        for n in names:
            c.apply(project(n, [service("main", command=["sleep", "3600"])]))
        for n in names:
            c.wait_phase(n, "Running", timeout=60, node=a1.node)
        a2 = c.agent("n2")

        stopped = False
        try:
            t0 = time.monotonic()
            a1.send_signal(signal.SIGSTOP)
            stopped = True

            def state(node):
                return c.api("GET", "/api/v1/nodes/" + node)[1]["status"].get("state")
            fx.wait_until(lambda: state(a1.node) == "NotReady", timeout=30, what="n1 NotReady")
            t_notready = time.monotonic() - t0

            def moved():
                ps = [c.project(n) for n in names]
                return all(p["status"].get("phase") == "Running" and p["status"].get("nodeRef") == a2.node for p in ps)
            fx.wait_until(moved, timeout=60, interval=0.1, what="projects Running on n2")
            t_moved = time.monotonic() - t0
            assert t_moved - t_notready >= GRACE * 0.8, \
                "moved %.2fs after NotReady, before the %.0fs grace period" % (t_moved - t_notready, GRACE)
            # Still frozen: n1's copies are still in dockerd (nobody to remove them).
            stale_while_frozen = len(containers(["cara.node=" + a1.node], all=False))

            t1 = time.monotonic()
            a1.send_signal(signal.SIGCONT)
            stopped = False
            fx.wait_until(lambda: not containers(["cara.node=" + a1.node]), timeout=60, interval=0.2,
                          what="n1 to remove its stale copies")
            t_cleaned = time.monotonic() - t1
            fx.wait_until(lambda: state(a1.node) == "Ready", timeout=30, what="n1 Ready again")

            # Converged: one running container per project, on n2, stable over several resyncs.
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                for n in names:
                    cs = containers(["cara.project=" + n])
                    assert len(cs) == 1 and cs[0]["labels"]["cara.node"] == a2.node and cs[0]["state"] == "running", \
                        (n, cs)
                    p = c.project(n)
                    assert p["status"]["phase"] == "Running" and p["status"]["nodeRef"] == a2.node, p["status"]
                time.sleep(0.5)
            print("SIGSTOP -> NotReady %.2fs; -> all %d projects Running on n2 %.2fs (grace %.0fs); %d stale "
                  "containers left on frozen n1; SIGCONT -> stale copies removed in %.2fs"
                  % (t_notready, COUNT, t_moved, GRACE, stale_while_frozen, t_cleaned))
        finally:
            if stopped:
                a1.send_signal(signal.SIGCONT)
        for n in names:
            c.api("DELETE", "/api/v1/projects/" + n)
        fx.wait_until(lambda: not containers(["cara.node=" + a1.node]) and not containers(["cara.node=" + a2.node]),
                      timeout=60, what="containers removed")
        for d in (c.server, a1, a2):
            for bad in ("AddressSanitizer", "runtime error", "CRITICAL"):
                assert bad not in d.log(), "%s log has %s" % (d.name, bad)
    print("PASS")


if __name__ == "__main__":
    main()
