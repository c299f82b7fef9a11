# SPDX-License-Identifier: Apache-2.0
"""The whole system inside a real systemd, driven exactly as a user would.

Builds the project with --prefix=/usr (a build dir of its own under $CARA_BUILD_DIR), installs it
with DESTDIR into a Debian 12 container that boots systemd as PID 1 (image from systemd_image.py,
cached), then inside: systemctl enable --now cara-server.socket / cara-agent.socket, the agent
registers, `caractrl apply -f` a two-service project `web` until Running, journalctl and busctl show
what they should, reload/restart keep the project's containers untouched, and
`caractrl delete project web` removes them.  The agent inside uses the host's dockerd through the
mounted socket.  Every step prints ok/FAIL with what it saw; the container is removed at the end.

Environment: CARA_E2E_KEEP=1 keeps the container for debugging; CARA_E2E_BUILD_DIR overrides the
--prefix=/usr build directory."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cara_fixtures  # noqa: E402  (tests/lib through PYTHONPATH)
import systemd_image  # noqa: E402

PROJECT = "web"
TEST_IMAGE = "cara-test/busybox:latest"


def skip(reason):
    print("SKIP: " + reason, flush=True)
    sys.exit(77)


def log(msg):
    print(msg, flush=True)


class StepFailed(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, check=True, timeout=600, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise StepFailed(f"`{' '.join(cmd)}` exited {r.returncode}:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    return r


def poll(pred, timeout, what, interval=0.25):
    """Calls pred until it returns something true; its last value or exception explains a timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = pred()
            if v:
                return v
            last = v
        except StepFailed as e:
            last = e
        if time.monotonic() > deadline:
            raise StepFailed(f"timed out after {timeout:.0f}s waiting for {what} (last: {last})")
        time.sleep(interval)


class E2E:
    def __init__(self):
        self.source = os.environ["CARA_SOURCE_DIR"]
        self.build = os.environ.get("CARA_E2E_BUILD_DIR") or os.path.join(
            os.environ["CARA_BUILD_DIR"], "e2e-prefix-usr")
        self.stage = None
        self.container = f"cara-e2e-{os.getpid()}"
        self.node = f"e2e-{os.getpid()}"
        self.server_port = free_port()
        self.agent_port = free_port()
        self.proxy_port = free_port()
        self.server_url = f"http://127.0.0.1:{self.server_port}"
        self.admin_token = None
        self.started = False
        self.results = []  # (name, ok, message)
        self.container_ids = None

    # --- helpers -------------------------------------------------------------------------------

    def sh(self, script, check=True, timeout=120, env=None):
        cmd = ["docker", "exec"]
        for k, v in (env or {}).items():
            cmd += ["-e", f"{k}={v}"]
        cmd += [self.container, "sh", "-c", script]
        return run(cmd, check=check, timeout=timeout)

    def ctl(self, args, check=True, timeout=60):
        # As a user on the server's machine: root, no token given (caractrl finds the admin token).
        return self.sh("caractrl " + args, check=check, timeout=timeout,
                       env={"CARA_SERVER": self.server_url, "NO_COLOR": "1"})

    def api(self, method, path, body=None):
        headers = {"Accept": "application/json"}
        if self.admin_token:
            headers["Authorization"] = "Bearer " + self.admin_token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.server_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                raw = r.read()
                try:
                    return r.status, json.loads(raw) if raw else None
                except ValueError:  # /api/healthz answers text
                    return r.status, raw.decode(errors="replace")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode(errors="replace")
        except (urllib.error.URLError, OSError) as e:
            raise StepFailed(f"{method} {path}: {e}")

    def project_containers(self):
        r = run(["docker", "ps", "-a", "-q", "--no-trunc", "--filter", f"label=cara.project={PROJECT}",
                 "--filter", f"label=cara.node={self.node}"])
        ids = sorted(r.stdout.split())
        if not ids:
            return {}
        r = run(["docker", "inspect", "--format",
                 "{{.Id}} {{.State.Status}} {{.State.StartedAt}} {{index .Config.Labels \"cara.service\"}}",
                 *ids])
        out = {}
        for line in r.stdout.splitlines():
            cid, status, started, svc = line.split(" ", 3)
            out[svc] = (cid, status, started)
        return out

    def step(self, name, fn):
        log(f"--- {name}")
        t0 = time.monotonic()
        try:
            msg = fn() or ""
            self.results.append((name, True, msg))
            log(f"ok: {name} ({time.monotonic() - t0:.1f}s) {msg}")
            return True
        except StepFailed as e:
            self.results.append((name, False, str(e)))
            log(f"FAIL: {name}: {e}")
        except Exception as e:  # noqa: BLE001 - a broken step must still report and clean up
            self.results.append((name, False, repr(e)))
            log(f"FAIL: {name}: {e!r}\n{traceback.format_exc()}")
        return False

    # --- steps ---------------------------------------------------------------------------------

    def run_steps(self, steps, independent):
        """Runs (name, fn) steps in order, skips the rest after a failed one unless it is in
        @independent, always cleans up, prints a summary; returns the exit status."""
        try:
            blocked = None
            for name, fn in steps:
                if blocked:
                    self.results.append((name, False, f"not run: {blocked}"))
                    log(f"NOT RUN: {name} (after failed step: {blocked})")
                    continue
                if not self.step(name, fn) and fn not in independent:
                    blocked = name
                    if self.started:
                        log("--- journal of the cara units:\n" + self.journal("cara-server") +
                            self.journal("cara-agent"))
        finally:
            self.cleanup()

        failed = [r for r in self.results if not r[1]]
        log("\n=== e2e summary")
        for name, good, msg in self.results:
            log(f"{'ok  ' if good else 'FAIL'} {name}" + ("" if good else f": {msg.splitlines()[0][:200]}"))
        return 1 if failed else 0

    def build_project(self):
        if not os.path.exists(os.path.join(self.build, "meson-private", "coredata.dat")):
            run(["meson", "setup", "--prefix=/usr", "--sysconfdir=/etc", "--localstatedir=/var",
                 "--buildtype=debugoptimized", self.build, self.source], timeout=300)
        # Only what gets installed: a broken test program elsewhere must not block this suite.
        # Regenerate first when meson.build files changed, so the introspection below is current.
        run(["ninja", "-C", self.build, "build.ninja"], timeout=300)
        targets = json.loads(run(["meson", "introspect", "--targets", self.build]).stdout)
        outputs = [os.path.relpath(f, self.build) for t in targets if t.get("installed")
                   for f in t["filename"]]
        r = run(["ninja", "-C", self.build, *outputs], check=False, timeout=900)
        if r.returncode != 0:
            raise StepFailed("building with --prefix=/usr failed:\n" + (r.stdout + r.stderr)[-4000:])
        return f"{len(outputs)} installed targets built in {self.build}"

    def install_stage(self):
        self.stage = tempfile.mkdtemp(prefix="cara-e2e-stage-")
        os.chmod(self.stage, 0o755)  # it becomes / in the container
        run(["meson", "install", "-C", self.build, "--no-rebuild", "--quiet", "--destdir", self.stage])
        missing = [b for b in ["cara-server", "cara-agent", "caractrl"]
                   if not os.path.exists(os.path.join(self.stage, "usr/bin", b))]
        if missing:
            raise StepFailed("not installed by meson install: " + ", ".join(missing))
        return f"DESTDIR={self.stage}"

    def images(self):
        tag = systemd_image.ensure_image()
        self.image = tag
        cara_fixtures.ensure_busybox_image(TEST_IMAGE)
        return f"{tag}, {TEST_IMAGE}"

    def boot(self):
        run(["docker", "run", "-d", "--name", self.container,
             "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--cgroupns=host",
             "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock",
             "--tmpfs", "/tmp", "-e", "container=docker", "--network", "host",
             "-v", "/var/run/docker.sock:/var/run/docker.sock", "--label", "cara-e2e=1",
             self.image, "/sbin/init"])
        self.started = True

        def booted():
            r = self.sh("systemctl is-system-running", check=False)
            state = r.stdout.strip()
            if state in ("running", "degraded"):
                return state
            if state in ("starting", "initializing", ""):
                return None
            raise StepFailed(f"system state {state}")
        state = poll(booted, 90, "systemd to finish booting")
        if state == "degraded":
            failed = self.sh("systemctl --failed --no-legend --plain", check=False).stdout
            log(f"note: system is degraded (not caused by us): {failed.strip()}")
        return f"systemd is PID 1: {state}"

    def install_into_container(self):
        # What a package's maintainer scripts would do: unpack, create users and directories, reload.
        tar = subprocess.Popen(["tar", "-C", self.stage, "-c", "."], stdout=subprocess.PIPE)
        r = subprocess.run(["docker", "exec", "-i", self.container, "tar", "-C", "/", "-x",
                            "--keep-directory-symlink", "--no-overwrite-dir", "--no-same-owner"],
                           stdin=tar.stdout, capture_output=True, text=True)
        tar.stdout.close()
        tar.wait()
        if r.returncode != 0:
            raise StepFailed("unpacking into the container failed: " + r.stderr)
        # The Docker socket belongs to the host's docker group: the same gid must be "docker" inside
        # (the docker.io package would create it on a real machine).
        gid = os.stat("/var/run/docker.sock").st_gid
        self.sh(f"getent group docker >/dev/null || groupadd -o -g {gid} docker")
        # dbus-daemon drops policy for users that do not exist yet: reload once the user does.
        self.sh("systemd-sysusers && systemd-tmpfiles --create && systemctl daemon-reload && "
                "systemctl reload dbus.service")
        missing = self.sh("ldd /usr/bin/cara-server /usr/bin/cara-agent /usr/bin/caractrl | grep 'not found' || true").stdout
        if missing.strip():
            raise StepFailed("shared libraries missing in the image (add them to "
                             "systemd_image.PACKAGES):\n" + missing)
        self.sh("id caravanserai")
        return "installed; user caravanserai created by systemd-sysusers"

    def verify_units(self):
        r = self.sh("cd /usr/lib/systemd/system && systemd-analyze verify cara-server.socket "
                    "cara-server.service cara-agent.socket cara-agent.service 2>&1", check=False)
        out = r.stdout.strip()
        # man pages are not installed in the minimal image: that finding is not about our units
        out = "\n".join(l for l in out.splitlines() if "Command 'man " not in l)
        if out:
            raise StepFailed(f"systemd-analyze verify (rc {r.returncode}):\n" + out)
        return "systemd-analyze verify: clean"

    def configure(self):
        # Ports that do not collide with other tests on this host network: socket drop-ins, as
        # `systemctl edit` would write them.
        self.sh(f"""set -e
mkdir -p /etc/systemd/system/cara-server.socket.d /etc/systemd/system/cara-agent.socket.d
printf '[Socket]\\nListenStream=\\nListenStream=127.0.0.1:{self.server_port}\\n' \\
  > /etc/systemd/system/cara-server.socket.d/50-e2e.conf
printf '[Socket]\\nListenStream=\\nListenStream=127.0.0.1:{self.agent_port}\\n' \\
  > /etc/systemd/system/cara-agent.socket.d/50-e2e.conf
systemctl daemon-reload""")
        return f"server :{self.server_port}, agent :{self.agent_port}, node {self.node}"

    def start_server(self):
        self.sh("systemctl enable --now cara-server.socket")
        poll(lambda: self.sh("systemctl is-active cara-server.service", check=False).stdout.strip()
             in ("active",) or self._server_failed(), 180,
             "cara-server.service to become active (READY=1)")
        tok = self.sh("cat /var/lib/caravanserai/admin.token 2>/dev/null || true").stdout.strip()
        self.admin_token = tok or None
        code, body = poll(lambda: (lambda c: c if c[0] == 200 else None)(self.api("GET", "/api/healthz")),
                          30, "GET /api/healthz == 200")
        status = self.sh("systemctl show -p StatusText --value cara-server.service").stdout.strip()
        if not status:
            raise StepFailed("cara-server sends no STATUS= (systemctl show -p StatusText is empty)")
        return f"active, healthz 200, STATUS={status!r}, admin token {'found' if tok else 'not generated'}"

    def _server_failed(self):
        self.check_not_failing("cara-server")
        return False

    def check_not_failing(self, unit):
        """Fails at once when the unit failed or systemd keeps restarting it."""
        st = self.sh(f"systemctl is-active {unit}.service", check=False).stdout.strip()
        n = self.sh(f"systemctl show -p NRestarts --value {unit}.service", check=False).stdout.strip()
        if st == "failed" or (n.isdigit() and int(n) >= 2):
            raise StepFailed(f"{unit}.service is {st} after {n} restarts:\n" + self.journal(unit, 40))

    def start_agent(self):
        # /etc/caravanserai/agent.conf as the README says: where the server is, who we are, the
        # join token the server generated; readable by the agent's group only (it holds a secret).
        join = self.sh("cat /var/lib/caravanserai/join.token 2>/dev/null || true").stdout.strip()
        conf = "\n".join(["[agent]", f"server_url={self.server_url}", f"node_name={self.node}",
                          "advertise_ip=127.0.0.1", f"listen_port={self.agent_port}",
                          f"proxy_listen_addr=127.0.0.1:{self.proxy_port}", "heartbeat_interval=2s",
                          f"token={join}" if join else ""]) + "\n"
        r = subprocess.run(["docker", "exec", "-i", self.container, "sh", "-c",
                            "cat > /etc/caravanserai/agent.conf && "
                            "chown root:caravanserai /etc/caravanserai/agent.conf && "
                            "chmod 0640 /etc/caravanserai/agent.conf"],
                           input=conf, capture_output=True, text=True)
        if r.returncode != 0:
            raise StepFailed("writing agent.conf failed: " + r.stderr)
        self.sh("systemctl enable --now cara-agent.socket")

        def active():
            self.check_not_failing("cara-agent")
            return self.sh("systemctl is-active cara-agent.service", check=False).stdout.strip() == "active"
        poll(active, 90, "cara-agent.service to be started by the socket's Wants= and become active")
        sock = self.sh("systemctl is-active cara-agent.socket", check=False).stdout.strip()
        if sock != "active":
            raise StepFailed(f"cara-agent.socket is {sock}")
        return "enable --now cara-agent.socket started the agent"

    def node_ready(self):
        def ready():
            code, body = self.api("GET", f"/api/v1/nodes/{self.node}")
            if code != 200:
                return None
            return body if (body.get("status") or {}).get("state") == "Ready" else None
        poll(ready, 60, f"node {self.node} to register and be Ready")
        out = self.ctl("get nodes").stdout
        if self.node not in out:
            raise StepFailed(f"`caractrl get nodes` does not list {self.node}:\n{out}")
        # SPEC §9: the agent registered with its own node token, kept in the state directory 0600
        # for the agent's user (StateDirectory=), and heartbeats with it
        token = f"/var/lib/caravanserai/node-{self.node}.token"
        mode = self.sh(f"stat -c '%a %U' {token}", check=False).stdout.strip()
        if mode != "600 caravanserai":
            raise StepFailed(f"{token}: mode/owner {mode!r}, wanted '600 caravanserai'")
        return f"node {self.node} Ready (node token {token} 0600); caractrl get nodes lists it"

    def apply(self):
        manifest = f"""apiVersion: caravanserai/v1
kind: Project
metadata:
  name: {PROJECT}
spec:
  services:
    - name: www
      image: {TEST_IMAGE}
      command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    - name: client
      image: {TEST_IMAGE}
      command: ["sh", "-c", "while true; do wget -q -O /dev/null http://www:8080/ || true; sleep 5; done"]
      dependsOn: [www]
"""
        self.sh(f"cat > /root/{PROJECT}.yaml <<'EOF'\n{manifest}EOF")
        out = self.ctl(f"apply -f /root/{PROJECT}.yaml").stdout
        if f"project/{PROJECT}" not in out:
            raise StepFailed(f"caractrl apply printed {out!r}, expected 'project/{PROJECT} created'")

        def running():
            code, body = self.api("GET", f"/api/v1/projects/{PROJECT}")
            if code != 200:
                return None
            phase = (body.get("status") or {}).get("phase")
            if phase == "Failed":
                raise StepFailed(f"project went Failed: {json.dumps(body.get('status'))}")
            return phase == "Running"
        poll(running, 180, f"project {PROJECT} to be Running")
        cs = poll(lambda: (lambda c: c if len(c) == 2 and all(v[1] == "running" for v in c.values())
                           else None)(self.project_containers()), 30,
                  "two running containers labelled with the project and this node")
        self.container_ids = cs
        return f"{out.strip()}; Running; containers {', '.join(f'{k}={v[0][:12]}' for k, v in cs.items())}"

    def journal_server(self):
        out = self.sh("journalctl -u cara-server --no-pager -o cat").stdout
        hits = [l for l in out.splitlines() if PROJECT in l]
        if not hits:
            raise StepFailed("journalctl -u cara-server has no line about the request for "
                             f"{PROJECT}; it has:\n" + "\n".join(out.splitlines()[-30:]))
        return "e.g. " + hits[0][:120]

    def journal_project(self):
        out = self.sh(f"journalctl CARA_PROJECT={PROJECT} --no-pager -o json").stdout
        lines = [json.loads(l) for l in out.splitlines() if l.strip()]
        if not lines:
            raise StepFailed(f"journalctl CARA_PROJECT={PROJECT} shows nothing")
        units = sorted({l.get("_SYSTEMD_UNIT", "?") for l in lines})
        return f"{len(lines)} entries from {', '.join(units)}; e.g. {lines[-1].get('MESSAGE', '')[:100]!r}"

    def busctl(self):
        def introspect():
            self.check_not_failing("cara-agent")
            r = self.sh("busctl introspect org.caravanserai.Agent /org/caravanserai/Agent", check=False)
            if r.returncode != 0 or "org.caravanserai.Agent1" not in r.stdout:
                raise StepFailed(f"busctl introspect: rc {r.returncode}\n{r.stdout}{r.stderr}")
            return True
        poll(introspect, 15, "org.caravanserai.Agent on the system bus")
        name = self.sh("busctl get-property org.caravanserai.Agent /org/caravanserai/Agent "
                       "org.caravanserai.Agent1 NodeName", check=False).stdout.strip()
        if self.node not in name:
            raise StepFailed(f"NodeName property is {name!r}, expected {self.node}")
        return f"interface org.caravanserai.Agent1 on the system bus, NodeName {name}"

    def same_containers(self, what):
        now = self.project_containers()
        if now != self.container_ids:
            raise StepFailed(f"containers changed after {what}: before {self.container_ids}, after {now}")
        code, body = self.api("GET", f"/api/v1/projects/{PROJECT}")
        phase = (body.get("status") or {}).get("phase") if code == 200 else code
        if phase != "Running":
            raise StepFailed(f"project is {phase} after {what}")

    def reload_server(self):
        pid = self.sh("systemctl show -p MainPID --value cara-server").stdout.strip()
        self.sh("systemctl reload cara-server")
        poll(lambda: self.sh("systemctl is-active cara-server", check=False).stdout.strip() == "active",
             30, "cara-server to be active again after reload")
        pid2 = self.sh("systemctl show -p MainPID --value cara-server").stdout.strip()
        if pid != pid2:
            raise StepFailed(f"reload restarted the server (MainPID {pid} -> {pid2})")
        poll(lambda: self.api("GET", "/api/healthz")[0] == 200, 30, "healthz after reload")
        self.same_containers("systemctl reload cara-server")
        return f"same MainPID {pid}, API answers, containers untouched"

    def restart_agent(self):
        t0 = int(self.sh("date +%s%6N").stdout.strip())
        pid = self.sh("systemctl show -p MainPID --value cara-agent").stdout.strip()
        self.sh("systemctl restart cara-agent", timeout=120)
        pid2 = self.sh("systemctl show -p MainPID --value cara-agent").stdout.strip()
        if pid == pid2:
            raise StepFailed("the agent's MainPID did not change")

        def heartbeats():
            r = self.sh("busctl get-property org.caravanserai.Agent /org/caravanserai/Agent "
                        "org.caravanserai.Agent1 LastHeartbeat", check=False)
            parts = r.stdout.split()
            return len(parts) == 2 and int(parts[1]) > t0
        poll(heartbeats, 30, "the restarted agent to heartbeat (D-Bus LastHeartbeat)")
        # The restarted agent has adopted its containers; watch a few heartbeats for any change.
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            self.same_containers("systemctl restart cara-agent")
            time.sleep(1)
        return f"MainPID {pid} -> {pid2}, containers untouched"

    def delete(self):
        out = self.ctl(f"delete project {PROJECT}").stdout
        poll(lambda: not self.project_containers(), 120, "the project's containers to be removed")
        poll(lambda: self.api("GET", f"/api/v1/projects/{PROJECT}")[0] == 404, 60,
             "GET project to answer 404")
        return f"{out.strip()}; containers gone, project gone"

    def health_of_units(self):
        # Both were running for longer than WatchdogSec= on most runs: no automatic restarts means
        # the watchdog pings work.
        msgs = []
        for u in ["cara-server", "cara-agent"]:
            n = self.sh(f"systemctl show -p NRestarts --value {u}").stdout.strip()
            st = self.sh(f"systemctl is-active {u}", check=False).stdout.strip()
            if n != "0" or st != "active":
                raise StepFailed(f"{u}: {st}, NRestarts={n}\n" + self.journal(u))
            sec = self.sh(f"systemd-analyze security {u}.service --no-pager 2>&1 | tail -1",
                          check=False).stdout.strip()
            msgs.append(f"{u} active, no restarts; {sec}")
        return "; ".join(msgs)

    def journal(self, unit, n=80):
        try:
            return self.sh(f"journalctl -u {unit} --no-pager -n {n}", check=False).stdout
        except Exception:  # noqa: BLE001
            return ""

    def cleanup(self):
        if self.started and os.environ.get("CARA_E2E_KEEP") != "1":
            subprocess.run(["docker", "rm", "-f", self.container], capture_output=True)
        elif self.started:
            log(f"kept container {self.container} (CARA_E2E_KEEP=1)")
        # Whatever our agent left on the host's dockerd.
        cara_fixtures.docker_cleanup(f"cara.node={self.node}")
        if self.stage:
            shutil.rmtree(self.stage, ignore_errors=True)


def main():
    if os.geteuid() != 0:
        skip("needs root (debootstrap, docker)")
    for tool in ["docker", "debootstrap", "meson", "ninja"]:
        if shutil.which(tool) is None:
            skip(f"{tool} is not installed")
    cara_fixtures.ensure_dockerd()
    if "CARA_SOURCE_DIR" not in os.environ or "CARA_BUILD_DIR" not in os.environ:
        skip("run through meson test (CARA_SOURCE_DIR/CARA_BUILD_DIR unset)")

    e = E2E()
    steps = [
        ("build with --prefix=/usr", e.build_project),
        ("meson install --destdir", e.install_stage),
        ("systemd image and test image", e.images),
        ("boot Debian 12 with systemd as PID 1", e.boot),
        ("install into the container (sysusers, tmpfiles, daemon-reload)", e.install_into_container),
        ("systemd-analyze verify inside", e.verify_units),
        ("configure the socket ports through drop-ins", e.configure),
        ("systemctl enable --now cara-server.socket", e.start_server),
        ("agent.conf, then systemctl enable --now cara-agent.socket", e.start_agent),
        ("agent registers, node Ready", e.node_ready),
        (f"caractrl apply -f {PROJECT}.yaml until Running", e.apply),
        ("journalctl -u cara-server shows the request", e.journal_server),
        (f"journalctl CARA_PROJECT={PROJECT} shows the project's events", e.journal_project),
        ("busctl introspect org.caravanserai.Agent", e.busctl),
        ("systemctl reload cara-server keeps the project untouched", e.reload_server),
        ("systemctl restart cara-agent keeps the project untouched", e.restart_agent),
        ("both services healthy (watchdog, no restarts), security scores", e.health_of_units),
        (f"caractrl delete project {PROJECT} removes its containers", e.delete),
    ]
    # Steps whose failure does not stop the later ones.
    independent = {e.verify_units, e.journal_server, e.journal_project, e.busctl, e.health_of_units}
    sys.exit(e.run_steps(steps, independent))


if __name__ == "__main__":
    main()
