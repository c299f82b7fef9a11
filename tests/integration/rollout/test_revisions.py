# SPDX-License-Identifier: Apache-2.0
"""Revisions (SPEC §13) against a real PostgreSQL: metadata.generation +1 per spec change only
(labels, annotations and status writes do not count), the revisions list with change causes and
REVISION_HISTORY_LIMIT, POST /rollback (default: the previous revision; ?revision=N) as a new
revision, observedGeneration from status reports, the agent's rollback request honoured only while
the failed generation is current, spec.update validated, revisions gone with the project."""

import json

from cara_server import CaraServer, postgres


def body(name, image="busybox:1", cause=None, labels=None, update=None):
    b = {"apiVersion": "caravanserai/v1", "kind": "Project",
         "metadata": {"name": name, "labels": labels or {}, "annotations": {}},
         "spec": {"services": [{"name": "web", "image": image}]}}
    if cause:
        b["metadata"]["annotations"]["caravanserai/change-cause"] = cause
    if update is not None:
        b["spec"]["update"] = update
    return b


def call(srv, method, path, data=None, want=200):
    status, hdrs, raw = srv.request(method, path, data)
    assert status == want, "%s %s: %d, wanted %d: %r" % (method, path, status, want, raw)
    return json.loads(raw) if raw and "json" in hdrs.get("Content-Type", "") else raw


def main():
    with postgres() as pg:
        url = pg.create_database("revisions")
        with CaraServer(database_url=url, env={"REVISION_HISTORY_LIMIT": "4"}) as srv:
            run(srv, pg)
    print("ok   generation, revisions, rollback, observedGeneration, history limit, spec.update validation")


def run(srv, pg):
    p = call(srv, "POST", "/api/v1/projects", body("r", "busybox:1", "apply v1"), 201)
    assert p["metadata"]["generation"] == 1, p["metadata"]
    # the same spec again, or labels only: no new generation
    p = call(srv, "PUT", "/api/v1/projects/r", body("r", "busybox:1", "apply v1"))
    assert p["metadata"]["generation"] == 1, p["metadata"]
    p = call(srv, "PUT", "/api/v1/projects/r", body("r", "busybox:1", "apply v1", labels={"team": "a"}))
    assert p["metadata"]["generation"] == 1, p["metadata"]
    p = call(srv, "PUT", "/api/v1/projects/r", body("r", "busybox:2", "apply v2"))
    assert p["metadata"]["generation"] == 2, p["metadata"]
    # a client cannot set the generation
    b = body("r", "busybox:2", "apply v2")
    b["metadata"]["generation"] = 77
    p = call(srv, "PUT", "/api/v1/projects/r", b)
    assert p["metadata"]["generation"] == 2, p["metadata"]
    # status writes do not count; observedGeneration comes from the report
    call(srv, "PATCH", "/api/v1/projects/r/status", {"phase": "Running", "observedGeneration": 2}, 204)
    p = call(srv, "GET", "/api/v1/projects/r")
    assert p["metadata"]["generation"] == 2 and p["status"]["observedGeneration"] == 2, p
    call(srv, "PUT", "/api/v1/projects/r", body("r", "busybox:3", "apply v3"))
    revs = call(srv, "GET", "/api/v1/projects/r/revisions")["items"]
    assert [r["revision"] for r in revs] == [3, 2, 1], revs
    assert [r["changeCause"] for r in revs] == ["apply v3", "apply v2", "apply v1"], revs
    assert revs[0]["spec"]["services"][0]["image"] == "busybox:3" and revs[0]["createdAt"].endswith("Z"), revs[0]
    assert set(revs[0]) == {"revision", "createdAt", "changeCause", "spec"}, revs[0]

    # rollback: to the previous one by default, as a new revision
    p = call(srv, "POST", "/api/v1/projects/r/rollback")
    assert p["metadata"]["generation"] == 4 and p["spec"]["services"][0]["image"] == "busybox:2", p
    assert "rollback" in p["metadata"]["annotations"]["caravanserai/change-cause"], p["metadata"]
    p = call(srv, "POST", "/api/v1/projects/r/rollback?revision=1")
    assert p["metadata"]["generation"] == 5 and p["spec"]["services"][0]["image"] == "busybox:1", p
    # the limit: 4 kept
    revs = call(srv, "GET", "/api/v1/projects/r/revisions")["items"]
    assert [r["revision"] for r in revs] == [5, 4, 3, 2], revs
    err = call(srv, "POST", "/api/v1/projects/r/rollback?revision=1", want=404)
    assert "revision 1" in err["detail"], err
    err = call(srv, "POST", "/api/v1/projects/r/rollback?revision=x", want=400)
    assert "revision" in err["detail"], err
    call(srv, "GET", "/api/v1/projects/none/revisions", want=404)
    call(srv, "POST", "/api/v1/projects/none/rollback", want=404)

    # the agent gives up generation 6: the server restores revision 5's spec as generation 7
    call(srv, "PUT", "/api/v1/projects/r", body("r", "busybox:6", "apply v6"))
    # a stale request (another generation) changes nothing
    call(srv, "PATCH", "/api/v1/projects/r/status", {"phase": "Running", "rollbackGeneration": 5,
                                                     "rollbackReason": "old"}, 204)
    assert call(srv, "GET", "/api/v1/projects/r")["metadata"]["generation"] == 6
    call(srv, "PATCH", "/api/v1/projects/r/status", {
        "phase": "Running", "rollbackGeneration": 6, "rollbackReason": "healthcheck never passed",
        "conditions": [{"type": "UpdateFailed", "status": "True", "reason": "Unhealthy", "message": "web"}]}, 204)
    p = call(srv, "GET", "/api/v1/projects/r")
    assert p["metadata"]["generation"] == 7 and p["spec"]["services"][0]["image"] == "busybox:1", p
    assert any(c["type"] == "UpdateFailed" and c["status"] == "True" for c in p["status"]["conditions"]), p
    assert "automatic rollback" in p["metadata"]["annotations"]["caravanserai/change-cause"], p["metadata"]

    # spec.update: stored and returned; bad values named
    p = call(srv, "PUT", "/api/v1/projects/r", body("r", "busybox:1", update={"order": "StopFirst",
                                                                              "failureAction": "Pause",
                                                                              "monitorSeconds": 3}))
    assert p["spec"]["update"] == {"order": "StopFirst", "failureAction": "Pause", "monitorSeconds": 3}, p["spec"]
    assert p["metadata"]["generation"] == 8
    for upd, field in (({"order": "Sideways"}, "spec.update.order"), ({"failureAction": "Ignore"}, "spec.update.failureAction"),
                       ({"monitorSeconds": -1}, "spec.update.monitorSeconds"), ({"monitorSeconds": "5"}, "spec.update.monitorSeconds"),
                       ({"orderr": "StopFirst"}, "spec.update.orderr")):
        err = call(srv, "PUT", "/api/v1/projects/r", body("r", "busybox:1", update=upd), want=400)
        assert field in err["detail"], (upd, err)
    assert call(srv, "GET", "/api/v1/projects/r")["metadata"]["generation"] == 8

    # gone with the project
    call(srv, "DELETE", "/api/v1/projects/r?force=true", want=204)
    assert pg.psql("SELECT count(*) FROM project_revisions", db="revisions").strip() == "0"


if __name__ == "__main__":
    main()
