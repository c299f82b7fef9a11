# SPDX-License-Identifier: Apache-2.0
"""cara-server under systemd's protocols: started through systemd-socket-activate (one socket
whatever its name; with several, the one named "api"), with NOTIFY_SOCKET pointing at a datagram
socket this test owns: READY=1 only once serving, STATUS=, WATCHDOG=1 at half WATCHDOG_USEC,
RELOADING=1 + READY=1 around SIGHUP, STOPPING=1 on SIGTERM."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from cara_server import free_port, http, postgres, skip, wait_until

SERVER = os.environ.get("CARA_SERVER_BIN", "cara-server")


class Notify:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.messages = []

    def drain(self):
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                return

    def wait_for(self, key, timeout=30, after=0, substring=False):
        """Index of the first message at or after @after containing the line @key (or, with
        @substring, a line containing @key)."""
        def found():
            self.drain()
            for i, m in enumerate(self.messages[after:], after):
                lines = m.split("\n")
                if key in lines or (substring and any(key in l for l in lines)):
                    return i + 1  # +1: never 0, so wait_until sees it
            return None
        return wait_until(found, timeout=timeout, what="sd_notify " + key) - 1


def server_pid(launcher_pid):
    """systemd-socket-activate execs the server in place, or forks it: find it either way."""
    def find():
        with open("/proc/%d/comm" % launcher_pid) as f:
            if f.read().strip() == "cara-server":
                return launcher_pid
        try:
            with open("/proc/%d/task/%d/children" % (launcher_pid, launcher_pid)) as f:
                kids = [int(p) for p in f.read().split()]
        except OSError:
            kids = []
        return kids[0] if kids else None
    return wait_until(find, timeout=10, what="the cara-server process")


def run_case(pg, tmp, fdnames, api_index):
    ports = [free_port() for _ in fdnames]
    notify_path = os.path.join(tmp, "notify-%d" % ports[0])
    notify = Notify(notify_path)
    log_path = os.path.join(tmp, "server-%d.log" % ports[0])
    argv = ["systemd-socket-activate"]
    for p in ports:
        argv += ["-l", "127.0.0.1:%d" % p]
    argv += ["--fdname=" + ":".join(fdnames)]
    env = {"DATABASE_URL": pg.url, "NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "400000", "CARA_AUTH": "none",
           "CARA_DEBUG": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for k, v in env.items():
        argv += ["-E", "%s=%s" % (k, v)]
    argv += [SERVER, "--config", os.path.join(tmp, "none.conf"), "--data-dir", os.path.join(tmp, "state"),
             "--port", "1"]  # --port is ignored when systemd passes the socket
    log = open(log_path, "wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    ok = False
    try:
        url = "http://127.0.0.1:%d" % ports[api_index]
        # The first connection makes systemd-socket-activate start the server; it waits in the
        # listen queue until the server accepts it.
        # (Retried only while systemd-socket-activate has not bound yet.)
        status, _, body = wait_until(lambda: http("GET", url + "/api/healthz", timeout=60), timeout=30,
                                     what="systemd-socket-activate to listen")
        assert status == 200 and body == b"OK", (status, body)
        pid = server_pid(proc.pid)
        ready = notify.wait_for("READY=1")
        assert any(l.startswith("STATUS=") for l in notify.messages[ready].split("\n")), notify.messages
        assert "Serving the API" in notify.messages[ready], notify.messages[ready]
        assert notify.messages.index(next(m for m in notify.messages if "STATUS=Migrating the database" in m)) < ready
        # the other sockets are not served
        for i, p in enumerate(ports):
            if i != api_index:
                s = socket.create_connection(("127.0.0.1", p), timeout=5)
                s.settimeout(1)
                s.sendall(b"GET /api/healthz HTTP/1.0\r\n\r\n")
                try:
                    data = s.recv(100)
                except socket.timeout:
                    data = b""
                s.close()
                assert not data.startswith(b"HTTP/"), "socket %r answered HTTP" % fdnames[i]
        # STATUS= follows the database
        if api_index == 0:
            pg.stop()
            assert http("GET", url + "/api/v1/nodes")[0] == 503
            down = notify.wait_for("; database UNAVAILABLE;", after=ready, timeout=10, substring=True)
            pg.start()
            wait_until(lambda: http("GET", url + "/api/v1/nodes")[0] == 200, timeout=30, what="reconnect")
            notify.wait_for("; database reachable;", after=down + 1, timeout=10, substring=True)
        # watchdog pings at half of WATCHDOG_USEC
        first = notify.wait_for("WATCHDOG=1", after=ready)
        notify.wait_for("WATCHDOG=1", after=first + 1, timeout=3)
        # reload
        os.kill(pid, signal.SIGHUP)
        reloading = notify.wait_for("RELOADING=1", after=ready + 1)
        assert any(l.startswith("MONOTONIC_USEC=") for l in notify.messages[reloading].split("\n"))
        notify.wait_for("READY=1", after=reloading + 1)
        assert http("GET", url + "/api/v1/version")[0] == 200
        # stop
        os.kill(pid, signal.SIGTERM)
        notify.wait_for("STOPPING=1", after=reloading)
        assert proc.wait(30) == 0, "exit code %s" % proc.returncode
        ok = True
        print("ok   fdnames=%s: READY, STATUS, WATCHDOG, RELOADING, STOPPING" % ":".join(fdnames))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        if not ok:
            sys.stderr.write("notify messages: %r\n" % notify.messages)
            with open(log_path, errors="replace") as f:
                sys.stderr.write("----- server log -----\n" + f.read())


def main():
    if shutil.which("systemd-socket-activate") is None:
        skip("systemd-socket-activate not installed")
    tmp = tempfile.mkdtemp(prefix="cara-sd-")
    try:
        with postgres() as pg:
            run_case(pg, tmp, ["whatever"], 0)            # one socket: used whatever its name
            run_case(pg, tmp, ["metrics", "api"], 1)      # several: the one named "api"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
