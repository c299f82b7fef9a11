# SPDX-License-Identifier: Apache-2.0
"""Bearer-token authorisation (SPEC §9): tokens generated into the state directory (0600) on first
start and kept across restarts, configured tokens from the environment, 401 without a valid token,
403 outside the token's role, health and version public, CARA_AUTH=none turning it off.

The join token only registers nodes; a registering agent presents its node token
(Cara-Node-Token), which is bound to that node and from then on lets the agent act for that node
only: heartbeats, its node, the projects placed on it (list/watch with ?nodeRef=, get, status).
Another node's objects, another token for a registered node, one token for two nodes: refused."""

import time

import http.client
import json
import os
import shutil
import signal
import stat
import tempfile

from cara_server import CaraServer, postgres

PROJECT = {"metadata": {"name": "p"}, "spec": {"services": [{"name": "web", "image": "busybox"}]}}


def call(srv, method, path, token=None, body=None):
    headers = {"Authorization": "Bearer " + token} if token else {}
    status, hdrs, data = srv.request(method, path, body, headers)
    return status, hdrs, data


def expect(srv, method, path, token, want, body=None):
    status, hdrs, data = call(srv, method, path, token, body)
    assert status == want, "%s %s with %s: %d, wanted %d: %r" % (method, path, token and token[:6], status, want, data)
    if want in (401, 403):
        assert hdrs["Content-Type"] == "application/problem+json", hdrs["Content-Type"]
        p = json.loads(data)
        assert p["status"] == want and p["title"] == ("Unauthorized" if want == 401 else "Forbidden"), p
        if want == 401:
            assert hdrs["WWW-Authenticate"] == "Bearer", hdrs
    return data


def register(srv, bearer, node, node_token, want):
    headers = {"Authorization": "Bearer " + bearer, "Cara-Node-Token": node_token}
    status, hdrs, data = srv.request("POST", "/api/v1/nodes", {"metadata": {"name": node}}, headers)
    assert status == want, "register %s: %d, wanted %d: %r" % (node, status, want, data)
    if want >= 400:
        assert hdrs["Content-Type"] == "application/problem+json", hdrs
    return data


def watch_status(srv, path, token):
    """The status of a watch request (the stream itself is not read)."""
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        return conn.getresponse().status
    finally:
        conn.close()


def wait_placed(srv, admin, name, node, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = json.loads(call(srv, "GET", "/api/v1/projects/" + name, admin)[2])
        if p["status"].get("nodeRef") == node:
            return
        time.sleep(0.05)
    raise AssertionError("project %s not placed on %s: %s" % (name, node, p))


def main():
    with postgres() as pg:
        url = pg.create_database("auth")
        env = {"CARA_AUTH": "token", "CARA_READ_TOKENS": "reader-1-0123456789abcdef0123456789abcdef, reader-2-0123456789abcdef0123456789abcdef"}
        data_dir = tempfile.mkdtemp(prefix="cara-auth-")
        try:
            run(pg, url, env, data_dir)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
    print("ok   tokens, roles, 401/403, generated files, restart, configured tokens, CARA_AUTH=none")


def run(pg, url, env, data_dir):
    with CaraServer(database_url=url, env=env, data_dir=data_dir) as srv:
        tokens = {}
        for name in ["admin", "join"]:
            path = os.path.join(srv.data_dir, name + ".token")
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode)
            with open(path) as f:
                tokens[name] = f.read().strip()
            assert len(tokens[name]) >= 32, tokens[name]
        admin, join = tokens["admin"], tokens["join"]
        assert admin != join

        # public
        expect(srv, "GET", "/api/healthz", None, 200)
        expect(srv, "GET", "/api/v1/version", None, 200)
        # no or bad token
        expect(srv, "GET", "/api/v1/nodes", None, 401)
        expect(srv, "GET", "/api/v1/projects?watch=true", None, 401)
        expect(srv, "POST", "/api/v1/projects", "wrong", 401, PROJECT)
        expect(srv, "GET", "/api/v1/nodes", admin + "x", 401)
        # the join token registers nodes (binding the node token it is shown) and does nothing else
        t1, t2 = "node-1-" + os.urandom(16).hex(), "node-2-" + os.urandom(16).hex()
        register(srv, join, "n1", t1, 201)
        register(srv, join, "n2", t2, 201)
        expect(srv, "POST", "/api/v1/nodes/n1/heartbeat", join, 403, {"state": "Ready"})
        expect(srv, "GET", "/api/v1/nodes/n1", join, 403)
        expect(srv, "GET", "/api/v1/projects?nodeRef=n1", join, 403)
        expect(srv, "POST", "/api/v1/projects", join, 403, PROJECT)
        expect(srv, "DELETE", "/api/v1/nodes/n1", join, 403)
        expect(srv, "PUT", "/api/v1/nodes/n1", join, 403, {"metadata": {"name": "n1"}})
        # registration again: same token idempotent (200), another token refused, one token for two nodes refused
        register(srv, join, "n1", t1, 200)
        register(srv, t1, "n1", t1, 200)
        register(srv, join, "n1", "intruder-" + os.urandom(16).hex(), 403)
        register(srv, join, "n3", t1, 403)  # bound elsewhere: the same 403 as any refusal (no probing)
        register(srv, t1, "n3", t1, 403)
        register(srv, join, "n3", "short", 400)
        # a node token acts for its own node only
        expect(srv, "POST", "/api/v1/nodes/n1/heartbeat", t1, 204, {"state": "Ready"})
        expect(srv, "POST", "/api/v1/nodes/n2/heartbeat", t1, 403, {"state": "Ready"})
        expect(srv, "GET", "/api/v1/nodes/n1", t1, 200)
        expect(srv, "GET", "/api/v1/nodes/n2", t1, 403)
        expect(srv, "GET", "/api/v1/nodes", t1, 403)
        expect(srv, "GET", "/api/v1/nodes?watch=true", t1, 403)
        expect(srv, "GET", "/api/v1/projects", t1, 403)
        expect(srv, "GET", "/api/v1/projects?nodeRef=n2", t1, 403)
        expect(srv, "GET", "/api/v1/projects?nodeRef=n1", t1, 200)
        assert watch_status(srv, "/api/v1/projects?watch=true&nodeRef=n1", t1) == 200
        assert watch_status(srv, "/api/v1/projects?watch=true&nodeRef=n2", t1) == 403
        assert watch_status(srv, "/api/v1/projects?watch=true", t1) == 403
        expect(srv, "POST", "/api/v1/projects", t1, 403, PROJECT)
        expect(srv, "PUT", "/api/v1/nodes/n1", t1, 403, {"metadata": {"name": "n1"}})
        expect(srv, "POST", "/api/v1/nodes/n1/drain", t1, 403)
        expect(srv, "DELETE", "/api/v1/nodes/n2", t1, 403)
        # admin: everything; the project lands on n1, the only Ready node
        expect(srv, "POST", "/api/v1/projects", admin, 201, PROJECT)
        wait_placed(srv, admin, "p", "n1")
        expect(srv, "GET", "/api/v1/projects/p", t1, 200)
        expect(srv, "GET", "/api/v1/projects/p", t2, 403)
        expect(srv, "PATCH", "/api/v1/projects/p/status", t2, 403, {"phase": "Failed"})
        expect(srv, "PATCH", "/api/v1/projects/p/status", t1, 204, {"phase": "Running"})
        p = json.loads(expect(srv, "GET", "/api/v1/projects/p", admin, 200))
        assert p["status"]["phase"] == "Running", p
        listed = json.loads(expect(srv, "GET", "/api/v1/projects?nodeRef=n1", t1, 200))
        assert [x["metadata"]["name"] for x in listed["items"]] == ["p"], listed
        # Secrets (SPEC §12): admin writes, read-only tokens list and get (names, keys, sizes), node
        # tokens fetch values only of Secrets a project on their own node uses
        sec = {"kind": "Secret", "metadata": {"name": "s1"}, "stringData": {"k": "v"}}
        expect(srv, "POST", "/api/v1/secrets", "reader-1-0123456789abcdef0123456789abcdef", 403, sec)
        expect(srv, "POST", "/api/v1/secrets", t1, 403, sec)
        expect(srv, "POST", "/api/v1/secrets", join, 403, sec)
        expect(srv, "POST", "/api/v1/secrets", None, 401, sec)
        expect(srv, "POST", "/api/v1/secrets", admin, 201, sec)
        expect(srv, "GET", "/api/v1/secrets", "reader-1-0123456789abcdef0123456789abcdef", 200)
        expect(srv, "GET", "/api/v1/secrets/s1", "reader-1-0123456789abcdef0123456789abcdef", 200)
        expect(srv, "GET", "/api/v1/secrets", t1, 403)
        expect(srv, "GET", "/api/v1/secrets/s1", t1, 403)
        expect(srv, "PUT", "/api/v1/secrets/s1", "reader-1-0123456789abcdef0123456789abcdef", 403, sec)
        expect(srv, "PUT", "/api/v1/secrets/s1", t1, 403, sec)
        expect(srv, "PUT", "/api/v1/secrets/s1", admin, 200, sec)
        expect(srv, "GET", "/api/v1/nodes/n1/secrets/s1", t1, 403)  # no project on n1 uses it yet
        uses = {"metadata": {"name": "ps"}, "spec": {"services": [{"name": "web", "image": "busybox",
                                                                    "secrets": [{"secret": "s1"}]}]}}
        expect(srv, "POST", "/api/v1/projects", admin, 201, uses)
        wait_placed(srv, admin, "ps", "n1")
        expect(srv, "GET", "/api/v1/nodes/n1/secrets/s1", t1, 200)
        expect(srv, "GET", "/api/v1/nodes/n1/secrets/s1", t2, 403)
        expect(srv, "GET", "/api/v1/nodes/n2/secrets/s1", t2, 403)
        expect(srv, "GET", "/api/v1/nodes/n1/secrets/s1", "reader-1-0123456789abcdef0123456789abcdef", 403)
        expect(srv, "GET", "/api/v1/nodes/n1/secrets/s1", join, 403)
        expect(srv, "DELETE", "/api/v1/secrets/s1", "reader-1-0123456789abcdef0123456789abcdef", 403)
        expect(srv, "DELETE", "/api/v1/secrets/s1", t1, 403)
        expect(srv, "DELETE", "/api/v1/projects/ps?force=true", admin, 204)
        expect(srv, "DELETE", "/api/v1/secrets/s1", admin, 204)
        # moves (SPEC §14): the move itself is the admin's; the relay and checksum routes are for the
        # target node's agent during a copy (the handler checks which node), never read-only tokens
        for tok in (t1, join, "reader-1-0123456789abcdef0123456789abcdef"):
            expect(srv, "POST", "/api/v1/projects/p/move?node=n2", tok, 403)
            if tok != t1:
                expect(srv, "GET", "/api/v1/projects/p/move/volumes/data?transfer=x", tok, 403)
                expect(srv, "GET", "/api/v1/projects/p/move/transfers/x", tok, 403)
        expect(srv, "POST", "/api/v1/projects/p/move", admin, 400)
        expect(srv, "POST", "/api/v1/projects/p/move?node=nope", admin, 404)
        expect(srv, "GET", "/api/v1/projects/p/move/volumes/data?transfer=x", t1, 409)
        expect(srv, "GET", "/api/v1/projects/p/move/transfers/x", admin, 409)
        # the credential is never on the wire
        for raw in (expect(srv, "GET", "/api/v1/nodes/n1", admin, 200), expect(srv, "GET", "/api/v1/nodes", admin, 200)):
            assert t1.encode() not in raw and b"token" not in raw.lower() and b"secret" not in raw.lower(), raw
        # deleting a node revokes its token; its agent can register it again
        expect(srv, "DELETE", "/api/v1/nodes/n2", admin, 204)
        expect(srv, "POST", "/api/v1/nodes/n2/heartbeat", t2, 401)
        register(srv, join, "n2", t2, 201)
        expect(srv, "POST", "/api/v1/nodes/n2/heartbeat", t2, 204)
        # the admin may act for any node (and registers without binding a token)
        expect(srv, "POST", "/api/v1/nodes/n2/heartbeat", admin, 204)
        expect(srv, "POST", "/api/v1/nodes", admin, 201, {"metadata": {"name": "n4"}})
        # an unbound node is not claimed with the join token (takeover); the admin may bind one
        register(srv, join, "n4", "node-4-" + os.urandom(16).hex(), 403)
        register(srv, admin, "n4", "node-4-" + os.urandom(16).hex(), 200)
        # read-only tokens
        expect(srv, "GET", "/api/v1/projects/p", "reader-2-0123456789abcdef0123456789abcdef", 200)
        expect(srv, "POST", "/api/v1/nodes/n1/heartbeat", "reader-1-0123456789abcdef0123456789abcdef", 403)
        expect(srv, "POST", "/api/v1/nodes", "reader-1-0123456789abcdef0123456789abcdef", 403, {"metadata": {"name": "n5"}})
        expect(srv, "PATCH", "/api/v1/projects/p/status", "reader-1-0123456789abcdef0123456789abcdef", 403, {"phase": "Failed"})
        # exec (SPEC §11) is admin only; the admin gets past authorisation (409: no service runs)
        exec_path = "/api/v1/projects/p/exec?service=web&command=true"
        expect(srv, "GET", exec_path, None, 401)
        for token in ("reader-1-0123456789abcdef0123456789abcdef", t1, t2, join):
            expect(srv, "GET", exec_path, token, 403)
        expect(srv, "GET", exec_path, admin, 409)
        expect(srv, "DELETE", "/api/v1/projects/p?force=true", "reader-1-0123456789abcdef0123456789abcdef", 403)
        # events and metrics (SPEC §11): route x role
        event = {"type": "Normal", "reason": "Pulled", "object": {"kind": "Project", "name": "p"}}
        for method, path, body, wants in [
            ("POST", "/api/v1/nodes/n1/events", event,
             {None: 401, admin: 201, t1: 201, t2: 403, join: 403, "reader-1-0123456789abcdef0123456789abcdef": 403}),
            ("GET", "/api/v1/events", None, {None: 401, admin: 200, "reader-1-0123456789abcdef0123456789abcdef": 200, t1: 403, join: 403}),
            ("GET", "/metrics", None, {None: 401, admin: 200, "reader-2-0123456789abcdef0123456789abcdef": 200, t1: 403, join: 403}),
            # past authorisation, n1 has no agent address: 502
            ("GET", "/api/v1/nodes/n1/metrics", None, {None: 401, admin: 502, "reader-1-0123456789abcdef0123456789abcdef": 502, t1: 403, join: 403}),
        ]:
            for token, want in wants.items():
                expect(srv, method, path, token, want, body)
        assert watch_status(srv, "/api/v1/events?watch=true", "reader-1-0123456789abcdef0123456789abcdef") == 200
        assert watch_status(srv, "/api/v1/events?watch=true", t1) == 403
        # revisions (SPEC §13): read-only may list them, only the admin rolls back; node tokens neither
        expect(srv, "GET", "/api/v1/projects/p/revisions", "reader-2-0123456789abcdef0123456789abcdef", 200)
        expect(srv, "GET", "/api/v1/projects/p/revisions", admin, 200)
        expect(srv, "GET", "/api/v1/projects/p/revisions", t1, 403)
        expect(srv, "POST", "/api/v1/projects/p/rollback", "reader-1-0123456789abcdef0123456789abcdef", 403)
        expect(srv, "POST", "/api/v1/projects/p/rollback", t1, 403)
        expect(srv, "POST", "/api/v1/projects/p/rollback", admin, 404)  # one revision: nothing before it
        expect(srv, "DELETE", "/api/v1/projects/p?force=true", admin, 204)
        # whoami: the caller's role, for admin and read-only tokens (the dashboard's action buttons)
        assert json.loads(expect(srv, "GET", "/api/v1/whoami", admin, 200)) == {"role": "admin"}
        assert json.loads(expect(srv, "GET", "/api/v1/whoami", "reader-1-0123456789abcdef0123456789abcdef", 200)) == {"role": "read"}
        expect(srv, "GET", "/api/v1/whoami", t1, 403)
        expect(srv, "GET", "/api/v1/whoami", join, 403)
        expect(srv, "GET", "/api/v1/whoami", None, 401)
        expect(srv, "GET", "/api/v1/whoami", "wrong", 401)
        # the dashboard's files are public (the API calls the page makes carry the token)
        for token in (None, "wrong", "reader-1-0123456789abcdef0123456789abcdef", t1, join, admin):
            expect(srv, "GET", "/ui/", token, 200)
            expect(srv, "GET", "/ui/app.js", token, 200)

    # the same tokens after a restart; configured tokens win over the files
    with CaraServer(database_url=url, env={"CARA_AUTH": "token"}, data_dir=data_dir) as srv:
        expect(srv, "GET", "/api/v1/nodes", admin, 200)
        expect(srv, "POST", "/api/v1/nodes/n1/heartbeat", t1, 204)  # node tokens live in the database
        register(srv, join, "n6", "node-6-" + os.urandom(16).hex(), 201)
    with CaraServer(database_url=url, env={"CARA_AUTH": "token", "CARA_ADMIN_TOKEN": "configured-admin-0123456789abcdef0123456789abcdef",
                                          "CARA_JOIN_TOKEN": "configured-join-0123456789abcdef0123456789abcdef"}) as srv:
        expect(srv, "GET", "/api/v1/nodes", "configured-admin-0123456789abcdef0123456789abcdef", 200)
        register(srv, "configured-join-0123456789abcdef0123456789abcdef", "n7", "node-7-" + os.urandom(16).hex(), 201)
        expect(srv, "GET", "/api/v1/nodes", admin, 401)
        expect(srv, "POST", "/api/v1/nodes", join, 401, {"metadata": {"name": "n8"}})
        assert not os.path.exists(os.path.join(srv.data_dir, "admin.token"))
    # tokens are read again on SIGHUP (systemctl reload): the old admin token stops working at once
    srv = CaraServer(database_url=url, env={"CARA_AUTH": "token"}, start=False)
    conf = srv.args[srv.args.index("--config") + 1]
    with open(conf, "w") as f:
        f.write("[server]\nadmin_token=first-admin-token-0123456789abcdef0123456789abcdef\n")
    srv.start()
    with srv:
        expect(srv, "GET", "/api/v1/nodes", "first-admin-token-0123456789abcdef0123456789abcdef", 200)
        with open(conf, "w") as f:
            f.write("[server]\nadmin_token=second-admin-token-0123456789abcdef0123456789abcdef\nread_tokens=late-reader-0123456789abcdef0123456789abcdef\n")
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while call(srv, "GET", "/api/v1/nodes", "second-admin-token-0123456789abcdef0123456789abcdef")[0] != 200:
            assert time.monotonic() < deadline, "SIGHUP did not reload the tokens"
            time.sleep(0.05)
        expect(srv, "GET", "/api/v1/nodes", "first-admin-token-0123456789abcdef0123456789abcdef", 401)
        expect(srv, "GET", "/api/v1/nodes", "late-reader-0123456789abcdef0123456789abcdef", 200)
        expect(srv, "POST", "/api/v1/nodes/n1/heartbeat", t1, 204)  # node tokens unaffected
        # a broken file keeps the old tokens
        with open(conf, "w") as f:
            f.write("[server\n")
        srv.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        expect(srv, "GET", "/api/v1/nodes", "second-admin-token-0123456789abcdef0123456789abcdef", 200)
    # off, explicitly
    with CaraServer(database_url=url, env={"CARA_AUTH": "none"}) as srv:
        expect(srv, "GET", "/api/v1/nodes", None, 200)
        assert not os.path.exists(os.path.join(srv.data_dir, "admin.token"))
        assert json.loads(expect(srv, "GET", "/api/v1/whoami", None, 200)) == {"role": "admin"}
    # a typo does not turn it off
    srv = CaraServer(database_url=url, env={"CARA_AUTH": "nope"}, start=False)
    srv.wait = False
    srv.start()
    assert srv.proc.wait(30) != 0, "CARA_AUTH=nope was accepted"
    assert "CARA_AUTH" in srv.log(), srv.log()
    srv.proc = None
    srv.close()


if __name__ == "__main__":
    main()
