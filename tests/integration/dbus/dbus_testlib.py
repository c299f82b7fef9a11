# SPDX-License-Identifier: Apache-2.0
"""Helpers for the agent D-Bus tests: a private dbus-daemon (permissive, or system-style with the
shipped policy), the bus-harness test driver, and busctl/dbus-send wrappers.

Everything talks to the private bus through DBUS_SYSTEM_BUS_ADDRESS, exactly as an operator's
`busctl introspect org.caravanserai.Agent /org/caravanserai/Agent` talks to the system bus."""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import cara_fixtures

NAME = "org.caravanserai.Agent"
PATH = "/org/caravanserai/Agent"
IFACE = "org.caravanserai.Agent1"
PROJECT_IFACE = "org.caravanserai.Project1"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

SOURCE_DIR = os.environ.get("CARA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD_DIR = os.environ.get("CARA_BUILD_DIR", "")


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def require_tools():
    for tool in ("dbus-daemon", "busctl", "dbus-send", "setpriv"):
        if shutil.which(tool) is None:
            skip(f"{tool} is not installed")


def harness_bin():
    path = os.path.join(BUILD_DIR, "tests", "integration", "dbus", "bus-harness")
    if not os.access(path, os.X_OK):
        skip(f"bus-harness not built at {path}")
    return path


def policy_file():
    """The built policy (configure_file output), else fail: the test is about the shipped file."""
    path = os.path.join(BUILD_DIR, "dbus", "org.caravanserai.Agent.conf")
    if not os.path.exists(path):
        raise AssertionError(f"built bus policy missing: {path}")
    return path


def read_line(proc, want, deadline):
    """Read lines of proc.stdout until one equals/starts with `want`; returns it."""
    buf = b""
    fd = proc.stdout.fileno()
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            text = line.decode(errors="replace")
            if text.startswith(want):
                return text
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out waiting for {want!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError(f"process exited (rc={proc.poll()}) before {want!r}")
            buf += chunk


def wait_until(fn, what, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class PrivateBus:
    """A private dbus-daemon (tests/lib/cara_fixtures.py DBusDaemon): permissive, or system-style
    (Debian's system.conf default policy) with the given policy files included."""

    def __init__(self, system_style=False, include=None):
        self.daemon = cara_fixtures.DBusDaemon(system=system_style, includes=include or ())
        self.dir = self.daemon.dir
        # Without the daemon's guid, like the real system bus address, so that clients can
        # connect again to a restarted daemon.
        self.address = "unix:path=" + self.daemon.socket_path
        self.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address)
        self.env.pop("DBUS_SESSION_BUS_ADDRESS", None)

    def restart(self):
        """Stop and start the dbus-daemon on the same socket (as `systemctl restart dbus`)."""
        self.daemon.stop()
        self.daemon.start()

    def close(self):
        self.daemon.close()

    def run(self, *args, user=None, check=True):
        """Run a command (busctl, dbus-send, ...) against this bus; returns CompletedProcess."""
        argv = (NOBODY if user == "nobody" else []) + list(args)
        p = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=30)
        if check and p.returncode != 0:
            raise AssertionError(f"{argv} failed rc={p.returncode}: {p.stderr.strip()}")
        return p

    def busctl(self, *args, user=None, check=True):
        return self.run("busctl", *args, user=user, check=check)

    def busctl_json(self, *args, user=None):
        return json.loads(self.busctl("--json=short", *args, user=user).stdout)

    def get_property(self, prop, path=PATH, iface=IFACE, user=None):
        return self.busctl_json("get-property", NAME, path, iface, prop, user=user)["data"]

    def call(self, method, *args, path=PATH, iface=IFACE, user=None):
        out = self.busctl("--json=short", "call", NAME, path, iface, method, *args, user=user).stdout
        return json.loads(out)["data"] if out.strip() else None

    def call_error(self, member, *args, path=PATH, user=None):
        """Call with dbus-send and return the D-Bus error name of the failure."""
        p = self.run("dbus-send", "--system", "--print-reply", f"--dest={NAME}", path, member,
                     *args, user=user, check=False)
        if p.returncode == 0:
            raise AssertionError(f"{member} unexpectedly succeeded: {p.stdout}")
        # "Error org.caravanserai.Error.NotFound: Project x is not on this node"
        for line in p.stderr.splitlines():
            if line.startswith("Error "):
                self.last_error_message = line.split(" ", 2)[2] if line.count(" ") >= 2 else ""
                return line.split()[1].rstrip(":")
        raise AssertionError(f"no error name in {p.stderr!r}")


class Harness:
    """bus-harness (the real agent-bus.c on a GMainLoop) fed from a JSON file."""

    def __init__(self, bus, projects, node="node-1", server_url="http://127.0.0.1:8080",
                 extra=(), user=None, wait=True):
        self.bus = bus
        self.file = os.path.join(bus.dir, "projects.json")
        self.write(projects)
        argv = [harness_bin(), "--projects", self.file, "--node", node, "--server-url", server_url,
                *extra]
        # e.g. CARA_HARNESS_WRAPPER="valgrind --error-exitcode=99 --leak-check=full"
        argv = os.environ.get("CARA_HARNESS_WRAPPER", "").split() + argv
        if user == "nobody":
            argv = NOBODY + argv
        self.proc = subprocess.Popen(argv, env=bus.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        if wait:
            read_line(self.proc, "READY", time.monotonic() + 15)

    def write(self, doc):
        tmp = self.file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.file)

    def wait_line(self, want, timeout=10):
        return read_line(self.proc, want, time.monotonic() + timeout)

    def stop(self):
        """SIGTERM; returns the exit code (a clean shutdown is 0).  Idempotent."""
        if self.proc.stdout.closed:
            return self.proc.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace")
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.stderr = err
        return self.proc.returncode


class Monitor:
    """`busctl monitor --json=short org.caravanserai.Agent`: the messages to and from the agent."""

    def __init__(self, bus):
        self.proc = subprocess.Popen(
            ["busctl", "monitor", "--json=short", NAME], env=bus.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.buf = b""
        self.messages = []
        # busctl logs this line once BecomeMonitor has succeeded.
        deadline = time.monotonic() + 10
        err = b""
        while b"Monitoring bus message stream" not in err:
            if time.monotonic() > deadline or not select.select([self.proc.stderr], [], [], 1)[0]:
                if time.monotonic() > deadline:
                    raise AssertionError(f"busctl monitor did not start: {err!r}")
                continue
            chunk = os.read(self.proc.stderr.fileno(), 4096)
            if not chunk:
                raise AssertionError(f"busctl monitor exited: {err!r}")
            err += chunk

    def _read(self):
        fd = self.proc.stdout.fileno()
        while select.select([fd], [], [], 0)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            if line.strip():
                self.messages.append(json.loads(line))

    def signals(self, member):
        """Payloads of the signals named `member` seen so far."""
        self._read()
        return [m["payload"]["data"] for m in self.messages
                if m.get("type") == "signal" and m.get("member") == member]

    def wait_signal(self, member, pred=lambda data: True, timeout=10):
        return wait_until(lambda: [d for d in self.signals(member) if pred(d)],
                          f"signal {member}", timeout)

    def close(self):
        self.proc.terminate()
        self.proc.wait(5)
        self.proc.stdout.close()
        self.proc.stderr.close()


# ---- introspection XML, normalised for comparison ----

EMITS = "org.freedesktop.DBus.Property.EmitsChangedSignal"


def parse(text):
    # ElementTree does not fetch DTDs; drop the DOCTYPE so it does not try.
    text = "\n".join(l for l in text.splitlines() if not l.startswith(("<!DOCTYPE", '"http')))
    return ET.fromstring(text)


def normalise(root):
    out = {}
    for iface in root.iter("interface"):
        name = iface.get("name")
        if not name.startswith("org.caravanserai."):
            continue
        members = {}
        for m in iface.findall("method"):
            members["method " + m.get("name")] = [
                (a.get("name"), a.get("type"), a.get("direction", "in")) for a in m.findall("arg")]
        for s in iface.findall("signal"):
            members["signal " + s.get("name")] = [(a.get("name"), a.get("type"))
                                                  for a in s.findall("arg")]
        for p in iface.findall("property"):
            emits = "true"
            for a in p.findall("annotation"):
                if a.get("name") == EMITS:
                    emits = a.get("value")
            members["property " + p.get("name")] = (p.get("type"), p.get("access"), emits)
        out[name] = members
    return out


def diff(a, b):
    lines = []
    for iface in sorted(set(a) | set(b)):
        ma, mb = a.get(iface, {}), b.get(iface, {})
        for k in sorted(set(ma) | set(mb)):
            if ma.get(k) != mb.get(k):
                lines.append(f"{iface} {k}: running={ma.get(k)!r} shipped={mb.get(k)!r}")
    return lines


def sample_projects():
    return {
        "state": "ready",
        "projects": [
            {"name": "web-app", "phase": "Running",
             "services": [{"name": "app", "state": "running", "containerId": "c0ffee",
                           "restartCount": 3},
                          {"name": "cache", "state": "running", "containerId": "beef42"}]},
            {"name": "db", "phase": "Pending", "services": []},
        ],
    }


def main(tests):
    """Run test functions in order; print a result line per test; exit 1 on the first failure."""
    for t in tests:
        start = time.monotonic()
        try:
            t()
        except SystemExit:
            raise
        except BaseException:
            print(f"FAIL {t.__name__}")
            raise
        print(f"ok   {t.__name__} ({time.monotonic() - start:.2f}s)")
