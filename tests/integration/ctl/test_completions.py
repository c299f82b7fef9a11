# SPDX-License-Identifier: Apache-2.0
"""Shell completions: `caractrl __complete` agrees with the verb table (as shown by --help), and
completions/caractrl.bash and completions/_caractrl, run in real bash and zsh (the completion
function called with the words set as the shell would; then interactively on a pty, typing TAB),
complete verbs, options, option values, resource kinds and live names from a real server, and stay
silent and quick when the server does not answer."""

import os
import pty
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlkit import CTL, SOURCE, Ctl, check, project_yaml  # noqa: E402
from cara_server import CaraServer, postgres  # noqa: E402

BASH_SCRIPT = os.path.join(SOURCE, "completions", "caractrl.bash")
ZSH_SCRIPT = os.path.join(SOURCE, "completions", "_caractrl")

BASH = r'''
source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
_caractrl
printf '%s\n' "${COMPREPLY[@]}"
'''

ZSH = r'''
compadd() { local a after=0; for a in "$@"; do if (( after )); then print -r -- "$a"; elif [[ $a == -- ]]; then after=1; fi; done }
_files() { print -r -- __FILES__ }
source "$1"; shift
words=("$@"); CURRENT=$#
_caractrl
'''


def help_verbs(ctl):
    out = ctl.ok("--help").out
    section = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [l.split()[0] for l in section.splitlines()]


def help_options(ctl, verb):
    out = ctl.ok(verb, "--help").out
    return sorted(set(re.findall(r"(--[a-z-]+)", re.split(r"(?:Global o|O)ptions:", out, maxsplit=1)[1])))


def complete_raw(ctl, *words):
    return ctl.ok("__complete", *words).out.splitlines()


def in_bash(ctl, words, cwd=None):
    env = dict(ctl.env)
    env["PATH"] = os.path.dirname(CTL) + os.pathsep + env.get("PATH", "")
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", BASH, "_", BASH_SCRIPT] + words, env=env,
                       capture_output=True, text=True, cwd=cwd, timeout=30)
    assert p.returncode == 0, p
    return sorted(l for l in p.stdout.splitlines() if l)


def in_zsh(ctl, words, cwd=None):
    env = dict(ctl.env)
    env["PATH"] = os.path.dirname(CTL) + os.pathsep + env.get("PATH", "")
    p = subprocess.run(["zsh", "-f", "-c", ZSH, "_", ZSH_SCRIPT] + words, env=env, capture_output=True, text=True,
                       cwd=cwd, timeout=30)
    assert p.returncode in (0, 1), p
    check(p.stderr == "", "zsh completion printed errors", p)
    return sorted(l for l in p.stdout.splitlines() if l)


def interactive(shell_argv, setup, typed, env, expect, timeout=20):
    """Type into a real interactive shell on a pty and wait until @expect shows on the screen."""
    master, slave = pty.openpty()
    p = subprocess.Popen(shell_argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    screen = b""
    try:
        os.write(master, setup.encode())
        os.write(master, typed.encode())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    screen += os.read(master, 65536)
                except OSError:
                    break
            # zsh draws " \b" after completed words; what matters is the text on the line
            if expect.encode() in screen.replace(b" \x08", b""):
                return True, screen
        return False, screen
    finally:
        p.kill()
        p.wait()
        os.close(master)


def main():
    for sh in ("bash", "zsh"):
        if shutil.which(sh) is None:
            print("SKIP: %s is not installed" % sh)
            sys.exit(77)
    with postgres() as pg, CaraServer(database_url=pg.url) as srv, Ctl(srv.url) as ctl:
        ctl.ok("apply", "-f", "-", input=project_yaml("web") + "---\n" + project_yaml("db") + "---\n"
               "apiVersion: caravanserai/v1\nkind: Node\nmetadata:\n  name: node-1\n---\n"
               "apiVersion: caravanserai/v1\nkind: Secret\nmetadata:\n  name: db-pass\nstringData:\n  k: v\n")

        # the completer agrees with the verb table shown by --help
        verbs = help_verbs(ctl)
        check(sorted(complete_raw(ctl, "")) == sorted(verbs), "verbs", verbs, complete_raw(ctl, ""))
        for verb in verbs:
            opts = help_options(ctl, verb)
            got = sorted(w for w in complete_raw(ctl, verb, "--") if w.startswith("--"))
            check(got == opts, "options of " + verb, got, opts)

        cases = [
            (["caractrl", ""], sorted(verbs)),
            (["caractrl", "g"], ["get"]),
            (["caractrl", "--no-pager", "de"], ["delete", "describe"]),
            (["caractrl", "get", ""], ["nodes", "projects", "secrets"]),
            (["caractrl", "describe", "secret", ""], ["db-pass"]),
            (["caractrl", "create", ""], ["secret"]),
            (["caractrl", "create", "secret", "--from-l"], ["--from-literal"]),
            (["caractrl", "get", "projects", ""], ["db", "web"]),
            (["caractrl", "get", "projects", "web", ""], ["db"]),
            (["caractrl", "describe", "nodes", ""], ["node-1"]),
            (["caractrl", "status", ""], ["db", "node", "project", "web"]),
            (["caractrl", "drain", "node", ""], ["node-1"]),
            (["caractrl", "drain", ""], ["node"]),
            (["caractrl", "get", "projects", "--node", ""], ["node-1"]),
            (["caractrl", "-o", ""], ["json", "name", "table", "wide", "yaml"]),
            (["caractrl", "get", "projects", "--phase", "R"], ["Running"]),
            (["caractrl", "version", "--no-"], ["--no-color", "--no-legend", "--no-pager"]),
            (["caractrl", "apply", "--w"], ["--wait"]),
            (["caractrl", "logs", ""], ["db", "web"]),
            (["caractrl", "logs", "web/"], ["web/app"]),
            (["caractrl", "logs", "web", "--t"], ["--tail", "--timestamps", "--token"]),
            (["caractrl", "rollout", ""], ["history", "restart", "status", "undo"]),
            (["caractrl", "rollout", "undo", ""], ["project"]),
            (["caractrl", "rollout", "undo", "project", ""], ["db", "web"]),
            (["caractrl", "rollout", "history", "project", "web", ""], []),
            (["caractrl", "rollout", "undo", "--to"], ["--to-revision", "--token"]),
        ]
        for words, want in cases:
            check(in_bash(ctl, words) == want, "bash: " + " ".join(words), in_bash(ctl, words), want)
            check(in_zsh(ctl, words) == want, "zsh: " + " ".join(words), in_zsh(ctl, words), want)
        # bash splits "--output=" at '='; zsh keeps the word whole
        check(in_bash(ctl, ["caractrl", "get", "--output", "=", "j"]) == ["json"], "bash --output=j")
        check(in_bash(ctl, ["caractrl", "get", "--output", "=", ""]) == ["json", "name", "table", "wide", "yaml"],
              "bash --output=")
        check(in_zsh(ctl, ["caractrl", "get", "--output=y"]) == ["--output=yaml"], "zsh --output=y")
        check(in_bash(ctl, ["caractrl", "get", "project/w"]) == ["project/web"], "bash kind/name")
        check(in_zsh(ctl, ["caractrl", "get", "project/"]) == ["project/db", "project/web"], "zsh kind/name")
        # file names for -f
        d = tempfile.mkdtemp(prefix="caractrl-compl-")
        try:
            for name in ("web.yaml", "db.yaml"):
                open(os.path.join(d, name), "w").close()
            check(in_bash(ctl, ["caractrl", "apply", "-f", "w"], cwd=d) == ["web.yaml"], "bash -f completes files")
            check(in_zsh(ctl, ["caractrl", "apply", "-f", ""], cwd=d) == ["__FILES__"], "zsh -f uses _files")
        finally:
            shutil.rmtree(d)

        # unreachable or silent server: no names, no noise, quickly
        ctl.env["CARA_SERVER"] = "http://127.0.0.1:1"
        check(in_bash(ctl, ["caractrl", "get", "projects", ""]) == [], "refused: nothing")
        check(in_zsh(ctl, ["caractrl", "get", "projects", ""]) == [], "refused: nothing (zsh)")
        hole = socket.socket()
        hole.bind(("127.0.0.1", 0))
        hole.listen(8)  # never accepts: requests hang
        try:
            ctl.env["CARA_SERVER"] = "http://127.0.0.1:%d" % hole.getsockname()[1]
            t0 = time.monotonic()
            r = ctl.ok("__complete", "get", "projects", "")
            elapsed = time.monotonic() - t0
            check(r.out == "" and r.err == "" and elapsed < 3, "a hanging server costs at most ~1 s", elapsed, r)
        finally:
            hole.close()
        ctl.env["CARA_SERVER"] = srv.url

        # real interactive shells, typing TAB
        env = dict(ctl.env)
        env["PATH"] = os.path.dirname(CTL) + os.pathsep + env.get("PATH", "")
        env["TERM"] = "dumb"
        env["PS1"] = "$ "
        ok, screen = interactive(["bash", "--norc", "--noprofile", "-i"], "source %s\n" % BASH_SCRIPT,
                                 "caractrl get proj\tw\t", env, "caractrl get projects web")
        check(ok, "interactive bash completes 'get proj<TAB>w<TAB>'", screen)
        zdot = tempfile.mkdtemp(prefix="caractrl-zsh-")
        try:
            with open(os.path.join(zdot, ".zshrc"), "w") as f:
                f.write("fpath=(%s $fpath)\nautoload -Uz compinit\ncompinit -u -d %s/.zcompdump\nPS1='$ '\n"
                        % (os.path.dirname(ZSH_SCRIPT), zdot))
            env["ZDOTDIR"] = zdot
            ok, screen = interactive(["zsh", "-i"], "", "caractrl descr\tproj\td\t", env,
                                     "caractrl describe projects db")
            check(ok, "interactive zsh completes 'descr<TAB>proj<TAB>d<TAB>'", screen)
        finally:
            shutil.rmtree(zdot)
    print("ok")


if __name__ == "__main__":
    main()
