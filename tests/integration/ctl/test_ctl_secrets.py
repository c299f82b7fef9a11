# SPDX-License-Identifier: Apache-2.0
"""caractrl and Secrets (SPEC §12): create secret (--from-literal, --from-file [KEY=]PATH),
create secret registry (--server, --username, --password-stdin), get/describe (keys and sizes,
never a value, in any output format), Secrets in apply -f among projects (applied first;
unchanged when the values are the same), delete (refused while a project uses it, naming it),
and usage errors."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlkit import Ctl, check  # noqa: E402
from cara_server import CaraServer, postgres  # noqa: E402

VALUE = "very-secret-Value-42"
REGPASS = "registry-Pa55"

MANIFEST = """apiVersion: caravanserai/v1
kind: Project
metadata:
  name: web
spec:
  services:
    - name: app
      image: busybox
      env:
        - name: TOKEN
          valueFrom: {secret: api, key: token}
      secrets:
        - secret: api
          mode: 0440
---
apiVersion: caravanserai/v1
kind: Secret
metadata:
  name: api
stringData:
  token: %s
""" % VALUE


def no_value(r):
    for v in (VALUE, REGPASS):
        check(v not in r.out and v not in r.err, "a value was printed", r)


def main():
    with postgres() as pg, CaraServer(database_url=pg.url) as srv, Ctl(srv.url) as ctl:
        f = ctl.file("cert.pem", VALUE + "\n")
        r = ctl.ok("create", "secret", "db", "--from-literal", "password=" + VALUE, "--from-literal", "user=app",
                   "--from-file", f, "--from-file", "tls.crt=" + f)
        check(r.out == "secret/db created\n", "create", r)
        r = ctl.ok("create", "secret", "registry", "reg", "--server", "127.0.0.1:5000", "--username", "me",
                   "--password-stdin", input=REGPASS + "\n")
        check(r.out == "secret/reg created\n", "create registry", r)
        r = ctl.ok("get", "secrets")
        no_value(r)
        lines = r.out.splitlines()
        check(lines[0].split() == ["NAME", "TYPE", "KEYS", "AGE"], "header", r)
        check(lines[1].split()[:3] == ["db", "Opaque", "cert.pem,password,tls.crt,user"], "db row", r)
        check(lines[2].split()[:3] == ["reg", "Registry", "password,server,username"], "reg row", r)
        for fmt in ("json", "yaml", "name", "wide"):
            no_value(ctl.ok("get", "secrets", "-o", fmt))
        check(ctl.ok("get", "secret", "db", "-o", "name").out == "secret/db\n", "-o name")
        doc = ctl.ok("get", "secret/db", "-o", "json").json()
        check({k["name"]: k["size"] for k in doc["keys"]} == {"cert.pem": len(VALUE) + 1, "password": len(VALUE),
                                                             "tls.crt": len(VALUE) + 1, "user": 3}, "sizes", doc)
        r = ctl.ok("describe", "secret", "reg")
        no_value(r)
        check("Registry" in r.out and "password" in r.out and "13 bytes" in r.out, "describe", r)
        no_value(ctl.ok("describe", "secret", "reg", "-o", "yaml"))
        # again: already exists
        r = ctl.expect(1, "create", "secret", "db", "--from-literal", "a=b")
        check("already exists" in r.err, "duplicate", r)
        # usage errors: exit 2, nothing created
        for args in (["create", "secret", "x", "--from-literal", "novalue"],
                     ["create", "secret", "x", "--from-literal", "a/b=c"],
                     ["create", "secret", "registry", "x", "--server", "h", "--username", "u"],
                     ["create", "secret", "x", "--server", "h"],
                     ["create", "thing", "x"]):
            ctl.expect(2, *args)
        ctl.expect(1, "get", "secret", "x")
        r = ctl.expect(2, "create", "secret", "x", "--from-file", "/nonexistent/file")
        check("/nonexistent/file" in r.err, "missing file", r)

        # apply: the Secret after the project in the file is applied first
        m = ctl.file("app.yaml", MANIFEST)
        r = ctl.ok("apply", "-f", m)
        check(r.out == "secret/api created\nproject/web created\n", "apply", r)
        r = ctl.ok("apply", "-f", m)
        check(r.out == "secret/api unchanged\nproject/web unchanged\n", "apply again", r)
        ctl.ok("diff", "-f", m)  # keys and sizes as the server shows them: no difference
        ctl.file("app.yaml", MANIFEST.replace(VALUE, VALUE + "-2"))
        r = ctl.expect(1, "diff", "-f", m)
        check("size: %d" % (len(VALUE) + 2) in r.out, "diff shows the new size", r)
        no_value(r)
        r = ctl.ok("apply", "-f", m)
        check(r.out == "secret/api configured\nproject/web unchanged\n", "apply changed", r)
        no_value(r)
        # a read put back: unchanged, values kept
        dump = ctl.file("dump.yaml", ctl.ok("get", "secret", "api", "-o", "yaml").out)
        r = ctl.ok("apply", "-f", dump)
        check(r.out == "secret/api unchanged\n", "apply a read", r)
        r = ctl.ok("describe", "project", "web")
        check("TOKEN=<secret api, key token>" in r.out, "describe project env", r)
        # delete -f of a file with a Secret before the project using it: the project goes first
        both = ctl.file("both.yaml", "kind: Secret\nmetadata:\n  name: dsec\nstringData:\n  k: v\n---\n"
                        "kind: Project\nmetadata:\n  name: dproj\nspec:\n  services:\n    - name: a\n"
                        "      image: busybox\n      secrets: [{secret: dsec}]\n")
        ctl.ok("apply", "-f", both)
        r = ctl.ok("delete", "-f", both)
        check(r.out == 'project "dproj" deleted\nsecret "dsec" deleted\n', "delete -f order", r)
        # bad Secret documents: file:line, exit 2
        bad = ctl.file("bad.yaml", "apiVersion: caravanserai/v1\nkind: Secret\nmetadata:\n  name: b\nstringdata:\n  k: v\n")
        r = ctl.expect(2, "apply", "-f", bad)
        check("bad.yaml:5" in r.err and "stringData" in r.err, "unknown field", r)
        # delete: refused while used, naming the project
        r = ctl.expect(1, "delete", "secret", "api")
        check("web" in r.err, "in use", r)
        ctl.ok("delete", "project", "web", "--force")
        r = ctl.ok("delete", "secret", "api")
        check(r.out == 'secret "api" deleted\n', "delete", r)
        r = ctl.ok("delete", "-f", ctl.file("reg.yaml", "kind: Secret\nmetadata:\n  name: reg\n"))
        check(r.out == 'secret "reg" deleted\n', "delete -f", r)
        r = ctl.expect(1, "describe", "secret", "api")
        check('secret "api" not found' in r.err, "not found", r)
        # Compose secrets: a Secret {project}-{NAME} from the file, mounted at /run/secrets/NAME
        ctl.file("compose/pw.txt", VALUE)
        cf = ctl.file("compose/compose.yaml", "name: cmp\nservices:\n  app:\n    image: busybox\n"
                      "    secrets: [db_pw]\nsecrets:\n  db_pw:\n    file: ./pw.txt\n")
        r = ctl.ok("apply", "-f", cf)
        check(r.out == "secret/cmp-db-pw created\nproject/cmp created\n", "compose apply", r)
        doc = ctl.ok("get", "secret", "cmp-db-pw", "-o", "json").json()
        check(doc["keys"] == [{"name": "db_pw", "size": len(VALUE)}], "compose secret", doc)
        p = ctl.ok("get", "project", "cmp", "-o", "json").json()
        check(p["spec"]["services"][0]["secrets"] == [{"secret": "cmp-db-pw", "key": "db_pw",
                                                       "path": "/run/secrets/db_pw"}], "compose mount", p)
        r = ctl.ok("apply", "-f", cf)
        check(r.out == "secret/cmp-db-pw unchanged\nproject/cmp unchanged\n", "compose again", r)
        # a Project manifest's mode: 0440 is octal, as in Compose and Kubernetes
        m2 = ctl.file("m2.yaml", "kind: Project\nmetadata:\n  name: m2\nspec:\n  services:\n    - name: a\n"
                      "      image: busybox\n      secrets:\n        - secret: cmp-db-pw\n          mode: 0440\n")
        ctl.ok("apply", "-f", m2)
        p = ctl.ok("get", "project", "m2", "-o", "json").json()
        check(p["spec"]["services"][0]["secrets"][0]["mode"] == "0440", "octal mode, returned as written", p)
        # zh_TW
        zh = {"LANGUAGE": "zh_TW"}  # on C.UTF-8, as test_ctl_i18n does
        r = ctl.ok("create", "secret", "zh", "--from-literal", "a=b", env=zh)
        check(r.out == "secret/zh 已建立\n", "zh_TW", r)
        r = ctl.ok("describe", "secret", "zh", env=zh)
        check("1 位元組" in r.out and "類型：" in r.out, "zh_TW describe", r)
    print("ok")


if __name__ == "__main__":
    main()
