# SPDX-License-Identifier: Apache-2.0
"""The Debian packages, installed, upgraded, removed and purged in a booted Debian 12 systemd.

Builds the packages twice from a copy of the source tree (dpkg-buildpackage -us -uc -b; the second
time with a newer changelog version) and checks the first with lintian (no error).  Then, in the
container of test_systemd.py (same cached image, same boot): `apt-get install ./*.deb` leaves the
units enabled but not running; with server.conf and agent.conf edited as an admin would (a join
token both share), `systemctl enable --now cara-server.socket cara-agent.socket` gives a working
one-node cluster: `caractrl apply` a project until Running.  Installing the newer build restarts
both daemons and keeps the project and its containers; `apt-get remove` leaves no unit or process
running and keeps the state; `apt-get purge` leaves no state, configuration or enablement behind.

The image has no docker.io (its dockerd would fight over the mounted host socket): a stub package
providing docker-engine stands for the host's Docker, as the test_systemd.py notes explain.

Environment: CARA_E2E_KEEP=1 keeps the container for debugging."""

import os
import secrets
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # importing test_systemd must leave no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cara_fixtures  # noqa: E402  (tests/lib through PYTHONPATH)
import test_systemd  # noqa: E402  (the booted-container driver)
from test_systemd import PROJECT, StepFailed, log, poll, run, skip  # noqa: E402

PACKAGES = ["cara-server", "cara-agent", "caractrl"]
UNITS = ["cara-server.socket", "cara-server.service", "cara-agent.socket", "cara-agent.service"]
STUB = "cara-e2e-host-docker"


def copy_source(src, dst):
    """The tracked and untracked-but-not-ignored files of the tree, as dpkg-buildpackage sees a
    clean checkout (no build directories)."""
    r = run(["git", "-C", src, "ls-files", "-z", "-c", "-o", "--exclude-standard"], check=False)
    if r.returncode == 0:
        for rel in filter(None, r.stdout.split("\0")):
            if rel.startswith(("build", "obj-")) or not os.path.lexists(os.path.join(src, rel)):
                continue
            os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
            shutil.copy2(os.path.join(src, rel), os.path.join(dst, rel), follow_symlinks=False)
    else:  # not a git checkout (a release tarball)
        shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("build*", "obj-*", ".git"))


class DebE2E(test_systemd.E2E):
    def __init__(self):
        super().__init__()
        self.container = f"cara-e2e-deb-{os.getpid()}"
        self.node = f"e2e-deb-{os.getpid()}"
        self.work = os.path.join(os.environ["CARA_BUILD_DIR"], "e2e-deb")
        self.debs = {}  # version -> [paths]
        self.versions = []
        self.join_token = secrets.token_hex(16)

    def cleanup(self):
        super().cleanup()
        if os.environ.get("CARA_E2E_KEEP") != "1":
            shutil.rmtree(self.work, ignore_errors=True)

    # --- building --------------------------------------------------------------------------

    def build_one(self, name, version=None):
        src = os.path.join(self.work, name, "src")
        shutil.rmtree(os.path.join(self.work, name), ignore_errors=True)
        os.makedirs(src)
        copy_source(self.source, src)
        if version:
            with open(os.path.join(src, "debian", "changelog")) as f:
                old = f.read()
            with open(os.path.join(src, "debian", "changelog"), "w") as f:
                f.write(f"caravanserai ({version}) unstable; urgency=medium\n\n"
                        "  * Rebuild to test upgrades (tests/e2e/test_deb.py).\n\n"
                        " -- Caravanserai e2e <e2e@localhost>  Thu, 26 Nov 2026 12:00:00 +0000\n\n"
                        + old)
        # The unit suite has its own meson test; the packaging is what is tested here.
        env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck", LC_ALL="C.UTF-8")
        r = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env, check=False, timeout=900)
        if r.returncode != 0:
            raise StepFailed("dpkg-buildpackage failed:\n" + (r.stdout + r.stderr)[-4000:])
        v = run(["dpkg-parsechangelog", "-S", "Version"], cwd=src).stdout.strip()
        out = os.path.dirname(src)
        debs = sorted(os.path.join(out, f) for f in os.listdir(out) if f.endswith(".deb"))
        names = {os.path.basename(d).split("_")[0] for d in debs}
        wanted = set(PACKAGES) | {p + "-dbgsym" for p in PACKAGES}
        if names != wanted:
            raise StepFailed(f"built {sorted(names)}, expected {sorted(wanted)}")
        self.debs[v] = [d for d in debs if os.path.basename(d).split("_")[0] in PACKAGES]
        self.versions.append(v)
        return out, v

    def build_both(self):
        out, v1 = self.build_one("v1")
        _, v2 = self.build_one("v2", version=v1 + "+e2e1")
        r = run(["dpkg", "--compare-versions", v2, "gt", v1], check=False)
        if r.returncode != 0:
            raise StepFailed(f"{v2} is not newer than {v1}")
        return f"{v1} and {v2}: " + ", ".join(os.path.basename(d) for d in self.debs[v1])

    def lintian(self):
        if shutil.which("lintian") is None:
            raise StepFailed("lintian is not installed (apt-get install lintian)")
        out = os.path.join(self.work, "v1")
        changes = [os.path.join(out, f) for f in os.listdir(out) if f.endswith(".changes")]
        r = run(["lintian", "--fail-on", "error", "-I", "--pedantic", *changes], check=False, timeout=600)
        tags = [l for l in r.stdout.splitlines() if l[:2] in ("E:", "W:", "I:", "P:")]
        errors = [l for l in tags if l.startswith("E:")]
        if r.returncode != 0 or errors:
            raise StepFailed(f"lintian (rc {r.returncode}):\n" + "\n".join(tags or [r.stderr[-2000:]]))
        warnings = [l for l in tags if l.startswith("W:")]
        return f"no error, {len(warnings)} warnings, {len(tags)} tags in all"

    # --- in the container ------------------------------------------------------------------

    def copy_in(self, version):
        d = f"/root/debs/{version}"
        self.sh(f"rm -rf {d} && mkdir -p {d}")
        for deb in self.debs[version]:
            run(["docker", "cp", deb, f"{self.container}:{d}/"])
        return d

    def host_docker_stub(self):
        # The Docker socket is the host's, owned by the host's docker group: the same gid must be
        # "docker" inside (SupplementaryGroups=docker), as docker.io would create it.
        gid = os.stat("/var/run/docker.sock").st_gid
        self.sh(f"""set -e
getent group docker >/dev/null || groupadd -o -g {gid} docker
mkdir -p /root/stub/DEBIAN
printf 'Package: {STUB}\\nVersion: 1\\nArchitecture: all\\nMaintainer: e2e <e2e@localhost>\\nProvides: docker-engine\\nDescription: the host dockerd through the mounted socket\\n' \\
  > /root/stub/DEBIAN/control
dpkg-deb -b /root/stub /root/{STUB}.deb >/dev/null
dpkg -i /root/{STUB}.deb >/dev/null""")
        return f"{STUB} provides docker-engine; group docker = host gid {gid}"

    def unit_states(self):
        active = self.sh("systemctl is-active " + " ".join(UNITS), check=False).stdout.split()
        enabled = self.sh("systemctl is-enabled " + " ".join(UNITS), check=False).stdout.split()
        return dict(zip(UNITS, active)), dict(zip(UNITS, enabled))

    def apt_install_v1(self):
        v1 = self.versions[0]
        d = self.copy_in(v1)
        r = self.sh(f"cd {d} && apt-get install -y --no-install-recommends ./*.deb 2>&1", check=False,
                    timeout=300, env={"DEBIAN_FRONTEND": "noninteractive"})
        if r.returncode != 0:
            raise StepFailed(f"apt-get install ./*.deb exited {r.returncode}:\n{r.stdout[-3000:]}")
        for p in PACKAGES:
            st = self.sh(f"dpkg-query -W -f '${{Status}} ${{Version}}' {p}").stdout.strip()
            if st != f"install ok installed {v1}":
                raise StepFailed(f"{p}: {st!r}")
        active, enabled = self.unit_states()
        running = [u for u, s in active.items() if s != "inactive"]
        if running:
            raise StepFailed(f"installing started units (they must only be enabled): {active}")
        not_enabled = [u for u, s in enabled.items() if s != "enabled"]
        if not_enabled:
            raise StepFailed(f"units not enabled by the packages: {enabled}")
        self.sh("id caravanserai")
        # Both daemons' packages carry the same sysusers.d and tmpfiles.d lines: as at boot, reading
        # every file must not complain about them.
        noise = [l for l in self.sh("systemd-sysusers 2>&1; systemd-tmpfiles --create 2>&1; true").stdout
                 .splitlines() if "cara" in l]
        if noise:
            raise StepFailed("systemd-sysusers/systemd-tmpfiles complain:\n" + "\n".join(noise))
        modes = self.sh("stat -c '%n %a %U %G' /etc/caravanserai/server.conf "
                        "/etc/caravanserai/agent.conf").stdout.split("\n")
        for line in filter(None, modes):
            if not line.endswith(" 640 root caravanserai"):
                raise StepFailed(f"configuration file mode/owner: {line!r}, wanted 640 root caravanserai")
        man = self.sh("ls /usr/share/man/man1/caractrl.1.gz /usr/share/man/man8/cara-server.8.gz "
                      "/usr/share/man/man8/cara-agent.8.gz /usr/share/man/man5/caravanserai.conf.5.gz "
                      "/usr/share/bash-completion/completions/caractrl "
                      "/usr/share/zsh/vendor-completions/_caractrl "
                      "/usr/share/locale/zh_TW/LC_MESSAGES/caravanserai.mo "
                      "/usr/share/dbus-1/system.d/org.caravanserai.Agent.conf", check=False)
        if man.returncode != 0:
            raise StepFailed("files missing after installation:\n" + man.stderr)
        return f"{', '.join(PACKAGES)} {v1}: units enabled, none running; user caravanserai; *.conf 0640"

    def configure_both(self):
        self.configure()  # socket ports through drop-ins, as `systemctl edit` would
        # The admin's edits of the two conffiles: one join token shared by server and agent.
        self.sh(f"""set -e
printf 'join_token={self.join_token}\\n' >> /etc/caravanserai/server.conf
cat >> /etc/caravanserai/agent.conf <<'EOF'
server_url={self.server_url}
node_name={self.node}
advertise_ip=127.0.0.1
listen_port={self.agent_port}
proxy_listen_addr=127.0.0.1:{self.proxy_port}
heartbeat_interval=2s
token={self.join_token}
EOF""")
        return "join_token in server.conf, server_url/node_name/token in agent.conf"

    def enable_now(self):
        self.sh("systemctl enable --now cara-server.socket cara-agent.socket")

        def both_active():
            self.check_not_failing("cara-server")
            self.check_not_failing("cara-agent")
            active, _ = self.unit_states()
            return all(s == "active" for s in active.values()) and active
        poll(both_active, 180, "both sockets and both services to be active")
        tok = self.sh("cat /var/lib/caravanserai/admin.token").stdout.strip()
        self.admin_token = tok
        poll(lambda: self.api("GET", "/api/healthz")[0] == 200, 30, "GET /api/healthz == 200")
        return "cara-server and cara-agent active (sockets and services)"

    def node_is_ready(self):
        code, body = self.api("GET", f"/api/v1/nodes/{self.node}")
        return code == 200 and ((body or {}).get("status") or {}).get("state") == "Ready"

    def main_pids(self):
        return {u: self.sh(f"systemctl show -p MainPID --value {u}.service").stdout.strip()
                for u in ["cara-server", "cara-agent"]}

    def upgrade(self):
        v1, v2 = self.versions
        before = self.main_pids()
        d = self.copy_in(v2)
        r = self.sh(f"cd {d} && apt-get install -y --no-install-recommends ./*.deb 2>&1", check=False,
                    timeout=300, env={"DEBIAN_FRONTEND": "noninteractive"})
        if r.returncode != 0:
            raise StepFailed(f"apt-get install of {v2} exited {r.returncode}:\n{r.stdout[-3000:]}")
        for p in PACKAGES:
            v = self.sh(f"dpkg-query -W -f '${{Version}}' {p}").stdout.strip()
            if v != v2:
                raise StepFailed(f"{p} is at {v!r} after the upgrade, expected {v2}")

        def restarted():
            self.check_not_failing("cara-server")
            self.check_not_failing("cara-agent")
            active, _ = self.unit_states()
            now = self.main_pids()
            return (all(s == "active" for s in active.values())
                    and all(now[u] not in ("0", before[u]) for u in now)) and now
        after = poll(restarted, 120, "both services to run again, restarted by the upgrade")
        poll(lambda: self.api("GET", "/api/healthz")[0] == 200, 30, "healthz after the upgrade")
        poll(self.node_is_ready, 60, "the node to be Ready again")
        # The project survived in the private PostgreSQL and its containers were adopted.
        self.same_containers(f"the upgrade to {v2}")
        return f"{v1} -> {v2}; MainPIDs {before} -> {after}; project {PROJECT} Running, same containers"

    def remove(self):
        r = self.sh("apt-get remove -y " + " ".join(PACKAGES) + " 2>&1", check=False, timeout=300,
                    env={"DEBIAN_FRONTEND": "noninteractive"})
        if r.returncode != 0:
            raise StepFailed(f"apt-get remove exited {r.returncode}:\n{r.stdout[-3000:]}")
        units = self.sh("systemctl list-units --all --no-legend --plain 'cara-*'").stdout.strip()
        running = [l for l in units.splitlines() if " active " in f" {l} " or "activating" in l]
        if running:
            raise StepFailed("units still running after apt-get remove:\n" + units)
        procs = self.sh("pgrep -a -u caravanserai || true").stdout.strip()
        if procs:
            raise StepFailed("processes of caravanserai left after apt-get remove:\n" + procs)
        # remove keeps configuration and state (purge is for those)
        self.sh("test -f /etc/caravanserai/agent.conf && test -d /var/lib/caravanserai/postgresql")
        return "no cara unit or caravanserai process left; configuration and state kept"

    def purge(self):
        r = self.sh("apt-get purge -y " + " ".join(PACKAGES) + " 2>&1", check=False, timeout=300,
                    env={"DEBIAN_FRONTEND": "noninteractive"})
        if r.returncode != 0:
            raise StepFailed(f"apt-get purge exited {r.returncode}:\n{r.stdout[-3000:]}")
        # The socket drop-ins are the test's own (an admin's), not the packages'.
        self.sh("rm -rf /etc/systemd/system/cara-server.socket.d /etc/systemd/system/cara-agent.socket.d")
        left = self.sh("ls -d /var/lib/caravanserai /etc/caravanserai /run/cara-server /run/cara-agent "
                       "2>/dev/null; find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled "
                       "-name 'cara-*' 2>/dev/null; dpkg-statoverride --list | grep caravanserai; "
                       "dpkg-query -W -f '${db:Status-Abbrev} ${Package}\\n' " + " ".join(PACKAGES) +
                       " 2>/dev/null | grep -v '^[up]n'; true").stdout.strip()
        if left:
            raise StepFailed("left behind after apt-get purge:\n" + left)
        return "no state, configuration, enablement link, statoverride or package left"


def main():
    if os.geteuid() != 0:
        skip("needs root (debootstrap, docker, dpkg-buildpackage)")
    for tool in ["docker", "debootstrap", "dpkg-buildpackage", "dh", "git"]:
        if shutil.which(tool) is None:
            skip(f"{tool} is not installed (apt-get install debhelper dpkg-dev debootstrap)")
    cara_fixtures.ensure_dockerd()
    if "CARA_SOURCE_DIR" not in os.environ or "CARA_BUILD_DIR" not in os.environ:
        skip("run through meson test (CARA_SOURCE_DIR/CARA_BUILD_DIR unset)")

    e = DebE2E()
    steps = [
        ("dpkg-buildpackage -us -uc -b, twice (two changelog versions)", e.build_both),
        ("lintian: no error", e.lintian),
        ("systemd image and test image", e.images),
        ("boot Debian 12 with systemd as PID 1", e.boot),
        ("the host's Docker stands for docker.io", e.host_docker_stub),
        ("apt-get install ./*.deb: enabled, not started", e.apt_install_v1),
        ("socket ports, server.conf and agent.conf as an admin edits them", e.configure_both),
        ("systemctl enable --now cara-server.socket cara-agent.socket", e.enable_now),
        ("agent registers, node Ready", e.node_ready),
        (f"caractrl apply -f {PROJECT}.yaml until Running", e.apply),
        ("busctl introspect org.caravanserai.Agent (the packaged bus policy)", e.busctl),
        ("apt-get install of the newer build keeps the project", e.upgrade),
        ("apt-get remove leaves nothing running", e.remove),
        ("apt-get purge leaves no state", e.purge),
    ]
    independent = {e.lintian, e.busctl}
    sys.exit(e.run_steps(steps, independent))


if __name__ == "__main__":
    main()
