# SPDX-License-Identifier: Apache-2.0
"""Fixtures shared by every integration and e2e test (Python 3 standard library only).

    from cara_fixtures import Postgres, Daemon, ensure_dockerd, ensure_busybox_image, http_json
    with Postgres() as pg, Daemon([server_bin], env={"DATABASE_URL": pg.url}) as srv:
        srv.wait_http("http://127.0.0.1:%d/api/healthz" % port)

Everything a fixture starts is stopped at exit even when the test forgets or is killed by meson's
timeout (SIGTERM is turned into a normal exit, children get a parent-death signal). The logs of the
daemons a test started are printed to stderr only when the test fails. See tests/lib/README.md.
"""

import atexit
import contextlib
import fcntl
import functools
import http.client
import ipaddress
import json
import os
import pwd
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

PG_BINDIR = os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin")
TEST_USER = "cara-test"
BUSYBOX_IMAGE = "cara-test/busybox:latest"
TEST_SUBNET_POOL = ipaddress.ip_network("10.214.0.0/16")  # not the agent's default 10.213.0.0/16
SKIP = 77


def _source_dir():
    """The source tree: CARA_SOURCE_DIR (meson sets it), else the one holding this file."""
    return os.environ.get("CARA_SOURCE_DIR") or os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))


# ---------------------------------------------------------------------------------------------
# Basics


def skip(reason):
    """Skip the whole test: meson counts exit code 77 as SKIP."""
    print("SKIP: " + reason, flush=True)
    sys.exit(SKIP)


def fail(message):
    """Fail the test with a message (the logs of the daemons it started get printed)."""
    print("FAIL: " + message, file=sys.stderr, flush=True)
    sys.exit(1)


def is_root():
    return os.geteuid() == 0


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_name(prefix="t"):
    """A short lower-case name usable as a Docker, DNS and PostgreSQL name."""
    return "%s-%06x" % (prefix, random.getrandbits(24))


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Poll predicate() until it returns something truthy and return that. Exceptions raised by the
    predicate count as "not yet"; the last one is named in the TimeoutError."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last_error = None
        except Exception as e:  # noqa: BLE001 - retried, then reported
            last_error = e
        if time.monotonic() >= deadline:
            detail = " (last error: %s: %s)" % (type(last_error).__name__, last_error) if last_error else ""
            raise TimeoutError("timed out after %.1f s waiting for %s%s" % (timeout, what, detail))
        time.sleep(interval)


def run(cmd, check=True, input=None, timeout=120, env=None, **kwargs):
    """subprocess.run with text output captured; on failure the error carries stdout and stderr."""
    r = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout, env=env, **kwargs)
    if check and r.returncode != 0:
        raise RuntimeError("command failed (exit %d): %s\n--- stdout ---\n%s--- stderr ---\n%s"
                           % (r.returncode, " ".join(map(str, cmd)), r.stdout, r.stderr))
    return r


def cache_dir():
    """Where slow-to-make things (the PostgreSQL template) are kept between tests."""
    base = os.environ.get("CARA_TEST_CACHE")
    if not base:
        build = os.environ.get("CARA_BUILD_DIR")
        base = os.path.join(build, "test-cache") if build else "/var/tmp/cara-test-cache"
    os.makedirs(base, exist_ok=True)
    return base


@contextlib.contextmanager
def file_lock(path):
    """An exclusive flock, so two tests running at once do not build the same thing twice."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _host_lock(name):
    # Host-wide resources (dockerd, images) need a host-wide lock, not one per build directory.
    d = "/var/tmp" if os.access("/var/tmp", os.W_OK) else tempfile.gettempdir()
    return file_lock(os.path.join(d, "cara-test-%s.lock" % name))


# ---------------------------------------------------------------------------------------------
# Cleanup at exit and logs of failed tests

_failed = False
_cleanups = []  # callables, run last-in first-out at exit
_logdir = None
_daemons = []


def _mark_failed_on_exit(code):
    global _failed
    if code not in (None, 0, False, SKIP):
        _failed = True


_real_exit = sys.exit


def _exit(code=None):
    # sys.exit is wrapped (not replaced in behaviour) so that unittest.main's and fail()'s exit
    # status is known at exit, when the daemon logs are printed or not.
    _mark_failed_on_exit(code)
    _real_exit(code)


sys.exit = _exit

_real_excepthook = sys.excepthook


def _excepthook(*args):
    global _failed
    _failed = True
    _real_excepthook(*args)


sys.excepthook = _excepthook


def _on_sigterm(signum, frame):
    # meson's timeout sends SIGTERM: unwind normally so `with` blocks and atexit clean up.
    sys.exit(128 + signum)


if threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _on_sigterm)


def on_exit(fn):
    """Register a cleanup run at exit (last registered runs first). Returns fn."""
    _cleanups.append(fn)
    return fn


def _atexit():
    if _failed:
        for d in _daemons:
            if not d.log_printed:
                d.print_log()
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - keep cleaning up
            print("cleanup %r failed: %s" % (fn, e), file=sys.stderr)
    if _logdir:
        shutil.rmtree(_logdir, ignore_errors=True)


atexit.register(_atexit)


def log_dir():
    """A per-test-process directory for daemon logs, removed at exit."""
    global _logdir
    if _logdir is None:
        _logdir = tempfile.mkdtemp(prefix="cara-test-logs-")
    return _logdir


# ---------------------------------------------------------------------------------------------
# Non-root user


def ensure_test_user():
    """The system user tests run servers as when we are root (created if missing). Returns the
    user name, or None when we are not root (then everything runs as the current user)."""
    if not is_root():
        return None
    with _host_lock("useradd"):
        if run(["id", "-u", TEST_USER], check=False).returncode != 0:
            run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                 "--shell", "/usr/sbin/nologin", TEST_USER])
    return TEST_USER


def as_user(cmd, user="nobody", pdeathsig=None):
    """Prefix cmd so it runs as user (name or uid) with that user's groups. No-op when not root."""
    if not is_root():
        return list(cmd)
    try:
        pw = pwd.getpwuid(int(user)) if str(user).isdigit() else pwd.getpwnam(user)
        ids = ["--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid, "--init-groups"]
    except KeyError:
        if not str(user).isdigit():
            raise
        ids = ["--reuid=%s" % user, "--regid=%s" % user, "--clear-groups"]  # a uid with no passwd entry
    extra = ["--pdeathsig=%s" % pdeathsig] if pdeathsig else []
    return ["setpriv"] + ids + extra + ["--"] + list(cmd)


def _copy_tree(src, dst, user=None):
    # cp -a is ten times faster than shutil.copytree on a PostgreSQL data directory.
    run(["cp", "-a", "--", src, dst])
    if user:
        run(["chown", "-R", "%s:%s" % (user, user), "--", dst])


# ---------------------------------------------------------------------------------------------
# HTTP


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket (the Docker API, an agent's local socket)."""

    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def _encode_body(body, headers):
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    headers.setdefault("Content-Type", "application/json")
    return json.dumps(body).encode()


def http(method, url, body=None, headers=None, timeout=10):
    """One HTTP request. body: bytes, str, or anything JSON-serialisable (sent as JSON).
    Returns (status, headers, body bytes); HTTP error statuses are returned, not raised.
    url may be "unix:/path/to.sock:/request/path" to talk over a unix socket."""
    hdrs = dict(headers or {})
    data = _encode_body(body, hdrs)
    if url.startswith("unix:"):
        sock_path, _, path = url[len("unix:"):].partition(":")
        conn = UnixHTTPConnection(sock_path, timeout=timeout)
        try:
            conn.request(method, path or "/", body=data, headers=hdrs)
            r = conn.getresponse()
            return r.status, r.headers, r.read()
        finally:
            conn.close()
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


def http_json(method, url, body=None, headers=None, timeout=10):
    """Like http(), but returns (status, headers, parsed JSON or None when the body is empty)."""
    status, hdrs, data = http(method, url, body, headers, timeout)
    return status, hdrs, (json.loads(data) if data.strip() else None)


# ---------------------------------------------------------------------------------------------
# Processes


class Daemon:
    """A program running in the background for a test, its output in a log file.

    d = Daemon([bin, "--flag"], env={"PORT": "8080"}, name="server")   # env is added to os.environ
    d.wait_http("http://127.0.0.1:8080/api/healthz"); d.stop(); d.start(); d.kill()

    The log is printed to stderr when the `with` block raises, or at exit when the test failed.
    """

    def __init__(self, argv, env=None, name=None, cwd=None, inherit_env=True, start=True, user=None):
        self.argv = [str(a) for a in argv]
        self.name = name or os.path.basename(self.argv[0])
        self.env = dict(os.environ) if inherit_env else {}
        self.env.update({k: str(v) for k, v in (env or {}).items()})
        self.cwd = cwd
        self.user = user
        self.log_path = os.path.join(log_dir(), "%s-%d.log" % (self.name, len(_daemons)))
        self.log_printed = False
        self.proc = None
        self.returncode = None
        _daemons.append(self)
        on_exit(self._cleanup)
        if start:
            self.start()

    def start(self):
        if self.running:
            raise RuntimeError("%s is already running" % self.name)
        with open(self.log_path, "ab") as log:
            log.write(("----- %s: %s -----\n" % (time.strftime("%H:%M:%S"), " ".join(self.argv))).encode())
            log.flush()
            # The parent-death signal stops the daemon even when this test is SIGKILLed. It fires
            # when the starting *thread* ends, so only daemons started by the main thread get it.
            argv = self.argv
            deathsig = "KILL" if threading.current_thread() is threading.main_thread() else None
            if self.user is not None:
                argv = as_user(argv, self.user, pdeathsig=deathsig)
            elif deathsig and shutil.which("setpriv"):
                argv = ["setpriv", "--pdeathsig=KILL", "--"] + argv
            self.proc = subprocess.Popen(argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        self.returncode = None
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _check_alive(self):
        if self.proc is None:
            raise RuntimeError("%s is not started" % self.name)
        rc = self.proc.poll()
        if rc is not None:
            raise DaemonExited("%s exited with status %d" % (self.name, rc))

    def wait_http(self, url, timeout=30, status=200):
        """Wait until GET url answers with status (an int, or None for any). Returns (status,
        headers, body). Fails at once, printing the log, if the daemon exits meanwhile."""
        def ready():
            self._check_alive()
            r = http("GET", url, timeout=2)
            return r if status is None or r[0] == status else None
        return self._wait(ready, timeout, "%s to answer %s" % (self.name, url))

    def wait_log(self, pattern, timeout=30):
        """Wait until the log matches the regular expression; returns the match."""
        rx = re.compile(pattern)

        def found():
            m = rx.search(self.log())
            if not m:
                self._check_alive()
            return m
        return self._wait(found, timeout, "%s to log %r" % (self.name, pattern))

    def _wait(self, predicate, timeout, what):
        """Poll predicate until truthy; its exceptions mean "not yet", except DaemonExited which
        fails at once. The log is printed on failure."""
        deadline = time.monotonic() + timeout
        last_error = None
        while True:
            try:
                value = predicate()
                if value:
                    return value
            except DaemonExited:
                self.print_log()
                raise
            except Exception as e:  # noqa: BLE001 - not ready yet
                last_error = e
            if time.monotonic() >= deadline:
                self.print_log()
                detail = " (last error: %s: %s)" % (type(last_error).__name__, last_error) if last_error else ""
                raise TimeoutError("timed out after %.1f s waiting for %s%s" % (timeout, what, detail))
            time.sleep(0.05)

    def wait_exit(self, timeout=30):
        """Wait for the daemon to exit on its own; returns its exit status."""
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.print_log()
            raise
        return self.returncode

    def send_signal(self, sig):
        if self.running:
            self.proc.send_signal(sig)

    def stop(self, timeout=15, sig=signal.SIGTERM):
        """sig (SIGTERM), then SIGKILL after timeout seconds. Returns the exit status (negative
        = killed by that signal), or None if it was never started."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print("%s did not stop within %d s after %s, killing it" % (self.name, timeout, sig.name),
                      file=sys.stderr)
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.returncode
        self.proc = None
        return self.returncode

    def kill(self, sig=signal.SIGKILL):
        """Kill without grace (a crash); returns the exit status."""
        return self.stop(timeout=15, sig=sig)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def print_log(self):
        self.log_printed = True
        sys.stderr.write("----- log of %s (%s) -----\n%s\n----- end of log of %s -----\n"
                         % (self.name, self.log_path, self.log().rstrip("\n"), self.name))
        sys.stderr.flush()

    def _cleanup(self):
        self.stop(timeout=5)

    def close(self):
        self.stop()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and not (exc_type is SystemExit and exc.code in (None, 0, SKIP)):
            if not self.log_printed:
                self.print_log()
        self.close()


class DaemonExited(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------
# PostgreSQL


@functools.lru_cache(maxsize=None)
def _pg_version():
    return run([os.path.join(PG_BINDIR, "postgres"), "--version"]).stdout.strip()


_PG_CONF = """
# cara test settings: private, disposable, fast
listen_addresses = ''
unix_socket_permissions = 0777
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 32MB
log_min_messages = warning
log_line_prefix = '%m [%p] '
"""


def _pg_template():
    """An initdb'ed data directory, made once per cache directory and copied for each cluster."""
    slug = re.sub(r"[^0-9A-Za-z.]+", "-", _pg_version()).strip("-") + "-v2"  # bump when the recipe changes
    template = os.path.join(cache_dir(), "pg-template-" + slug)
    if os.path.isdir(template):
        return template
    with file_lock(os.path.join(cache_dir(), "pg-template.lock")):
        if os.path.isdir(template):
            return template
        user = ensure_test_user()
        work = tempfile.mkdtemp(prefix="cara-pg-initdb-")
        try:
            os.chmod(work, 0o755)
            data = os.path.join(work, "data")
            if user:
                shutil.chown(work, user, user)
            run(as_user([os.path.join(PG_BINDIR, "initdb"), "-D", data, "-A", "trust", "-U", "postgres",
                         "-E", "UTF8", "--locale=C", "--no-sync", "--wal-segsize=1"], user or "nobody"), cwd=work)
            with open(os.path.join(data, "postgresql.conf"), "a") as f:
                f.write(_PG_CONF)
            staging = tempfile.mkdtemp(prefix="pg-template-", dir=cache_dir())
            _copy_tree(data, os.path.join(staging, "data"))
            os.rename(os.path.join(staging, "data"), template)
            os.rmdir(staging)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return template


class Postgres:
    """A private PostgreSQL 15 cluster: unix socket only, run as the non-root user `cara-test`
    when we are root, stopped and deleted at exit.

    .url                 libpq URL of database "postgres" (for DATABASE_URL)
    .create_database(n)  -> URL of the new database n
    .url_for(db)         URL of database db
    .psql(sql, db=...)   -> unaligned, tuples-only output
    .stop() .start() .restart() .kill()
    """

    def __init__(self, start=True, port=5432, standby_of=None):
        if not os.access(os.path.join(PG_BINDIR, "postgres"), os.X_OK):
            skip("PostgreSQL server binaries not found in " + PG_BINDIR)
        self.user = ensure_test_user()
        self.dir = tempfile.mkdtemp(prefix="cara-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.socket_dir = self.dir
        self.host = self.dir
        self.port = port
        self.url = self.url_for("postgres")
        if self.user:
            shutil.chown(self.dir, self.user, self.user)
        if standby_of:
            # A streaming standby: a base backup of the running primary with its standby.signal and
            # primary_conninfo written by -R.
            run(as_user([os.path.join(PG_BINDIR, "pg_basebackup"), "-h", standby_of.socket_dir, "-p",
                         str(standby_of.port), "-U", "postgres", "-D", self.data, "-R", "-X", "stream",
                         "--no-sync"], self.user or "nobody"), cwd=self.dir)
        else:
            _copy_tree(_pg_template(), self.data, self.user)
        os.chmod(self.data, 0o700)
        self.daemon = Daemon([os.path.join(PG_BINDIR, "postgres"), "-D", self.data, "-k", self.socket_dir,
                              "-p", str(self.port)], name="postgres", cwd=self.dir, user=self.user, start=False)
        self.closed = False
        on_exit(self.close)  # registered after the Daemon, so it runs first: an immediate shutdown
        if start:
            self.start()

    def url_for(self, db):
        return "postgresql:///%s?host=%s&port=%d&user=postgres" % (db, self.socket_dir, self.port)

    def start(self, timeout=60):
        self.daemon.start()

        def accepting():
            self.daemon._check_alive()
            return self.ready()
        self.daemon._wait(accepting, timeout, "PostgreSQL to accept connections")
        return self

    def ready(self):
        # postmaster.pid's last line says "ready" once connections are accepted; pg_isready confirms.
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                lines = f.read().split("\n")
        except OSError:
            return False
        if len(lines) < 8 or lines[7].strip() not in ("ready", "standby"):
            return False
        return subprocess.run([os.path.join(PG_BINDIR, "pg_isready"), "-q", "-h", self.socket_dir,
                               "-p", str(self.port), "-U", "postgres", "-d", "postgres"]).returncode == 0

    def stop(self, mode="fast"):
        """Shut down: mode "smart" (SIGTERM), "fast" (SIGINT) or "immediate" (SIGQUIT)."""
        sig = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
        self.daemon.stop(timeout=30, sig=sig)

    def kill(self):
        """Crash the postmaster (SIGKILL); the next start() recovers."""
        backends = _children(self.daemon.pid) if self.daemon.running else []
        self.daemon.kill()
        # Orphaned backends notice the postmaster's death on their own; a new postmaster refuses
        # to start while they still hold the shared memory, so wait for them.
        wait_until(lambda: not any(map(_alive, backends)), timeout=30, what="PostgreSQL backends to exit")

    def restart(self, mode="fast"):
        self.stop(mode)
        return self.start()

    def standby(self):
        """A new cluster streaming from this one (started; read-only until .promote())."""
        return Postgres(standby_of=self)

    def promote(self):
        """Makes a standby a primary (pg_ctl promote, waiting until it accepts writes)."""
        run(as_user([os.path.join(PG_BINDIR, "pg_ctl"), "promote", "-w", "-D", self.data], self.user or "nobody"))

    def psql(self, sql, db="postgres", check=True):
        r = run([os.path.join(PG_BINDIR, "psql"), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                 "-d", self.url_for(db), "-c", sql], check=False)
        if check and r.returncode != 0:
            raise RuntimeError("psql failed: %s\n%s" % (sql, r.stderr))
        return r.stdout

    def create_database(self, name):
        self.psql('CREATE DATABASE "%s"' % name.replace('"', '""'))
        return self.url_for(name)

    def log(self):
        return self.daemon.log()

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()


def _children(pid):
    found = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % p) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(p))
        except (OSError, IndexError, ValueError):
            pass
    return found


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# Docker


def docker_socket():
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return host[len("unix://"):]
    return "/var/run/docker.sock"


def _docker_answers(sock):
    try:
        return http("GET", "unix:%s:/_ping" % sock, timeout=3)[0] == 200
    except OSError:
        return False


def _dockerd_running():
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() == "dockerd":
                    return True
        except OSError:
            pass
    return False


def ensure_dockerd(timeout=60):
    """Return the Docker socket path once dockerd answers. If it does not and we are root, start
    dockerd in the background (it stays up for later tests; a dockerd we did not start is never
    stopped). Otherwise skip the test."""
    if shutil.which("docker") is None:
        skip("the docker CLI is not installed")
    sock = docker_socket()
    if _docker_answers(sock):
        return sock
    if not is_root() or shutil.which("dockerd") is None or sock != "/var/run/docker.sock":
        skip("dockerd is not answering on %s and cannot be started here" % sock)
    log_path = "/var/log/cara-test-dockerd.log"
    with _host_lock("dockerd"):
        if not _docker_answers(sock):
            if os.path.isdir("/run/systemd/system"):
                run(["systemctl", "start", "docker.service"], check=False)
            if not _dockerd_running():  # else one is still starting: wait for it, do not start another
                with open(log_path, "ab") as log:
                    subprocess.Popen(["dockerd"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
            try:
                wait_until(lambda: _docker_answers(sock), timeout=timeout, interval=0.2, what="dockerd to start")
            except TimeoutError:
                if os.path.exists(log_path):
                    with open(log_path, errors="replace") as f:
                        sys.stderr.write(f.read()[-4000:])
                skip("dockerd did not start within %d s (log: %s)" % (timeout, log_path))
    return sock


def restart_dockerd(timeout=300):
    """Restart the Docker daemon as an operator would (its containers stop with it, as with a
    package upgrade): systemctl restart when systemd runs it, else SIGTERM to the dockerd process
    and the same command line started again.  Root only (else the test is skipped).  Returns the
    seconds until it answers again: after the crash matrix's 75 containers and networks that was
    100 to 160 s on 2 cores (dockerd restores every container and network, its "Loading
    containers" phase, before it answers), hence the long timeout."""
    if not is_root():
        skip("restarting dockerd needs root")
    sock = ensure_dockerd()
    t0 = time.monotonic()
    with _host_lock("dockerd"):
        if os.path.isdir("/run/systemd/system") and \
                run(["systemctl", "is-active", "docker.service"], check=False).stdout.strip() == "active":
            run(["systemctl", "restart", "docker.service"], timeout=timeout)
        else:
            pids = run(["pgrep", "-x", "dockerd"], check=False).stdout.split()
            if len(pids) != 1:
                skip("cannot tell which dockerd to restart: %s" % pids)
            pid = int(pids[0])
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = [a.decode() for a in f.read().split(b"\0") if a]
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not os.path.exists("/proc/%d" % pid), timeout=timeout, interval=0.1,
                       what="dockerd to stop")
            with open("/var/log/cara-test-dockerd.log", "ab") as log:
                subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        wait_until(lambda: _docker_answers(sock), timeout=timeout, interval=0.1, what="dockerd to answer again")
    return time.monotonic() - t0


def docker(*args, check=True, input=None, timeout=300):
    """Run the docker CLI; returns stdout (stripped)."""
    return run(["docker"] + [str(a) for a in args], check=check, input=input, timeout=timeout).stdout.strip()


def image_exists(name):
    return run(["docker", "image", "inspect", name], check=False).returncode == 0


def _is_static(path):
    # A dynamically linked ELF file has a PT_INTERP program header naming its loader.
    try:
        with open(path, "rb") as f:
            return b"/ld-linux" not in f.read(4096) and os.access(path, os.X_OK)
    except OSError:
        return False


def ensure_busybox_image(name=BUSYBOX_IMAGE):
    """Make the test image without a registry with scripts/busybox-image: the host's static
    busybox, a symlink per applet, /etc/passwd, /etc/group, /tmp and /www/index.html (for
    `httpd -f -h /www`). Returns name."""
    ensure_dockerd()
    if image_exists(name):
        return name
    if not _is_static("/bin/busybox"):
        skip("/bin/busybox is missing or not static (install Debian's busybox-static)")
    with _host_lock("busybox-image"):
        if image_exists(name):
            return name
        # The same recipe as scripts/dev-cluster's image for the examples.
        run([os.path.join(_source_dir(), "scripts", "busybox-image"), name])
    return name


def docker_cleanup(label_filter):
    """Remove every container, network and volume carrying the label(s): "key" or "key=value",
    or a list of them (all must match). Safe to call when nothing is left."""
    filters = [label_filter] if isinstance(label_filter, str) else list(label_filter)
    flt = []
    for f in filters:
        flt += ["--filter", "label=" + f]
    containers = docker("ps", "-aq", *flt, check=False).split()
    if containers:
        docker("rm", "-f", "-v", *containers, check=False)
    networks = docker("network", "ls", "-q", *flt, check=False).split()
    for n in networks:
        docker("network", "rm", n, check=False)
    volumes = docker("volume", "ls", "-q", *flt, check=False).split()
    if volumes:
        docker("volume", "rm", "-f", *volumes, check=False)


def cpu_seconds(pid):
    """User + system CPU time a process has used so far (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of proc(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def context_switches(pid):
    """Voluntary + involuntary context switches of all of a process's threads so far: how often it
    went to sleep and woke up again."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except OSError:
            pass  # a thread that ended meanwhile
    return total


def idle_usage(pids, seconds):
    """{name: (fraction of a core, wakeups per second)} of the processes {name: pid or [pids]} over
    the next `seconds`."""
    def lists():
        return {k: (v if isinstance(v, (list, tuple)) else [v]) for k, v in pids.items()}

    def sample():
        out = {}
        for k, ps in lists().items():
            cpu = cs = 0
            for p in ps:
                try:
                    cpu += cpu_seconds(p)
                    cs += context_switches(p)
                except OSError:
                    pass
            out[k] = (cpu, cs)
        return out
    before, t0 = sample(), time.monotonic()
    time.sleep(seconds)
    after, elapsed = sample(), time.monotonic() - t0
    return {k: ((after[k][0] - before[k][0]) / elapsed, (after[k][1] - before[k][1]) / elapsed) for k in before}


def used_subnets():
    """IPv4 subnets of every Docker network and every route on the host."""
    nets = []
    ids = docker("network", "ls", "-q", check=False).split()
    if ids:
        out = docker("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", *ids,
                     check=False)
        nets += out.split()
    if shutil.which("ip"):
        nets += [line.split()[0] for line in run(["ip", "-4", "route", "show"], check=False).stdout.splitlines()
                 if line and line[0].isdigit()]
    found = []
    for n in nets:
        try:
            found.append(ipaddress.ip_network(n, strict=False))
        except ValueError:
            pass
    return [n for n in found if n.version == 4]


@contextlib.contextmanager
def docker_network(name=None, labels=None, prefixlen=24):
    """A user-defined bridge network with an explicit subnet from 10.214.0.0/16 (Docker's default
    pools run out after ~30 networks); removed on exit together with what is attached to it.
    Yields the network name."""
    name = name or unique_name("cara-test-net")
    label_args = []
    for k, v in (labels or {"cara.test": "1"}).items():
        label_args += ["--label", "%s=%s" % (k, v)]
    candidates = list(TEST_SUBNET_POOL.subnets(new_prefix=prefixlen))
    random.shuffle(candidates)
    last = None
    with _host_lock("subnet"):
        used = used_subnets()
        for subnet in candidates:
            if any(subnet.overlaps(u) for u in used):
                continue
            r = run(["docker", "network", "create", "--driver", "bridge", "--subnet", str(subnet), *label_args,
                     name], check=False)
            if r.returncode == 0:
                break
            last = r.stderr
            if "overlap" not in last and "Pool" not in last:
                raise RuntimeError("docker network create %s failed: %s" % (name, last))
        else:
            raise RuntimeError("no free test subnet (last error: %s)" % last)
    try:
        yield name
    finally:
        for c in docker("network", "inspect", "--format", "{{range $k, $v := .Containers}}{{$k}} {{end}}", name,
                        check=False).split():
            docker("network", "disconnect", "-f", name, c, check=False)
        docker("network", "rm", name, check=False)


# ---------------------------------------------------------------------------------------------
# D-Bus

PERMISSIVE_POLICY = """
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
"""

# Debian's /usr/share/dbus-1/system.conf default: no one owns names or calls methods unless a
# system.d policy file allows it.
SYSTEM_POLICY = """
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
"""


class DBusDaemon:
    """A private dbus-daemon. system=False: everything allowed (session-like). system=True: the
    system bus default policy, plus the policy files given in includes/includedirs (e.g. the
    project's dbus/*.conf), so a policy can be tested.

    .address  .env (DBUS_SYSTEM_BUS_ADDRESS and DBUS_SESSION_BUS_ADDRESS)  .busctl(*args)
    .run_as(user, cmd) runs cmd as another user against this bus.
    """

    def __init__(self, system=False, includes=(), includedirs=(), policy=None, start=True):
        if shutil.which("dbus-daemon") is None:
            skip("dbus-daemon is not installed (Debian package dbus)")
        self.dir = tempfile.mkdtemp(prefix="cara-dbus-")
        os.chmod(self.dir, 0o755)  # other users must reach the socket
        self.socket_path = os.path.join(self.dir, "bus")
        self.config_path = os.path.join(self.dir, "bus.conf")
        if policy is None:
            policy = SYSTEM_POLICY if system else PERMISSIVE_POLICY
        extra = "".join("  <include>%s</include>\n" % os.path.abspath(p) for p in includes)
        extra += "".join("  <includedir>%s</includedir>\n" % os.path.abspath(p) for p in includedirs)
        with open(self.config_path, "w") as f:
            f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"\n'
                    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n<busconfig>\n'
                    "  <type>%s</type>\n  <listen>unix:path=%s</listen>\n  <auth>EXTERNAL</auth>\n%s%s"
                    "</busconfig>\n" % ("system" if system else "session", self.socket_path, policy, extra))
        self.address = None
        self.proc = None
        self.closed = False
        on_exit(self.close)
        if start:
            self.start()

    def start(self, timeout=10):
        self.log_path = os.path.join(self.dir, "dbus-daemon.log")
        with open(self.log_path, "ab") as log:
            deathsig = ["setpriv", "--pdeathsig=KILL", "--"] \
                if threading.current_thread() is threading.main_thread() else []
            self.proc = subprocess.Popen(deathsig + ["dbus-daemon",
                                          "--config-file=" + self.config_path, "--nofork", "--nopidfile",
                                          "--print-address=1"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode().strip() if ready else ""
        if not line:
            self.proc.kill()
            self.proc.wait()
            with open(self.log_path, errors="replace") as f:
                raise RuntimeError("dbus-daemon did not start:\n" + f.read())
        self.address = line
        return self

    @property
    def env(self):
        return {"DBUS_SYSTEM_BUS_ADDRESS": self.address, "DBUS_SESSION_BUS_ADDRESS": self.address}

    def busctl(self, *args, check=True, user=None, timeout=30):
        """Run busctl against this bus (as user when given); returns the CompletedProcess."""
        cmd = ["busctl", "--address=" + self.address, "--no-pager"] + [str(a) for a in args]
        return run(as_user(cmd, user) if user is not None else cmd, check=check, timeout=timeout)

    def run_as(self, user, cmd, check=False, timeout=30):
        """Run cmd as user (name or uid) with DBUS_SYSTEM_BUS_ADDRESS pointing at this bus."""
        env = dict(os.environ, **self.env)
        return run(as_user(cmd, user), check=check, env=env, timeout=timeout)

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.proc = None

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
