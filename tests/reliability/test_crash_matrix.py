# SPDX-License-Identifier: Apache-2.0
"""Crash matrix with real processes (PostgreSQL, cara-server, cara-agent, dockerd, busybox image).
Four bulk applies of PER_PHASE projects each (100 in all), each interrupted by a fault:
  1. kill -9 of cara-server, restarted at once;
  2. a restart of PostgreSQL;
  3. kill -9 of cara-agent, restarted at once;
  4. a restart of dockerd (all containers stop with it, as with a package upgrade).
The bulk apply is what a user's script does: POST, PUT on 409, retry on a connection error or 5xx
until accepted.  After each fault: every accepted project exists exactly once and reaches Running;
per project exactly one running container (docker ps by label), none orphaned; after the agent
restart every container ID is unchanged (nothing recreated for an unchanged spec).  Restarting
dockerd needs root (the suite runs as root in CI); meson runs this test alone (is_parallel: false),
so no other test's containers are on the daemon meanwhile."""

import json
import threading
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, containers, project, service

PER_PHASE = 25
WORKERS = 8


def bulk_apply(c, names, fault, log):
    """Apply names from WORKERS threads; run fault() once half are accepted. Returns statuses seen."""
    accepted, seen, lock = set(), {}, threading.Lock()
    half = threading.Event()

    def one(name):
        deadline = time.monotonic() + 120
        body = project(name, [service("main", command=["sleep", "3600"])])
        while time.monotonic() < deadline:
            try:
                s, _ = c.api("POST", "/api/v1/projects", body, timeout=5)
                if s == 409:
                    s, _ = c.api("PUT", "/api/v1/projects/" + name, body, timeout=5)
            except OSError as e:
                s = type(e).__name__
            with lock:
                seen[s] = seen.get(s, 0) + 1
                if s in (200, 201):
                    accepted.add(name)
                    if len(accepted) >= len(names) // 2:
                        half.set()
                    return
            time.sleep(0.1)
        raise AssertionError("%s never accepted" % name)

    errors = []

    def worker(chunk):
        try:
            for n in chunk:
                one(n)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    ts = [threading.Thread(target=worker, args=(names[i::WORKERS],)) for i in range(WORKERS)]
    for t in ts:
        t.start()
    assert half.wait(120), "half of the bulk apply never got accepted"
    took = fault()
    for t in ts:
        t.join(180)
    assert not errors, errors
    assert accepted == set(names), set(names) - accepted
    log.append((took, seen))
    return seen


def check_converged(c, node, expected, timeout=240):
    """Every expected project exactly once, Running on node, one running container each, no orphan."""
    t0 = time.monotonic()

    def ok():
        s, lst = c.api("GET", "/api/v1/projects")
        if s != 200:
            return False
        names = [p["metadata"]["name"] for p in lst["items"]]
        assert len(names) == len(set(names)), "duplicate projects in the list"
        mine = {p["metadata"]["name"]: p for p in lst["items"] if p["metadata"]["name"] in expected}
        if set(mine) != expected:
            raise AssertionError("projects missing: %s" % (expected - set(mine)))
        if not all(p["status"].get("phase") == "Running" and p["status"].get("nodeRef") == node
                   for p in mine.values()):
            return False
        cs = containers(["cara.node=" + node])
        by = {}
        for x in cs:
            by.setdefault(x["labels"].get("cara.project"), []).append(x)
        orphans = set(by) - set(names)
        if orphans:
            return False  # the agent may still be removing them; fails at the deadline
        if any(len(by.get(n, [])) != 1 or by[n][0]["state"] != "running" for n in expected):
            return False
        return {n: by[n][0]["id"] for n in expected}
    ids = fx.wait_until(ok, timeout=timeout, interval=0.2, what="%d projects Running, one container each, no orphan"
                        % len(expected))
    return ids, time.monotonic() - t0


class Report(list):
    """The phases' figures, each printed as soon as it is known."""

    def append(self, line):
        super().append(line)
        if isinstance(line, str):
            print(line, flush=True)


def main():
    fx.ensure_dockerd()
    report = Report()
    with AgentCluster(server_env={"NODE_HEARTBEAT_TIMEOUT": "30s"}) as c:
        a = c.agent("n1")
        node = a.node
        expected = set()

        # 1. kill -9 the server during a bulk apply
        names = ["%s-s%d" % (c.prefix, i) for i in range(PER_PHASE)]

        def kill_server():
            t0 = time.monotonic()
            c.server.kill()
            c.server.start()
            c.server.wait_http(c.url + "/api/healthz", timeout=60)
            return time.monotonic() - t0
        seen = bulk_apply(c, names, kill_server, report)
        expected |= set(names)
        ids, conv = check_converged(c, node, expected)
        report.append("server kill -9: API back in %.2fs; apply statuses %s; %d projects converged in %.1fs"
                      % (report[-1][0], seen, len(expected), conv))

        # 2. restart PostgreSQL during a bulk apply
        names = ["%s-p%d" % (c.prefix, i) for i in range(PER_PHASE)]

        def restart_pg():
            t0 = time.monotonic()
            c.pg.restart()
            fx.wait_until(lambda: c.api("GET", "/api/v1/projects", timeout=5)[0] == 200, timeout=60,
                          what="the API to read from the database again")
            return time.monotonic() - t0
        seen = bulk_apply(c, names, restart_pg, report)
        expected |= set(names)
        ids, conv = check_converged(c, node, expected)
        report.append("PostgreSQL restart: API reads again after %.2fs; apply statuses %s; %d projects converged "
                      "in %.1fs" % (report[-1][0], seen, len(expected), conv))

        # 3. kill -9 the agent during a bulk apply; unchanged containers must keep their IDs
        before = dict(ids)
        names = ["%s-a%d" % (c.prefix, i) for i in range(PER_PHASE)]

        def kill_agent():
            t0 = time.monotonic()
            a.kill()
            a.start()
            a.wait_ready(timeout=60)
            return time.monotonic() - t0
        seen = bulk_apply(c, names, kill_agent, report)
        expected |= set(names)
        ids, conv = check_converged(c, node, expected)
        # Watch a few agent resync rounds: still the very same containers.
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            ids2, _ = check_converged(c, node, expected, timeout=30)
            changed = {n for n in before if ids2[n] != before[n]}
            assert not changed, "agent restart recreated unchanged containers: %s" % sorted(changed)
            assert ids2 == ids, "containers changed after convergence"
            time.sleep(1)
        report.append("agent kill -9: agent back in %.2fs; apply statuses %s; %d projects converged in %.1fs; "
                      "%d pre-existing containers kept their IDs" % (report[-1][0], seen, len(expected), conv, len(before)))

        # 4. restart dockerd during a bulk apply: its containers stop; the agent must see the daemon
        # come back and start every project again, without a duplicate
        names = ["%s-d%d" % (c.prefix, i) for i in range(PER_PHASE)]
        seen = bulk_apply(c, names, fx.restart_dockerd, report)
        expected |= set(names)
        ids, conv = check_converged(c, node, expected)
        kept = sum(1 for n in before if ids[n] == before[n])
        report.append("dockerd restart: Docker back in %.2fs; apply statuses %s; %d projects converged in %.1fs "
                      "(%d of %d older containers restarted in place, the rest recreated)"
                      % (report[-1][0], seen, len(expected), conv, kept, len(before)))

        total = len(containers(["cara.node=" + node]))
        assert total == len(expected), (total, len(expected))
        for d in (c.server, a):
            for bad in ("AddressSanitizer", "runtime error", "CRITICAL", "critical:"):
                assert bad not in d.log(), "%s log has %s" % (d.name, bad)
        # Clean up: delete everything, wait for the containers to go.
        for n in expected:
            c.api("DELETE", "/api/v1/projects/" + n)
        fx.wait_until(lambda: not containers(["cara.node=" + node]), timeout=120, what="containers removed")
    print("PASS")


if __name__ == "__main__":
    main()
