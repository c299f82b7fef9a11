# SPDX-License-Identifier: Apache-2.0
"""Route x role matrix (SPEC §9): every route of the server's route tables (read from the C sources,
so a new route cannot escape the matrix) against the admin, join (agent) and read-only tokens and a
wrong and a missing token.  Allowed calls must not be 401/403; denied ones must be exactly 401
(no or wrong token) or 403 (outside the role), as problem+json.  The targets do not exist, so no
allowed call changes anything.

The agent's own routes (src/agent/agent-http.c) the same way against a real agent with the join
token: only the join token (what the server relays with) may use them; a missing token is 401 and
any other token, the admin token included, 403 - a user cannot bypass the server by calling an
agent directly."""

import glob
import json
import os
import re

from cara_server import CaraServer, postgres

SRC = os.environ.get("CARA_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
ROUTE_RX = re.compile(r'\{\s*"(GET|POST|PUT|DELETE|PATCH)"\s*,\s*"([^"]+)"\s*,\s*\w+\s*,\s*CARA_HTTP_ROLE_(\w+)\s*\}')
ROLE_USE_RX = re.compile(r'CARA_HTTP_ROLE_(PUBLIC|READ|AGENT|ADMIN)\s*\}')

TOKENS = {"admin": "matrix-admin-token", "join": "matrix-join-token", "read": "matrix-read-token",
          "wrong": "matrix-wrong-token", "missing": None}
# who may call a route of each role (anything else: 401 for wrong/missing, 403 for a known token)
ALLOWED = {"PUBLIC": {"admin", "join", "read", "wrong", "missing"}, "READ": {"admin", "join", "read"},
           "AGENT": {"admin", "join"}, "ADMIN": {"admin"}}


def server_routes(part="server"):
    routes = []
    for f in sorted(glob.glob(os.path.join(SRC, "src", part, "**", "*.c"), recursive=True)):
        text = open(f).read()
        found = ROUTE_RX.findall(text)
        # a table entry the pattern did not parse would escape the matrix: fail instead
        assert len(found) == len(ROLE_USE_RX.findall(text)), "unparsed route table entries in " + f
        routes += found
    assert len(routes) >= (15 if part == "server" else 3), routes
    return routes


def check_route(failures, base, method, pattern, allowed):
    """One agent route against every caller."""
    from cara_server import http  # noqa: PLC0415
    path = re.sub(r"\{[^}]+\}", "matrix-none", pattern)
    path = path.replace("/matrix-none", "/80") if path.endswith("/matrix-none") and "forward" in path else path
    for who, token in TOKENS.items():
        headers = {"Authorization": "Bearer " + token} if token else {}
        body = {} if method in ("POST", "PUT", "PATCH") else None
        status, hdrs, data = http(method, base + path, body, headers)
        if who in allowed:
            if status in (401, 403):
                failures.append("%s %s as %s: %d, should be allowed" % (method, base + path, who, status))
            continue
        want = 401 if token is None else 403  # the agent knows one token: any other is not for it
        ok = status == want and hdrs.get("Content-Type") == "application/problem+json"
        if ok:
            ok = json.loads(data).get("status") == want
        if not ok:
            failures.append("%s %s as %s: %d %s, wanted %d problem+json"
                            % (method, base + path, who, status, hdrs.get("Content-Type"), want))


def main():
    routes = server_routes()
    with postgres() as pg:
        env = {"CARA_AUTH": "token", "CARA_ADMIN_TOKEN": TOKENS["admin"], "CARA_JOIN_TOKEN": TOKENS["join"],
               "CARA_READ_TOKENS": TOKENS["read"]}
        with CaraServer(database_url=pg.url, env=env) as srv:
            failures = []
            for method, pattern, role in routes:
                path = pattern.replace("{name}", "matrix-none")
                path = re.sub(r"\{[^}]+\}", "x", path)
                for who, token in TOKENS.items():
                    headers = {"Authorization": "Bearer " + token} if token else {}
                    body = {} if method in ("POST", "PUT", "PATCH") else None
                    status, hdrs, data = srv.request(method, path, body, headers)
                    if who in ALLOWED[role]:
                        if status in (401, 403):
                            failures.append("%s %s (%s) as %s: %d, should be allowed" % (method, path, role, who, status))
                        continue
                    want = 401 if token is None or who == "wrong" else 403
                    ok = status == want and hdrs.get("Content-Type") == "application/problem+json"
                    if ok:
                        p = json.loads(data)
                        ok = p.get("status") == want
                    if not ok:
                        failures.append("%s %s (%s) as %s: %d %s, wanted %d problem+json"
                                        % (method, path, role, who, status, hdrs.get("Content-Type"), want))
            assert not failures, "\n".join(failures)
            print("ok: %d server routes x %d callers" % (len(routes), len(TOKENS)))

            # the agent's routes: only the join token (the server's relays) gets through
            import cara_agent  # noqa: PLC0415 - needs dockerd only from here on
            import cara_fixtures as fx  # noqa: PLC0415
            fx.ensure_dockerd()
            agent_routes = server_routes("agent")
            agent = cara_agent.Agent("matrix-%d" % os.getpid(), srv.url, env={"CARA_TOKEN": TOKENS["join"]})
            try:
                agent.wait_ready()
                for method, pattern, role in agent_routes:
                    allowed = set(TOKENS) if role == "PUBLIC" else {"join"}
                    check_route(failures, agent.url, method, pattern, allowed)
            finally:
                agent.stop()
            assert not failures, "\n".join(failures)
            print("ok: %d agent routes x %d callers" % (len(agent_routes), len(TOKENS)))


if __name__ == "__main__":
    main()
