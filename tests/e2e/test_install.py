# SPDX-License-Identifier: Apache-2.0
"""`meson install --destdir` puts everything where a distribution package would, the installed
units pass `systemd-analyze verify`, and their `systemd-analyze security` exposure stays low.

Runs on the host (no systemd as PID 1 needed): verify and security get --root=<destdir> with the
host's own units copied beside ours so dependencies such as sysinit.target resolve."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Exposure ceilings (systemd-analyze security, 0 = best, 10 = worst).  Measured: server 1.0,
# agent 1.3; the README (## Run a local cluster) says what the remainder is needed for.
MAX_EXPOSURE = {"cara-server.service": 1.5, "cara-agent.service": 1.8}

UNITS = ["cara-server.socket", "cara-server.service", "cara-agent.socket", "cara-agent.service"]

failures = []


def fail(msg):
    print("FAIL: " + msg, flush=True)
    failures.append(msg)


def ok(msg):
    print("ok: " + msg, flush=True)


def skip(reason):
    print("SKIP: " + reason, flush=True)
    sys.exit(77)


def main():
    build = os.environ.get("CARA_BUILD_DIR")
    if not build:
        skip("CARA_BUILD_DIR is not set (run through meson test)")
    for tool in ["meson", "systemd-analyze"]:
        if shutil.which(tool) is None:
            skip(f"{tool} is not installed")

    installed = json.loads(subprocess.run(["meson", "introspect", "--installed", build],
                                          check=True, capture_output=True, text=True).stdout)
    dests = sorted(set(installed.values()))

    tmp = tempfile.mkdtemp(prefix="cara-install-test-")
    try:
        r = subprocess.run(["meson", "install", "-C", build, "--no-rebuild", "--destdir", tmp],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout[-3000:], r.stderr[-3000:])
            fail(f"meson install --destdir failed with {r.returncode}")
            return
        ok(f"meson install --destdir {tmp}")

        def inroot(path):
            return os.path.join(tmp, path.lstrip("/"))

        missing = [d for d in dests if not os.path.lexists(inroot(d))]
        if missing:
            fail("installed paths missing under DESTDIR: " + ", ".join(missing))
        else:
            ok(f"all {len(dests)} planned files are under DESTDIR")

        def find(pattern, what, owner):
            hits = [d for d in dests if re.search(pattern, d)]
            if not hits:
                fail(f"{what} is not installed (matching {pattern}; {owner})")
            else:
                ok(f"{what}: {', '.join(hits)}")
            return hits

        binaries = {}
        for b, owner in [("caractrl", "src/ctl"), ("cara-server", "src/server"),
                         ("cara-agent", "src/agent")]:
            hits = find(rf"/bin/{b}$", f"binary {b}", f"built by {owner}")
            for h in hits:
                if not os.access(inroot(h), os.X_OK):
                    fail(f"{h} is not executable")
                binaries[b] = h

        unit_paths = {}
        for u in UNITS:
            for h in find(rf"/lib/systemd/system/{re.escape(u)}$", f"unit {u}", "units/"):
                unit_paths[u] = h
        find(r"/lib/sysusers\.d/caravanserai\.conf$", "sysusers.d entry", "units/")
        find(r"/lib/tmpfiles\.d/caravanserai\.conf$", "tmpfiles.d entry", "units/")
        find(r"/caravanserai/server\.conf$", "example server.conf", "etc/")
        find(r"/caravanserai/agent\.conf$", "example agent.conf", "etc/")
        find(r"/dbus-1/system\.d/org\.caravanserai\.Agent\.conf$", "D-Bus system bus policy", "dbus/")
        find(r"/dbus-1/interfaces/org\.caravanserai\.Agent1\.xml$", "D-Bus interface XML", "dbus/")
        find(r"/bash-completion/completions/caractrl$", "bash completion", "completions/")
        find(r"/zsh/.*/_caractrl$", "zsh completion", "completions/")
        find(r"/man/man1/caractrl\.1", "man page caractrl(1)", "man/")
        find(r"/locale/[^/]+/LC_MESSAGES/caravanserai\.mo$", "translations", "po/")

        # Every unit's ExecStart must name the installed binary.
        for u, path in unit_paths.items():
            text = open(inroot(path)).read()
            for m in re.finditer(r"^ExecStart=(\S+)", text, re.M):
                exe = m.group(1)
                if not os.path.isabs(exe) or exe not in binaries.values():
                    fail(f"{u}: ExecStart={exe} is not an installed binary "
                         f"({', '.join(binaries.values()) or 'none installed'})")
                else:
                    ok(f"{u}: ExecStart={exe}")

        if len(unit_paths) != len(UNITS):
            return
        # systemd-analyze needs the rest of a system under --root: the host's units and kill.
        shutil.copytree("/lib/systemd/system", inroot("/usr/lib/systemd/system"),
                        symlinks=True, dirs_exist_ok=True, ignore_dangling_symlinks=True)
        os.makedirs(inroot("/bin"), exist_ok=True)
        if not os.path.exists(inroot("/bin/kill")):
            shutil.copy2(shutil.which("kill") or "/bin/kill", inroot("/bin/kill"))

        files = [inroot(unit_paths[u]) for u in UNITS]
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", "--root=" + tmp, *files],
                           capture_output=True, text=True)
        out = (r.stdout + r.stderr).strip()
        if r.returncode != 0 or out:
            fail(f"systemd-analyze verify (rc {r.returncode}) reported:\n{out}")
        else:
            ok("systemd-analyze verify: clean")

        for u, ceiling in MAX_EXPOSURE.items():
            r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--man=no",
                                "--root=" + tmp, inroot(unit_paths[u])],
                               capture_output=True, text=True)
            m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
            if not m:
                fail(f"systemd-analyze security {u} gave no score:\n{r.stdout}{r.stderr}")
                continue
            score = float(m.group(1))
            open_items = [l.split()[1] for l in r.stdout.splitlines() if l.startswith("✗")]
            if score > ceiling:
                fail(f"{u}: exposure {score} is above {ceiling}; open: {' '.join(open_items)}")
            else:
                ok(f"{u}: exposure {score} (ceiling {ceiling}); open: {' '.join(open_items)}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
    if failures:
        print(f"\n{len(failures)} check(s) failed:")
        for f in failures:
            print("  - " + f.splitlines()[0])
        sys.exit(1)
    print("all install checks passed")
