"""Fixture: run cara-server for a test.

    from cara_server import CaraServer, postgres
    with postgres() as pg, CaraServer(database_url=pg.url) as srv:
        status, body = srv.json("GET", "/api/v1/nodes")

CaraServer starts $CARA_SERVER_BIN on a free loopback port (or with the arguments/environment you
give), waits until GET /api/healthz answers 200, and on exit stops it (SIGTERM, then SIGKILL).
The server's log goes to a file; it is printed to stderr when the `with` block raised.

`postgres()` is tests/lib/cara_fixtures.py's Postgres; skip, free_port, wait_until and http are
that module's too.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import cara_fixtures

# The shared helpers, re-exported for the tests that import them from here.
from cara_fixtures import free_port, http, skip, wait_until  # noqa: E402,F401


def postgres():
    """A private PostgreSQL (cara_fixtures.Postgres): .url, .psql(), .restart(), .stop(), .start()."""
    return cara_fixtures.Postgres()


def schema_version():
    """The newest migration in src/server/store-migrate.c: what a migrated database is at."""
    import re  # noqa: PLC0415
    src = os.environ.get("CARA_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    with open(os.path.join(src, "src", "server", "store-migrate.c")) as f:
        versions = [int(v) for v in re.findall(r'^\s*\{ (\d+), "', f.read(), re.M)]
    assert versions == list(range(1, len(versions) + 1)), versions
    return versions[-1]


class CaraServer:
    def __init__(self, database_url=None, env=None, args=None, port=None, host="127.0.0.1",
                 data_dir=None, wait=True, bin=None, start=True, user=None):
        self.bin = bin or os.environ.get("CARA_SERVER_BIN", "cara-server")
        if not os.path.exists(self.bin) and shutil.which(self.bin) is None:
            skip("cara-server binary not found: " + self.bin)
        self.port = port or free_port()
        self.host = host
        self.url = "http://%s:%d" % (host, self.port)
        self.tmp = tempfile.mkdtemp(prefix="cara-server-")
        self.data_dir = data_dir or os.path.join(self.tmp, "state")
        self.log_path = os.path.join(self.tmp, "server.log")
        self.env = dict(os.environ)
        self.env.pop("DATABASE_URL", None)
        self.env.pop("STATE_DIRECTORY", None)
        # Auth is not what most tests are about: disable it explicitly (SPEC §9).
        self.env.setdefault("CARA_AUTH", "none")
        self.env.update({"HOST": host, "PORT": str(self.port)})
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.env.update(env or {})
        self.args = ["--data-dir", self.data_dir, "--config", os.path.join(self.tmp, "none.conf")] + list(args or [])
        self.proc = None
        self.killed = False
        self.wait = wait
        # Run as another user (when root): setpriv execs in place, so signals reach the server.
        self.prefix = []
        if user:
            import pwd  # noqa: PLC0415
            pw = pwd.getpwnam(user)
            self.prefix = ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid, "--clear-groups"]
            os.chmod(self.tmp, 0o755)
            if not data_dir:
                os.makedirs(self.data_dir)
                shutil.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
        if start:
            self.start()

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.prefix + [self.bin] + self.args, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        if self.wait:
            self.wait_ready()

    def wait_ready(self, timeout=60):
        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("cara-server exited with %s" % self.proc.returncode)
            return http("GET", self.url + "/api/healthz", timeout=2)[0] == 200
        try:
            wait_until(ready, timeout=timeout, what="cara-server /api/healthz")
        except Exception:
            self.print_log()
            raise

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self._log.close()
        return rc

    def kill(self):
        self.killed = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def print_log(self):
        sys.stderr.write("----- cara-server log (%s) -----\n%s----- end of log -----\n" % (self.log_path, self.log()))

    def request(self, method, path, body=None, headers=None, timeout=10):
        return http(method, self.url + path, body, headers, timeout)

    def json(self, method, path, body=None, headers=None, timeout=10):
        """Returns (status, parsed JSON or None)."""
        status, _, data = self.request(method, path, body, headers, timeout)
        return status, (json.loads(data) if data else None)

    def close(self):
        rc = self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return rc

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.print_log()
            self.close()
            return
        # A clean SIGTERM shutdown exits 0; anything else (crash, sanitizer report) fails the test.
        log = self.log()
        rc = self.close()
        if rc not in (0, None) and not self.killed:
            sys.stderr.write("----- cara-server log -----\n%s----- end of log -----\n" % log)
            raise AssertionError("cara-server exited with status %s on SIGTERM" % rc)
