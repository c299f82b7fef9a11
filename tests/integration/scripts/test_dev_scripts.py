# SPDX-License-Identifier: Apache-2.0
"""scripts/dev-cluster and .ci/run before they touch anything: with apt-get, dpkg-query and sudo
replaced by recording stand-ins on PATH (the real ones would change the machine), check that
  - apt-get is told to wait for a lock another apt/dpkg holds (-o DPkg::Lock::Timeout=300), and a
    failing apt-get is named with its exit status and the way out (CARA_DEV_NO_APT=1);
  - CARA_DEV_NO_APT=1 never calls apt-get;
  - the `==>` lines are coloured only on a terminal, and never with NO_COLOR;
  - a user who is not root gets the script run again through sudo, with the CARA_DEV_* settings;
  - `meson test` alone (the default setup) leaves out the slow suites and sets LANG=C.UTF-8,
    while .ci/run names every suite (a `meson` stand-in records what it is asked to run)."""

import os
import pty
import shutil
import stat
import subprocess
import sys
import tempfile

import cara_fixtures as fx

SOURCE = os.environ.get("CARA_SOURCE_DIR") or fx._source_dir()
DEV = os.path.join(SOURCE, "scripts", "dev-cluster")
CI = os.path.join(SOURCE, ".ci", "run")
failures = []


def check(cond, what, detail=""):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        print(detail, flush=True)
        failures.append(what)


def stub(bindir, name, body):
    path = os.path.join(bindir, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, 0o755)


def stubs(work):
    """A PATH directory: dpkg-query says nothing is installed, apt-get records and fails with 100
    (as when another apt holds the lock), sudo records how it was called."""
    bindir = os.path.join(work, "bin")
    os.makedirs(bindir)
    stub(bindir, "dpkg-query", "exit 1")
    stub(bindir, "apt-get", f'echo "apt-get $*" >> {work}/calls; echo "E: Could not get lock" >&2; exit 100')
    stub(bindir, "sudo", f'echo "sudo $*" >> {work}/calls; exit 0')
    return bindir


def env_for(work, bindir, **extra):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update({"PATH": bindir + ":/usr/sbin:/usr/bin:/sbin:/bin", "CARA_DEV_STATE": os.path.join(work, "state"),
                "CARA_DEV_BUILD": os.path.join(work, "build")})
    env.update(extra)
    return env


def reset_calls(work):
    path = os.path.join(work, "calls")
    with open(path, "w"):
        pass
    os.chmod(path, 0o666)  # the sudo stand-in runs as nobody


def calls(work):
    try:
        with open(os.path.join(work, "calls")) as f:
            return f.read()
    except OSError:
        return ""


def run_on_pty(cmd, env):
    """Runs cmd with stderr on a terminal; returns (status, what it wrote there)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(timeout=60), out.decode(errors="replace")


def main():
    if os.geteuid() != 0:
        fx.skip("needs root (dev-cluster and .ci/run run as root; the sudo case runs as nobody)")
    work = tempfile.mkdtemp(prefix="cara-devscripts-")
    os.chmod(work, 0o755)
    fx.on_exit(lambda: shutil.rmtree(work, ignore_errors=True))
    bindir = stubs(work)
    reset_calls(work)

    # apt-get: waits for the lock, and a failure says what failed and how to go on
    r = subprocess.run([DEV, "up"], env=env_for(work, bindir), capture_output=True, text=True, timeout=60)
    c = calls(work)
    check(r.returncode == 1, "dev-cluster up exits 1 when apt-get fails", r)
    check("apt-get -o DPkg::Lock::Timeout=300 update" in c, "dev-cluster waits for the apt lock", c)
    check("'apt-get update -qq' failed (exit status 100" in r.stderr and "CARA_DEV_NO_APT=1" in r.stderr,
          "dev-cluster names the failing apt-get, its status and CARA_DEV_NO_APT", r.stderr)
    check("\033[" not in r.stderr, "no colour when stderr is not a terminal", repr(r.stderr))
    check(not os.path.exists(os.path.join(work, "build")), "nothing built after apt-get failed")

    # CARA_DEV_NO_APT=1: apt-get is never called (the up is stopped at its next step, the build,
    # by a build directory that cannot be made)
    reset_calls(work)
    blocker = os.path.join(work, "blocker")
    open(blocker, "w").close()
    r = subprocess.run([DEV, "up"], env=env_for(work, bindir, CARA_DEV_NO_APT="1",
                                                 CARA_DEV_BUILD=os.path.join(blocker, "build")),
                       capture_output=True, text=True, timeout=120)
    check(r.returncode != 0 and calls(work) == "", "CARA_DEV_NO_APT=1 never calls apt-get", (r, calls(work)))

    # colours: on a terminal yes, with NO_COLOR no
    status, out = run_on_pty([DEV, "up"], env_for(work, bindir))
    check("\033[1m==>" in out, "==> is bold on a terminal", repr(out))
    status, out = run_on_pty([DEV, "up"], env_for(work, bindir, NO_COLOR="1"))
    check("==>" in out and "\033[" not in out, "NO_COLOR: no colour on a terminal", repr(out))

    # not root: runs itself again through sudo, keeping CARA_DEV_*
    reset_calls(work)
    r = subprocess.run(fx.as_user([DEV, "down"], "nobody"),
                       env=env_for(work, bindir, CARA_DEV_PORT="18123"), capture_output=True, text=True,
                       timeout=60)
    c = calls(work)
    check(r.returncode == 0 and c.startswith("sudo env ") and "CARA_DEV_PORT=18123" in c
          and c.rstrip().endswith(DEV + " down"), "not root: dev-cluster runs again with sudo", (r, c))
    os.unlink(os.path.join(bindir, "sudo"))
    r = subprocess.run(fx.as_user([DEV, "down"], "nobody"), env=env_for(work, bindir), capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 1 and "run as root" in r.stderr, "not root and no sudo: says to run as root", r)

    # .ci/run's dependency stage: the same lock wait, and a word on failure
    reset_calls(work)
    r = subprocess.run(["bash", CI], env=env_for(work, bindir, CARA_CI_STAGES="deps",
                                                 CARA_CI_BUILD_PREFIX="build-devscripts-none"),
                       capture_output=True, text=True, timeout=120)
    c = calls(work)
    out = r.stdout + r.stderr
    check(r.returncode != 0, ".ci/run fails when apt-get fails", out)
    check("apt-get -o DPkg::Lock::Timeout=300 update" in c, ".ci/run waits for the apt lock", c)
    check("'apt-get update -q' failed (exit status 100" in out and "failed stage: install dependencies" in out,
          ".ci/run names the failing apt-get and its status", out)

    # the default test setup: no slow suite, LANG=C.UTF-8; .ci/run still runs every suite
    build = os.environ.get("CARA_BUILD_DIR")
    if build:
        r = subprocess.run(["meson", "test", "-C", build, "--no-rebuild", "--list"], capture_output=True,
                           text=True, timeout=120)
        listed = r.stdout.splitlines()
        check(any(" / test-json" in l for l in listed) and any(" / ctl-usage" in l for l in listed)
              and not any(s in l for l in listed for s in (":e2e", ":reliability", ":fuzz")),
              "meson test alone: unit and integration, no e2e/reliability/fuzz", r.stdout)
        setups = subprocess.run(["meson", "test", "-C", build, "--no-rebuild", "--list", "--setup", "full"],
                                capture_output=True, text=True, timeout=120).stdout
        check(":reliability / reliability-soak" in setups and ":e2e / systemd" in setups,
              "--setup full lists every test", setups)
        check(os.environ.get("LANG") == "C.UTF-8", "the test setup sets LANG=C.UTF-8", os.environ.get("LANG"))
        real = shutil.which("meson")
        stub(bindir, "meson", f'if [ "$1" = introspect ]; then exec {real} introspect --tests {build}; fi\n'
                              f'echo "meson $*" >> {work}/calls; exit 0')
        reset_calls(work)
        r = subprocess.run(["bash", CI], env=env_for(work, bindir, CARA_CI_STAGES="test",
                                                     CARA_CI_BUILD_PREFIX="build-devscripts-none"),
                           capture_output=True, text=True, timeout=120)
        c = calls(work)
        check(all("--suite " + s in c for s in ("unit", "integration", "e2e", "reliability"))
              and "--suite fuzz" not in c, ".ci/run names every suite but fuzz (its own stage)", (c, r.stdout))
        reset_calls(work)
        r = subprocess.run(["bash", CI], env=env_for(work, bindir, CARA_CI_STAGES="test", CARA_CI_SKIP_SUITES="e2e",
                                                     CARA_CI_BUILD_PREFIX="build-devscripts-none"),
                           capture_output=True, text=True, timeout=120)
        c = calls(work)
        check("--suite e2e" not in c and "--no-suite e2e" in c and "--suite reliability" in c,
              ".ci/run CARA_CI_SKIP_SUITES=e2e leaves out e2e only", c)

    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
