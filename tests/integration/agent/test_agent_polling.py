#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An agent whose server has no watch API (the Go version answers ?watch=true with a plain list)
falls back to polling: a project still reaches Running and is torn down on delete.

The agent talks to the real cara-server through a small relay that drops the watch parameter,
exactly what an older server does with it."""

import http.server
import threading
import urllib.error
import urllib.parse
import urllib.request

import cara_fixtures as fx
from cara_agent import Agent, AgentCluster, containers, project, service


def relay(upstream):
    """A threaded HTTP relay to @upstream that serves ?watch=true as a plain list."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def forward(self):
            u = urllib.parse.urlsplit(self.path)
            query = [(k, v) for k, v in urllib.parse.parse_qsl(u.query, keep_blank_values=True)
                     if k not in ("watch", "resourceVersion")]
            path = u.path + ("?" + urllib.parse.urlencode(query) if query else "")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() in ("content-type", "authorization")}
            req = urllib.request.Request(upstream + path, data=body, method=self.command, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    status, rheaders, data = r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                status, rheaders, data = e.code, e.headers, e.read()
            self.send_response(status)
            if rheaders.get("Content-Type"):
                self.send_header("Content-Type", rheaders["Content-Type"])
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fx.on_exit(server.shutdown)
    return "http://127.0.0.1:%d" % server.server_address[1]


def main():
    with AgentCluster() as c:
        old_server = relay(c.url)
        a = Agent(c.node_name("poll"), old_server)
        c.agents.append(a)
        a.wait_ready()
        c.wait_node_ready(a.node)
        fx.wait_until(lambda: "has no watch" in a.log(), timeout=20,
                      what="the agent to notice the server has no watch")

        name = fx.unique_name("poll")
        c.apply(project(name, [service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"])]))
        running = c.wait_phase(name, "Running", timeout=60)
        assert running["status"]["nodeRef"] == a.node, running["status"]
        assert len(containers(["cara.node=" + a.node, "cara.project=" + name])) == 1

        s, _ = c.api("DELETE", "/api/v1/projects/" + name)
        assert s in (202, 204), s
        c.wait_gone(name, timeout=30)
        assert containers(["cara.project=" + name]) == []
    print("ok")


if __name__ == "__main__":
    main()
