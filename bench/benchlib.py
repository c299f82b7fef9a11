# SPDX-License-Identifier: Apache-2.0
"""Building blocks of the benchmark suite (bench/run): clients for the Docker Engine API and the
Caravanserai API, watch-stream and Docker-event recorders, process memory, statistics.

Python 3 standard library only; the test fixtures of tests/lib are reused for PostgreSQL, daemons,
agents and the busybox image."""

import http.client
import ipaddress
import json
import os
import socket
import statistics
import subprocess
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

import sys  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import cara_fixtures as fx  # noqa: E402

LABEL = "cara-bench"          # every Docker object the benchmark makes carries this label (value: run id)
PREFIX = "cara-bench"         # ... and its name starts with this
IMAGE = fx.BUSYBOX_IMAGE
# A container that idles without a process per second and stops at once on SIGTERM (busybox sh as
# PID 1 would ignore it): the same command for every system measured.
IDLE_CMD = ["sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"]
SERVICE_NAMES = ["web", "db"]


# ---------------------------------------------------------------------------------------------
# Statistics


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def pct(values, p):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def loadavg():
    return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------------------------------------
# Memory


def proc_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:")):
                    k, v = line.split(":")
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def rss_mib(pid):
    return round(proc_status(pid).get("VmRSS", 0) / 1024.0, 1)


def anon_mib(pid):
    """RssAnon: the private memory of the process (VmRSS also counts the shared libraries' pages)."""
    return round(proc_status(pid).get("RssAnon", 0) / 1024.0, 1)


def pss_mib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def pids_by_comm(comm):
    found = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/comm" % p) as f:
                if f.read().strip() == comm:
                    found.append(int(p))
        except OSError:
            pass
    return found


def children(pid):
    return fx._children(pid)


def docker_footprint():
    """RSS (MiB) of dockerd, containerd and the containerd shims on this machine."""
    out = {}
    for comm, key in (("dockerd", "dockerd"), ("containerd", "containerd")):
        pids = pids_by_comm(comm)
        out[key] = round(sum(rss_mib(p) for p in pids), 1) if pids else None
    shims = pids_by_comm("containerd-shim")  # comm is cut to 15 characters
    out["shims"] = len(shims)
    out["shims_rss"] = round(sum(rss_mib(p) for p in shims), 1)
    return out


# ---------------------------------------------------------------------------------------------
# HTTP clients (keep-alive, one connection per thread)


class _Conn(threading.local):
    conn = None


class Client:
    """Small JSON client over TCP or a unix socket, one keep-alive connection per thread."""

    def __init__(self, host=None, port=None, unix=None, headers=None, prefix="", timeout=120):
        self.host, self.port, self.unix = host, port, unix
        self.headers = dict(headers or {})
        self.prefix = prefix
        self.timeout = timeout
        self._local = _Conn()

    def _connect(self):
        if self.unix:
            return fx.UnixHTTPConnection(self.unix, timeout=self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def raw(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        hdrs = dict(self.headers)
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        last = None
        for attempt in range(3):
            c = self._local.conn
            if c is None:
                c = self._local.conn = self._connect()
            try:
                c.request(method, self.prefix + path, body=data, headers=hdrs)
                r = c.getresponse()
                payload = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    c.close()
                    self._local.conn = None
                return r.status, payload
            except (http.client.HTTPException, OSError) as e:
                last = e
                c.close()
                self._local.conn = None
                # Only a connection that broke before the request was sent is retried.
                if not isinstance(e, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                                      ConnectionRefusedError)):
                    break
                time.sleep(0.05 * (attempt + 1))
        raise RuntimeError("%s %s failed: %r" % (method, path, last))

    def call(self, method, path, body=None, headers=None, ok=None):
        status, payload = self.raw(method, path, body, headers)
        parsed = None
        if payload.strip():
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = payload.decode(errors="replace")
        if ok is not None and status not in ok:
            raise RuntimeError("%s %s: HTTP %d %s" % (method, path, status, str(parsed)[:300]))
        return status, parsed


def docker_api():
    sock = fx.ensure_dockerd()
    c = Client(unix=sock)
    _, v = c.call("GET", "/version", ok=(200,))
    c.prefix = "/v" + v["ApiVersion"]
    c.version = v
    return c


def qs_filters(**filters):
    return urllib.parse.quote(json.dumps(filters))


# ---------------------------------------------------------------------------------------------
# Stream recorders


class _Stream(threading.Thread):
    """Reads a newline-delimited JSON stream in a thread and hands (time.time(), object) to handle();
    reconnects when the stream ends until stopped."""

    def __init__(self, connect, path, headers=None, name="stream"):
        super().__init__(daemon=True, name=name)
        self.connect_fn = connect
        self.path = path
        self.headers = headers or {}
        self.cond = threading.Condition()
        self.stopped = False
        self.connected = threading.Event()
        self.conn = None

    def run(self):
        while not self.stopped:
            try:
                self.conn = self.connect_fn()
                self.conn.request("GET", self.path, headers=self.headers)
                resp = self.conn.getresponse()
                if resp.status != 200:
                    raise RuntimeError("stream %s: HTTP %d" % (self.path, resp.status))
                self.connected.set()
                while not self.stopped:
                    line = resp.readline()
                    if not line:
                        break
                    t = time.time()
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        continue
                    with self.cond:
                        self.handle(t, obj)
                        self.cond.notify_all()
            except Exception:  # noqa: BLE001 - reconnect
                if self.stopped:
                    return
                time.sleep(0.2)
            finally:
                try:
                    self.conn.close()
                except Exception:  # noqa: BLE001
                    pass

    def handle(self, t, obj):
        raise NotImplementedError

    def wait_for(self, predicate, timeout, what="condition"):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                v = predicate()
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out after %.0f s waiting for %s" % (timeout, what))
                self.cond.wait(min(left, 0.5))

    def stop(self):
        self.stopped = True
        try:
            if self.conn is not None and self.conn.sock is not None:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def wait_set(names, reached, timeout, what):
    """Until reached(n) for every name (polled every 20 ms; cheap for 10,000 names)."""
    remaining = set(names)
    deadline = time.monotonic() + timeout
    while True:
        remaining = {n for n in remaining if not reached(n)}
        if not remaining:
            return True
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.0f s waiting for %s (%d left, e.g. %s)"
                               % (timeout, what, len(remaining), sorted(remaining)[:3]))
        time.sleep(0.02)


class CaraWatch(_Stream):
    """GET /api/v1/{projects|nodes}?watch=true: records, per object name, when it was first seen in
    each phase/state (and on which node), plus every status it went through."""

    def __init__(self, host, port, token, kind="projects"):
        self.kind = kind
        self.first = {}      # (name, phase-or-state, nodeRef) -> time; also (name, phase, None)
        self.history = {}    # name -> [(t, type, status)]
        self.deleted = {}
        super().__init__(lambda: http.client.HTTPConnection(host, port, timeout=3600),
                         "/api/v1/%s?watch=true" % kind, {"Authorization": "Bearer " + token},
                         name="watch-" + kind)

    def handle(self, t, e):
        obj = e.get("object") or {}
        name = (obj.get("metadata") or {}).get("name")
        if not name:
            return
        st = obj.get("status") or {}
        if e.get("type") == "DELETED":
            self.deleted.setdefault(name, t)
            return
        self.deleted.pop(name, None)
        key = st.get("phase") if self.kind == "projects" else st.get("state")
        node = st.get("nodeRef")
        self.first.setdefault((name, key, node), t)
        self.first.setdefault((name, key, None), t)
        self.history.setdefault(name, []).append((t, e.get("type"), st))

    def forget(self, names):
        with self.cond:
            names = set(names)
            self.first = {k: v for k, v in self.first.items() if k[0] not in names}
            for n in names:
                self.history.pop(n, None)
                self.deleted.pop(n, None)

    def when(self, name, phase, node=None):
        return self.first.get((name, phase, node))

    def wait_phase(self, name, phase, timeout, node=None):
        return self.wait_for(lambda: self.first.get((name, phase, node)), timeout,
                             "%s %s %s" % (name, phase, node or ""))

    def wait_all(self, names, phase, timeout):
        return wait_set(names, lambda n: (n, phase, None) in self.first, timeout, "%d objects %s" % (len(names), phase))


class DockerEvents(_Stream):
    """Docker's /events for containers and networks whose name contains `cara-bench`: per name,
    the time (dockerd's clock, same host) of each action; swarm containers also under their service name."""

    def __init__(self, sock, api_prefix):
        self.times = {}  # (name, action) -> first time
        flt = qs_filters(type=["container", "network"])
        super().__init__(lambda: fx.UnixHTTPConnection(sock, timeout=3600), "%s/events?filters=%s" % (api_prefix, flt),
                         name="docker-events")

    def handle(self, t, ev):
        attrs = (ev.get("Actor") or {}).get("Attributes") or {}
        name = attrs.get("name", "")
        svc = attrs.get("com.docker.swarm.service.name")
        if PREFIX not in name and not (svc and PREFIX in svc):
            return
        ts = ev.get("timeNano", 0) / 1e9 or t
        action = ev.get("Action") or ev.get("status")
        self.times.setdefault((ev.get("Type"), name, action), ts)
        if svc:
            self.times.setdefault(("service", svc, action), ts)

    def when(self, kind, name, action):
        return self.times.get((kind, name, action))

    def wait_all(self, kind, names, action, timeout):
        return wait_set(names, lambda n: (kind, n, action) in self.times, timeout,
                        "%d %s %s events" % (len(names), kind, action))

    def forget_prefix(self, prefix):
        with self.cond:
            self.times = {k: v for k, v in self.times.items() if not k[1].startswith(prefix)}


# ---------------------------------------------------------------------------------------------
# Subnets for the floor's and Compose's project networks


class SubnetPool:
    """/26 subnets of a pool of our own, skipping those in use on the host (checked once per
    refresh(), and again when Docker refuses one as overlapping)."""

    def __init__(self, cidr, prefixlen=26):
        self.all = list(ipaddress.ip_network(cidr).subnets(new_prefix=prefixlen))
        self.lock = threading.Lock()
        self.taken = set()
        self.used = []
        self.refresh()

    def refresh(self):
        used = fx.used_subnets()
        with self.lock:
            self.used = used

    def take(self):
        with self.lock:
            for s in self.all:
                if s in self.taken or any(s.overlaps(u) for u in self.used):
                    continue
                self.taken.add(s)
                return s
        raise RuntimeError("subnet pool exhausted")

    def give_back(self, s):
        with self.lock:
            self.taken.discard(s)

    def mark_used(self, s):
        with self.lock:
            self.used.append(s)


# ---------------------------------------------------------------------------------------------
# Processes


def run(cmd, timeout=120, env=None, check=True, input=None):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, env=env, input=input)
    if check and r.returncode != 0:
        raise RuntimeError("command failed (exit %d): %s\n%s%s" % (r.returncode, " ".join(map(str, cmd)),
                                                                   r.stdout[-2000:], r.stderr[-2000:]))
    return r


def parallel(fn, items, workers):
    """fn(item) for every item from `workers` threads; returns the results in item order; the first
    exception is raised after every thread has ended."""
    items = list(items)
    results = [None] * len(items)
    errors = []
    idx = [0]
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if errors or idx[0] >= len(items):
                    return
                i = idx[0]
                idx[0] += 1
            try:
                results[i] = fn(items[i])
            except Exception as e:  # noqa: BLE001 - re-raised below
                with lock:
                    errors.append(e)
                return

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(workers, len(items))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
