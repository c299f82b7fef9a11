#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Logs and port-forward with authorisation on (SPEC §9): the server demands a token from the
user, relays to the agent with the join token, and the agent refuses anyone else."""

import os
import subprocess
import sys

import cara_fixtures as fx  # noqa: E402
from cara_agent import AgentCluster, project, service  # noqa: E402
from cara_ws import WebSocket  # noqa: E402

ADMIN = "adm-" + os.urandom(8).hex()
JOIN = "join-" + os.urandom(8).hex()
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
                      what="logs relayed with the join token")
        # the agent takes only the server (the join token)
        s, _, _ = fx.http("GET", "%s/api/v1/logs/%s/talker" % (a.url, name))
        assert s == 401, s
        s, _, _ = fx.http("GET", "%s/api/v1/logs/%s/talker" % (a.url, name), headers=admin)
        assert s == 403, s
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
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
