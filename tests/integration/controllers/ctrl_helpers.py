# SPDX-License-Identifier: Apache-2.0
"""Helpers for the controller tests (issue 5): a cara-server with second-scale timeouts, nodes
that heartbeat from a background thread, projects, and a watch-stream reader."""

import datetime
import http.client
import json
import os
import queue
import sys
import threading
import time
import urllib.parse

from cara_server import CaraServer, postgres, wait_until  # noqa: F401 - re-exported

FAST_ENV = {
    "NODE_HEARTBEAT_TIMEOUT": "2s",
    "RESCHEDULE_GRACE_PERIOD": "2s",
    "TERMINATION_TIMEOUT": "2s",
    "RESYNC_INTERVAL": "1s",
}


def server(pg, env=None, **kw):
    e = dict(FAST_ENV)
    e.update(env or {})
    return CaraServer(database_url=pg.url, env=e, **kw)


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Api:
    def __init__(self, srv):
        self.srv = srv

    def call(self, method, path, body=None, expect=None):
        status, data = self.srv.json(method, path, body)
        if expect is not None and status not in (expect if isinstance(expect, tuple) else (expect,)):
            raise AssertionError("%s %s -> %s %r" % (method, path, status, data))
        return status, data

    def node(self, name, labels=None, cpu="4", memory="8Gi", heartbeat=True):
        meta = {"name": name}
        if labels:
            meta["labels"] = labels
        self.call("POST", "/api/v1/nodes", {"apiVersion": "caravanserai/v1", "kind": "Node", "metadata": meta,
                                            "spec": {"hostname": name}}, expect=201)
        if heartbeat:
            self.heartbeat(name, cpu=cpu, memory=memory)

    def heartbeat(self, name, state="Ready", cpu="4", memory="8Gi"):
        body = {"state": state}
        if cpu or memory:
            alloc = {}
            if cpu:
                alloc["cpu"] = cpu
            if memory:
                alloc["memory"] = memory
            body["allocatable"] = alloc
            body["capacity"] = alloc
        return self.call("POST", "/api/v1/nodes/%s/heartbeat" % name, body, expect=204)

    def project(self, name, cpu=None, memory=None, selector=None, expire_at=None, services=1):
        svcs = []
        for i in range(services):
            s = {"name": "s%d" % i, "image": "busybox"}
            if cpu or memory:
                s["resources"] = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
            svcs.append(s)
        spec = {"services": svcs}
        if selector:
            spec["nodeSelector"] = selector
        if expire_at is not None:
            spec["expireAt"] = rfc3339(expire_at)
        _, data = self.call("POST", "/api/v1/projects", {"apiVersion": "caravanserai/v1", "kind": "Project",
                                                        "metadata": {"name": name}, "spec": spec}, expect=201)
        return data

    def get_project(self, name):
        status, data = self.srv.json("GET", "/api/v1/projects/" + name)
        return data if status == 200 else None

    def get_node(self, name):
        status, data = self.srv.json("GET", "/api/v1/nodes/" + name)
        return data if status == 200 else None

    def phase(self, name):
        p = self.get_project(name)
        return p and p["status"].get("phase")

    def set_phase(self, name, phase, reason=None):
        body = {"phase": phase}
        if reason:
            body["reason"] = reason
        self.call("PATCH", "/api/v1/projects/%s/status" % name, body, expect=204)

    def wait_project(self, name, pred, timeout=5.0, what=None):
        def check():
            p = self.get_project(name)
            return p if p is not None and pred(p) else None
        return wait_until(check, timeout=timeout, what=what or ("project %s" % name))

    def wait_gone(self, name, timeout=5.0):
        wait_until(lambda: self.get_project(name) is None, timeout=timeout, what="project %s removed" % name)

    def wait_node(self, name, pred, timeout=5.0, what=None):
        def check():
            n = self.get_node(name)
            return n if n is not None and pred(n) else None
        return wait_until(check, timeout=timeout, what=what or ("node %s" % name))


def condition(obj, ctype):
    for c in obj["status"].get("conditions") or []:
        if c["type"] == ctype:
            return c
    return None


class Heartbeater(threading.Thread):
    """Heartbeats every node in .alive every @interval seconds until stopped."""

    def __init__(self, api, names=(), interval=0.3):
        super().__init__(daemon=True)
        self.api = api
        self.alive = set(names)
        self.interval = interval
        self._halt = threading.Event()
        self.start()

    def run(self):
        while not self._halt.is_set():
            for n in list(self.alive):
                try:
                    self.api.heartbeat(n)
                except Exception as e:  # noqa: BLE001 - keep beating; the test notices
                    sys.stderr.write("heartbeat %s: %r\n" % (n, e))
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join(5)


class Watch:
    """GET ...?watch=true read line by line on a thread; events are (monotonic time, dict)."""

    def __init__(self, srv, path, **query):
        q = dict(query)
        q["watch"] = "true"
        self.conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
        self.conn.request("GET", path + "?" + urllib.parse.urlencode(q))
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.content_type = self.resp.getheader("Content-Type")
        self.events = queue.Queue()
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                t = time.monotonic()
                line = line.strip()
                if line:
                    self.events.put((t, json.loads(line)))
        except Exception:  # noqa: BLE001 - closed under us
            pass
        self.ended.set()

    def next(self, pred=lambda e: True, timeout=5.0, skip_bookmarks=True):
        """The next event matching @pred (others are dropped); (time, event)."""
        deadline = time.monotonic() + timeout
        dropped = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching watch event within %.1fs (status %s, stream %s; skipped: %s)"
                                   % (timeout, self.status, "ended" if self.ended.is_set() else "open",
                                      json.dumps(dropped)[:2000]))
            try:
                t, e = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if skip_bookmarks and e.get("type") == "BOOKMARK":
                continue
            if pred(e):
                return t, e
            dropped.append(e if e.get("type") == "ERROR" else
                           {"type": e.get("type"), "name": (e.get("object") or {}).get("metadata", {}).get("name")})

    def drain(self, quiet=0.3):
        """All events until none arrived for @quiet seconds."""
        out = []
        while True:
            try:
                out.append(self.events.get(timeout=quiet)[1])
            except queue.Empty:
                return out

    def close(self):
        try:
            self.conn.sock.shutdown(2)
        except Exception:  # noqa: BLE001
            pass
        self.conn.close()
        self.thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def is_event(etype, name=None, phase=None):
    def pred(e):
        if e.get("type") != etype:
            return False
        o = e["object"]
        if name is not None and o["metadata"]["name"] != name:
            return False
        if phase is not None and o["status"].get("phase") != phase:
            return False
        return True
    return pred


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def main(fn):
    """Runs @fn(pg) with a fresh PostgreSQL; exit 0 on success."""
    if not os.path.exists(os.environ.get("CARA_SERVER_BIN", "")):
        print("SKIP: cara-server is not built")
        sys.exit(77)
    with postgres() as pg:
        fn(pg)
    print("ok")
