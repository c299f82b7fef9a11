#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The agent's ingress reverse proxy (reference §5.7): routes by Host (a host with a dot verbatim,
else <host>.<project>.local, any :port ignored), passes path, query, method and body, sets
X-Forwarded-For/Host/Proto, answers 404 with the Caravanserai page naming the host for unknown hosts, and drops a
project's routes when it is deleted."""

import sys

import cara_fixtures as fx
from cara_agent import AgentCluster, project, service

CGI = ("mkdir -p /srv/cgi-bin && cp /www/index.html /srv/ && "
       "printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\nenv\\ncat\\n' > /srv/cgi-bin/env && "
       "chmod +x /srv/cgi-bin/env && exec httpd -f -p 80 -h /srv")


def main():
    with AgentCluster() as c:
        a = c.agent("px")
        proxy = "http://127.0.0.1:%d" % a.proxy_port
        name = fx.unique_name("px")
        p = project(name, [service("web", command=["sh", "-c", CGI])])
        p["spec"]["ingress"] = [
            {"name": "short", "host": "site", "target": {"service": "web", "port": 80}, "access": {"scope": "Internal"}},
            {"name": "full", "host": "blog.example.test", "target": {"service": "web", "port": 80},
             "access": {"scope": "Internal"}},
        ]
        c.apply(p)
        c.wait_phase(name, "Running", timeout=60)
        short = "site.%s.local" % name

        def page(host, path="/", **kw):
            return fx.http(kw.pop("method", "GET"), proxy + path, headers={"Host": host}, **kw)
        fx.wait_until(lambda: page(short)[0] == 200, timeout=10, what="route for " + short)
        s, h, body = page(short)
        assert s == 200 and b"cara-test busybox" in body, (s, body)
        s, _, body = page("blog.example.test:8081")
        assert s == 200 and b"cara-test busybox" in body, (s, body)

        s, _, body = page(short, "/cgi-bin/env?x=1&y=two", method="POST", body=b"posted-body")
        text = body.decode()
        assert s == 200, (s, text)
        assert "QUERY_STRING=x=1&y=two" in text and "REQUEST_METHOD=POST" in text, text
        assert "HTTP_X_FORWARDED_FOR=127.0.0.1" in text and "HTTP_X_FORWARDED_HOST=" + short in text, text
        assert "HTTP_X_FORWARDED_PROTO=http" in text and "HTTP_HOST=" + short in text, text
        assert text.rstrip().endswith("posted-body"), text

        s, h, body = page("nobody.example.test")
        assert s == 404 and h["Content-Type"].startswith("text/html"), (s, dict(h))
        assert b"Caravanserai Proxy" in body and b"nobody.example.test" in body and b"404" in body, body

        c.api("DELETE", "/api/v1/projects/" + name)
        c.wait_gone(name)
        s, _, _ = page(short)
        assert s == 404, s
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
