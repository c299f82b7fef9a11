# SPDX-License-Identifier: Apache-2.0
"""Bearer-token authorisation (SPEC §9): tokens generated into the state directory (0600) on first
start and kept across restarts, configured tokens from the environment, 401 without a valid token,
403 outside the token's role (join token: agent routes and reads; read-only tokens: reads),
health and version public, CARA_AUTH=none turning it off."""

import json
import os
import shutil
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


def main():
    with postgres() as pg:
        url = pg.create_database("auth")
        env = {"CARA_AUTH": "token", "CARA_READ_TOKENS": "reader-1, reader-2"}
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
        # join token: register, heartbeat, report status, read; not admin routes
        expect(srv, "POST", "/api/v1/nodes", join, 201, {"metadata": {"name": "n1"}})
        expect(srv, "POST", "/api/v1/nodes/n1/heartbeat", join, 204, {"state": "Ready"})
        expect(srv, "GET", "/api/v1/nodes/n1", join, 200)
        expect(srv, "POST", "/api/v1/projects", join, 403, PROJECT)
        expect(srv, "DELETE", "/api/v1/nodes/n1", join, 403)
        expect(srv, "PUT", "/api/v1/nodes/n1", join, 403, {"metadata": {"name": "n1"}})
        # admin: everything
        expect(srv, "POST", "/api/v1/projects", admin, 201, PROJECT)
        expect(srv, "PATCH", "/api/v1/projects/p/status", join, 204, {"phase": "Running"})
        expect(srv, "GET", "/api/v1/projects?nodeRef=n1", join, 200)
        # read-only tokens
        expect(srv, "GET", "/api/v1/projects/p", "reader-2", 200)
        expect(srv, "POST", "/api/v1/nodes/n1/heartbeat", "reader-1", 403)
        expect(srv, "PATCH", "/api/v1/projects/p/status", "reader-1", 403, {"phase": "Failed"})
        expect(srv, "DELETE", "/api/v1/projects/p?force=true", "reader-1", 403)
        expect(srv, "DELETE", "/api/v1/projects/p?force=true", admin, 204)

    # the same tokens after a restart; configured tokens win over the files
    with CaraServer(database_url=url, env={"CARA_AUTH": "token"}, data_dir=data_dir) as srv:
        expect(srv, "GET", "/api/v1/nodes", admin, 200)
        expect(srv, "POST", "/api/v1/nodes/n1/heartbeat", join, 204)
    with CaraServer(database_url=url, env={"CARA_AUTH": "token", "CARA_ADMIN_TOKEN": "configured-admin",
                                          "CARA_JOIN_TOKEN": "configured-join"}) as srv:
        expect(srv, "GET", "/api/v1/nodes", "configured-admin", 200)
        expect(srv, "POST", "/api/v1/nodes/n1/heartbeat", "configured-join", 204)
        expect(srv, "GET", "/api/v1/nodes", admin, 401)
        assert not os.path.exists(os.path.join(srv.data_dir, "admin.token"))
    # off, explicitly
    with CaraServer(database_url=url, env={"CARA_AUTH": "none"}) as srv:
        expect(srv, "GET", "/api/v1/nodes", None, 200)
        assert not os.path.exists(os.path.join(srv.data_dir, "admin.token"))
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
