#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Logs, port-forward and exec with authorisation on (SPEC §9): the server demands a token from the
user and relays to the agent with the secret bound to the agent's node at registration; the agent
refuses everyone else: no token, the admin token, the join token, its own node token, another
node's secret.  An agent whose secret the server does not have (it registered elsewhere) gets a 502,
not the user's 401/403."""

import os
import subprocess
import sys

import cara_fixtures as fx  # noqa: E402
from cara_agent import AgentCluster, project, service  # noqa: E402
from cara_ws import WebSocket  # noqa: E402

ADMIN = "adm-" + os.urandom(16).hex()
JOIN = "join-" + os.urandom(16).hex()
CTL = os.environ.get("CARACTRL_BIN", "caractrl")


def main():
    with AgentCluster(server_env={"CARA_AUTH": "token", "CARA_ADMIN_TOKEN": ADMIN, "CARA_JOIN_TOKEN": JOIN}) as c:
        admin = {"Authorization": "Bearer " + ADMIN}
        a = c.agent("a1", env={"CARA_TOKEN": JOIN}, wait=False)
        a.wait_ready()

        def api(method, path, body=None):
            s, _, data = fx.http_json(method, c.url + path, body, headers=admin)
            return s, data
        fx.wait_until(lambda: api("GET", "/api/v1/nodes/" + a.node)[1].get("status", {}).get("state") == "Ready",
                      timeout=30, what="node Ready")
        name = fx.unique_name("auth")
        s, body = api("POST", "/api/v1/projects", project(name, [
            service("echo", command=["nc", "-ll", "-p", "7000", "-e", "cat"]),
            service("talker", command=["sh", "-c", "echo hello-auth; sleep 3600"]),
        ]))
        assert s in (200, 201), (s, body)
        fx.wait_until(lambda: api("GET", "/api/v1/projects/" + name)[1]["status"].get("phase") == "Running",
                      timeout=60, what="Running")

        logs = "%s/api/v1/projects/%s/logs?service=talker" % (c.url, name)
        s, _, _ = fx.http("GET", logs)
        assert s == 401, s
        fx.wait_until(lambda: b"hello-auth" in fx.http("GET", logs, headers=admin)[2], timeout=20,
                      what="logs relayed with the node's agent secret")
        # the agent takes only the server: no user's, join or node token
        direct = "%s/api/v1/logs/%s/talker" % (a.url, name)
        s, _, _ = fx.http("GET", direct)
        assert s == 401, s
        assert a.node_token and len(a.node_token) == 64, a.node_token
        for who, token in [("admin", ADMIN), ("join", JOIN), ("node", a.node_token), ("other", "x" * 64)]:
            s, h, body = fx.http("GET", direct, headers={"Authorization": "Bearer " + token})
            assert s == 403 and h.get("Content-Type") == "application/problem+json", (who, s, body)
        # the secret is the HMAC of the node token, which the server got at registration: with it the
        # agent answers, which proves what the relay presents
        import hashlib  # noqa: PLC0415
        import hmac  # noqa: PLC0415
        secret = hmac.new(a.node_token.encode(), b"caravanserai agent API v1", hashlib.sha256).hexdigest()
        s, _, body = fx.http("GET", direct, headers={"Authorization": "Bearer " + secret}, timeout=5)
        assert s == 200 and b"hello-auth" in body, (s, body[:200])
        # a node's token is for its own node only
        node_auth = {"Authorization": "Bearer " + a.node_token}
        assert fx.http("GET", c.url + "/api/v1/projects/" + name, headers=node_auth)[0] == 200
        assert fx.http("GET", logs, headers=node_auth)[0] == 403
        r = subprocess.run([CTL, "-s", c.url, "--token", ADMIN, "logs", name + "/talker"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0 and "hello-auth" in r.stdout, (r.returncode, r.stderr)

        path = "/api/v1/projects/%s/portforward?service=echo&port=7000" % name
        ws = WebSocket("127.0.0.1", c.server_port, path)
        assert ws.status == 401, ws.status
        ws.close()
        ws = WebSocket("127.0.0.1", c.server_port, path, token=ADMIN)
        assert ws.status == 101, (ws.status, getattr(ws, "body", b""))
        ws.send_frame(2, b"secret\n")
        assert ws.recv_data(7) == b"secret\n"
        ws.close()
        # exec (SPEC §11) the same way: admin only, relayed with the node's secret; the agent's own
        # exec route refuses the user's token
        path = "/api/v1/projects/%s/exec?service=echo&command=echo&command=via-auth" % name
        for token, status in [(None, 401), (a.node_token, 403), (JOIN, 403), (ADMIN, 101)]:
            ws = WebSocket("127.0.0.1", c.server_port, path, token=token, protocol="v1.exec.caravanserai")
            assert ws.status == status, (token and token[:6], ws.status, getattr(ws, "body", b""))
            if status == 101:
                assert ws.recv_frame()[2] == b"\x01via-auth\n"
            ws.close()
        ws = WebSocket("127.0.0.1", a.port, "/api/v1/exec/%s/echo?command=true" % name, token=ADMIN)
        assert ws.status == 403, ws.status
        ws.close()
        r = subprocess.run([CTL, "-s", c.url, "--token", ADMIN, "exec", name + "/echo", "--", "sh", "-c", "exit 9"],
                           capture_output=True, timeout=30)
        assert r.returncode == 9, r

        # the agent restarts with another node token (its state lost): registration is refused and
        # the server has no secret the agent accepts -> 502 for the user, never 401/403
        a.stop()
        os.unlink(os.path.join(a.data_dir, "node-%s.token" % a.node))
        a.start()
        a.wait_ready()
        a.wait_log(r"cannot be registered with this join token")
        s, _, body = fx.http("GET", logs, headers=admin)
        assert s == 502 and b"refused the server's credential" in body, (s, body)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
