# SPDX-License-Identifier: Apache-2.0
"""Secrets (SPEC §12) on the server: /api/v1/secrets CRUD whose answers never carry a value
(keys and sizes only), resourceVersion and 409, 413 over 1 MiB, 400 with the field path for bad
documents and for projects naming a missing Secret or key, 409 naming the projects when deleting
one in use, a change giving every project that uses it a new resourceVersion, the agents' route
(values only for Secrets a project placed on that node uses, else 403), encryption at rest (pg_dump
shows no value), `cara-server --rotate-secret-key`, and a missing or wrong key: the server starts,
and using a value is a clear 503, never a 500 or garbage."""

import base64
import json
import os
import shutil
import stat
import subprocess
import tempfile

from cara_fixtures import PG_BINDIR, wait_until
from cara_server import CaraServer, postgres

PASSWORD = "Tr0ub4dor-and-3-horses"
TOKEN = "api-token-0123456789abcdef"


def secret(name, **string_data):
    return {"apiVersion": "caravanserai/v1", "kind": "Secret", "metadata": {"name": name}, "stringData": string_data}


def project(name, spec_extra=None, env=None, secrets=None):
    svc = {"name": "web", "image": "busybox"}
    if env:
        svc["env"] = env
    if secrets:
        svc["secrets"] = secrets
    spec = {"services": [svc]}
    spec.update(spec_extra or {})
    return {"metadata": {"name": name}, "spec": spec}


def no_values(raw):
    for v in (PASSWORD, TOKEN):
        assert v.encode() not in raw, raw
        assert base64.b64encode(v.encode()) not in raw, raw


def check(srv, method, path, want, body=None):
    status, _, data = srv.request(method, path, body)
    assert status == want, "%s %s: %d, wanted %d: %s" % (method, path, status, want, data)
    no_values(data)
    return json.loads(data) if data else None


def pg_dump(url):
    out = subprocess.run([os.path.join(PG_BINDIR, "pg_dump"), "-d", url], check=True, capture_output=True).stdout
    assert b"secret_values" in out, "dump lacks the secret_values table"
    return out


def crud(srv):
    created = check(srv, "POST", "/api/v1/secrets", 201, secret("db", password=PASSWORD, user="app"))
    assert created["keys"] == [{"name": "password", "size": len(PASSWORD)}, {"name": "user", "size": 3}], created
    assert "data" not in created and "stringData" not in created, created
    rv = created["metadata"]["resourceVersion"]
    got = check(srv, "GET", "/api/v1/secrets/db", 200)
    assert got["keys"] == created["keys"] and got["type"] == "Opaque", got
    listed = check(srv, "GET", "/api/v1/secrets", 200)
    assert listed["kind"] == "SecretList" and [s["metadata"]["name"] for s in listed["items"]] == ["db"], listed
    check(srv, "POST", "/api/v1/secrets", 409, secret("db", password="x"))
    check(srv, "GET", "/api/v1/secrets/nope", 404)
    # data as base64, and a GET put back as it is (keys[] accepted)
    body = {"kind": "Secret", "metadata": {"name": "api", "resourceVersion": None},
            "data": {"token": base64.b64encode(TOKEN.encode()).decode()}}
    del body["metadata"]["resourceVersion"]
    check(srv, "POST", "/api/v1/secrets", 201, body)
    # PUT: stale resourceVersion 409, matching one or none accepted
    stale = secret("db", password=PASSWORD, user="app2")
    stale["metadata"]["resourceVersion"] = str(int(rv) - 1)
    problem = check(srv, "PUT", "/api/v1/secrets/db", 409, stale)
    assert "resourceVersion" in problem["detail"], problem
    fresh = secret("db", password=PASSWORD, user="app2")
    fresh["metadata"]["resourceVersion"] = rv
    updated = check(srv, "PUT", "/api/v1/secrets/db", 200, fresh)
    assert int(updated["metadata"]["resourceVersion"]) > int(rv), updated
    assert updated["metadata"]["createdAt"] == created["metadata"]["createdAt"], updated
    check(srv, "PUT", "/api/v1/secrets/db", 200, secret("db", password=PASSWORD, user="app"))
    check(srv, "PUT", "/api/v1/secrets/nope", 404, secret("nope", a="b"))
    # a read put back (keys[] without values) keeps the stored values: nothing changes
    read = check(srv, "GET", "/api/v1/secrets/db", 200)
    back = check(srv, "PUT", "/api/v1/secrets/db", 200, read)
    assert back["metadata"]["resourceVersion"] == read["metadata"]["resourceVersion"], (read, back)
    # ... one key changed beside it: the other kept
    mixed = dict(read, stringData={"user": "app-x"})
    mixed["keys"] = [k for k in read["keys"] if k["name"] == "password"]
    mixed["metadata"] = {"name": "db"}
    got = check(srv, "PUT", "/api/v1/secrets/db", 200, mixed)
    assert got["keys"] == [{"name": "password", "size": len(PASSWORD)}, {"name": "user", "size": 5}], got
    check(srv, "PUT", "/api/v1/secrets/db", 200, secret("db", password=PASSWORD, user="app"))
    # a key without a value anywhere: 400
    problem = check(srv, "POST", "/api/v1/secrets", 400, {"kind": "Secret", "metadata": {"name": "nov"},
                                                         "keys": [{"name": "k", "size": 1}]})
    assert "data.k: no value" in problem["detail"], problem
    bad = dict(read, metadata={"name": "db"}, keys=[{"name": "nokey", "size": 1}])
    problem = check(srv, "PUT", "/api/v1/secrets/db", 400, bad)
    assert "data.nokey: no value" in problem["detail"], problem
    check(srv, "PUT", "/api/v1/secrets/db", 400, secret("other", a="b"))
    # bad documents: 400 naming the field; nothing stored
    for doc, words in [
        ({"kind": "Secret", "metadata": {"name": "bad"}, "data": {"k": "%%%"}}, "data.k: not valid base64"),
        ({"kind": "Secret", "metadata": {"name": "bad"}, "stringdata": {"k": "v"}}, "did you mean \"stringData\""),
        ({"kind": "Secret", "metadata": {"name": "bad"}, "type": "Registry", "stringData": {"server": "h"}},
         "data.username: required"),
        ({"kind": "Secret", "metadata": {"name": "Bad!"}}, "metadata.name"),
    ]:
        problem = check(srv, "POST", "/api/v1/secrets", 400, doc)
        assert words in problem["detail"], (words, problem)
    check(srv, "GET", "/api/v1/secrets/bad", 404)
    # 1 MiB at most
    status, _, _ = srv.request("POST", "/api/v1/secrets", secret("big", blob="x" * (1024 * 1024 + 10)))
    assert status == 413, status
    check(srv, "GET", "/api/v1/secrets/big", 404)


def references(srv):
    # a project naming a missing Secret or key, or a non-Registry pull secret: 400 with the path
    for p, words in [
        (project("p1", env=[{"name": "PW", "valueFrom": {"secret": "missing", "key": "password"}}]),
         "spec.services[0].env[0].valueFrom.secret: secret \"missing\" not found"),
        (project("p1", env=[{"name": "PW", "valueFrom": {"secret": "db", "key": "pass"}}]),
         "spec.services[0].env[0].valueFrom.key: secret \"db\" has no key \"pass\" (its keys: password, user)"),
        (project("p1", secrets=[{"secret": "db", "key": "nokey"}]), "spec.services[0].secrets[0].key"),
        (project("p1", {"imagePullSecrets": ["db"]}), "spec.imagePullSecrets[0]: secret \"db\" is not of type Registry"),
    ]:
        problem = check(srv, "POST", "/api/v1/projects", 400, p)
        assert words in problem["detail"], (words, problem)
    check(srv, "GET", "/api/v1/projects/p1", 404)
    env = [{"name": "PW", "valueFrom": {"secret": "db", "key": "password"}}]
    made = check(srv, "POST", "/api/v1/projects", 201, project("p1", env=env))
    check(srv, "POST", "/api/v1/projects", 201, project("p2", secrets=[{"secret": "db"}, {"secret": "api"}]))
    # PUT of a project is checked too
    problem = check(srv, "PUT", "/api/v1/projects/p2", 400, project("p2", secrets=[{"secret": "gone"}]))
    assert "spec.services[0].secrets[0].secret" in problem["detail"], problem
    # deleting a Secret in use: 409 naming the projects
    problem = check(srv, "DELETE", "/api/v1/secrets/db", 409)
    assert "p1, p2" in problem["detail"], problem
    # a changed Secret gives its projects a new resourceVersion (their agents roll them); the
    # scheduler's Unschedulable condition is written first, so it cannot move the figure meanwhile
    def unschedulable(name):
        conds = check(srv, "GET", "/api/v1/projects/" + name, 200)["status"].get("conditions") or []
        return any(c.get("type") == "Scheduled" and c.get("reason") == "Unschedulable" for c in conds)
    for name in ("p1", "p2"):
        wait_until(lambda: unschedulable(name), timeout=20, what=name + " Unschedulable")
    before = check(srv, "GET", "/api/v1/projects/p1", 200)["metadata"]["resourceVersion"]
    # the same values again: nothing written, nothing rolled
    srv_rv = check(srv, "GET", "/api/v1/secrets/db", 200)["metadata"]["resourceVersion"]
    same = check(srv, "PUT", "/api/v1/secrets/db", 200, secret("db", password=PASSWORD, user="app"))
    assert same["metadata"]["resourceVersion"] == srv_rv, (srv_rv, same)
    assert check(srv, "GET", "/api/v1/projects/p1", 200)["metadata"]["resourceVersion"] == before

    def secret_changed(name):
        return [e for e in check(srv, "GET", "/api/v1/events?project=" + name, 200)["items"]
                if e["reason"] == "SecretChanged"]
    assert secret_changed("p1") == [], secret_changed("p1")
    check(srv, "PUT", "/api/v1/secrets/db", 200, secret("db", password=PASSWORD, user="app3"))
    # ... and a SecretChanged event for each project that uses it (recorded before the answer)
    for name in ("p1", "p2"):
        got = secret_changed(name)
        assert len(got) == 1 and got[0]["type"] == "Normal" and "Secret db changed" in got[0]["message"], got
    after = check(srv, "GET", "/api/v1/projects/p1", 200)
    assert int(after["metadata"]["resourceVersion"]) > int(before), (before, after)
    assert after["spec"] == made["spec"], after
    # unused: deletable
    check(srv, "POST", "/api/v1/secrets", 201, secret("tmp", a="b"))
    check(srv, "DELETE", "/api/v1/secrets/tmp", 204)
    check(srv, "GET", "/api/v1/secrets/tmp", 404)


def node_route(srv):
    check(srv, "POST", "/api/v1/nodes", 201, {"metadata": {"name": "n1"}})
    check(srv, "POST", "/api/v1/nodes/n1/heartbeat", 204, {"state": "Ready"})

    def placed():
        return check(srv, "GET", "/api/v1/projects/p1", 200)["status"].get("nodeRef") == "n1"
    wait_until(placed, timeout=20, what="p1 scheduled on n1")
    wait_until(lambda: check(srv, "GET", "/api/v1/projects/p2", 200)["status"].get("nodeRef") == "n1", timeout=20,
               what="p2 scheduled on n1")
    status, _, data = srv.request("GET", "/api/v1/nodes/n1/secrets/db")
    assert status == 200, (status, data)
    doc = json.loads(data)
    assert base64.b64decode(doc["data"]["password"]).decode() == PASSWORD, doc
    # a Secret no project on that node uses: 403
    check(srv, "POST", "/api/v1/secrets", 201, secret("lonely", a="b"))
    check(srv, "GET", "/api/v1/nodes/n1/secrets/lonely", 403)
    check(srv, "POST", "/api/v1/nodes", 201, {"metadata": {"name": "n2"}})
    check(srv, "GET", "/api/v1/nodes/n2/secrets/db", 403)


def main():
    with postgres() as pg:
        url = pg.create_database("secrets")
        data_dir = tempfile.mkdtemp(prefix="cara-secrets-")
        try:
            with CaraServer(database_url=url, data_dir=data_dir) as srv:
                key = os.path.join(data_dir, "secret.key")
                assert stat.S_IMODE(os.stat(key).st_mode) == 0o600, oct(os.stat(key).st_mode)
                crud(srv)
                references(srv)
                node_route(srv)
                no_values(srv.log().encode())
                # no event carries a value either (the Secret's changes and the projects using it)
                events = check(srv, "GET", "/api/v1/events", 200)
                assert events["items"], events
            # at rest: no value in a dump of the database
            no_values(pg_dump(url))
            ids = pg.psql("SELECT DISTINCT key_id FROM secret_values", db="secrets").split()
            assert len(ids) == 1, ids

            # rotation: every value under a new key in one go, the old key kept as .old
            with open(key) as f:
                old_key = f.read()
            env = dict(os.environ, DATABASE_URL=url, CARA_AUTH="none")
            server_bin = os.environ.get("CARA_SERVER_BIN", "cara-server")
            r = subprocess.run([server_bin, "--data-dir", data_dir, "--config", "/nonexistent.conf",
                                "--rotate-secret-key"], env=env, capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r
            assert "Sealed" in r.stdout, r.stdout
            with open(key) as f:
                assert f.read() != old_key
            with open(key + ".old") as f:
                assert f.read() == old_key
            assert not os.path.exists(key + ".new")
            new_ids = pg.psql("SELECT DISTINCT key_id FROM secret_values", db="secrets").split()
            assert len(new_ids) == 1 and new_ids != ids, (ids, new_ids)
            no_values(pg_dump(url))
            os.unlink(key + ".old")  # the operator retires the old key
            with CaraServer(database_url=url, data_dir=data_dir) as srv:
                status, _, data = srv.request("GET", "/api/v1/nodes/n1/secrets/db")
                assert status == 200 and base64.b64decode(json.loads(data)["data"]["password"]).decode() == PASSWORD

            # a wrong key: the server starts, reads of names work, values are a clear 503
            shutil.copy(key, key + ".right")
            with open(key, "w") as f:
                f.write(os.urandom(32).hex() + "\n")
            with CaraServer(database_url=url, data_dir=data_dir) as srv:
                check(srv, "GET", "/api/v1/secrets/db", 200)
                check(srv, "PUT", "/api/v1/secrets/db", 503, secret("db", password="new"))
                problem = check(srv, "GET", "/api/v1/nodes/n1/secrets/db", 503)
                assert "sealed with key id %s" % new_ids[0] in problem["detail"], problem
            # an unreadable key (not a key at all): starts, and a write is a clear 503
            with open(key, "w") as f:
                f.write("garbage\n")
            with CaraServer(database_url=url, data_dir=data_dir) as srv:
                assert "Secret values are unavailable" in srv.log(), srv.log()
                problem = check(srv, "POST", "/api/v1/secrets", 503, secret("x", a="b"))
                assert "is not a secret key" in problem["detail"], problem
                check(srv, "GET", "/api/v1/nodes/n1/secrets/db", 503)
                check(srv, "GET", "/api/v1/secrets", 200)
            # a missing key file beside sealed values: no new key is made (it would open none of them);
            # the server starts and using a value, or writing one, is a clear 503 naming the file
            for env in ({"CARA_SECRET_KEY_FILE": os.path.join(data_dir, "elsewhere", "secret.key")}, {}):
                gone = env.get("CARA_SECRET_KEY_FILE", key)
                if not env:
                    os.unlink(key)
                with CaraServer(database_url=url, data_dir=data_dir, env=env) as srv:
                    assert "Secret values are unavailable" in srv.log() and "is missing" in srv.log(), srv.log()
                    assert not os.path.exists(gone), gone
                    problem = check(srv, "GET", "/api/v1/nodes/n1/secrets/db", 503)
                    assert "sealed with key id %s" % new_ids[0] in problem["detail"] and gone in problem["detail"], problem
                    problem = check(srv, "POST", "/api/v1/secrets", 503, secret("y", a="b"))
                    assert "is missing" in problem["detail"], problem
                    check(srv, "GET", "/api/v1/secrets/db", 200)
            # CARA_SECRET_KEY_FILE: the key elsewhere (a readable one is warned about)
            os.chmod(key + ".right", 0o644)
            with CaraServer(database_url=url, data_dir=data_dir, env={"CARA_SECRET_KEY_FILE": key + ".right"}) as srv:
                status, _, data = srv.request("GET", "/api/v1/nodes/n1/secrets/db")
                assert status == 200, (status, data)
                assert "can be read by others (mode 0644)" in srv.log(), srv.log()
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
    print("ok   secrets: CRUD without values, 409/413/400, references, node route, at rest, rotation, wrong key")


if __name__ == "__main__":
    main()
