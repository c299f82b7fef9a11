# SPDX-License-Identifier: Apache-2.0
"""Every route, status code and error of reference §2 plus the SPEC §3 additions, against a real
PostgreSQL: problem+json bodies, resourceVersion conflicts, 413, 400 with field paths, nothing
partially stored, 404/405/HEAD, list filters and ordering."""

import http.client
import json
import sys
import time
import traceback
import urllib.parse

from cara_server import CaraServer, postgres, schema_version, wait_until

PROBLEM_TYPE = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/%d"


def project_body(name, services=None, **extra):
    body = {"apiVersion": "caravanserai/v1", "kind": "Project", "metadata": {"name": name},
            "spec": {"services": services or [{"name": "web", "image": "busybox"}]}}
    body.update(extra)
    return body


class T:
    def __init__(self, srv, pg):
        self.srv = srv
        self.pg = pg

    # -- helpers --
    def call(self, method, path, body=None, headers=None):
        status, hdrs, data = self.srv.request(method, path, body, headers)
        ctype = hdrs.get("Content-Type", "")
        parsed = json.loads(data) if data and "json" in ctype else data
        return status, hdrs, parsed

    def expect(self, method, path, body, status, detail=None, detail_contains=None):
        got, hdrs, data = self.call(method, path, body)
        assert got == status, "%s %s: expected %d, got %d: %r" % (method, path, status, got, data)
        if status >= 400 and status not in (404, 405) or (status == 404 and isinstance(data, dict)):
            assert hdrs.get("Content-Type") == "application/problem+json", hdrs.get("Content-Type")
            assert list(data.keys()) == ["title", "status", "type", "detail"], data
            assert data["status"] == status and data["type"] == PROBLEM_TYPE % status, data
            if detail is not None:
                assert data["detail"] == detail, "detail %r != %r" % (data["detail"], detail)
            for piece in detail_contains or []:
                assert piece in data["detail"], "%r not in %r" % (piece, data["detail"])
        return data

    def events(self):
        return int(self.pg.psql("SELECT count(*) FROM events").strip())

    # -- basics --
    def test_health_version(self):
        status, hdrs, data = self.call("GET", "/api/healthz")
        assert status == 200 and data == b"OK", (status, data)
        status, hdrs, data = self.call("GET", "/api/v1/version")
        assert status == 200 and hdrs["Content-Type"] == "application/json"
        assert data["apiVersion"] == "caravanserai/v1" and data["version"], data

    def test_404_405_head(self):
        status, hdrs, data = self.call("GET", "/api/v1/nothing")
        assert status == 404 and data == b"404 page not found\n", (status, data)
        status, hdrs, data = self.call("GET", "/api/v1/nodes/a/b/c")
        assert status == 404
        status, hdrs, data = self.call("PATCH", "/api/v1/nodes")
        assert status == 405 and "GET" in hdrs["Allow"] and "POST" in hdrs["Allow"], (status, hdrs["Allow"])
        status, hdrs, data = self.call("HEAD", "/api/v1/version")
        assert status == 200 and data == b"", (status, data)

    # -- nodes --
    def test_node_crud(self):
        d = self.expect("POST", "/api/v1/nodes", {"metadata": {"name": "n1", "labels": {"zone": "a"}},
                                                  "spec": {"hostname": "h1"}}, 201)
        assert d["kind"] == "Node" and d["apiVersion"] == "caravanserai/v1"
        assert d["status"]["state"] == "NotReady", d
        assert isinstance(d["metadata"]["resourceVersion"], str), d
        assert d["metadata"]["createdAt"] == d["metadata"]["updatedAt"]
        self.expect("POST", "/api/v1/nodes", {"metadata": {"name": "n1"}}, 409,
                    detail="node already exists: n1: resource already exists")
        self.expect("GET", "/api/v1/nodes/n1", None, 200)
        self.expect("GET", "/api/v1/nodes/nope", None, 404, detail="node not found: nope: resource not found")
        self.expect("POST", "/api/v1/nodes", {"metadata": {}}, 400, detail="metadata.name is required")
        self.expect("POST", "/api/v1/nodes", {"metadata": {"name": "Bad Name"}}, 400, detail_contains=["Bad Name"])
        for good in ["a", "node.example.com", "n-2"]:
            self.expect("POST", "/api/v1/nodes", {"metadata": {"name": good}}, 201)
        for bad in ["-a", "a-", "UP", "x" * 300, "a_b"]:
            self.expect("POST", "/api/v1/nodes", {"metadata": {"name": bad}}, 400)
        # list: sorted by name
        d = self.expect("GET", "/api/v1/nodes", None, 200)
        names = [i["metadata"]["name"] for i in d["items"]]
        assert d["kind"] == "NodeList" and names == sorted(names) and "n1" in names, names

    def test_node_update(self):
        self.expect("POST", "/api/v1/nodes/n1/heartbeat", {"state": "Ready"}, 204)
        d = self.expect("PUT", "/api/v1/nodes/n1", {"metadata": {"name": "n1", "labels": {"zone": "b"}},
                                                    "spec": {"hostname": "h2", "unschedulable": True}}, 200)
        assert d["spec"] == {"hostname": "h2", "unschedulable": True}, d
        assert d["status"]["state"] == "Ready" and d["metadata"]["labels"] == {"zone": "b"}, d
        self.expect("PUT", "/api/v1/nodes/ghost", {"metadata": {"name": "ghost"}}, 404,
                    detail="node not found: ghost: resource not found")
        self.expect("PUT", "/api/v1/nodes/n1", {"metadata": {"name": "other"}}, 400,
                    detail='metadata.name "other" does not match URL path "n1"')
        # optimistic concurrency: stale resourceVersion -> 409, current -> 200, none -> 200.
        # node-health writes the Ready condition of a new node once (it never heartbeats): wait
        # until it did, so nobody else writes the node while we look.
        self.expect("POST", "/api/v1/nodes", {"metadata": {"name": "rvn"}}, 201)
        wait_until(lambda: any(c["type"] == "Ready" for c in
                               self.expect("GET", "/api/v1/nodes/rvn", None, 200)["status"].get("conditions", [])),
                   timeout=10, what="node-health to look at rvn")
        rv = self.expect("GET", "/api/v1/nodes/rvn", None, 200)["metadata"]["resourceVersion"]
        d2 = self.expect("PUT", "/api/v1/nodes/rvn", {"metadata": {"name": "rvn", "resourceVersion": rv},
                                                      "spec": {"hostname": "h3"}}, 200)
        assert d2["metadata"]["resourceVersion"] != rv
        self.expect("PUT", "/api/v1/nodes/rvn", {"metadata": {"name": "rvn", "resourceVersion": rv},
                                                 "spec": {"hostname": "stale"}}, 409, detail_contains=[rv])
        assert self.expect("GET", "/api/v1/nodes/rvn", None, 200)["spec"]["hostname"] == "h3"
        self.expect("PUT", "/api/v1/nodes/rvn", {"spec": {"hostname": "h4"}}, 200)

    def test_heartbeat(self):
        self.expect("POST", "/api/v1/nodes/ghost/heartbeat", "not json", 404)
        for state in ["NotReady", "Ready", "Draining"]:
            self.expect("POST", "/api/v1/nodes/n-2/heartbeat", {"state": state}, 204)
        before = self.expect("GET", "/api/v1/nodes/n-2", None, 200)
        assert before["status"]["state"] == "Draining"
        # heartbeats never overwrite Draining (SPEC §2)
        self.expect("POST", "/api/v1/nodes/n-2/heartbeat", {"state": "Ready"}, 204)
        assert self.expect("GET", "/api/v1/nodes/n-2", None, 200)["status"]["state"] == "Draining"
        n_events = self.events()
        self.expect("POST", "/api/v1/nodes/n1/heartbeat", {"state": "Bogus"}, 400,
                    detail_contains=["Bogus", "Ready"])
        self.expect("POST", "/api/v1/nodes/n1/heartbeat", {"capacity": {"cpu": 4}}, 400,
                    detail_contains=["capacity.cpu"])
        assert self.events() == n_events, "a rejected heartbeat stored an event"
        d = self.expect("GET", "/api/v1/nodes/n1", None, 200)
        assert d["status"]["state"] == "Ready"
        # empty body: timestamp only
        self.expect("POST", "/api/v1/nodes/n1/heartbeat", None, 204)
        d2 = self.expect("GET", "/api/v1/nodes/n1", None, 200)
        assert d2["status"]["lastHeartbeat"] > d["status"]["lastHeartbeat"]
        # merge: network fields, capacity, info
        self.expect("POST", "/api/v1/nodes/n1/heartbeat",
                    {"state": "Ready", "network": {"ip": "10.0.0.1", "agentPort": 9090},
                     "capacity": {"cpu": "4", "memory": "8Gi"}, "allocatable": {"cpu": "3"},
                     "info": {"kernelVersion": "6.1", "agentVersion": "0.1.0"}}, 204)
        self.expect("POST", "/api/v1/nodes/n1/heartbeat", {"network": {"dnsName": "n1.local"}}, 204)
        st = self.expect("GET", "/api/v1/nodes/n1", None, 200)["status"]
        assert st["network"]["ip"] == "10.0.0.1" and st["network"]["agentPort"] == 9090, st
        assert st["network"]["dnsName"] == "n1.local", st
        assert st["capacity"] == {"cpu": "4", "memory": "8Gi"} and st["allocatable"] == {"cpu": "3"}, st
        assert st["info"]["kernelVersion"] == "6.1" and st["info"]["agentVersion"] == "0.1.0", st

    def test_node_delete(self):
        self.expect("POST", "/api/v1/nodes", {"metadata": {"name": "busy"}}, 201)
        self.expect("POST", "/api/v1/projects", project_body("on-busy", status={"phase": "Running", "nodeRef": "busy"}),
                    201)
        self.expect("DELETE", "/api/v1/nodes/busy", None, 409,
                    detail='cannot delete node "busy": 1 project(s) still assigned: resource already exists')
        self.expect("DELETE", "/api/v1/projects/on-busy?force=true", None, 204)
        self.expect("DELETE", "/api/v1/nodes/busy", None, 204)
        self.expect("GET", "/api/v1/nodes/busy", None, 404)
        self.expect("DELETE", "/api/v1/nodes/busy", None, 404, detail="node not found: busy: resource not found")

    # -- projects --
    def test_project_create(self):
        d = self.expect("POST", "/api/v1/projects", project_body("p1"), 201)
        assert d["status"]["phase"] == "Pending" and d["kind"] == "Project", d
        self.expect("POST", "/api/v1/projects", project_body("p1"), 409,
                    detail="project already exists: p1: resource already exists")
        self.expect("POST", "/api/v1/projects", {"metadata": {}}, 400, detail="metadata.name is required")
        for bad in ["a.b", "-a", "A", "x" * 64]:
            self.expect("POST", "/api/v1/projects", project_body(bad), 400)
        self.expect("POST", "/api/v1/projects", {"metadata": {"name": "p2"}, "spec": {"services": []}}, 400,
                    detail_contains=["spec.services"])
        self.expect("POST", "/api/v1/projects", project_body("p2", [{"name": "a", "image": "x"}, {"name": "b"}]), 400,
                    detail_contains=["spec.services[1].image"])
        # unknown phase in a client-supplied status -> 400 (SPEC: create validates status)
        self.expect("POST", "/api/v1/projects", project_body("p2", status={"phase": "Bogus"}), 400,
                    detail_contains=["status.phase", "Bogus"])
        self.expect("GET", "/api/v1/projects/p2", None, 404, detail="project not found: p2: resource not found")

    def test_bad_bodies(self):
        n_events = self.events()
        self.expect("POST", "/api/v1/projects", b"", 400, detail="invalid request body: EOF")
        self.expect("POST", "/api/v1/projects", "{not json", 400, detail_contains=["invalid request body"])
        # an escape json-glib would turn into a byte that is not UTF-8 (octal, not JSON): 400, not a 500
        self.expect("POST", "/api/v1/projects", b'{"metadata": {"name": "a\\215b"}, "spec": {"services": []}}', 400,
                    detail_contains=["metadata.name", "not UTF-8"])
        # wrong types name the field path
        self.expect("POST", "/api/v1/projects",
                    project_body("p3", [{"name": "web", "image": "x", "env": [{"name": "A", "value": 5}]}]), 400,
                    detail_contains=["spec.services[0].env[0].value"])
        self.expect("POST", "/api/v1/projects", {"metadata": {"name": 7}}, 400, detail_contains=["metadata.name"])
        # unknown enum values
        self.expect("POST", "/api/v1/projects",
                    project_body("p3", [{"name": "web", "image": "x", "restartPolicy": "Sometimes"}]), 400,
                    detail_contains=["spec.services[0].restartPolicy", "Sometimes"])
        self.expect("POST", "/api/v1/projects",
                    dict(project_body("p3"), spec={"services": [{"name": "web", "image": "x"}],
                                                   "volumes": [{"name": "v", "type": "Weird"}]}), 400,
                    detail_contains=["spec.volumes[0].type"])
        # 413 over 1 MiB
        big = json.dumps(project_body("p3", [{"name": "web", "image": "x" * (1024 * 1024)}]))
        self.expect("POST", "/api/v1/projects", big, 413)
        self.expect("PUT", "/api/v1/projects/p1", big, 413)
        # ... also when the body comes chunked (no Content-Length)
        u = urllib.parse.urlparse(self.srv.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.request("POST", "/api/v1/projects", body=iter([big[i:i + 65536].encode() for i in range(0, len(big), 65536)]),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        r = conn.getresponse()
        assert r.status == 413 and r.getheader("Content-Type") == "application/problem+json", r.status
        conn.close()
        self.expect("GET", "/api/v1/projects/p3", None, 404)
        assert self.events() == n_events, "a rejected request stored something"

    def test_unknown_fields(self):
        """SPEC §2: unknown fields at the top level and anywhere under spec get 400 naming every path; nothing is
        stored.  metadata and status stay lenient (server-managed members, agents of another version)."""
        n_events = self.events()
        n_rows = self.pg.psql("SELECT count(*) FROM projects").strip()
        body = project_body("typo", [{"name": "web", "image": "busybox", "enviroment": [{"name": "A", "value": "b"}],
                                      "restart": "always", "ports": [{"containerPort": 80, "published": 8080}]},
                                     {"name": "db", "image": "busybox", "healthcheck": {"command": ["true"], "interval": 3}}],
                            specs={})
        body["spec"]["volume"] = []
        d = self.expect("POST", "/api/v1/projects", body, 400)
        for piece in ['spec.services[0].enviroment: unknown field "enviroment" (did you mean "env"?)',
                      'spec.services[0].restart: unknown field "restart" (did you mean "restartPolicy: Always"?)',
                      'spec.services[0].ports[0].published: unknown field "published" (did you mean "hostPort"?)',
                      'spec.services[1].healthcheck.interval: unknown field "interval" (did you mean "intervalSeconds"?)',
                      'spec.volume: unknown field "volume" (did you mean "volumes"?)',
                      'specs: unknown field "specs" (did you mean "spec"?)']:
            assert piece in d["detail"], (piece, d["detail"])
        assert d["detail"].startswith("invalid request body: "), d
        # without a kind in the body the route's kind applies
        del body["kind"]
        self.expect("POST", "/api/v1/projects", body, 400, detail_contains=["spec.services[0].enviroment"])
        self.expect("GET", "/api/v1/projects/typo", None, 404)
        # an update is refused the same way and leaves the stored spec alone
        before = self.expect("GET", "/api/v1/projects/p1", None, 200)
        bad = project_body("p1", [{"name": "web", "image": "busybox", "enviroment": []}])
        self.expect("PUT", "/api/v1/projects/p1", bad, 400,
                    detail='invalid request body: spec.services[0].enviroment: unknown field "enviroment" '
                           '(did you mean "env"?)')
        after = self.expect("GET", "/api/v1/projects/p1", None, 200)
        assert after == before, (before, after)
        # image references: Docker's grammar, with the field path
        for image, why in [("UPPER", "must be lowercase"), ("a:", "tag after ':' is empty"), (":tag", "name is missing"),
                           ("a//b", "empty path component"), ("a@sha256:abc", "digest")]:
            self.expect("POST", "/api/v1/projects", project_body("img", [{"name": "web", "image": image}]), 400,
                        detail_contains=["spec.services[0].image: invalid image reference", why])
        self.expect("PUT", "/api/v1/projects/p1", project_body("p1", [{"name": "web", "image": "Busybox"}]), 400,
                    detail_contains=["spec.services[0].image"])
        assert self.pg.psql("SELECT count(*) FROM projects").strip() == n_rows
        assert self.events() == n_events, "a rejected request stored something"
        ok = self.expect("POST", "/api/v1/projects",
                         project_body("img", [{"name": "web", "image": "localhost:5000/a/b:tag"},
                                              {"name": "db", "image": "a@sha256:" + "0" * 64}]), 201)
        assert ok["spec"]["services"][0]["image"] == "localhost:5000/a/b:tag", ok
        self.expect("DELETE", "/api/v1/projects/img?force=true", None, 204)
        # nodes: spec strict, metadata and status lenient
        self.expect("POST", "/api/v1/nodes", {"metadata": {"name": "strict"}, "spec": {"unschedulabel": True}}, 400,
                    detail_contains=['spec.unschedulabel: unknown field "unschedulabel" (did you mean "unschedulable"?)'])
        self.expect("GET", "/api/v1/nodes/strict", None, 404)
        self.expect("POST", "/api/v1/nodes", {"metadata": {"name": "lenient", "uid": "x"},
                                              "status": {"state": "NotReady", "newerAgentField": 1}}, 201)
        self.expect("PUT", "/api/v1/nodes/lenient", {"metadata": {"name": "lenient"}, "spec": {"hostnme": "h"}}, 400,
                    detail_contains=["spec.hostnme", '"hostname"'])
        self.expect("DELETE", "/api/v1/nodes/lenient", None, 204)

    def test_project_list(self):
        # Failed without a node: no controller touches these while we look
        for name in ["zeta", "alpha", "mid"]:
            self.expect("POST", "/api/v1/projects", project_body(name, status={"phase": "Failed"}), 201)
        self.expect("POST", "/api/v1/projects", project_body("placed", status={"phase": "Running", "nodeRef": "elsewhere"}),
                    201)
        d = self.expect("GET", "/api/v1/projects", None, 200)
        names = [i["metadata"]["name"] for i in d["items"]]
        assert d["kind"] == "ProjectList" and names == sorted(names), names
        d = self.expect("GET", "/api/v1/projects?phase=Running", None, 200)
        assert [i["metadata"]["name"] for i in d["items"]] == ["placed"], d
        d = self.expect("GET", "/api/v1/projects?phase=Running&phase=Failed", None, 200)
        assert [i["metadata"]["name"] for i in d["items"]] == ["alpha", "mid", "placed", "zeta"], d
        d = self.expect("GET", "/api/v1/projects?nodeRef=elsewhere", None, 200)
        assert [i["metadata"]["name"] for i in d["items"]] == ["placed"], d
        d = self.expect("GET", "/api/v1/projects?nodeRef=elsewhere&phase=Failed", None, 200)
        assert d["items"] == [], d
        d = self.expect("GET", "/api/v1/projects?phase=Nonsense", None, 200)
        assert d["items"] == [], d
        # the list is spliced from the stored object texts: every item is what GET answers, also for a
        # row last written before migration 3 (no stored text: encoded from its columns)
        self.pg.psql("UPDATE projects SET object = NULL WHERE name = 'mid'")
        d = self.expect("GET", "/api/v1/projects", None, 200)
        assert d["items"], d
        for item in d["items"]:
            one = self.expect("GET", "/api/v1/projects/" + item["metadata"]["name"], None, 200)
            assert item == one, (item, one)
        everything = d["items"]
        assert "metadata" not in d, d  # no pages asked for: no continuation

        # Pages as kubectl asks for them: ?limit=N, then ?continue=<metadata.continue>; the pages
        # together are the whole list, in order, and the last one has no continuation.
        pages, token = [], None
        while True:
            q = "?limit=2" + ("&continue=" + token if token else "")
            d = self.expect("GET", "/api/v1/projects" + q, None, 200)
            pages.append(d["items"])
            token = (d.get("metadata") or {}).get("continue")
            if not token:
                break
            assert len(d["items"]) == 2, d
        assert len(pages) == (len(everything) + 1) // 2 and all(len(p) == 2 for p in pages[:-1]), pages
        assert [i for p in pages for i in p] == everything
        d = self.expect("GET", "/api/v1/projects?phase=Failed&limit=1", None, 200)
        assert [i["metadata"]["name"] for i in d["items"]] == ["alpha"] and d["metadata"]["continue"], d
        d = self.expect("GET", "/api/v1/projects?phase=Failed&limit=5&continue=" + d["metadata"]["continue"], None, 200)
        assert [i["metadata"]["name"] for i in d["items"]] == ["mid", "zeta"] and "metadata" not in d, d
        for bad in ["0", "-1", "x", "1.5", "99999999999"]:
            self.expect("GET", "/api/v1/projects?limit=" + bad, None, 400,
                        detail="limit must be a whole number from 1 to 2147483647")
        for bad in ["!!!", "Lw", "QUJD"]:  # not base64url; "/"; "ABC" (not a project name)
            self.expect("GET", "/api/v1/projects?limit=1&continue=" + bad, None, 400,
                        detail_contains=["invalid continue token"])

    def test_project_update(self):
        self.expect("POST", "/api/v1/projects", project_body("up"), 201)
        d = self.expect("PUT", "/api/v1/projects/up", project_body("up", [{"name": "web", "image": "busybox:2"}]), 200)
        assert d["spec"]["services"][0]["image"] == "busybox:2" and d["status"]["phase"] == "Pending", d
        self.expect("PUT", "/api/v1/projects/ghost", project_body("ghost"), 404,
                    detail="project not found: ghost: resource not found")
        self.expect("PUT", "/api/v1/projects/up", project_body("other"), 400,
                    detail='metadata.name "other" does not match URL path "up"')
        self.expect("PUT", "/api/v1/projects/up", {"metadata": {"name": "up"}, "spec": {"services": []}}, 400)
        # Running: accepted, phase kept (SPEC §3)
        self.expect("PATCH", "/api/v1/projects/up/status", {"phase": "Running"}, 204)
        d = self.expect("PUT", "/api/v1/projects/up", project_body("up", [{"name": "web", "image": "busybox:3"}]), 200)
        assert d["status"]["phase"] == "Running" and d["spec"]["services"][0]["image"] == "busybox:3", d
        # unchanged spec: nothing written
        rv = d["metadata"]["resourceVersion"]
        d = self.expect("PUT", "/api/v1/projects/up", project_body("up", [{"name": "web", "image": "busybox:3"}]), 200)
        assert d["metadata"]["resourceVersion"] == rv, d
        # stale resourceVersion -> 409, nothing stored
        stale = project_body("up", [{"name": "web", "image": "busybox:4"}])
        stale["metadata"]["resourceVersion"] = "1"
        self.expect("PUT", "/api/v1/projects/up", stale, 409, detail_contains=["resourceVersion"])
        assert self.expect("GET", "/api/v1/projects/up", None, 200)["spec"]["services"][0]["image"] == "busybox:3"
        stale["metadata"]["resourceVersion"] = rv
        self.expect("PUT", "/api/v1/projects/up", stale, 200)
        # Failed: back to Pending so it is scheduled again (SPEC change)
        self.expect("PATCH", "/api/v1/projects/up/status", {"phase": "Failed", "reason": "Crash"}, 204)
        d = self.expect("PUT", "/api/v1/projects/up", project_body("up", [{"name": "web", "image": "busybox:5"}]), 200)
        assert d["status"]["phase"] == "Pending", d
        # Terminating: refused
        self.expect("PATCH", "/api/v1/projects/up/status", {"phase": "Terminating"}, 204)
        self.expect("PUT", "/api/v1/projects/up", project_body("up"), 409, detail_contains=["Terminating"])
        # deletion wins: a late report (a reconcile under way when it was deleted) keeps it Terminating,
        # its services' states still count; only Terminated moves it on
        self.expect("PATCH", "/api/v1/projects/up/status",
                    {"phase": "Running", "services": [{"name": "web", "state": "running"}]}, 204)
        d = self.expect("GET", "/api/v1/projects/up", None, 200)
        assert d["status"]["phase"] == "Terminating" and d["status"]["services"][0]["state"] == "running", d
        self.expect("PATCH", "/api/v1/projects/up/status", {"phase": "Terminated"}, 204)
        s, d = self.srv.json("GET", "/api/v1/projects/up")
        assert s == 404 or d["status"]["phase"] == "Terminated", (s, d)  # the controller removes it soon

    def test_failed_retry(self):
        """The same spec PUT again on a Failed project is a retry on its node while that node is Ready
        and schedulable (back to Scheduled, nodeRef kept); otherwise it is scheduled afresh."""
        self.expect("POST", "/api/v1/nodes", {"metadata": {"name": "retrier", "labels": {"pin": "retrier"}}}, 201)
        self.expect("POST", "/api/v1/nodes/retrier/heartbeat", {"state": "Ready"}, 204)
        body = project_body("rt")
        body["spec"]["nodeSelector"] = {"pin": "retrier"}
        self.expect("POST", "/api/v1/projects", body, 201)
        wait_until(lambda: self.expect("GET", "/api/v1/projects/rt", None, 200)["status"].get("nodeRef") == "retrier",
                   timeout=20, what="rt Scheduled on retrier")
        self.expect("PATCH", "/api/v1/projects/rt/status", {"phase": "Failed", "reason": "ImagePullFailed"}, 204)
        d = self.expect("PUT", "/api/v1/projects/rt", body, 200)
        assert d["status"]["phase"] == "Scheduled" and d["status"]["nodeRef"] == "retrier", d
        cond = [c for c in d["status"]["conditions"] if c["type"] == "Phase"][0]
        assert cond["reason"] == "Retry" and "retrier" in cond["message"], cond
        # the node cannot take it any more: scheduled afresh (Pending, no node)
        self.expect("PATCH", "/api/v1/projects/rt/status", {"phase": "Failed", "reason": "ImagePullFailed"}, 204)
        self.expect("PUT", "/api/v1/nodes/retrier", {"metadata": {"name": "retrier", "labels": {"pin": "retrier"}},
                                                     "spec": {"unschedulable": True}}, 200)
        d = self.expect("PUT", "/api/v1/projects/rt", body, 200)
        assert d["status"]["phase"] == "Pending" and not d["status"].get("nodeRef"), d
        self.expect("DELETE", "/api/v1/projects/rt?force=true", None, 204)

    def test_status_patch(self):
        self.expect("POST", "/api/v1/projects", project_body("st"), 201)
        for phase in ["Scheduled", "Failed", "Running"]:
            self.expect("PATCH", "/api/v1/projects/st/status", {"phase": phase}, 204)
        self.expect("PATCH", "/api/v1/projects/st/status", {"phase": "Bogus"}, 400, detail_contains=["Bogus", "Pending"])
        self.expect("PATCH", "/api/v1/projects/st/status", {"phase": ""}, 400, detail_contains=["phase is required"])
        self.expect("PATCH", "/api/v1/projects/st/status", {}, 400, detail_contains=["phase is required"])
        self.expect("PATCH", "/api/v1/projects/ghost/status", {"phase": "Bogus"}, 400)
        self.expect("PATCH", "/api/v1/projects/ghost/status", {"phase": "Running"}, 404)
        self.expect("PATCH", "/api/v1/projects/st/status",
                    {"phase": "Running", "reason": "ContainersRunning", "message": "all up",
                     "services": [{"name": "web", "containerId": "abc", "state": "running", "restartCount": 1}]}, 204)
        self.expect("PATCH", "/api/v1/projects/st/status", {"phase": "Running", "reason": "StillRunning"}, 204)
        st = self.expect("GET", "/api/v1/projects/st", None, 200)["status"]
        assert st["phase"] == "Running", st
        phase_conds = [c for c in st["conditions"] if c["type"] == "Phase"]
        assert len(phase_conds) == 1 and phase_conds[0]["reason"] == "StillRunning", st
        assert st["services"][0]["containerId"] == "abc" and st["services"][0]["restartCount"] == 1, st
        # Terminated (the termination controller then removes the row)
        self.expect("PATCH", "/api/v1/projects/st/status", {"phase": "Terminated"}, 204)

    def test_project_delete(self):
        for name, phase, node, want in [("d-pending", None, None, 204), ("d-running", "Running", "n1", 202),
                                        ("d-failed", "Failed", None, 204), ("d-failed-on-node", "Failed", "n1", 202),
                                        ("d-sched", "Scheduled", "n1", 202), ("d-done", "Terminated", "n1", 202)]:
            status = {}
            if phase:
                status["phase"] = phase
            if node:
                status["nodeRef"] = node
            self.expect("POST", "/api/v1/projects", project_body(name, status=status), 201)
            if phase == "Terminated":
                # the termination controller may remove it before our DELETE arrives
                got = self.call("DELETE", "/api/v1/projects/" + name)[0]
                assert got in (202, 404), got
            else:
                self.expect("DELETE", "/api/v1/projects/" + name, None, want)
            if want == 202 and phase == "Terminated":
                # already on its way out: left as it is (the termination controller removes it)
                wait_until(lambda: self.call("GET", "/api/v1/projects/" + name)[0] == 404, timeout=30,
                           what="the termination controller to remove " + name)
            elif want == 202:
                d = self.expect("GET", "/api/v1/projects/" + name, None, 200)
                assert d["status"]["phase"] == "Terminating" and d["status"].get("nodeRef") == node, d
                self.expect("DELETE", "/api/v1/projects/" + name, None, 202)  # idempotent
                self.expect("DELETE", "/api/v1/projects/%s?force=yes" % name, None, 202)  # only "true" forces
                self.expect("DELETE", "/api/v1/projects/%s?force=true" % name, None, 204)
            self.expect("GET", "/api/v1/projects/" + name, None, 404)
        self.expect("DELETE", "/api/v1/projects/ghost", None, 404, detail="project not found: ghost: resource not found")

    def test_streams_do_not_hold_workers(self):
        """Three times as many idle watch streams as worker threads, and the API still answers."""
        u = urllib.parse.urlparse(self.srv.url)
        conns = []
        try:
            for i in range(12):
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                c.request("GET", "/api/v1/projects?watch=true" if i % 2 else "/api/v1/nodes?watch=true")
                r = c.getresponse()
                assert r.status == 200 and r.getheader("Content-Type") == "application/x-ndjson", r.status
                conns.append((c, r))
            t0 = time.monotonic()
            for _ in range(20):
                self.expect("GET", "/api/v1/version", None, 200)
            assert time.monotonic() - t0 < 5, "requests were slow while streams were open"
            # and the streams deliver: a new project reaches every project watcher
            self.expect("POST", "/api/v1/projects", project_body("streamed"), 201)
            for i, (c, r) in enumerate(conns):
                if i % 2 == 0:
                    continue
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    line = r.fp.readline()
                    if b'"streamed"' in line:
                        break
                else:
                    raise AssertionError("watch %d did not see the new project" % i)
        finally:
            for c, r in conns:
                c.close()
        self.expect("GET", "/api/v1/version", None, 200)

    def test_events(self):
        """Every write appended exactly one event with the object's resourceVersion."""
        self.expect("POST", "/api/v1/projects", project_body("ev"), 201)
        d = self.expect("PATCH", "/api/v1/projects/ev/status", {"phase": "Running"}, 204)
        d = self.expect("GET", "/api/v1/projects/ev", None, 200)
        rv = d["metadata"]["resourceVersion"]
        rows = self.pg.psql("SELECT type || ' ' || (object->'metadata'->>'resourceVersion') || ' ' || rv FROM events "
                            "WHERE kind = 'Project' AND name = 'ev' ORDER BY rv").split()
        assert rows[:3] == ["ADDED", rows[1], rows[1]] and rows[-1] == rv, rows
        self.expect("DELETE", "/api/v1/projects/ev?force=true", None, 204)
        last = self.pg.psql("SELECT type FROM events WHERE name = 'ev' ORDER BY rv DESC LIMIT 1").strip()
        assert last == "DELETED", last
        cols = self.pg.psql("SELECT count(*) FROM pg_indexes WHERE tablename IN ('nodes', 'projects', 'events')")
        assert int(cols) >= 7, cols
        assert self.pg.psql("SELECT max(version) FROM schema_migrations").strip() == str(schema_version())

    def test_list_after_controllers(self):
        """Writes through the controllers' own statement (scheduler placements) keep the stored text."""
        self.expect("POST", "/api/v1/nodes", {"metadata": {"name": "lister"}}, 201)
        self.expect("POST", "/api/v1/nodes/lister/heartbeat", {"state": "Ready"}, 204)
        self.expect("POST", "/api/v1/projects", project_body("listed"), 201)
        wait_until(lambda: self.expect("GET", "/api/v1/projects/listed", None, 200)["status"].get("phase") == "Scheduled",
                   timeout=20, what="listed Scheduled")
        one = self.expect("GET", "/api/v1/projects/listed", None, 200)
        items = [i for i in self.expect("GET", "/api/v1/projects", None, 200)["items"] if i["metadata"]["name"] == "listed"]
        assert items == [one], (items, one)

    def test_list_cache(self):
        """The whole list is kept in memory between changes; a change made through another replica
        (its own server on the same database) shows in the next list at once."""
        def hits():
            status, _, text = self.srv.request("GET", "/metrics")
            assert status == 200, status
            for line in text.decode().splitlines():
                if line.startswith('cara_project_list_cache_total{result="hit"}'):
                    return float(line.split()[-1])
            raise AssertionError("no cara_project_list_cache_total hit series")

        def names():
            return {i["metadata"]["name"]: i for i in self.expect("GET", "/api/v1/projects", None, 200)["items"]}

        first = names()
        h0 = hits()
        again = names()
        assert again == first and hits() == h0 + 1, "an unchanged list was not sent from memory"
        with CaraServer(database_url=self.db) as other:
            def via_other(method, path, body, status):
                got, _, data = other.request(method, path, body)
                assert got == status, (method, path, got, data)
                return json.loads(data) if data else None
            via_other("POST", "/api/v1/projects", project_body("cached-one"), 201)
            now = names()
            assert "cached-one" in now and set(now) == set(first) | {"cached-one"}, sorted(now)
            # (the scheduler may place it between the two reads: compare what it cannot change)
            assert now["cached-one"]["spec"] == self.expect("GET", "/api/v1/projects/cached-one", None, 200)["spec"]
            one = via_other("GET", "/api/v1/projects/cached-one", None, 200)
            one["metadata"]["labels"] = {"tier": "cached"}
            via_other("PUT", "/api/v1/projects/cached-one", one, 200)
            assert names()["cached-one"]["metadata"]["labels"] == {"tier": "cached"}
            via_other("DELETE", "/api/v1/projects/cached-one?force=true", None, 204)
            assert "cached-one" not in names()
        # Filtered and paged lists are never served from the kept whole list.
        h1 = hits()
        self.expect("GET", "/api/v1/projects?limit=1", None, 200)
        self.expect("GET", "/api/v1/projects?phase=Pending", None, 200)
        assert hits() == h1


def main():
    with postgres() as pg:
        db = pg.create_database("api")
        dbname = "api"
        with CaraServer(database_url=db) as srv:
            # psql against the server's database
            class PgDb:
                def psql(self, sql):
                    return pg.psql(sql, db=dbname)
            t = T(srv, PgDb())
            t.db = db
            order = ["test_health_version", "test_404_405_head", "test_node_crud", "test_node_update", "test_heartbeat",
                     "test_node_delete", "test_project_create", "test_bad_bodies", "test_unknown_fields", "test_project_list",
                     "test_project_update", "test_failed_retry", "test_status_patch", "test_project_delete", "test_streams_do_not_hold_workers",
                     "test_events", "test_list_after_controllers", "test_list_cache"]
            failed = 0
            for name in order:
                try:
                    getattr(t, name)()
                    print("ok   %s" % name)
                except Exception:  # noqa: BLE001 - report every failing case
                    failed += 1
                    print("FAIL %s" % name)
                    traceback.print_exc()
            if failed:
                sys.exit(1)  # the fixture prints the server's log


if __name__ == "__main__":
    main()
