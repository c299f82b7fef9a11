# SPDX-License-Identifier: Apache-2.0
"""Security hardening of cara-server (issue 18), each part against a real server and PostgreSQL:
- JSON nested deeper than 64 levels is refused with 400 before a tree is built (100,000 '[' used to
  overflow a worker's stack and kill the server).
- Node takeover: the join token creates nodes only; a node registered while auth was off gets a
  token only from the admin (POST /api/v1/nodes/{name}/reset-token, caractrl node reset-token).
- A node's status.network.ip (where the relays connect) is a literal IP address, else 400.
- The join token gets one answer for every refused registration (it cannot probe node tokens), and
  may not set node-role.caravanserai/ labels; configured tokens under 32 characters are refused;
  unknown bearer tokens are cached (a repeat costs no query)."""

import json
import os
import subprocess
import tempfile
import shutil

from cara_server import CaraServer, postgres, wait_until


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


def check_takeover(url):
    data_dir = tempfile.mkdtemp(prefix="cara-sec-")
    try:
        with CaraServer(database_url=url, env={"CARA_AUTH": "none"}, data_dir=data_dir) as srv:
            status, _, data = srv.request("POST", "/api/v1/nodes", {"metadata": {"name": "old"}})
            assert status == 201, (status, data)
        with CaraServer(database_url=url, env={"CARA_AUTH": "token"}, data_dir=data_dir) as srv:
            tok = tokens_of(srv)
            thief = "thief-" + os.urandom(16).hex()
            status, _, data = srv.request("POST", "/api/v1/nodes", {"metadata": {"name": "old"}},
                                          bearer(tok["join"], **{"Cara-Node-Token": thief}))
            assert status == 403 and b"reset-token" in data, (status, data)
            assert srv.request("GET", "/api/v1/nodes/old", None, bearer(thief))[0] == 401
            # the admin binds one, shown once; it works, and a second reset replaces it
            status, _, data = srv.request("POST", "/api/v1/nodes/old/reset-token", None, bearer(tok["join"]))
            assert status == 403, (status, data)
            ctl = os.environ.get("CARACTRL_BIN", "caractrl")
            r = subprocess.run([ctl, "-s", srv.url, "--token", tok["admin"], "node", "reset-token", "old"],
                               capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
            first = r.stdout.strip()
            assert len(first) >= 32, r.stdout
            assert srv.request("POST", "/api/v1/nodes/old/heartbeat", {"state": "Ready"}, bearer(first))[0] == 204
            status, _, data = srv.request("POST", "/api/v1/nodes/old/reset-token", None, bearer(tok["admin"]))
            second = json.loads(data)["token"]
            assert status == 200 and second != first, (status, data)
            assert srv.request("POST", "/api/v1/nodes/old/heartbeat", {"state": "Ready"}, bearer(first))[0] == 401
            assert srv.request("POST", "/api/v1/nodes/old/heartbeat", {"state": "Ready"}, bearer(second))[0] == 204
            assert srv.request("POST", "/api/v1/nodes/nosuch/reset-token", None, bearer(tok["admin"]))[0] == 404
            # a new node still registers with the join token
            status, _, data = srv.request("POST", "/api/v1/nodes", {"metadata": {"name": "new"}},
                                          bearer(tok["join"], **{"Cara-Node-Token": thief}))
            assert status == 201, (status, data)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print("ok   node takeover: join token creates only, admin reset-token binds")


def check_node_address(srv, tok):
    """status.network.ip is where the relays connect: only a literal IP is stored."""
    node_token = "node-ip-" + os.urandom(16).hex()
    bad = {"metadata": {"name": "ipnode"}, "status": {"network": {"ip": "internal.example:9999/x?"}}}
    status, hdrs, data = srv.request("POST", "/api/v1/nodes", bad, bearer(tok["join"], **{"Cara-Node-Token": node_token}))
    assert status == 400 and b"status.network.ip" in data, (status, data)
    assert hdrs["Content-Type"] == "application/problem+json", hdrs
    status, _, data = srv.request("POST", "/api/v1/nodes", {"metadata": {"name": "ipnode"}},
                                  bearer(tok["join"], **{"Cara-Node-Token": node_token}))
    assert status == 201, (status, data)
    for ip in ["localhost", "169.254.169.254:80", "@127.0.0.1", "127.1", "[::1]"]:
        status, _, data = srv.request("POST", "/api/v1/nodes/ipnode/heartbeat", {"network": {"ip": ip, "agentPort": 9090}},
                                      bearer(node_token))
        assert status == 400 and b"network.ip" in data, (ip, status, data)
    status, _, data = srv.request("POST", "/api/v1/nodes/ipnode/heartbeat", {"network": {"ip": "fd00::7", "agentPort": 9091}},
                                  bearer(node_token))
    assert status == 204, (status, data)
    status, n = srv.json("GET", "/api/v1/nodes/ipnode", None, bearer(tok["admin"]))
    assert n["status"]["network"]["ip"] == "fd00::7", n
    print("ok   node address: only literal IPs stored (400 naming network.ip)")

    # the relays go to the registered address: a heartbeat cannot move it (409, nothing changed) ...
    for moved in [{"ip": "10.9.8.7", "agentPort": 9091}, {"ip": "fd00::7", "agentPort": 22}]:
        status, _, data = srv.request("POST", "/api/v1/nodes/ipnode/heartbeat", {"network": moved}, bearer(node_token))
        assert status == 409 and b"registers again" in data, (moved, status, data)
    status, n = srv.json("GET", "/api/v1/nodes/ipnode", None, bearer(tok["admin"]))
    assert n["status"]["network"]["ip"] == "fd00::7" and n["status"]["network"]["agentPort"] == 9091, n
    # ... the same address again is a heartbeat as any other, and registering again moves it
    status, _, data = srv.request("POST", "/api/v1/nodes/ipnode/heartbeat", {"network": {"ip": "fd00::7", "agentPort": 9091}},
                                  bearer(node_token))
    assert status == 204, (status, data)
    again = {"metadata": {"name": "ipnode"}, "status": {"network": {"ip": "10.9.8.7", "agentPort": 9092}}}
    status, _, data = srv.request("POST", "/api/v1/nodes", again, bearer(tok["join"], **{"Cara-Node-Token": node_token}))
    assert status == 200, (status, data)
    status, n = srv.json("GET", "/api/v1/nodes/ipnode", None, bearer(tok["admin"]))
    assert n["status"]["network"]["ip"] == "10.9.8.7" and n["status"]["network"]["agentPort"] == 9092, n
    status, _, data = srv.request("POST", "/api/v1/nodes/ipnode/heartbeat", {"network": {"ip": "10.9.8.7", "agentPort": 9092}},
                                  bearer(node_token))
    assert status == 204, (status, data)
    print("ok   node address: a heartbeat cannot move it (409), registering again does")


def check_short_tokens(url):
    """Configured tokens shorter than 32 characters are refused at start, naming the setting."""
    for env, name in [({"CARA_ADMIN_TOKEN": "short-admin-token"}, "CARA_ADMIN_TOKEN"),
                      ({"CARA_JOIN_TOKEN": "j" * 31}, "CARA_JOIN_TOKEN"),
                      ({"CARA_READ_TOKENS": "r" * 40 + ",tiny"}, "CARA_READ_TOKENS")]:
        env = dict(env, CARA_AUTH="token")
        srv = CaraServer(database_url=url, env=env, wait=False)
        try:
            rc = srv.proc.wait(30)
            log = srv.log()
            assert rc != 0 and name in log and "32" in log, (name, rc, log)
        finally:
            srv.close()
    with CaraServer(database_url=url, env={"CARA_AUTH": "token", "CARA_ADMIN_TOKEN": "a" * 32}) as srv:
        assert srv.request("GET", "/api/v1/nodes", None, bearer("a" * 32))[0] == 200
    print("ok   configured tokens under 32 characters refused at start")


def check_join_probe(srv, tok):
    """The join token gets the same answer whatever a node token it presents is bound to."""
    a, b = "probe-a-" + os.urandom(16).hex(), "probe-b-" + os.urandom(16).hex()
    for name, t in [("probe-a", a), ("probe-b", b)]:
        status, _, data = srv.request("POST", "/api/v1/nodes", {"metadata": {"name": name}},
                                      bearer(tok["join"], **{"Cara-Node-Token": t}))
        assert status == 201, (status, data)
    answers = []
    for name, t in [("probe-a", b),                                  # a node, another node's token
                    ("probe-new", a),                                # a new node, a bound token
                    ("probe-a", "probe-c-" + os.urandom(16).hex())]:  # a node, an unknown token
        status, hdrs, data = srv.request("POST", "/api/v1/nodes", {"metadata": {"name": name}},
                                         bearer(tok["join"], **{"Cara-Node-Token": t}))
        detail = json.loads(data)["detail"].replace(name, "NAME")
        answers.append((status, detail))
    assert len(set(answers)) == 1 and answers[0][0] == 403, answers
    assert srv.request("GET", "/api/v1/nodes/probe-new", None, bearer(tok["admin"]))[0] == 404
    # its own token still registers it again
    status, _, data = srv.request("POST", "/api/v1/nodes", {"metadata": {"name": "probe-a"}},
                                  bearer(tok["join"], **{"Cara-Node-Token": a}))
    assert status == 200, (status, data)
    print("ok   join token: one answer (403) for every refused registration")


def check_role_labels(srv, tok):
    """Labels node-role.caravanserai/... steer placement: only an administrator sets them."""
    t = "role-" + os.urandom(16).hex()
    body = {"metadata": {"name": "role-node", "labels": {"node-role.caravanserai/gpu": "true", "zone": "a"}}}
    status, _, data = srv.request("POST", "/api/v1/nodes", body, bearer(tok["join"], **{"Cara-Node-Token": t}))
    assert status == 403 and b"node-role.caravanserai/gpu" in data, (status, data)
    assert srv.request("GET", "/api/v1/nodes/role-node", None, bearer(tok["admin"]))[0] == 404
    body["metadata"]["labels"] = {"zone": "a"}
    status, _, data = srv.request("POST", "/api/v1/nodes", body, bearer(tok["join"], **{"Cara-Node-Token": t}))
    assert status == 201, (status, data)
    body = {"metadata": {"name": "role-admin", "labels": {"node-role.caravanserai/gpu": "true"}}}
    status, _, data = srv.request("POST", "/api/v1/nodes", body, bearer(tok["admin"]))
    assert status == 201, (status, data)
    print("ok   node-role.caravanserai/ labels: admin only")


def check_miss_cache(srv, pg):
    """An unknown bearer token is remembered for a while: repeating it costs no query, seen here
    with PostgreSQL stopped (the token is answered 401, where a new one needs the database)."""
    bad = "unknown-" + os.urandom(16).hex()
    assert srv.request("GET", "/api/v1/nodes", None, bearer(bad))[0] == 401
    pg.stop(mode="fast")
    try:
        status, _, data = srv.request("GET", "/api/v1/nodes", None, bearer(bad))
        assert status == 401, (status, data)
        status, _, data = srv.request("GET", "/api/v1/nodes", None, bearer("other-" + os.urandom(16).hex()))
        assert status == 503, (status, data)
    finally:
        pg.start()
    print("ok   unknown bearer tokens cached (no query for a repeat)")


def check_exposed_warnings(url):
    """Plain HTTP or no authorisation on an address other machines reach: a warning at start."""
    # The warnings follow "Serving the API", which can come a moment after the first answer.
    with CaraServer(database_url=url, host="0.0.0.0", env={"CARA_AUTH": "none"}) as srv:
        log = wait_until(lambda: "TLS is off" in srv.log() and srv.log(), timeout=10, what="the warnings")
        assert "Authorisation is off" in log and "reachable from other machines" in log, log
    with CaraServer(database_url=url, host="127.0.0.1", env={"CARA_AUTH": "none"}) as srv:
        log = wait_until(lambda: "Serving the API" in srv.log() and srv.log(), timeout=10, what="the start")
        assert "reachable from other machines" not in log and "TLS is off" not in log, log
    print("ok   warning at start: auth or TLS off on a non-loopback address")


def main():
    with postgres() as pg:
        url = pg.create_database("security")
        with CaraServer(database_url=url, env={"CARA_AUTH": "token"}) as srv:
            tok = tokens_of(srv)
            check_deep_json(srv, tok)
            check_node_address(srv, tok)
            check_join_probe(srv, tok)
            check_role_labels(srv, tok)
            check_miss_cache(srv, pg)
        check_takeover(pg.create_database("takeover"))
        check_short_tokens(pg.create_database("short"))
        check_exposed_warnings(pg.create_database("exposed"))


if __name__ == "__main__":
    main()
