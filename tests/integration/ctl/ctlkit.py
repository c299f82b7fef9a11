# SPDX-License-Identifier: Apache-2.0
"""Helpers for the caractrl integration tests: run the built caractrl in a clean environment
(its own HOME and config dir, no inherited CARA_* variables, messages from the build tree)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

BUILD = os.environ.get("CARA_BUILD_DIR", "")
SOURCE = os.environ.get("CARA_SOURCE_DIR", "")
CTL = os.environ.get("CARACTRL_BIN", os.path.join(BUILD, "src", "ctl", "caractrl"))

_DROP = ("CARA_SERVER", "CARA_TOKEN", "NO_COLOR", "SYSTEMD_COLORS", "PAGER", "SYSTEMD_PAGER", "LESS",
         "LANGUAGE", "LANG", "LC_ALL", "LC_MESSAGES", "TERM")


def skip(reason):
    print("SKIP: " + reason, flush=True)
    sys.exit(77)


class Result:
    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.out, self.err = args, rc, out, err

    def __repr__(self):
        return "caractrl %s -> %d\n--- stdout\n%s--- stderr\n%s" % (" ".join(self.args), self.rc, self.out, self.err)

    def json(self):
        return json.loads(self.out)


class Ctl:
    def __init__(self, server=None):
        if not os.path.exists(CTL):
            skip("caractrl not built: " + CTL)
        self.home = tempfile.mkdtemp(prefix="caractrl-home-")
        self.env = {k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith("LC_")}
        self.env.update({
            "HOME": self.home,
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "LC_ALL": "C.UTF-8",
            "CARA_LOCALEDIR": os.path.join(BUILD, "po"),
            # we run as root on the server's machine: never pick up a real admin token
            "CARA_ADMIN_TOKEN_FILE": os.path.join(self.home, "no-admin-token"),
        })
        # sanitizer builds: known leaks inside libraries (see lsan.supp)
        self.env.setdefault("LSAN_OPTIONS", "print_suppressions=0:suppressions=" + os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                          "lsan.supp"))
        if server:
            self.env["CARA_SERVER"] = server

    def run(self, *args, input=None, env=None, timeout=60):
        e = dict(self.env)
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        p = subprocess.run([CTL] + list(args), input=input, env=e, capture_output=True, text=True, timeout=timeout)
        return Result(list(args), p.returncode, p.stdout, p.stderr)

    def ok(self, *args, **kw):
        return self.expect(0, *args, **kw)

    def expect(self, rc, *args, **kw):
        r = self.run(*args, **kw)
        assert r.rc == rc, "expected exit %d: %r" % (rc, r)
        return r

    def write_config(self, text):
        d = os.path.join(self.home, ".config", "caravanserai")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "caractrl.conf"), "w") as f:
            f.write(text)

    def file(self, name, text):
        path = os.path.join(self.home, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def close(self):
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def project_yaml(name, image="busybox:latest", services=None, labels=None, extra=""):
    services = services or [("app", image)]
    out = ["apiVersion: caravanserai/v1", "kind: Project", "metadata:", "  name: %s" % name]
    if labels:
        out.append("  labels:")
        out += ["    %s: %s" % kv for kv in sorted(labels.items())]
    out += ["spec:", "  services:"]
    for svc, img in services:
        out += ["    - name: %s" % svc, "      image: %s" % img]
    return "\n".join(out) + "\n" + extra


def check(cond, message, *context):
    if not cond:
        raise AssertionError(message + "".join("\n" + repr(c) for c in context))
