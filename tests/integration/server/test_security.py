# SPDX-License-Identifier: Apache-2.0
"""Security hardening of cara-server (issue 18), each part against a real server and PostgreSQL:
- JSON nested deeper than 64 levels is refused with 400 before a tree is built (100,000 '[' used to
  overflow a worker's stack and kill the server)."""

import json
import os
import tempfile
import shutil

from cara_server import CaraServer, postgres


def tokens_of(srv):
    out = {}
    for name in ["admin", "join"]:
        with open(os.path.join(srv.data_dir, name + ".token")) as f:
            out[name] = f.read().strip()
    return out


def bearer(token, **extra):
    h = {"Authorization": "Bearer " + token}
    h.update(extra)
    return h


def check_deep_json(srv, tok):
    deep = b"[" * 100000 + b"]" * 100000
    node_token = "node-deep-" + os.urandom(16).hex()
    for path, token, extra in [("/api/v1/nodes", tok["join"], {"Cara-Node-Token": node_token}),
                               ("/api/v1/projects", tok["admin"], {})]:
        status, hdrs, data = srv.request("POST", path, deep, bearer(token, **extra))
        assert status == 400, (path, status, data)
        assert hdrs["Content-Type"] == "application/problem+json", hdrs
        assert "64" in json.loads(data)["detail"], data
    # a node token's heartbeat
    status, _, data = srv.request("POST", "/api/v1/nodes", {"metadata": {"name": "deep"}},
                                  bearer(tok["join"], **{"Cara-Node-Token": node_token}))
    assert status == 201, (status, data)
    status, _, data = srv.request("POST", "/api/v1/nodes/deep/heartbeat", deep, bearer(node_token))
    assert status == 400, (status, data)
    # still serving, and 64 levels are fine where JSON is expected
    assert srv.request("GET", "/api/healthz")[0] == 200
    ok = b"[" * 64 + b"]" * 64
    status, _, data = srv.request("POST", "/api/v1/projects", ok, bearer(tok["admin"]))
    assert status == 400 and b"64" not in data, (status, data)
    print("ok   deep JSON: 400 naming the limit, server alive")


def main():
    with postgres() as pg:
        url = pg.create_database("security")
        with CaraServer(database_url=url, env={"CARA_AUTH": "token"}) as srv:
            tok = tokens_of(srv)
            check_deep_json(srv, tok)


if __name__ == "__main__":
    main()
