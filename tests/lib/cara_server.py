"""Fixture: run cara-server for a test.

    from cara_server import CaraServer, postgres
    with postgres() as pg, CaraServer(database_url=pg.url) as srv:
        status, body = srv.json("GET", "/api/v1/nodes")

CaraServer starts $CARA_SERVER_BIN on a free loopback port (or with the arguments/environment you
give), waits until GET /api/healthz answers 200, and on exit stops it (SIGTERM, then SIGKILL).
The server's log goes to a file; it is printed to stderr when the `with` block raised.

`postgres()` is tests/lib/cara_fixtures.py's Postgres when that module exists, else a minimal
private PostgreSQL (unix socket only, run as a non-root user when we are root).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PG_BINDIR = os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin")


def skip(reason):
    print("SKIP: " + reason)
    sys.exit(77)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - report the last failure
            last = e
        time.sleep(interval)
    raise TimeoutError("timed out after %.1fs waiting for %s (last error: %r)" % (timeout, what, last))


def http(method, url, body=None, headers=None, timeout=10):
    """Returns (status, headers, body bytes); never raises on HTTP error statuses."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class _MiniPostgres:
    """A throw-away PostgreSQL cluster, used only until cara_fixtures.Postgres exists."""

    USER = "cara-test"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cara-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.port = 5432
        self.proc = None
        self.runas = []
        if os.geteuid() == 0:
            if subprocess.run(["id", self.USER], capture_output=True).returncode != 0:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                self.USER], capture_output=True)
            shutil.chown(self.dir, self.USER)
            self.runas = ["runuser", "-u", self.USER, "--"]
        subprocess.run(self.runas + [os.path.join(PG_BINDIR, "initdb"), "-D", self.data, "-A", "trust",
                                     "-U", "postgres", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = ''\nunix_socket_directories = '%s'\nfsync = off\n"
                    "synchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n" % self.dir)
        self.url = "postgresql:///postgres?host=%s&port=%d&user=postgres" % (self.dir, self.port)
        self.start()

    def start(self):
        self.proc = subprocess.Popen(self.runas + [os.path.join(PG_BINDIR, "postgres"), "-D", self.data],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "a"))
        wait_until(lambda: self.psql("SELECT 1").strip() == "1", timeout=30, what="PostgreSQL to start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            self.proc.wait(30)
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def psql(self, sql, db="postgres"):
        r = subprocess.run([os.path.join(PG_BINDIR, "psql"), "-h", self.dir, "-p", str(self.port), "-U",
                            "postgres", "-d", db, "-XAtqc", sql], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return r.stdout

    def create_database(self, name):
        self.psql('CREATE DATABASE "%s"' % name)
        return "postgresql:///%s?host=%s&port=%d&user=postgres" % (name, self.dir, self.port)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def postgres():
    """A context manager giving a private PostgreSQL with .url, .psql(), .restart(), .stop(), .start()."""
    try:
        import cara_fixtures  # noqa: PLC0415
        if hasattr(cara_fixtures, "Postgres"):
            return cara_fixtures.Postgres()
    except ImportError:
        pass
    return _MiniPostgres()


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
