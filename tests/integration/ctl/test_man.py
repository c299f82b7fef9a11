# SPDX-License-Identifier: Apache-2.0
"""The manual pages format without warnings (groff -ww), and caractrl(1) documents every verb and
every option of the verb table (as `caractrl --help` and `caractrl VERB --help` show them)."""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlkit import SOURCE, Ctl, check  # noqa: E402

PAGES = ("caractrl.1", "caractrl-convert.1", "caractrl-secret.1", "caractrl-exec.1", "caractrl-events.1", "caractrl-move.1", "caractrl-rollout.1", "cara-server.8", "cara-agent.8", "caravanserai.conf.5")


def main():
    if shutil.which("groff") is None:
        print("SKIP: groff is not installed")
        sys.exit(77)
    for page in PAGES:
        path = os.path.join(SOURCE, "man", page)
        p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path], capture_output=True, text=True)
        check(p.returncode == 0 and p.stderr == "", "groff warnings in " + page, p.stderr)
    # caravanserai-project(5), made from docs/manifest.md: no warnings, and every field is in it
    built = os.path.join(os.environ.get("CARA_BUILD_DIR", ""), "man", "caravanserai-project.5")
    check(os.path.exists(built), "caravanserai-project.5 is built", built)
    p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", built], capture_output=True, text=True)
    check(p.returncode == 0 and p.stderr == "", "groff warnings in caravanserai-project.5", p.stderr)
    page = subprocess.run(["groff", "-man", "-Tascii", "-P-cbou", built], capture_output=True, text=True,
                          env=dict(os.environ, MANWIDTH="200")).stdout
    page = re.sub(r"-\n\s*", "-", page)
    with open(os.path.join(SOURCE, "docs", "manifest.md")) as f:
        fields = re.findall(r"^\| `([^`]+)` \|", f.read(), re.M)
    check(len(fields) > 40, "docs/manifest.md lists the fields", fields)
    for field in fields:
        check(field in page, "caravanserai-project(5) lacks " + field)
    for must in ("ServicesReady", "CrashLoop", "caravanserai/last-applied", "restartPolicy", "nodeSelector"):
        check(must in page, "caravanserai-project(5) lacks " + must)
    text = subprocess.run(["groff", "-man", "-Tascii", "-P-cbou", os.path.join(SOURCE, "man", "caractrl.1")],
                          capture_output=True, text=True, env=dict(os.environ, MANWIDTH="200")).stdout
    text = re.sub(r"-\n\s*", "-", text)
    with Ctl("http://127.0.0.1:1") as ctl:
        main_help = ctl.ok("--help").out
        verbs = [l.split()[0] for l in main_help.split("Commands:\n", 1)[1].split("\n\n", 1)[0].splitlines()]
        for verb in verbs:
            check(re.search(r"^\s{7}%s\b" % verb, text, re.M), "caractrl(1) lacks the command " + verb)
            for opt in set(re.findall(r"--[a-z-]+", ctl.ok(verb, "--help").out)):
                check(opt in text, "caractrl(1) lacks %s (of %s)" % (opt, verb))
    print("ok")


if __name__ == "__main__":
    main()
