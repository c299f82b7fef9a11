# SPDX-License-Identifier: Apache-2.0
"""The README's first command, `sudo scripts/dev-cluster up`, on a fresh Debian 12 with systemd as
PID 1 and a clean copy of the source tree (the tracked files only).

The image already holds what dev-cluster would apt-get (systemd_image.DEV_PACKAGES), so the test
needs no network; the rest is exactly what a newcomer runs: up (build, daemons as transient
units, node Ready, the examples' image made without a registry), the printed caractrl commands
(their CARA_TOKEN line must set a working token), examples/hello.yaml, status, down (no zombie
left), up again as a user with sudo (its printed lines, with sudo, work too), purge.  The agent
inside uses the host's dockerd through the mounted socket."""

import os
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cara_fixtures  # noqa: E402
import systemd_image  # noqa: E402
from test_systemd import StepFailed, free_port, poll, run  # noqa: E402

TEST_IMAGE = "cara-test/busybox:latest"
EXAMPLE_IMAGE = "caravanserai/busybox:local"
SRC = "/srv/caravanserai"  # where a user other than root can read it


def log(msg):
    print(msg, flush=True)


class DevCluster:
    def __init__(self):
        self.source = os.environ["CARA_SOURCE_DIR"]
        self.container = f"cara-e2e-dev-{os.getpid()}"
        self.node = f"dev-{os.getpid()}"
        self.port = free_port()
        self.env = {"CARA_DEV_PORT": str(self.port), "CARA_DEV_AGENT_PORT": str(free_port()),
                    "CARA_DEV_PROXY_PORT": str(free_port()), "CARA_DEV_NODE": self.node}
        self.started = False
        self.failures = []
        self.exports = ""

    def sh(self, script, check=True, timeout=120):
        cmd = ["docker", "exec"]
        for k, v in self.env.items():
            cmd += ["-e", f"{k}={v}"]
        cmd += [self.container, "bash", "-c", f"cd {SRC} 2>/dev/null; " + script]
        return run(cmd, check=check, timeout=timeout)

    def check(self, name, fn):
        log(f"--- {name}")
        t0 = time.monotonic()
        try:
            msg = fn() or ""
            log(f"ok: {name} ({time.monotonic() - t0:.1f}s) {msg}")
            return True
        except (StepFailed, subprocess.TimeoutExpired) as e:
            log(f"FAIL: {name}: {e}")
            self.failures.append(name)
            return False

    def boot(self):
        image = systemd_image.ensure_image(systemd_image.PACKAGES + systemd_image.DEV_PACKAGES)
        run(["docker", "run", "-d", "--name", self.container,
             "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--cgroupns=host",
             "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock",
             "--tmpfs", "/tmp", "-e", "container=docker", "--network", "host",
             "-v", "/var/run/docker.sock:/var/run/docker.sock", "--label", "cara-e2e=1",
             image, "/sbin/init"])
        self.started = True
        poll(lambda: self.sh("systemctl is-system-running", check=False).stdout.strip()
             in ("running", "degraded"), 90, "systemd to finish booting")
        # The host's dockerd answers on the mounted socket; the image's own would fight over it.
        self.sh("systemctl mask --now docker.socket docker.service containerd.service >/dev/null 2>&1;"
                f"getent group docker >/dev/null || groupadd -o -g {os.stat('/var/run/docker.sock').st_gid} docker",
                check=False)
        # A clean copy of the source: the tracked files, as a fresh clone has them.
        if os.path.isdir(os.path.join(self.source, ".git")):
            files = run(["git", "-C", self.source, "ls-files", "-z"]).stdout.split("\0")
            files = [f for f in files if f and os.path.lexists(os.path.join(self.source, f))]
        else:
            files = [os.path.relpath(os.path.join(d, f), self.source)
                     for d, dirs, fs in os.walk(self.source)
                     for f in fs if not os.path.relpath(d, self.source).startswith("build")]
        self.sh(f"mkdir -p {SRC}", check=True)
        tar = subprocess.Popen(["tar", "-C", self.source, "--null", "-T", "-", "-c"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        unpack = subprocess.Popen(["docker", "exec", "-i", self.container, "tar", "-C",
                                   SRC, "-x"], stdin=tar.stdout)
        tar.stdout.close()
        tar.stdin.write("\0".join(files).encode())
        tar.stdin.close()
        if tar.wait() != 0 or unpack.wait() != 0:
            raise StepFailed("copying the source tree into the container failed")
        return f"{image}, {len(files)} source files"

    def up(self):
        # dev-cluster must make the examples' image itself (not in use: docker refuses then)
        run(["docker", "rmi", EXAMPLE_IMAGE], check=False)
        r = self.sh("scripts/dev-cluster up 2>&1", check=False, timeout=600)
        out = r.stdout
        log(out[-2500:])
        if r.returncode != 0:
            raise StepFailed(f"`scripts/dev-cluster up` exited {r.returncode}")
        if "installing " in out:
            raise StepFailed("dev-cluster wanted to apt-get packages the image already has "
                             "(add them to systemd_image.DEV_PACKAGES)")
        for want in [f"node {self.node} is Ready", f"export CARA_SERVER=http://127.0.0.1:{self.port}",
                     "caractrl get nodes"]:
            if want not in out:
                raise StepFailed(f"the output does not say {want!r}")
        units = self.sh("systemctl is-active cara-dev-server cara-dev-agent", check=False).stdout.split()
        if units != ["active", "active"]:
            raise StepFailed(f"transient units are {units}, expected both active")
        label = run(["docker", "image", "inspect", "--format",
                     '{{index .Config.Labels "org.caravanserai.image"}}', EXAMPLE_IMAGE], check=False)
        if label.stdout.strip() != "busybox":
            raise StepFailed(f"up did not make {EXAMPLE_IMAGE}: {label.stdout}{label.stderr}")
        # root without sudo: nothing printed may need sudo (this image has it, a root box may not)
        if "sudo " in out.split("Caravanserai is up", 1)[-1]:
            raise StepFailed("as root, the printed lines use sudo")
        # The printed export lines, pasted into a shell as a newcomer would.
        self.exports = "".join(l.strip() + "; " for l in out.splitlines() if l.startswith("  export "))
        self.check_token(self.exports)
        return f"node Ready, {EXAMPLE_IMAGE} made, instructions printed, token works, transient units active"

    def check_token(self, exports, user=None):
        """The printed CARA_TOKEN line sets a token the server takes as an admin's."""
        if "CARA_TOKEN=" not in exports:
            raise StepFailed(f"no CARA_TOKEN line printed: {exports}")
        script = (exports + 'test -n "$CARA_TOKEN" || { echo empty token; exit 1; }; '
                  'curl -fsS -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $CARA_TOKEN" '
                  '"$CARA_SERVER/api/v1/nodes"')
        if user:
            script = f"su {user} -c {shlex.quote(script)}"
        r = self.sh(script, check=False)
        if r.returncode != 0 or r.stdout.strip() != "200":
            raise StepFailed(f"the printed CARA_TOKEN line does not give a working token"
                             f"{' as ' + user if user else ''}: {r.stdout}{r.stderr}")

    def use(self):
        ctl = "export NO_COLOR=1; " + self.exports
        out = self.sh(ctl + "caractrl get nodes").stdout
        if self.node not in out or "Ready" not in out:
            raise StepFailed(f"caractrl get nodes:\n{out}")
        # the quick start's example as it is, but on a free port (the container shares the host's)
        self.hello_port = free_port()
        self.sh(f"sed -e 's/name: hello$/name: devhello/' -e 's/hostPort: 8088/hostPort: {self.hello_port}/' "
                "examples/hello.yaml > /root/devhello.yaml")
        r = self.sh(ctl + "caractrl apply -f /root/devhello.yaml --wait", check=False, timeout=180)
        if r.returncode != 0:
            raise StepFailed(f"caractrl apply --wait exited {r.returncode}:\n{r.stdout}{r.stderr}")
        out = self.sh(ctl + "caractrl get projects").stdout
        if "devhello" not in out or "Running" not in out:
            raise StepFailed(f"caractrl get projects:\n{out}")
        page = poll(lambda: "Hello from Caravanserai" in self.sh(
            f"curl -fsS --max-time 5 http://127.0.0.1:{self.hello_port}/", check=False).stdout, 30,
            "the example's page")
        if not page:
            raise StepFailed("examples/hello.yaml serves no page")
        bus = self.sh("busctl introspect org.caravanserai.Agent /org/caravanserai/Agent", check=False)
        if "org.caravanserai.Agent1" not in bus.stdout:
            raise StepFailed(f"the agent is not on the system bus: {bus.stdout}{bus.stderr}")
        j = self.sh("journalctl -u cara-dev-server -o cat --no-pager | grep -c devhello || true").stdout.strip()
        if j in ("", "0"):
            raise StepFailed("journalctl -u cara-dev-server says nothing about devhello")
        st = self.sh("scripts/dev-cluster status").stdout
        if f"node {self.node}: Ready" not in st:
            raise StepFailed(f"dev-cluster status:\n{st}")
        return "get nodes, apply --wait, get projects, busctl, journalctl, status"

    def down(self):
        self.sh("scripts/dev-cluster down 2>&1", timeout=120)
        units = self.sh("systemctl is-active cara-dev-server cara-dev-agent", check=False).stdout.split()
        if "active" in units:
            raise StepFailed(f"units after down: {units}")
        st = self.sh("scripts/dev-cluster status").stdout
        if "not answering" not in st:
            raise StepFailed(f"the server still answers after down:\n{st}")
        zombies = self.sh("ps -eo stat=,pid=,comm= | awk '$1 ~ /^Z/'", check=False).stdout.strip()
        if zombies:
            raise StepFailed(f"zombies after down:\n{zombies}")
        # up again, as a user with sudo (no sudo typed): the state is kept, the project comes
        # back without being re-applied, and the printed lines work for that user
        self.sh("id dev >/dev/null 2>&1 || useradd -m -s /bin/bash dev; "
                "echo 'dev ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/dev; chmod 0440 /etc/sudoers.d/dev")
        env = " ".join(f"{k}={v}" for k, v in self.env.items())
        r = self.sh(f"su dev -c 'cd {SRC} && {env} scripts/dev-cluster up 2>&1'", check=False, timeout=300)
        if r.returncode != 0:
            raise StepFailed(f"up as a user with sudo exited {r.returncode}:\n{r.stdout[-2500:]}")
        exports = "".join(l.strip() + "; " for l in r.stdout.splitlines() if l.startswith("  export "))
        if "$(sudo cat " not in exports:
            raise StepFailed(f"as a sudo user, the token line does not use sudo: {exports}")
        self.check_token(exports, user="dev")
        out = self.sh(f"su dev -c {shlex.quote(exports + 'caractrl get projects')}").stdout
        if "devhello" not in out:
            raise StepFailed(f"after down and up the project is gone:\n{out}")
        return "units stopped, no zombie; up again as a sudo user keeps the project, its token works"

    def purge(self):
        self.sh("scripts/dev-cluster purge 2>&1", timeout=120)
        left = self.sh("ls /var/lib/caravanserai-dev 2>/dev/null | wc -l").stdout.strip()
        if left != "0":
            raise StepFailed("/var/lib/caravanserai-dev still has files after purge")
        ids = run(["docker", "ps", "-aq", "--filter", f"label=cara.node={self.node}"]).stdout.split()
        if ids:
            raise StepFailed(f"containers of node {self.node} left after purge: {ids}")
        return "state and containers removed"

    def cleanup(self):
        if self.started and os.environ.get("CARA_E2E_KEEP") != "1":
            subprocess.run(["docker", "rm", "-f", self.container], capture_output=True)
        cara_fixtures.docker_cleanup(f"cara.node={self.node}")
        # the examples' image this test made (docker refuses while a container uses it)
        subprocess.run(["docker", "rmi", EXAMPLE_IMAGE], capture_output=True)


def main():
    if os.geteuid() != 0:
        cara_fixtures.skip("needs root (debootstrap, docker)")
    for tool in ["docker", "debootstrap"]:
        if shutil.which(tool) is None:
            cara_fixtures.skip(f"{tool} is not installed")
    if "CARA_SOURCE_DIR" not in os.environ:
        cara_fixtures.skip("run through meson test (CARA_SOURCE_DIR unset)")
    cara_fixtures.ensure_dockerd()
    cara_fixtures.ensure_busybox_image(TEST_IMAGE)

    d = DevCluster()
    try:
        for name, fn in [("fresh Debian 12 with systemd and a clean source tree", d.boot),
                         ("scripts/dev-cluster up (as root)", d.up),
                         ("the printed caractrl commands work", d.use),
                         ("scripts/dev-cluster down (and up again as a sudo user)", d.down),
                         ("scripts/dev-cluster purge", d.purge)]:
            if not d.check(name, fn):
                if d.started:
                    log(d.sh("journalctl -u cara-dev-server -u cara-dev-agent -n 60 --no-pager",
                             check=False).stdout)
                break
    finally:
        d.cleanup()
    sys.exit(1 if d.failures else 0)


if __name__ == "__main__":
    main()
