#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Caravanserai benchmark suite (issue 12): Caravanserai against the Docker Engine API (the floor),
docker-compose and Docker Swarm on the same machine, in the same run.  Started by bench/run, which
installs the tools and builds; see bench/README.md.

Sections: deploy, bulk, control, footprint, failure.  Results go to RESULTS_JSON (merged per
section, so one section can be rerun), then bench/report.py writes RESULTS.md and the plots."""

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import benchlib as bl
from benchlib import fx

import cara_agent as ca  # tests/lib, on sys.path through benchlib

SECTIONS = ["deploy", "bulk", "control", "footprint", "failure", "secrets", "move"]
RID = secrets.token_hex(2)                  # run id: label value and part of every name
ADMIN_TOKEN = secrets.token_hex(32)
JOIN_TOKEN = secrets.token_hex(32)
AGENT_POOL = "10.216.0.0/16"                # project networks of the bench's agents
FLOOR_POOL = "10.217.0.0/16"                # networks made through the raw API and by Compose
SWARM_POOL = "10.215.0.0/16"


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def name(*parts):
    return "-".join([bl.PREFIX, RID] + [str(p) for p in parts])


class Budget:
    """The run's time limit; each phase gets min(its own timeout, what is left)."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()

    def timeout(self, t):
        left = self.left()
        if left <= 5:
            raise TimeoutError("the run's time limit is reached")
        return min(t, left - 5)


# ---------------------------------------------------------------------------------------------
# Caravanserai: PostgreSQL, server (auth on), agents


class Cara:
    def __init__(self, args, tag, server_env=None, server_bin=None):
        self.args = args
        self.pg = fx.Postgres()
        self.port = fx.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        state = tempfile.mkdtemp(prefix="server-%s-" % tag, dir=fx.log_dir())
        env = {"DATABASE_URL": self.pg.url, "HOST": "127.0.0.1", "PORT": str(self.port), "CARA_AUTH": "token",
               "CARA_ADMIN_TOKEN": ADMIN_TOKEN, "CARA_JOIN_TOKEN": JOIN_TOKEN}
        env.update(server_env or {})
        self.server_env = env
        self.server = fx.Daemon([server_bin or args.server_bin, "--data-dir", state, "--config", "/nonexistent/server.conf"],
                                env=env, name="cara-server-" + tag)
        self.server.wait_http(self.url + "/api/healthz", timeout=60)
        self.api = bl.Client("127.0.0.1", self.port, headers={"Authorization": "Bearer " + ADMIN_TOKEN})
        self.agents = {}
        self.projects = bl.CaraWatch("127.0.0.1", self.port, ADMIN_TOKEN, "projects")
        self.nodes = bl.CaraWatch("127.0.0.1", self.port, ADMIN_TOKEN, "nodes")
        self.projects.start()
        self.nodes.start()
        self.projects.connected.wait(10)
        self.nodes.connected.wait(10)
        self.ctl_env = dict(os.environ, CARA_SERVER=self.url, CARA_TOKEN=ADMIN_TOKEN, NO_COLOR="1")

    def agent(self, suffix, env=None):
        node = name(suffix)
        e = {"CARA_TOKEN": JOIN_TOKEN, "NETWORK_POOL": AGENT_POOL, "STOP_TIMEOUT": "1s",
             "RESYNC_INTERVAL": "30s", "POLL_INTERVAL": "10s", "HEARTBEAT_INTERVAL": "2s"}
        e.update(env or {})
        extra = []
        if self.args.agent_has_data_dir:
            d = tempfile.mkdtemp(prefix="agent-%s-" % suffix, dir=fx.log_dir())
            extra = ["--data-dir", d]
        a = ca.Agent(node, self.url, env=e, args=extra)
        a.wait_ready(timeout=30)
        self.nodes.wait_phase(node, "Ready", timeout=30)
        self.agents[node] = a
        return a

    def post_project(self, name_, nsvc, extra=None, client=None):
        body = cara_project(name_, nsvc)
        if extra:
            body["spec"].update(extra)
        st, resp = (client or self.api).call("POST", "/api/v1/projects", body)
        if st != 201:
            raise RuntimeError("POST project %s: %s %s" % (name_, st, resp))

    def delete_projects(self, names, timeout):
        bl.parallel(lambda n: self.api.call("DELETE", "/api/v1/projects/" + n, ok=(200, 202, 204, 404)), names, 8)
        self.projects.wait_for(lambda: all(n in self.projects.deleted for n in names), timeout,
                               "%d projects deleted" % len(names))
        self.projects.forget(names)

    def close(self):
        self.projects.stop()
        self.nodes.stop()
        for a in self.agents.values():
            a.stop(timeout=10)
        self.server.stop(timeout=15)
        self.pg.close()


def cara_project(name_, nsvc):
    return {"apiVersion": "caravanserai/v1", "kind": "Project", "metadata": {"name": name_},
            "spec": {"services": [{"name": s, "image": bl.IMAGE, "command": bl.IDLE_CMD}
                                  for s in bl.SERVICE_NAMES[:nsvc]]}}


# ---------------------------------------------------------------------------------------------
# The peers: raw Docker Engine API (the floor), docker-compose, Docker Swarm


class RawDocker:
    """What any orchestrator has to ask dockerd for: a network with an explicit subnet, then per
    service create + start, over the unix socket with keep-alive connections."""

    def __init__(self, d, pool):
        self.d = d
        self.pool = pool

    def deploy(self, pname, nsvc):
        """Returns (handle, seconds)."""
        subnet = self.pool.take()
        t0 = time.time()
        for _ in range(20):
            st, r = self.d.call("POST", "/networks/create", {
                "Name": pname, "Driver": "bridge", "CheckDuplicate": True, "Labels": {bl.LABEL: RID},
                "IPAM": {"Config": [{"Subnet": str(subnet)}]}})
            if st == 201:
                break
            if "overlap" not in str(r) and "Pool" not in str(r):
                raise RuntimeError("network create: %s %s" % (st, r))
            self.pool.mark_used(subnet)  # someone else took it meanwhile
            subnet = self.pool.take()
        else:
            raise RuntimeError("no free subnet")
        net = r["Id"]
        ids = []
        for s in bl.SERVICE_NAMES[:nsvc]:
            _, c = self.d.call("POST", "/containers/create?name=%s-%s" % (pname, s), {
                "Image": bl.IMAGE, "Cmd": bl.IDLE_CMD, "Labels": {bl.LABEL: RID},
                "HostConfig": {"NetworkMode": pname},
                "NetworkingConfig": {"EndpointsConfig": {pname: {"Aliases": [s]}}}}, ok=(201,))
            self.d.call("POST", "/containers/%s/start" % c["Id"], ok=(204, 304))
            ids.append(c["Id"])
        return (net, ids, subnet), time.time() - t0

    def teardown(self, handle):
        net, ids, subnet = handle
        for c in ids:
            self.d.call("DELETE", "/containers/%s?force=true&v=true" % c, ok=(204, 404))
        self.d.call("DELETE", "/networks/%s" % net, ok=(204, 404))
        self.pool.give_back(subnet)


COMPOSE_TMPL = """version: "2.4"
services:
%(services)s
networks:
  default:
    labels:
      %(label)s: "%(rid)s"
    ipam:
      config:
        - subnet: %(subnet)s
"""
COMPOSE_SVC = """  %(svc)s:
    image: %(image)s
    command: %(cmd)s
    labels:
      %(label)s: "%(rid)s"
"""


class Compose:
    def __init__(self, pool, workdir):
        self.pool = pool
        self.dir = workdir

    def deploy(self, pname, nsvc):
        subnet = self.pool.take()
        svcs = "".join(COMPOSE_SVC % {"svc": s, "image": bl.IMAGE, "cmd": json.dumps(bl.IDLE_CMD), "label": bl.LABEL,
                                      "rid": RID} for s in bl.SERVICE_NAMES[:nsvc])
        path = os.path.join(self.dir, pname + ".yml")
        with open(path, "w") as f:
            f.write(COMPOSE_TMPL % {"services": svcs, "label": bl.LABEL, "rid": RID, "subnet": subnet})
        t0 = time.time()
        bl.run(["docker-compose", "-p", pname, "-f", path, "up", "-d", "--no-color"], timeout=120)
        return (pname, path, subnet), time.time() - t0

    def teardown(self, handle):
        pname, path, subnet = handle
        bl.run(["docker-compose", "-p", pname, "-f", path, "down", "-t", "1", "-v"], timeout=120, check=False)
        self.pool.give_back(subnet)


class Swarm:
    """Docker Swarm on this one dockerd: `docker service create --detach`, timed until the task's
    container is running (seen on Docker's event stream)."""

    def __init__(self, d, events):
        self.d = d
        self.events = events
        self.ours = False

    def init(self):
        st = bl.run(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"]).stdout.strip()
        if st != "inactive":
            raise RuntimeError("this dockerd is already in a swarm (%s): not touching it" % st)
        self.gwbridge_before = bl.run(["docker", "network", "ls", "-q", "--filter", "name=^docker_gwbridge$"]).stdout.strip()
        bl.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1", "--default-addr-pool", SWARM_POOL],
               timeout=60)
        self.ours = True
        with open(STATE_FILE, "a") as f:
            f.write("swarm %s\n" % ("gwbridge-existed" if self.gwbridge_before else "gwbridge-new"))

    def service_args(self, sname, net=None):
        a = ["docker", "service", "create", "--detach", "--no-resolve-image", "--quiet", "--name", sname,
             "--label", "%s=%s" % (bl.LABEL, RID), "--container-label", "%s=%s" % (bl.LABEL, RID),
             "--stop-grace-period", "1s"]
        if net:
            a += ["--network", net]
        return a + [bl.IMAGE] + bl.IDLE_CMD

    def deploy(self, pname, nsvc):
        """1 service: `docker service create` alone; 2 services: an overlay network (what a stack
        would make so that services find each other) plus two services on it."""
        svcs = ["%s-%s" % (pname, s) for s in bl.SERVICE_NAMES[:nsvc]]
        net = None
        t0 = time.time()
        if nsvc > 1:
            net = pname
            bl.run(["docker", "network", "create", "--driver", "overlay", "--label", "%s=%s" % (bl.LABEL, RID), net])
        for s in svcs:
            bl.run(self.service_args(s, net))
        self.events.wait_all("service", svcs, "start", timeout=120)
        t1 = max(self.events.when("service", s, "start") for s in svcs)
        return (svcs, net), t1 - t0

    def teardown(self, handle, timeout=120):
        svcs, net = handle
        for i in range(0, len(svcs), 50):
            bl.run(["docker", "service", "rm"] + svcs[i:i + 50], check=False, timeout=120)
        flt = bl.qs_filters(label=["%s=%s" % (bl.LABEL, RID), "com.docker.swarm.service.name"])
        fx.wait_until(lambda: not self.d.call("GET", "/containers/json?all=1&filters=" + flt)[1], timeout=timeout,
                      interval=0.2, what="swarm containers gone")
        if net:
            fx.wait_until(lambda: bl.run(["docker", "network", "rm", net], check=False).returncode == 0
                          or not bl.run(["docker", "network", "ls", "-q", "--filter", "name=^%s$" % net]).stdout.strip(),
                          timeout=30, interval=0.3, what="overlay network removed")

    def leave(self):
        if not self.ours:
            return
        leave_swarm()
        self.ours = False


STATE_FILE = None  # set in main(): what to undo on cleanup (swarm we initialised)


def leave_swarm():
    bl.run(["docker", "swarm", "leave", "--force"], check=False, timeout=120)
    try:
        with open(STATE_FILE) as f:
            state = f.read()
    except OSError:
        state = ""
    if "gwbridge-new" in state:
        # docker_gwbridge is made by swarm init and outlives it; remove it when we made it and it is empty.
        out = bl.run(["docker", "network", "inspect", "-f", "{{len .Containers}}", "docker_gwbridge"], check=False)
        if out.returncode == 0 and out.stdout.strip() == "0":
            bl.run(["docker", "network", "rm", "docker_gwbridge"], check=False)
    with open(STATE_FILE, "w"):
        pass


def cleanup_docker(rid=None):
    """Everything the benchmark made: by label (cara-bench=RID, or any value), and the nodes'
    objects of this run's agents (cara.node=cara-bench-RID-*)."""
    label = bl.LABEL + ("=" + rid if rid else "")
    svcs = bl.run(["docker", "service", "ls", "-q", "--filter", "label=" + label], check=False).stdout.split()
    if svcs:
        bl.run(["docker", "service", "rm"] + svcs, check=False)
    fx.docker_cleanup(label)
    # Agents label with cara.node; our node names start with cara-bench-.
    out = bl.run(["docker", "ps", "-a", "--filter", "label=cara.node", "--format", '{{.ID}} {{.Label "cara.node"}}'],
                 check=False).stdout.split("\n")
    nodes = {ln.split()[1] for ln in out if len(ln.split()) == 2 and ln.split()[1].startswith(bl.PREFIX + "-" + (rid or ""))}
    out = bl.run(["docker", "network", "ls", "--filter", "label=cara.node", "--format", '{{.ID}} {{.Label "cara.node"}}'],
                 check=False).stdout.split("\n")
    nodes |= {ln.split()[1] for ln in out if len(ln.split()) == 2 and ln.split()[1].startswith(bl.PREFIX + "-" + (rid or ""))}
    for n in sorted(nodes):
        fx.docker_cleanup("cara.node=" + n)


# ---------------------------------------------------------------------------------------------
# 1. Deploy latency


def stage_times(ev, pname, nsvc, t0, kind="cara"):
    """Docker-side stages of one deploy from Docker's event stream, relative to t0 (ms)."""
    net = ("cara-" + pname) if kind == "cara" else pname
    out = {}
    tn = ev.when("network", net, "create")
    if tn:
        out["network_create"] = (tn - t0) * 1000
    creates = [ev.when("container", "%s-%s" % (pname, s), "create") for s in bl.SERVICE_NAMES[:nsvc]]
    starts = [ev.when("container", "%s-%s" % (pname, s), "start") for s in bl.SERVICE_NAMES[:nsvc]]
    if all(creates):
        out["first_container_create"] = (min(creates) - t0) * 1000
    if all(starts):
        out["last_container_start"] = (max(starts) - t0) * 1000
    for s, c, st in zip(bl.SERVICE_NAMES, creates, starts):
        if c and st:
            out["create_" + s] = (c - t0) * 1000
            out["start_" + s] = (st - t0) * 1000
    return out


def section_deploy(args, ctx, budget):
    runs = args.runs
    res = {"runs": runs, "load_start": bl.loadavg(), "systems": {}}
    d, ev, cara = ctx["docker"], ctx["events"], ctx["cara"]
    raw = RawDocker(d, ctx["pool"])
    comp = Compose(ctx["pool"], ctx["tmp"])
    systems = {k: {"1": [], "2": []} for k in ("raw", "compose", "cara_watch", "cara_ctl", "swarm")}
    stages = {"cara": {"1": [], "2": []}, "raw": {"1": [], "2": []}}
    manifests = ctx["tmp"]

    def one_cara(pname, nsvc):
        path = os.path.join(manifests, pname + ".json")
        with open(path, "w") as f:
            json.dump(cara_project(pname, nsvc), f)
        t0 = time.time()
        bl.run([args.ctl_bin, "apply", "-f", path, "--wait", "-q"], env=cara.ctl_env, timeout=budget.timeout(120))
        t_end = time.time()
        t_run = cara.projects.wait_phase(pname, "Running", timeout=10)
        t_sched = cara.projects.when(pname, "Scheduled")
        st = stage_times(ev, pname, nsvc, t0)
        st["scheduled"] = (t_sched - t0) * 1000 if t_sched else None
        st["running_seen"] = (t_run - t0) * 1000
        st["ctl_returned"] = (t_end - t0) * 1000
        stages["cara"][str(nsvc)].append(st)
        systems["cara_watch"][str(nsvc)].append(t_run - t0)
        systems["cara_ctl"][str(nsvc)].append(t_end - t0)
        bl.run([args.ctl_bin, "delete", "project", pname, "--wait", "-q"], env=cara.ctl_env, timeout=budget.timeout(120))
        cara.projects.forget([pname])

    # Warm-up (not counted): first use of the image, the CLI binaries' page cache, ...
    log("deploy: warm-up")
    h, _ = raw.deploy(name("warm-raw"), 1)
    raw.teardown(h)
    one_cara(name("warm-cara"), 1)
    for k in stages:
        stages[k] = {"1": [], "2": []}
    for k in systems:
        systems[k] = {"1": [], "2": []}

    def do_raw(r, nsvc):
        pname = name("raw", nsvc, r)
        t0 = time.time()
        h, dt = raw.deploy(pname, nsvc)
        systems["raw"][str(nsvc)].append(dt)
        raw.teardown(h)  # (the start events have arrived by now)
        stages["raw"][str(nsvc)].append(stage_times(ev, pname, nsvc, t0, kind="raw"))

    def do_compose(r, nsvc):
        h, dt = comp.deploy(name("compose", nsvc, r), nsvc)
        systems["compose"][str(nsvc)].append(dt)
        comp.teardown(h)

    def do_cara(r, nsvc):
        one_cara(name("cara", nsvc, r), nsvc)

    order = [do_raw, do_compose, do_cara]
    for r in range(runs):
        for nsvc in (1, 2):
            # Interleaved, the order rotated every run, with a pause after each teardown (dockerd
            # goes on cleaning up after it returns): no system always follows the same one.
            k = r % len(order)
            for fn in order[k:] + order[:k]:
                fn(r, nsvc)
                time.sleep(args.settle)
        log("deploy: run %d/%d: raw %.0f/%.0f ms, compose %.0f/%.0f ms, cara %.0f/%.0f ms (watch), %.0f/%.0f ms (caractrl)"
            % (r + 1, runs, *[1000 * systems[k][n][-1] for k in ("raw", "compose", "cara_watch", "cara_ctl")
                                for n in ("1", "2")]))
    res["systems"] = systems
    res["stages"] = stages
    if not args.no_swarm:
        with swarm_window(ctx) as swarm:
            swarm_deploy(args, ctx, swarm, budget, res)
    res["load_end"] = bl.loadavg()
    return res


@contextlib.contextmanager
def swarm_window(ctx):
    """Docker Swarm for the length of the block: init, then leave (also on failure or interrupt)."""
    log("swarm: init")
    swarm = Swarm(ctx["docker"], ctx["events"])
    swarm.init()
    fx.on_exit(swarm.leave)
    try:
        yield swarm
    finally:
        swarm.leave()
        log("swarm: left")


def swarm_deploy(args, ctx, swarm, budget, res):
    log("deploy: swarm warm-up")
    h, _ = swarm.deploy(name("warm-swarm"), 1)
    swarm.teardown(h)
    out = {"1": [], "2": []}
    for r in range(args.runs):
        for nsvc in (1, 2):
            h, dt = swarm.deploy(name("swarm", nsvc, r), nsvc)
            out[str(nsvc)].append(dt)
            swarm.teardown(h)
            time.sleep(args.settle)
        log("deploy: swarm run %d/%d: %.0f/%.0f ms" % (r + 1, args.runs, 1000 * out["1"][-1], 1000 * out["2"][-1]))
    res["systems"]["swarm"] = out


# ---------------------------------------------------------------------------------------------
# 2. Bulk deploy


def section_bulk(args, ctx, budget):
    """In order of importance, so that what the time limit cuts is an extra run: one run of every
    system at each size, then the extra runs."""
    res = {"sizes": args.bulk_sizes, "clients": 8, "load_start": bl.loadavg(), "cara": {}, "raw": {}, "swarm": {},
           "skipped": []}
    d, cara = ctx["docker"], ctx["cara"]
    raw = RawDocker(d, ctx["pool"])
    per_project = {}  # system -> worst seconds per project (deploy + teardown) so far, to skip what cannot fit

    def fits(n, what):
        known = per_project.get(what) or max(per_project.values(), default=0.0)
        need = known * n * (1.1 + n / 1000.0) + 20  # Docker slows down as networks pile up
        if known and budget.left() < need:
            log("bulk %d %s: skipped, %.0f s left in the run's time limit and it needs about %.0f s"
                % (n, what, budget.left(), need))
            res["skipped"].append("%s, %d projects" % (what, n))
            return False
        return True

    def cost(what, n, t0):
        per_project[what] = max(per_project.get(what, 0.0), (time.time() - t0) / n)

    def docker_calls():
        """The agent's Docker requests so far (cara_agent_docker_requests_total, through the server's
        relay of its metrics: no listener of its own that would change the agent's footprint)."""
        node = next(iter(cara.agents))
        st, text = cara.api.raw("GET", "/api/v1/nodes/%s/metrics" % node)
        if st != 200:
            return None
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.decode().splitlines()
                   if line.startswith("cara_agent_docker_requests_total"))

    def run_cara(n, r):
        names = [name("bk", n, r, i) for i in range(n)]
        sent = {}
        calls0 = docker_calls()
        t0 = time.time()

        def post(nm):
            sent[nm] = time.time()
            cara.post_project(nm, 1)
        bl.parallel(post, names, 8)
        t_posted = time.time()
        cara.projects.wait_all(names, "Running", timeout=budget.timeout(60 + n * 1.5))
        running = {nm: cara.projects.when(nm, "Running") for nm in names}
        total = max(running.values()) - t0
        lat = sorted(running[nm] - t0 for nm in names)  # from the start of the bulk: queues differ
        # Up to ServicesReady (the readiness recheck 2 s after a start is part of a project's cost).
        time.sleep(3)
        calls1 = docker_calls()
        t1 = time.time()
        cara.delete_projects(names, timeout=budget.timeout(60 + n * 1.5))
        tdown = time.time() - t1
        time.sleep(1)
        calls2 = docker_calls()
        cost("cara", n, t0)
        per = {}
        if None not in (calls0, calls1, calls2):
            # (events streams and the per-project watch are not requests of this counter's)
            per = {"docker_calls": (calls1 - calls0) / n, "docker_calls_teardown": (calls2 - calls1) / n}
        res["cara"].setdefault(str(n), []).append(dict({"total": total, "post": t_posted - t0, "lat": lat,
                                                        "teardown": tdown, "load": bl.loadavg()}, **per))
        log("bulk %d run %d: cara all Running after %.1f s (POSTs took %.1f s), teardown %.1f s; Docker calls per "
            "project: %s to ServicesReady, %s to tear down (the floor: 3 and 2)"
            % (n, r + 1, total, t_posted - t0, tdown, "%.1f" % per["docker_calls"] if per else "?",
               "%.1f" % per["docker_calls_teardown"] if per else "?"))

    def run_raw(n, r):
        t0 = time.time()
        done = {}

        def deploy_raw(nm):
            h, _ = raw.deploy(nm, 1)
            done[nm] = time.time()
            return h
        rnames = [name("bkraw", n, r, i) for i in range(n)]
        handles = bl.parallel(lambda nm: (time.time(), deploy_raw(nm)), rnames, 8)
        total = max(done.values()) - t0
        lat = sorted(done[nm] - t0 for nm in rnames)
        t1 = time.time()
        bl.parallel(lambda h: raw.teardown(h[1]), handles, 8)
        tdown = time.time() - t1
        cost("raw", n, t0)
        res["raw"].setdefault(str(n), []).append({"total": total, "lat": lat, "teardown": tdown,
                                                  "load": bl.loadavg()})
        log("bulk %d run %d: raw API all running after %.1f s, teardown %.1f s" % (n, r + 1, total, tdown))

    def run_swarm(n, r):
        t0 = time.time()
        with swarm_window(ctx) as swarm:
            swarm_bulk(args, ctx, swarm, budget, res, n, r)
        cost("swarm", n, t0)

    for n, r, systems in args.bulk_plan:
        for sysname in systems:
            if sysname == "swarm" and args.no_swarm:
                continue
            if not fits(n, sysname):
                continue
            {"cara": run_cara, "raw": run_raw, "swarm": run_swarm}[sysname](n, r)
            time.sleep(2)  # let dockerd finish what it does after a teardown
    res["load_end"] = bl.loadavg()
    return res


def section_secrets(args, ctx, budget):
    """SPEC §12: N projects that each use 2 Secrets (one as env, one as a file), with their Secrets
    created in the same run, against the same N projects with 2 plain env values; 8 clients, from
    the first POST to all Running.  The variants alternate, so both see the same machine."""
    cara = ctx["cara"]
    n = args.secrets_projects
    res = {"projects": n, "clients": 8, "runs": {"plain": [], "secrets": []}, "load_start": bl.loadavg()}

    def body(nm, with_secrets):
        b = cara_project(nm, 1)
        svc = b["spec"]["services"][0]
        if with_secrets:
            svc["env"] = [{"name": "DB_PASSWORD", "valueFrom": {"secret": nm + "-db", "key": "password"}}]
            svc["secrets"] = [{"secret": nm + "-tls", "key": "key"}]
        else:
            svc["env"] = [{"name": "DB_PASSWORD", "value": "plain-value-0123456789"},
                          {"name": "TLS_KEY", "value": "plain-key-0123456789"}]
        return b

    def one(variant, r):
        with_secrets = variant == "secrets"
        names = [name("sx", variant[0], r, i) for i in range(n)]
        t0 = time.time()

        def post(nm):
            if with_secrets:
                for suffix, key, value in (("-db", "password", "s3cr3t-%s" % nm), ("-tls", "key", "k-%s" % nm)):
                    st, resp = cara.api.call("POST", "/api/v1/secrets", {"kind": "Secret", "metadata": {"name": nm + suffix},
                                                                          "stringData": {key: value}})
                    if st != 201:
                        raise RuntimeError("POST secret %s%s: %s %s" % (nm, suffix, st, resp))
            st, resp = cara.api.call("POST", "/api/v1/projects", body(nm, with_secrets))
            if st != 201:
                raise RuntimeError("POST project %s: %s %s" % (nm, st, resp))
        bl.parallel(post, names, 8)
        t_posted = time.time()
        cara.projects.wait_all(names, "Running", timeout=budget.timeout(60 + n * 2))
        total = max(cara.projects.when(nm, "Running") for nm in names) - t0
        cara.delete_projects(names, timeout=budget.timeout(60 + n * 2))
        if with_secrets:
            bl.parallel(lambda nm: [cara.api.call("DELETE", "/api/v1/secrets/" + nm + s, ok=(204, 404)) for s in ("-db", "-tls")],
                        names, 8)
        res["runs"][variant].append({"total": total, "post": t_posted - t0, "load": bl.loadavg()})
        log("secrets %s run %d: %d projects all Running after %.1f s (POSTs %.1f s)" % (variant, r + 1, n, total,
                                                                                        t_posted - t0))
        time.sleep(2)

    for r in range(args.secrets_runs):
        for variant in (("plain", "secrets") if r % 2 == 0 else ("secrets", "plain")):
            one(variant, r)
    res["load_end"] = bl.loadavg()
    return res


def merge_bulk(old, new, command):
    """--bulk-plan: the new runs join the last bulk results (a run of the same size and system is added)."""
    out = dict(old)
    for key in ("cara", "raw", "swarm"):
        merged = {k: list(v) for k, v in (old.get(key) or {}).items()}
        for size, runs in (new.get(key) or {}).items():
            merged.setdefault(size, []).extend(runs)
        out[key] = merged
    done = {"%s, %s projects" % (k, n) for k in ("cara", "raw", "swarm") for n in out[k]}
    out["skipped"] = [x for x in old.get("skipped", []) + new.get("skipped", []) if x not in done]
    out["sizes"] = sorted(set(old.get("sizes", [])) | {int(n) for k in ("cara", "raw", "swarm") for n in out[k]})
    out.setdefault("supplements", []).append({"command": command, "date": time.strftime("%Y-%m-%d %H:%M"),
                                              "load_start": new.get("load_start"), "load_end": new.get("load_end")})
    out["command"] = old.get("command", "bench/run")
    return out


def swarm_bulk(args, ctx, swarm, budget, res, n, r):
    names = [name("bksw", n, r, i) for i in range(n)]
    sent = {}
    t0 = time.time()

    def create(nm):
        sent[nm] = time.time()
        bl.run(swarm.service_args(nm), timeout=120)
    bl.parallel(create, names, 8)
    t_created = time.time()
    swarm.events.wait_all("service", names, "start", timeout=budget.timeout(120 + n * 2))
    started = {nm: swarm.events.when("service", nm, "start") for nm in names}
    total = max(started.values()) - t0
    lat = sorted(started[nm] - t0 for nm in names)
    t1 = time.time()
    swarm.teardown((names, None), timeout=budget.timeout(120 + n))
    tdown = time.time() - t1
    res["swarm"].setdefault(str(n), []).append({"total": total, "post": t_created - t0, "lat": lat,
                                                "teardown": tdown, "load": bl.loadavg()})
    log("bulk %d run %d: swarm all running after %.1f s (service creates took %.1f s), teardown %.1f s"
        % (n, r + 1, total, t_created - t0, tdown))


# ---------------------------------------------------------------------------------------------
# 3. Control plane (+ the server's footprint)

WRK_REPORT = r"""
done = function(summary, latency, requests)
  local function pc(p) return latency:percentile(p) / 1000.0 end
  io.write(string.format('CB_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ', summary.requests,
    summary.duration, summary.bytes))
  io.write(string.format('"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ',
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
  io.write(string.format('"mean_ms": %f, "max_ms": %f, "p50_ms": %f, "p90_ms": %f, "p99_ms": %f, "p999_ms": %f, "dist": [',
    latency.mean / 1000.0, latency.max / 1000.0, pc(50), pc(90), pc(99), pc(99.9)))
  local ps = {1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 98, 99, 99.5, 99.9, 100}
  for i, p in ipairs(ps) do
    io.write(string.format('%s[%g, %f]', i > 1 and ', ' or '', p, pc(p)))
  end
  io.write(']}\n')
end
"""

WRK_GET = r"""
local n = %(n)d
math.randomseed(os.time())
request = function()
  return wrk.format("GET", string.format("/api/v1/projects/%(prefix)s-%%05d", math.random(0, n - 1)))
end
"""

WRK_HEARTBEAT = r"""
local nodes = {
%(nodes)s
}
local body = '%(body)s'
local i = 0
setup = function(thread) end
init = function(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)); i = math.random(1, #nodes) end
request = function()
  i = i %% #nodes + 1
  local n = nodes[i]
  return wrk.format("POST", "/api/v1/nodes/" .. n[1] .. "/heartbeat",
                    {["Authorization"] = "Bearer " .. n[2], ["Content-Type"] = "application/json"}, body)
end
"""


# Project creates (SPEC §16: >= 3,000/s with 16 clients): every request a new name, made of the run's
# prefix, the wrk thread and a counter; one service, as the populated projects.
WRK_CREATE = r"""
local token = '%(token)s'
local head = '{"apiVersion":"caravanserai/v1","kind":"Project","metadata":{"name":"%(prefix)s-'
local tail = '"},"spec":{"services":[{"name":"s1","image":"%(image)s","command":["sleep","86400"]}]}}'
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
init = function(args) i = 0 end
request = function()
  i = i + 1
  return wrk.format("POST", "/api/v1/projects", {["Authorization"] = "Bearer " .. token,
                    ["Content-Type"] = "application/json"}, head .. tid .. "-" .. i .. tail)
end
"""
CREATE_CLIENTS = 16
CREATE_TARGET = 3000


def wrk_creates(cara, prefix, duration):
    """POST /api/v1/projects by 16 connections over 4 wrk threads; every answer must be a 201."""
    out = wrk(cara.url, WRK_CREATE % {"token": ADMIN_TOKEN, "prefix": prefix, "image": bl.IMAGE}, duration,
              CREATE_CLIENTS, threads=4)
    out["status_errors"] = out["errors"]["status"]
    return out


def wrk(url, script, duration, conns, threads=2, header=None, timeout=None):
    path = os.path.join(fx.log_dir(), "wrk-%s.lua" % secrets.token_hex(3))
    with open(path, "w") as f:
        f.write(script + WRK_REPORT)
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration, "-T30s", "-s", path]
    if header:
        cmd += ["-H", header]
    r = bl.run(cmd + [url], timeout=timeout or duration + 60)
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("CB_JSON ")]
    if not line:
        raise RuntimeError("wrk printed no report:\n" + r.stdout + r.stderr)
    out = json.loads(line[-1][len("CB_JSON "):])
    out["rps"] = out["requests"] / (out["duration_us"] / 1e6)
    return out


HEARTBEAT_BODY = {"state": "Ready", "capacity": {"cpu": "64", "memory": "256Gi"},
                  "allocatable": {"cpu": "64", "memory": "256Gi"},
                  "info": {"kernelVersion": "6.1.0", "osImage": "Debian GNU/Linux 12", "agentVersion": "bench"}}


def populate(args, cara, budget, res):
    """args.sim_nodes simulated nodes (each its own node token) and args.projects projects."""
    node_names = ["%s-sim-%04d" % (name(), i) for i in range(args.sim_nodes)]
    tokens = {n: secrets.token_hex(32) for n in node_names}
    join = bl.Client("127.0.0.1", cara.port, headers={"Authorization": "Bearer " + JOIN_TOKEN})
    t0 = time.time()

    def register(n):
        st, r = join.call("POST", "/api/v1/nodes", {"apiVersion": "caravanserai/v1", "kind": "Node",
                                                    "metadata": {"name": n}, "spec": {"hostname": n}},
                          headers={"Cara-Node-Token": tokens[n]})
        if st not in (200, 201):
            raise RuntimeError("register %s: %s %s" % (n, st, r))
    bl.parallel(register, node_names, 8)
    res["register_s"] = time.time() - t0
    # Node token for heartbeats (issue 11); a server from before it only knows the join token.
    st, _ = bl.Client("127.0.0.1", cara.port, headers={"Authorization": "Bearer " + tokens[node_names[0]]}).call(
        "POST", "/api/v1/nodes/%s/heartbeat" % node_names[0], HEARTBEAT_BODY)
    if st in (200, 204):
        res["heartbeat_auth"] = "node token (Cara-Node-Token at registration)"
    elif st == 401:
        res["heartbeat_auth"] = "join token (this server does not know node tokens)"
        tokens = {n: JOIN_TOKEN for n in node_names}
    else:
        raise RuntimeError("heartbeat: HTTP %d" % st)
    log("control: %d nodes registered in %.1f s; heartbeats authenticate with the %s"
        % (len(node_names), res["register_s"], res["heartbeat_auth"]))
    hbc = bl.Client("127.0.0.1", cara.port)

    def beat(n):
        st, r = hbc.call("POST", "/api/v1/nodes/%s/heartbeat" % n, HEARTBEAT_BODY,
                         headers={"Authorization": "Bearer " + tokens[n]})
        if st not in (200, 204):
            raise RuntimeError("heartbeat %s: %s %s" % (n, st, r))
    bl.parallel(beat, node_names, 8)
    cara.nodes.wait_all(node_names, "Ready", timeout=budget.timeout(120))
    # Projects, 8 clients.
    pnames = ["%s-%05d" % (name("cp"), i) for i in range(args.projects)]
    t0 = time.time()
    bl.parallel(lambda p: cara.post_project(p, 1), pnames, 8)
    res["create_s"] = time.time() - t0
    res["created_per_s"] = args.projects / res["create_s"]
    log("control: %d projects created in %.1f s (%.0f/s)" % (args.projects, res["create_s"], res["created_per_s"]))
    cara.projects.wait_all(pnames, "Scheduled", timeout=budget.timeout(300))
    res["all_scheduled_s"] = time.time() - t0
    return node_names, tokens


def section_control(args, ctx, budget, footprint):
    res = {"load_start": bl.loadavg(), "projects": args.projects, "sim_nodes": args.sim_nodes}
    # Nodes never go NotReady here (no agents keep them alive during wrk): a long heartbeat timeout.
    cara = Cara(args, "cp", {"NODE_HEARTBEAT_TIMEOUT": "1h", "RESCHEDULE_GRACE_PERIOD": "1h"})
    try:
        time.sleep(2)
        footprint["server_idle"] = bl.rss_mib(cara.server.pid)
        node_names, tokens = populate(args, cara, budget, res)
        time.sleep(2)
        footprint["server_10k"] = bl.rss_mib(cara.server.pid)
        footprint["server_10k_projects"] = args.projects
        footprint["server_10k_nodes"] = args.sim_nodes
        footprint["postgres_pss_10k"] = round(sum(bl.pss_mib(p) for p in [cara.pg.daemon.pid] + bl.children(cara.pg.daemon.pid)), 1)
        if args.no_wrk:
            return res
        hdr = "Authorization: Bearer " + ADMIN_TOKEN
        res["get"], res["list"], res["heartbeat"] = [], [], []
        nodes_lua = ",\n".join('{"%s", "%s"}' % (n, tokens[n]) for n in node_names)
        for r in range(args.wrk_runs):
            res["get"].append(wrk(cara.url, WRK_GET % {"n": args.projects, "prefix": name("cp")}, args.wrk_duration, 8,
                                  header=hdr))
            res["list"].append(wrk(cara.url + "/api/v1/projects", "", args.wrk_duration, 2, header=hdr,
                                   timeout=args.wrk_duration + 120, threads=1))
            res["heartbeat"].append(wrk(cara.url, WRK_HEARTBEAT % {"nodes": nodes_lua, "body": json.dumps(HEARTBEAT_BODY)},
                                        args.wrk_duration, 8))
            log("control: wrk run %d/%d: GET one %.0f req/s p50 %.1f ms p99 %.1f ms; list %.1f req/s p50 %.0f ms; "
                "heartbeat %.0f req/s p50 %.1f ms"
                % (r + 1, args.wrk_runs, res["get"][-1]["rps"], res["get"][-1]["p50_ms"], res["get"][-1]["p99_ms"],
                   res["list"][-1]["rps"], res["list"][-1]["p50_ms"], res["heartbeat"][-1]["rps"],
                   res["heartbeat"][-1]["p50_ms"]))
        res["list_bytes"] = res["list"][-1]["bytes"] / max(1, res["list"][-1]["requests"])
        # Creates last: they add projects to the lists measured above.  With --baseline-server, the same
        # measurement on that binary, populated the same way, run for run in turn (the load of a shared
        # machine moves between runs; the ratio of one run's pair means more than either figure).
        base = None
        if args.baseline_server:
            base = Cara(args, "cpbase", {"NODE_HEARTBEAT_TIMEOUT": "1h", "RESCHEDULE_GRACE_PERIOD": "1h"},
                        server_bin=args.baseline_server)
        try:
            if base:
                populate(args, base, budget, {})
            res["create"], res["create_baseline"] = [], []
            res["create_clients"], res["create_target"] = CREATE_CLIENTS, CREATE_TARGET
            for r in range(args.wrk_runs):
                res["create"].append(wrk_creates(cara, name("cw%d" % r), args.wrk_duration))
                line = "control: creates run %d/%d, %d clients: %.0f/s (target >= %d/s) p50 %.1f ms p99 %.1f ms, %d not 201" % (
                    r + 1, args.wrk_runs, CREATE_CLIENTS, res["create"][-1]["rps"], CREATE_TARGET,
                    res["create"][-1]["p50_ms"], res["create"][-1]["p99_ms"], res["create"][-1]["status_errors"])
                if base:
                    res["create_baseline"].append(wrk_creates(base, name("cb%d" % r), args.wrk_duration))
                    line += "; baseline %s: %.0f/s (%.2fx)" % (args.baseline_server, res["create_baseline"][-1]["rps"],
                                                             res["create"][-1]["rps"] / max(1, res["create_baseline"][-1]["rps"]))
                log(line)
        finally:
            if base:
                base.close()
        if base:
            res["create_baseline_server"] = args.baseline_server
        footprint["server_10k_after_wrk"] = bl.rss_mib(cara.server.pid)
        footprint["server_peak"] = round(bl.proc_status(cara.server.pid).get("VmHWM", 0) / 1024.0, 1)
    finally:
        res["load_end"] = bl.loadavg()
        cara.close()
    return res


def section_scheduling(args, budget):
    """bench/controllers/bench_controllers.py (issue 5), run as it is: its own server, auth off."""
    cmd = [sys.executable, os.path.join(bl.HERE, "controllers", "bench_controllers.py"), "--server", args.server_bin,
           "--nodes", str(args.sched_nodes), "--projects", str(args.sched_projects), "--burst",
           "--time-limit", str(int(budget.timeout(args.sched_time_limit)))]
    log("scheduling: " + " ".join(cmd[1:]))
    load0 = bl.loadavg()
    t0 = time.time()
    r = bl.run(cmd, timeout=budget.timeout(args.sched_time_limit + 120), check=False)
    out = r.stdout
    i = out.find("\n{")
    if i < 0:
        raise RuntimeError("bench_controllers printed no result (exit %d):\n%s%s" % (r.returncode, out[-3000:],
                                                                                     r.stderr[-3000:]))
    res = json.loads(out[i + 1:out.rfind("}") + 1])
    res["exit"] = r.returncode
    res["wall_s"] = time.time() - t0
    res["load_start"] = load0
    res["load_end"] = bl.loadavg()
    res["bench_command"] = "bench/controllers/bench_controllers.py --nodes %d --projects %d --burst" % (
        args.sched_nodes, args.sched_projects)
    log("scheduling: %s scheduled/s, %s created/s" % (res.get("scheduled_per_s"), res.get("created_per_s")))
    return res


def section_move(args, budget, quick):
    """bench/move/bench_move.py (issue 24), run as it is: its own server (auth off), two agents on this
    dockerd, one Persistent volume moved between them and back."""
    mb, runs = (256, 2) if quick else (1024, 3)
    cmd = [sys.executable, os.path.join(bl.HERE, "move", "bench_move.py"), "--server", args.server_bin, "--agent",
           args.agent_bin, "--ctl", args.ctl_bin, "--mb", str(mb), "--runs", str(runs)]
    log("move: " + " ".join(cmd[1:]))
    t0 = time.time()
    r = bl.run(cmd, timeout=budget.timeout(900), check=False)
    out = r.stdout
    i = out.find("\n{")
    if i < 0:
        raise RuntimeError("bench_move printed no result (exit %d):\n%s%s" % (r.returncode, out[-3000:], r.stderr[-3000:]))
    res = json.loads(out[i + 1:out.rfind("}") + 1])
    res["exit"] = r.returncode
    res["wall_s"] = time.time() - t0
    res["bench_command"] = "bench/move/bench_move.py --mb %d --runs %d" % (mb, runs)
    log("move: %s MB/s (floor %.0f MB/s)" % (", ".join("%.0f" % x["copy_mb_s"] for x in res["runs"]), res["floor_mb_s"]))
    return res


# ---------------------------------------------------------------------------------------------
# 4. Footprint (the agent and Docker; the server's is measured in section_control)


def idle_cpu(cara, agent, seconds):
    """CPU and wakeups of the idle daemons (a second agent on a private D-Bus system bus, as on any
    systemd machine) against dockerd and containerd idle in the same window."""
    with fx.DBusDaemon() as bus:
        bus_agent = cara.agent("fp-bus", env=bus.env)
        try:
            time.sleep(2)  # past registration and the first reports
            usage = fx.idle_usage({"cara-server": cara.server.pid, "cara-agent": agent.pid,
                                   "cara-agent (D-Bus)": bus_agent.pid,
                                   "dockerd": bl.pids_by_comm("dockerd"),
                                   "containerd": bl.pids_by_comm("containerd")}, seconds)
        finally:
            bus_agent.stop(timeout=10)
            del cara.agents[bus_agent.node]
    out = {k: {"cpu_pct": round(c * 100, 2), "wakeups_per_s": round(w, 1)} for k, (c, w) in usage.items()}
    out["seconds"] = seconds
    log("idle %d s: %s" % (seconds, ", ".join("%s %.2f%% of a core, %.0f wakeups/s" % (k, v["cpu_pct"], v["wakeups_per_s"])
                                             for k, v in out.items() if k != "seconds")))
    return out


def section_footprint(args, ctx, budget, footprint):
    cara, agent = ctx["cara"], ctx["agent"]
    footprint["load_start"] = bl.loadavg()
    footprint["agent_idle"] = bl.rss_mib(agent.pid)
    footprint["agent_idle_anon"] = bl.anon_mib(agent.pid)
    footprint["main_server_idle"] = ctx["server_idle"]
    footprint["docker_before"] = ctx["docker_before"]
    footprint["idle_cpu"] = idle_cpu(cara, agent, args.idle_seconds)
    names = [name("fp", i) for i in range(args.footprint_projects)]
    bl.parallel(lambda n: cara.post_project(n, 1), names, 8)
    cara.projects.wait_all(names, "Running", timeout=budget.timeout(180))
    time.sleep(3)
    footprint["agent_projects"] = args.footprint_projects
    footprint["agent_loaded"] = bl.rss_mib(agent.pid)
    footprint["agent_loaded_anon"] = bl.anon_mib(agent.pid)
    footprint["docker_loaded"] = bl.docker_footprint()
    footprint["server_loaded"] = bl.rss_mib(cara.server.pid)
    cara.delete_projects(names, timeout=budget.timeout(180))
    time.sleep(1)
    footprint["agent_after"] = bl.rss_mib(agent.pid)
    footprint["load_end"] = bl.loadavg()
    log("footprint: agent %.1f MiB idle, %.1f MiB with %d projects; dockerd %s MiB, containerd %s MiB, %d shims %.0f MiB"
        % (footprint["agent_idle"], footprint["agent_loaded"], args.footprint_projects,
           footprint["docker_loaded"]["dockerd"], footprint["docker_loaded"]["containerd"],
           footprint["docker_loaded"]["shims"], footprint["docker_loaded"]["shims_rss"]))


# ---------------------------------------------------------------------------------------------
# 5. Failure detection


# RESCHEDULE_GRACE_PERIOD=0s would be the fastest, but then the rescheduler marks the project and
# requeues nothing (a recheck delay of 0 means "none"), so it moves only on the next resync (30 s).
FAILURE_SERVER_ENV = {"NODE_HEARTBEAT_TIMEOUT": "5s", "RESCHEDULE_GRACE_PERIOD": "1s", "RESYNC_INTERVAL": "30s"}
FAILURE_AGENT_ENV = {"HEARTBEAT_INTERVAL": "1s"}


def section_failure(args, ctx, budget):
    res = {"load_start": bl.loadavg(), "server_env": FAILURE_SERVER_ENV, "agent_env": FAILURE_AGENT_ENV,
           "container_kill": [], "agent_kill_notready": [], "notready_to_running": [], "agent_kill_to_running": []}
    d = ctx["docker"]
    cara = Cara(args, "fd", FAILURE_SERVER_ENV)
    try:
        b = cara.agent("fd-b", FAILURE_AGENT_ENV)
        for r in range(args.failure_runs):
            # (a) docker kill of a project container -> the server shows the service not running.
            a = cara.agent("fd-a%d" % r, FAILURE_AGENT_ENV)
            cara.api.call("POST", "/api/v1/nodes/%s/drain" % b.node, ok=(200,))
            pname = name("fd", r)
            cara.post_project(pname, 1, extra={})
            cara.projects.wait_phase(pname, "Running", timeout=budget.timeout(60), node=a.node)
            cara.api.call("POST", "/api/v1/nodes/%s/uncordon" % b.node, ok=(200,))
            cara.nodes.wait_phase(b.node, "Ready", timeout=30)
            time.sleep(0.5)
            _, c = d.call("GET", "/containers/json?filters=" + bl.qs_filters(label=["cara.project=" + pname,
                                                                                     "cara.node=" + a.node]))
            cid = c[0]["Id"]
            n_hist = len(cara.projects.history.get(pname, []))
            t0 = time.time()
            d.call("POST", "/containers/%s/kill" % cid, ok=(204,))

            def shown():
                for t, _, st in cara.projects.history.get(pname, [])[n_hist:]:
                    for s in st.get("services") or []:
                        if s.get("containerId", "").startswith(cid[:12]) and s.get("state") not in ("running", "Running"):
                            return t
                        if s.get("restartCount", 0) > 0 or not s.get("containerId", "").startswith(cid[:12]):
                            return t
                return None
            t1 = cara.projects.wait_for(shown, budget.timeout(60), "server to show the killed container")
            res["container_kill"].append(t1 - t0)
            # Wait until it runs again (restart policy Always) before the next failure.
            time.sleep(1.5)
            # (b) kill -9 of the agent -> node NotReady; (c) NotReady -> Running on the other node.
            t0 = time.time()
            a.kill()
            t_nr = cara.nodes.wait_for(lambda: next((t for t, _, st in cara.nodes.history.get(a.node, [])
                                                     if t >= t0 and st.get("state") == "NotReady"), None),
                                       budget.timeout(60), "node NotReady")
            t_run = cara.projects.wait_for(lambda: next((t for t, _, st in cara.projects.history.get(pname, [])
                                                         if t >= t_nr and st.get("phase") == "Running"
                                                         and st.get("nodeRef") == b.node), None),
                                           budget.timeout(120), "project Running on the other node")
            res["agent_kill_notready"].append(t_nr - t0)
            res["notready_to_running"].append(t_run - t_nr)
            res["agent_kill_to_running"].append(t_run - t0)
            log("failure run %d/%d: container kill shown after %.0f ms; agent kill -> NotReady %.2f s -> Running on %s %.2f s"
                % (r + 1, args.failure_runs, 1000 * res["container_kill"][-1], t_nr - t0, b.node, t_run - t_nr))
            cara.delete_projects([pname], timeout=budget.timeout(60))
            cara.api.call("DELETE", "/api/v1/nodes/" + a.node, ok=(200, 204, 404))
            cara.agents.pop(a.node, None)
            fx.docker_cleanup("cara.node=" + a.node)
    finally:
        res["load_end"] = bl.loadavg()
        cara.close()
    return res


# ---------------------------------------------------------------------------------------------


def machine_info(d):
    info = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "kernel": platform.release(), "cores": os.cpu_count()}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                info["ram_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    try:
        with open("/etc/os-release") as f:
            info["os"] = dict(ln.strip().split("=", 1) for ln in f if "=" in ln).get("PRETTY_NAME", "").strip('"')
    except OSError:
        pass
    info["docker"] = d.version.get("Version")
    info["docker_api"] = d.version.get("ApiVersion")
    for comp in d.version.get("Components") or []:
        if comp.get("Name") == "containerd":
            info["containerd"] = comp.get("Version")
    info["compose"] = bl.run(["docker-compose", "version", "--short"], check=False).stdout.strip()
    info["wrk"] = (bl.run(["wrk", "-v"], check=False).stdout.splitlines() or [""])[0].split(" [")[0]
    info["postgresql"] = fx._pg_version()
    info["commit"] = bl.run(["git", "-C", bl.ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    dirty = bl.run(["git", "-C", bl.ROOT, "status", "--porcelain", "--untracked-files=no", "src"], check=False).stdout
    info["tree"] = "with uncommitted changes under src/" if dirty.strip() else "clean"
    info["python"] = platform.python_version()
    return info


def main():
    global STATE_FILE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="build directory with the three programs")
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections (%s)" % ",".join(SECTIONS))
    ap.add_argument("--quick", action="store_true", help="scaled down: a smoke run of a few minutes")
    ap.add_argument("--no-swarm", action="store_true")
    ap.add_argument("--no-scheduling", action="store_true", help="skip bench_controllers.py")
    ap.add_argument("--results", required=True, help="JSON file the results are merged into")
    ap.add_argument("--time-limit", type=float, default=1150, help="seconds for the whole run")
    ap.add_argument("--bulk-plan", help="bulk runs to do instead of the default, merged into the last bulk "
                    "results: SIZE:RUN:SYSTEM[+SYSTEM...],... (e.g. 500:0:swarm)")
    ap.add_argument("--cleanup", action="store_true", help="only remove what a previous run left behind")
    ap.add_argument("--baseline-server", help="control: also measure creates on this cara-server binary (e.g. one "
                    "built from main), run for run in turn with the one under test")
    args = ap.parse_args()
    raw_plan = args.bulk_plan
    STATE_FILE = os.path.join(bl.HERE, "out", ".bench-state")
    os.makedirs(os.path.dirname(STATE_FILE), exist_ok=True)
    if args.cleanup:
        if os.path.exists(STATE_FILE) and "swarm" in open(STATE_FILE).read():
            leave_swarm()
        cleanup_docker(None)
        return 0

    args.server_bin = os.path.join(args.build, "src", "server", "cara-server")
    args.agent_bin = os.path.join(args.build, "src", "agent", "cara-agent")
    args.ctl_bin = os.path.join(args.build, "src", "ctl", "caractrl")
    os.environ["CARA_AGENT_BIN"] = args.agent_bin
    os.environ["CARA_SERVER_BIN"] = args.server_bin
    os.environ.setdefault("CARA_TEST_CACHE", os.path.join(args.build, "test-cache"))
    args.agent_has_data_dir = "--data-dir" in bl.run([args.agent_bin, "--help"]).stdout
    q = args.quick
    args.runs = 2 if q else 4
    args.settle = 0.5
    args.bulk_sizes = [20, 50] if q else [100, 500]
    # (size, run, systems) in order of importance: what the time limit cuts is an extra run.
    args.bulk_plan_given = bool(args.bulk_plan)
    args.bulk_plan = args.bulk_plan or ([(20, 0, ["cara", "raw", "swarm"]), (50, 0, ["cara", "raw", "swarm"])] if q else
                      [(100, 0, ["cara", "raw", "swarm"]), (500, 0, ["cara", "raw", "swarm"]), (100, 1, ["cara", "raw"]),
                       (100, 2, ["cara", "raw"]), (100, 1, ["swarm"]), (100, 2, ["swarm"])])
    if args.bulk_plan_given:
        args.bulk_plan = [(int(a), int(b), c.split("+")) for a, b, c in (e.split(":") for e in args.bulk_plan.split(","))]
    args.projects = 1000 if q else 10000
    args.sim_nodes = 100 if q else 1000
    args.wrk_runs = 1 if q else 3
    args.wrk_duration = 2 if q else 5
    args.no_wrk = False
    args.sched_nodes = 100 if q else 1000
    args.sched_projects = 1000 if q else 10000
    args.sched_time_limit = 120 if q else 300
    args.footprint_projects = 10 if q else 50
    args.idle_seconds = 5 if q else 20
    args.failure_runs = 1 if q else 3
    args.secrets_projects = 20 if q else 100
    args.secrets_runs = 1 if q else 2
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    for s in only:
        if s not in SECTIONS + ["scheduling"]:
            ap.error("unknown section " + s)
    budget = Budget(args.time_limit)

    try:
        with open(args.results) as f:
            results = json.load(f)
    except (OSError, ValueError):
        results = {}
    d = bl.docker_api()
    fx.ensure_busybox_image()
    results["machine"] = machine_info(d)
    results["quick"] = q
    results["run_id"] = RID
    results["agent_data_dir"] = args.agent_has_data_dir
    started = time.time()
    results.setdefault("sections", {})

    def save():
        results["wall_s"] = round(time.time() - started, 1)
        if set(only) >= set(SECTIONS):
            results["full_run_s"] = results["wall_s"]
        tmp = args.results + ".tmp"
        with open(tmp, "w") as f:
            json.dump(results, f, indent=1)
        os.replace(tmp, args.results)

    # Keep the daemons' logs (cara_fixtures removes its log directory at exit).
    logs = os.path.join(bl.HERE, "out", "logs", RID)

    def keep_logs():
        shutil.copytree(fx.log_dir(), logs, dirs_exist_ok=True,
                        ignore=lambda d, names: [n for n in names if n.endswith(".lua")])
    fx.on_exit(keep_logs)
    # Clean up whatever happens (SIGTERM becomes sys.exit in cara_fixtures; SIGINT a KeyboardInterrupt).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    fx.on_exit(lambda: cleanup_docker(RID))
    tmp = tempfile.mkdtemp(prefix="cara-bench-")
    fx.on_exit(lambda: shutil.rmtree(tmp, ignore_errors=True))
    log("run %s: sections %s%s; %s" % (RID, ",".join(only), " (quick)" if q else "",
                                       "agents get --data-dir" if args.agent_has_data_dir else "agents have no --data-dir"))

    ctx = {"docker": d, "tmp": tmp, "pool": bl.SubnetPool(FLOOR_POOL)}
    ev = bl.DockerEvents(bl.fx.docker_socket(), d.prefix)
    ev.start()
    ev.connected.wait(10)
    ctx["events"] = ev
    ctx["docker_before"] = bl.docker_footprint()
    sec = results["sections"]
    failed = []

    def record(key, fn):
        t0 = time.time()
        try:
            out = fn()
            if out is not None:
                out.setdefault("date", time.strftime("%Y-%m-%d %H:%M"))  # (a merged bulk keeps its own)
                out.setdefault("wall_s", round(time.time() - t0, 1))
                out["quick"] = q
                out.setdefault("command", command)
                out.setdefault("build", "%s (%s)" % (results["machine"]["commit"], results["machine"]["tree"]))
                sec[key] = out
        except (Exception, KeyboardInterrupt) as e:  # noqa: BLE001 - report, go on with the next section
            if isinstance(e, KeyboardInterrupt):
                raise
            import traceback
            traceback.print_exc()
            failed.append(key)
            log("section %s FAILED: %s" % (key, e))
        save()

    command = "bench/run" + (" --quick" if q else "") + (" --bulk-plan " + raw_plan if raw_plan else "") + (" --only " + ",".join(only) if set(only) != set(SECTIONS) else "") \
        + (" --time-limit %d" % args.time_limit if args.time_limit != 1150 else "") + (" --no-swarm" if args.no_swarm else "")
    needs_main = any(s in only for s in ("deploy", "bulk", "footprint", "secrets"))
    if needs_main:
        cara = Cara(args, "main")
        time.sleep(1)
        ctx["server_idle"] = bl.rss_mib(cara.server.pid)
        ctx["cara"] = cara
        ctx["agent"] = cara.agent("a")
        time.sleep(2)
    footprint = dict(sec.get("footprint") or {})
    if "footprint" in only:
        record("footprint_tmp", lambda: section_footprint(args, ctx, budget, footprint) or None)
    if "deploy" in only:
        log("== 1. deploy latency")
        record("deploy", lambda: section_deploy(args, ctx, budget))
    if "failure" in only:
        log("== 5. failure detection")
        record("failure", lambda: section_failure(args, ctx, budget))
    if "control" in only:
        log("== 3. control plane (and the server's footprint)")
        record("control", lambda: section_control(args, ctx, budget, footprint))
    elif "footprint" in only and "server_10k" not in footprint:
        args.no_wrk = True
        record("control_tmp", lambda: section_control(args, ctx, budget, footprint) and None)
    if ("control" in only or "scheduling" in only) and not args.no_scheduling:
        log("== 3b. scheduling throughput (bench/controllers)")
        record("scheduling", lambda: section_scheduling(args, budget))
    if "secrets" in only:
        log("== 6. projects using Secrets against plain env")
        record("secrets", lambda: section_secrets(args, ctx, budget))
    if "bulk" in only:
        log("== 2. bulk deploy")
        if args.bulk_plan_given and "bulk" in sec:
            record("bulk", lambda: merge_bulk(sec["bulk"], section_bulk(args, ctx, budget), command))
        else:
            record("bulk", lambda: section_bulk(args, ctx, budget))
    if "move" in only:
        log("== 6. moves with data (bench/move)")
        record("move", lambda: section_move(args, budget, q))
    if needs_main:
        ctx["cara"].close()
    if "footprint" in only or "control" in only:
        footprint["date"] = time.strftime("%Y-%m-%d %H:%M")
        footprint["quick"] = q
        footprint["command"] = command
        footprint["build"] = "%s (%s)" % (results["machine"]["commit"], results["machine"]["tree"])
        sec["footprint"] = footprint
    ev.stop()
    save()
    log("done in %.0f s%s" % (time.time() - started, "; FAILED sections: " + ",".join(failed) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
