#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Ingress proxy hardening (issue 18): only origin-form request targets ("/..."; "@127.0.0.1:PORT/..."
used to reach any host:port the node can reach), and access.scope Internal: served to the node's own
addresses and the project network, 403 from elsewhere (a container on another network); an ingress
without a scope is served to everyone."""

import ipaddress
import socket
import sys

import cara_fixtures as fx
from cara_agent import AgentCluster, project, service


def raw(port, target, host):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (target, host)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
    finally:
        s.close()


def wget_from(network, url, host, run_id):
    """Status line seen by busybox wget in a container on @network."""
    r = fx.run(["docker", "run", "--rm", "--label", "cara.test=" + run_id, "--network", network,
                fx.ensure_busybox_image(), "timeout", "10", "wget", "-q", "-O", "-", "--header", "Host: " + host, url],
               check=False)
    return r.returncode, r.stdout + r.stderr


def gateway(network):
    gw = fx.docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", network)
    if gw:
        return gw
    subnet = fx.docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", network)
    return str(ipaddress.ip_network(subnet).network_address + 1)  # Docker's default gateway


def main():
    with AgentCluster() as c:
        port = fx.free_port()
        a = c.agent("pxs", env={"PROXY_LISTEN_ADDR": "0.0.0.0:%d" % port})
        a.proxy_port = port
        name = fx.unique_name("pxs")
        p = project(name, [service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"])])
        p["spec"]["ingress"] = [
            {"name": "in", "host": "in", "target": {"service": "web", "port": 80}, "access": {"scope": "Internal"}},
            {"name": "pub", "host": "pub", "target": {"service": "web", "port": 80}},
        ]
        c.apply(p)
        c.wait_phase(name, "Running", timeout=60)
        internal, public = "in.%s.local" % name, "pub.%s.local" % name
        proxy = "http://127.0.0.1:%d" % port
        fx.wait_until(lambda: fx.http("GET", proxy + "/", headers={"Host": internal})[0] == 200, timeout=10,
                      what="route for " + internal)
        assert fx.http("GET", proxy + "/", headers={"Host": public})[0] == 200

        # not origin-form: 400, and the server behind 127.0.0.1 is not reached
        server_port = c.url.rsplit(":", 1)[1]
        for target in ["@127.0.0.1:%s/api/v1/version" % server_port, "http://127.0.0.1:%s/api/v1/version" % server_port]:
            resp = raw(port, target, internal)
            assert resp.startswith(b"HTTP/1.1 400"), resp[:300]
            assert b"apiVersion" not in resp, resp
        resp = raw(port, "/index.html?x=1", internal)
        assert resp.startswith(b"HTTP/1.1 200") and b"cara-test busybox" in resp, resp[:300]

        # access.scope Internal from elsewhere
        run_id = fx.unique_name("pxs")
        fx.on_exit(lambda: fx.docker_cleanup("cara.test=" + run_id))
        with fx.docker_network(labels={"cara.test": run_id}) as net:
            url = "http://%s:%d/" % (gateway(net), port)
            rc, out = wget_from(net, url, internal, run_id)
            assert rc != 0 and "403" in out, (rc, out)
            rc, out = wget_from(net, url, public, run_id)
            assert rc == 0 and "cara-test busybox" in out, (rc, out)
        pnet = [n for n in fx.docker("network", "ls", "--format", "{{.Name}}").split() if n.startswith("cara-" + name)][0]
        rc, out = wget_from(pnet, "http://%s:%d/" % (gateway(pnet), port), internal, run_id)
        assert rc == 0 and "cara-test busybox" in out, (rc, out)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
