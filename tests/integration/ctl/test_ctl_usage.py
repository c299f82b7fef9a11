# SPDX-License-Identifier: Apache-2.0
"""caractrl without a server: the grammar (options anywhere), help, usage errors (exit 2 with one
hint line), unreachable server (exit 7, client version still printed), and manifests rejected
before anything is sent (exit 2 with file:line)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlkit import Ctl, check  # noqa: E402

DEAD = "http://127.0.0.1:1"
HINT = "Try 'caractrl --help' for more information."


def usage_error(ctl, *args, contains):
    r = ctl.expect(2, *args)
    lines = r.err.strip().splitlines()
    check(len(lines) == 2 and lines[0].startswith("caractrl: ") and contains in lines[0] and lines[1] == HINT,
          "usage error should be one line plus the hint", r)
    check(r.out == "", "nothing on stdout after a usage error", r)


def main():
    with Ctl(DEAD) as ctl:
        usage_error(ctl, contains="missing command")
        usage_error(ctl, "frobnicate", contains="unknown command 'frobnicate'")
        usage_error(ctl, "get", contains="wrong number of arguments")
        usage_error(ctl, "get", "widgets", contains="unknown resource type 'widgets'")
        usage_error(ctl, "get", "nodes", "--bogus", contains="unrecognized option '--bogus'")
        usage_error(ctl, "-x", "get", "nodes", contains="invalid option -- 'x'")
        usage_error(ctl, "-o", "xml", "get", "nodes", contains="invalid value 'xml' for --output")
        usage_error(ctl, "get", "nodes", "-o", contains="requires an argument")
        usage_error(ctl, "version", "extra", contains="takes no arguments")
        usage_error(ctl, "get", "nodes", "--no-pager=yes", contains="doesn't allow an argument")
        usage_error(ctl, "apply", contains="apply needs -f")
        usage_error(ctl, "get", "nodes", "--phase", "Running", contains="projects only")
        usage_error(ctl, "get", "projects", "--phase", "Bogus", contains="invalid value 'Bogus'")
        usage_error(ctl, "drain", "project", "x", contains="expected: node NAME")
        usage_error(ctl, "get", "projects", "--wait", contains="unrecognized option '--wait'")
        usage_error(ctl, "status", "-n", "many", contains="invalid number of lines")
        usage_error(ctl, "delete", "projects", contains="name at least one project")
        usage_error(ctl, "apply", "-f", "x", "--timeout", "soon", contains="--timeout")

        # help: the main page lists every verb of the table; each verb has its own page
        r = ctl.ok("--help")
        for verb in ("apply", "get", "describe", "status", "delete", "drain", "uncordon", "version"):
            check(("\n  %s " % verb) in r.out, "verb %s missing from --help" % verb, r)
        check("__complete" not in r.out, "hidden verb shown", r)
        check(r.out == ctl.ok("help").out == ctl.ok("-h").out, "help, --help and -h differ")
        r = ctl.ok("get", "--help")
        for opt in ("--phase", "--node", "--watch", "--server", "--output"):
            check(opt in r.out, "get --help lacks " + opt, r)
        check(ctl.ok("help", "apply").out == ctl.ok("apply", "-h").out, "help apply differs from apply -h")
        r = ctl.ok("--version")
        check(r.out.startswith("caractrl "), "--version", r)

        # server unreachable: exit 7, one clear line naming the server
        for args in (["get", "nodes"], ["get", "projects", "web"], ["describe", "project", "web"],
                     ["status"], ["status", "web"], ["delete", "project", "web"], ["drain", "node", "n1"],
                     ["uncordon", "n1"]):
            r = ctl.expect(7, *args)
            check(r.err.startswith("caractrl: cannot connect to the server at " + DEAD) and r.err.count("\n") == 1,
                  "unreachable message", r)
        r = ctl.expect(7, "version")
        check(r.out.startswith("Client Version: "), "version prints the client version first", r)
        # -s and --server=URL anywhere on the line override $CARA_SERVER
        r = ctl.expect(7, "get", "-s", "http://127.0.0.1:2", "nodes")
        check("127.0.0.1:2" in r.err, "-s after the verb", r)
        r = ctl.expect(7, "get", "nodes", "--server=http://127.0.0.1:3")
        check("127.0.0.1:3" in r.err, "--server= at the end", r)

        # manifests are checked before anything is sent: exit 2 (not 7) with file:line
        bad = ctl.file("bad.yaml", "apiVersion: caravanserai/v1\nkind: Project\nmetadata:\n  name: ok\nspec:\n"
                       "  services:\n    - name: app\n      image: busybox\n---\n"
                       "apiVersion: caravanserai/v1\nkind: Project\nmetadata:\n  name: bad\nspec:\n"
                       "  services:\n    - name: app\n      image: \"\"\n")
        r = ctl.expect(2, "apply", "-f", bad)
        check("bad.yaml:17:" in r.err and "spec.services[0].image" in r.err and "nothing was applied" in r.err,
              "invalid manifest names file:line and field", r)
        r = ctl.expect(2, "apply", "-f", "-", input="kind: Widget\nmetadata: {name: x}\n")
        check("-:1" in r.err and "unsupported kind" in r.err, "unsupported kind", r)
        r = ctl.expect(2, "apply", "-f", "-", input="kind: [\n")
        check(r.err.startswith("caractrl: -:"), "YAML syntax error with a location", r)
        r = ctl.expect(2, "apply", "-f", "-", input="apiVersion: caravanserai/v1\nkind: Project\nmetadata:\n"
                       "  name: Bad_Name\nspec:\n  services:\n    - name: app\n      image: busybox\n")
        check("metadata.name" in r.err, "bad name is found locally", r)
        # unknown fields (SPEC §2): every one of a document, each on its own line with file:line and a
        # suggestion, together with what validation finds; exit 2 and nothing sent (7 otherwise)
        typo = ctl.file("typo.yaml", "apiVersion: caravanserai/v1\nkind: Project\nmetadata:\n  name: web\n"
                        "  lables: {a: b}\nspec:\n  services:\n    - name: web\n      image: Busybox\n"
                        "      enviroment:\n        - name: A\n          value: b\n      restart: always\n"
                        "  volumes:\n    - name: d\n      type: Ephemeral\n      size: 1G\n")
        r = ctl.expect(2, "apply", "-f", typo)
        want = ['caractrl: %s:5: metadata.lables: unknown field "lables" (did you mean "labels"?)' % typo,
                'caractrl: %s:9: spec.services[0].image: invalid image reference "Busybox": the repository name '
                'must be lowercase' % typo,
                'caractrl: %s:10: spec.services[0].enviroment: unknown field "enviroment" (did you mean "env"?)' % typo,
                'caractrl: %s:13: spec.services[0].restart: unknown field "restart" (did you mean "restartPolicy: '
                'Always"?)' % typo,
                'caractrl: %s:17: spec.volumes[0].size: unknown field "size" (expected one of: name, type, hostPath)' % typo]
        check(r.err.splitlines() == want and r.out == "", "every unknown field at once, with file:line", r)
        # with another document, the valid one is not sent either
        r = ctl.expect(2, "apply", "-f", ok_first := ctl.file("two.yaml", "apiVersion: caravanserai/v1\nkind: Project\n"
                                                               "metadata:\n  name: fine\nspec:\n  services:\n"
                                                               "    - {name: app, image: busybox}\n---\n"
                                                               "kind: Project\nmetadata: {name: x}\nspec:\n"
                                                               "  services: [{name: app, image: busybox, cmd: [sh]}]\n"))
        check('%s:12: spec.services[0].cmd: unknown field "cmd" (did you mean "command"?) (nothing was applied)'
              % ok_first in r.err, "unknown field in the second document", r)
        # a Compose file is converted (then the server is tried: 7); its errors are FILE:LINE: key.path
        compose = ctl.file("compose.yaml", "services:\n  web:\n    image: nginx\n    restart: always\n")
        ctl.expect(7, "apply", "-f", compose)
        bad = ctl.file("bad-compose.yaml", "services:\n  web:\n    image: nginx\n    privileged: true\n")
        r = ctl.expect(2, "apply", "-f", bad)
        check(r.err.startswith("caractrl: %s:4: services.web.privileged: not supported" % bad), "Compose error", r)
        r = ctl.expect(1, "apply", "-f", os.path.join(ctl.home, "missing.yaml"))
        check("missing.yaml" in r.err, "missing file named", r)
        # a valid manifest then tries the server: 7
        ok = ctl.file("ok.yaml", "apiVersion: caravanserai/v1\nkind: Project\nmetadata:\n  name: ok\nspec:\n"
                      "  services:\n    - name: app\n      image: busybox\n")
        ctl.expect(7, "apply", "-f", ok)
    print("ok")


if __name__ == "__main__":
    main()
