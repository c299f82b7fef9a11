# SPDX-License-Identifier: Apache-2.0
"""caractrl rollout status|history|undo|restart and the change cause caractrl apply records, against
a real server and PostgreSQL (the agent's side is played by status reports here; the real agent is
in test_rollout.py)."""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ctl"))
from ctlkit import Ctl, check, project_yaml  # noqa: E402
from cara_server import CaraServer, postgres  # noqa: E402


def get(srv, name):
    status, _, raw = srv.request("GET", "/api/v1/projects/" + name)
    assert status == 200, (status, raw)
    return json.loads(raw)


def report(srv, name, body):
    status, _, raw = srv.request("PATCH", "/api/v1/projects/%s/status" % name, body)
    assert status == 204, (status, raw)


def ready(gen):
    return {"phase": "Running", "observedGeneration": gen,
            "conditions": [{"type": "ServicesReady", "status": "True", "reason": "Ready", "message": "ok"}]}


def main():
    with postgres() as pg, CaraServer(database_url=pg.url) as srv, Ctl(srv.url) as ctl:
        f1 = ctl.file("web.yaml", project_yaml("web", "busybox:1"))
        ctl.ok("apply", "-f", f1)
        p = get(srv, "web")
        check(p["metadata"]["annotations"]["caravanserai/change-cause"] == "caractrl apply -f " + f1,
              "apply records its command line", p["metadata"])
        # the token never goes into the annotation
        f2 = ctl.file("web2.yaml", project_yaml("web", "busybox:2"))
        ctl.ok("--token", "s3cret-token", "apply", "-f", f2)
        p = get(srv, "web")
        cause = p["metadata"]["annotations"]["caravanserai/change-cause"]
        check("s3cret" not in cause and "--token ***" in cause and p["metadata"]["generation"] == 2, "token hidden", cause)
        # unchanged spec, another command line: unchanged, no new revision
        r = ctl.ok("apply", "-f", f2, "--no-pager")
        check("unchanged" in r.out and get(srv, "web")["metadata"]["generation"] == 2, "re-apply unchanged", r)

        r = ctl.ok("rollout", "history", "project", "web")
        lines = r.out.splitlines()
        check(lines[0].split() == ["REVISION", "CREATED", "CHANGE-CAUSE"], "history header", r.out)
        check([l.split()[0] for l in lines[1:]] == ["1", "2"] and "web.yaml" in lines[1], "history rows", r.out)
        hist = json.loads(ctl.ok("rollout", "history", "project/web", "-o", "json").out)
        check([i["revision"] for i in hist["items"]] == [2, 1], "history -o json", hist)

        # status: waits for the agent's report of generation 2
        report(srv, "web", ready(1))
        t = threading.Timer(0.5, report, (srv, "web", ready(2)))
        t.start()
        t0 = time.monotonic()
        r = ctl.ok("rollout", "status", "project", "web", "--timeout", "20s")
        t.join()
        check("successfully rolled out" in r.out and time.monotonic() - t0 >= 0.4, "status waited", r)
        # a failed update: exit 1 naming it (and the server rolled back)
        ctl.ok("apply", "-f", ctl.file("web3.yaml", project_yaml("web", "busybox:3")))
        report(srv, "web", dict(ready(2), rollbackGeneration=3, rollbackReason="healthcheck never passed",
                                conditions=[{"type": "UpdateFailed", "status": "True", "reason": "Unhealthy",
                                             "message": "Update to generation 3 failed: healthcheck never passed"}]))
        r = ctl.expect(1, "rollout", "status", "web", "--timeout", "10s")
        check("update failed" in r.err and "generation 3" in r.err, "status exit 1 on UpdateFailed", r)
        p = get(srv, "web")
        check(p["spec"]["services"][0]["image"] == "busybox:2" and p["metadata"]["generation"] == 4, "rolled back", p)
        # asked again, it is still that failed update
        ctl.expect(1, "rollout", "status", "project", "web", "--timeout", "300ms")

        # undo: previous by default, or --to-revision
        r = ctl.ok("rollout", "undo", "project", "web", "--to-revision", "1")
        check("revision 1" in r.out, "undo --to-revision output", r)
        # a newer change the agent has not reported: not in time
        r = ctl.expect(1, "rollout", "status", "project", "web", "--timeout", "300ms")
        check("not rolled out in time" in r.err, "status timeout", r)
        p = get(srv, "web")
        check(p["spec"]["services"][0]["image"] == "busybox:1" and p["metadata"]["generation"] == 5, "undo to 1", p)
        ctl.ok("rollout", "undo", "project", "web")
        check(get(srv, "web")["spec"]["services"][0]["image"] == "busybox:2", "undo to previous")
        r = ctl.expect(1, "rollout", "undo", "project", "web", "--to-revision", "99")
        check("revision 99" in r.err, "unknown revision", r)
        ctl.expect(2, "rollout", "undo", "project", "web", "--to-revision", "x")
        ctl.expect(2, "rollout", "sideways", "project", "web")
        ctl.expect(2, "rollout", "history", "project", "web", "--to-revision", "1")
        ctl.expect(1, "rollout", "history", "project", "nope")

        # restart: a new generation, same spec; an apply afterwards keeps the mark (no second restart)
        gen = get(srv, "web")["metadata"]["generation"]
        r = ctl.ok("rollout", "restart", "project", "web")
        p = get(srv, "web")
        check(p["metadata"]["generation"] == gen + 1 and "caravanserai/restarted-at" in p["metadata"]["annotations"],
              "restart bumps the generation", r, p["metadata"])
        ctl.ok("apply", "-f", f2)
        p2 = get(srv, "web")
        check(p2["metadata"]["generation"] == gen + 1 and p2["metadata"]["annotations"]["caravanserai/restarted-at"]
              == p["metadata"]["annotations"]["caravanserai/restarted-at"], "apply keeps the restart mark", p2["metadata"])
    print("ok")


if __name__ == "__main__":
    main()
