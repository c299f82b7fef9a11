# SPDX-License-Identifier: Apache-2.0
"""Route x caller matrix (SPEC §9): every route of the server's route tables (read from the C
sources, so a new route cannot escape the matrix) against the admin, join, read-only and a node
token, a wrong and a missing token.  Allowed calls must not be 401/403; denied ones must be exactly
401 (no or wrong token) or 403 (outside the role or, for a node token, outside its own node), as
problem+json.  The targets do not exist (or are the node token's own node), so no allowed call
changes anything that matters.

Who may call what:
  PUBLIC  everyone             JOIN   admin, join, a node token (the route's handler keeps it to its node)
  READ    admin, read, node*   AGENT  admin, node*                    ADMIN  admin
  node*: by the route's node scope - NONE: never; PATH: {name} must be its node; QUERY: ?nodeRef=
  must be its node; HANDLER: the handler decides (here 400/404, never 401/403 for the own node).

The agent's own routes (src/agent/agent-http.c) the same way against a real agent: only the secret
the server presents (derived from the agent's node token) gets through; a missing token is 401 and
any other, admin, join and the node token itself included, 403 - a user cannot bypass the server by
calling an agent directly."""

import glob
import hashlib
import hmac
import json
import os
import re

from cara_server import CaraServer, postgres

SRC = os.environ.get("CARA_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
ROUTE_RX = re.compile(r'\{\s*"(GET|POST|PUT|DELETE|PATCH)"\s*,\s*"([^"]+)"\s*,\s*\w+\s*,\s*CARA_HTTP_ROLE_(\w+)\s*,'
                      r'\s*CARA_HTTP_NODE_(\w+)\s*\}')
ROLE_USE_RX = re.compile(r'CARA_HTTP_ROLE_(PUBLIC|READ|JOIN|AGENT|ADMIN)\s*,')

NODE = "matrix-node"
NODE_TOKEN = "matrix-node-token-" + "0" * 20
TOKENS = {"admin": "matrix-admin-token" + "-0123456789abcdef", "join": "matrix-join-token" + "-0123456789abcdef",
          "read": "matrix-read-token" + "-0123456789abcdef",
          "node": NODE_TOKEN, "wrong": "matrix-wrong-token", "missing": None}
ALLOWED = {"PUBLIC": {"admin", "join", "read", "node", "wrong", "missing"}, "READ": {"admin", "read", "node"},
           "JOIN": {"admin", "join", "node"}, "AGENT": {"admin", "node"}, "ADMIN": {"admin"}}


# Tables of other listeners than the API port: the agent's METRICS_LISTEN_ADDR (unauthenticated by
# design, off by default, SPEC §11).
OTHER_LISTENERS = {os.path.join("agent", "agent-metrics.c")}


def server_routes(part="server"):
    routes = []
    for f in sorted(glob.glob(os.path.join(SRC, "src", part, "**", "*.c"), recursive=True)):
        if os.path.relpath(f, os.path.join(SRC, "src")) in OTHER_LISTENERS:
            continue
        text = open(f).read()
        found = ROUTE_RX.findall(text)
        # a table entry the pattern did not parse would escape the matrix: fail instead
        assert len(found) == len(ROLE_USE_RX.findall(text)), "unparsed route table entries in " + f
        routes += found
    assert len(routes) >= (15 if part == "server" else 3), routes
    return routes


def cases(method, pattern, role, scope, who):
    """[(path, allowed)] for one caller of one route."""
    base = pattern.replace("{name}", "matrix-none")
    base = re.sub(r"\{[^}]+\}", "x", base)
    if who != "node" or role in ("PUBLIC", "ADMIN") or scope in ("NONE", "HANDLER"):
        allowed = who in ALLOWED[role] and not (who == "node" and scope == "NONE" and role != "PUBLIC")
        return [(base, allowed)]
    if scope == "PATH":
        return [(base, False), (re.sub(r"\{[^}]+\}", "x", pattern.replace("{name}", NODE)), True)]
    if scope == "QUERY":
        return [(base, False), (base + "?nodeRef=matrix-none", False), (base + "?nodeRef=" + NODE, True)]
    raise AssertionError("unknown node scope " + scope)


# Routes whose handler itself answers 403 to a caller the role lets through, and how it says so
# (not an authorisation refusal): a node asking for a Secret no project on it uses (SPEC §12).
HANDLER_403 = {"/api/v1/nodes/{name}/secrets/{secret}": "is not used by any project placed on node"}


def check(failures, request, method, path, who, allowed, what, unknown_status=401, handler_403=None):
    token = TOKENS[who]
    headers = {"Authorization": "Bearer " + token} if token else {}
    body = {} if method in ("POST", "PUT", "PATCH") else None
    status, hdrs, data = request(method, path, body, headers)
    if allowed:
        if status == 403 and handler_403 and handler_403.encode() in data:
            return
        if status in (401, 403):
            failures.append("%s %s (%s) as %s: %d, should be allowed: %s" % (method, path, what, who, status, data[:200]))
        return
    want = 401 if token is None or who == "wrong" and unknown_status == 401 else 403
    ok = status == want and hdrs.get("Content-Type") == "application/problem+json"
    if ok:
        ok = json.loads(data).get("status") == want
    if not ok:
        failures.append("%s %s (%s) as %s: %d %s, wanted %d problem+json"
                        % (method, path, what, who, status, hdrs.get("Content-Type"), want))


def main():
    routes = server_routes()
    with postgres() as pg:
        env = {"CARA_AUTH": "token", "CARA_ADMIN_TOKEN": TOKENS["admin"], "CARA_JOIN_TOKEN": TOKENS["join"],
               "CARA_READ_TOKENS": TOKENS["read"]}
        with CaraServer(database_url=pg.url, env=env) as srv:
            s, _, data = srv.request("POST", "/api/v1/nodes", {"metadata": {"name": NODE}},
                                     {"Authorization": "Bearer " + TOKENS["join"], "Cara-Node-Token": NODE_TOKEN})
            assert s == 201, (s, data)
            failures, n = [], 0
            for method, pattern, role, scope in routes:
                # a watch is a stream: the matrix needs only its status, which the list route shares
                for who in TOKENS:
                    for path, allowed in cases(method, pattern, role, scope, who):
                        check(failures, srv.request, method, path, who, allowed, role + "/" + scope,
                              handler_403=HANDLER_403.get(pattern))
                        n += 1
            assert not failures, "\n".join(failures)
            print("ok: %d server routes, %d calls" % (len(routes), n))

            # the agent's routes: only the server's secret for that agent gets through
            import cara_agent  # noqa: PLC0415 - needs dockerd only from here on
            import cara_fixtures as fx  # noqa: PLC0415
            fx.ensure_dockerd()
            agent_routes = server_routes("agent")
            agent = cara_agent.Agent("matrix-%d" % os.getpid(), srv.url, env={"CARA_TOKEN": TOKENS["join"]})
            try:
                agent.wait_ready()
                fx.wait_until(lambda: agent.node_token, what="the agent's node token")
                TOKENS["node"] = agent.node_token
                TOKENS["secret"] = hmac.new(agent.node_token.encode(), b"caravanserai agent API v1",
                                            hashlib.sha256).hexdigest()

                def request(method, path, body, headers):
                    return fx.http(method, agent.url + path, body, headers, timeout=5)
                for method, pattern, role, _ in agent_routes:
                    path = re.sub(r"\{[^}]+\}", "matrix-none", pattern)
                    path = path[:-len("matrix-none")] + "80" if "forward" in path else path
                    for who in TOKENS:
                        # the agent knows one token: any other is not for it (403), none is 401
                        check(failures, request, method, path, who, role == "PUBLIC" or who == "secret", "agent",
                              unknown_status=403)
            finally:
                agent.stop()
            assert not failures, "\n".join(failures)
            print("ok: %d agent routes x %d callers" % (len(agent_routes), len(TOKENS)))


if __name__ == "__main__":
    main()
