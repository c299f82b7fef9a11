# SPDX-License-Identifier: Apache-2.0
"""The agent's API over TLS (--tls-cert/--tls-key, CARA_TLS_CERT/KEY): the agent serves HTTPS with
a certificate for its advertised address, plain HTTP is not served, a half TLS configuration is
refused; the server, told agent_tls=true (CARA_AGENT_TLS) and the CA (CARA_AGENT_CA), relays logs
from it (logs, and port-forward over a WebSocket) over verified HTTPS, and with the wrong CA it refuses the agent (502).
SIGHUP (systemctl reload) makes the agent serve replaced certificate files."""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cara_fixtures as fx  # noqa: E402
from cara_agent import AgentCluster, agent_bin, project, service  # noqa: E402
from cara_ws import WebSocket  # noqa: E402
from test_tls import make_ca, make_cert  # noqa: E402


def https_ok(url, ca):
    ctx = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(url, timeout=5, context=ctx) as r:
        return r.status == 200


def peer_cert(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.getpeercert(binary_form=True)


def check_reload(d, a, ca):
    """systemctl reload (SIGHUP): the agent serves new certificate files, and keeps running."""
    first = peer_cert(a.port, ca)
    make_cert(d, "ca", "agent2", "IP:127.0.0.1")
    shutil.copy(os.path.join(d, "agent2.crt"), os.path.join(d, "agent.crt"))
    shutil.copy(os.path.join(d, "agent2.key"), os.path.join(d, "agent.key"))
    a.send_signal(signal.SIGHUP)
    fx.wait_until(lambda: peer_cert(a.port, ca) != first, timeout=15, what="the agent's new certificate")
    assert a.running, "SIGHUP stopped the agent"


def run(d, ca_for_server, want_logs):
    ca = os.path.join(d, "ca.crt")
    cert, key = os.path.join(d, "agent.crt"), os.path.join(d, "agent.key")
    with AgentCluster(server_env={"CARA_AGENT_TLS": "true", "CARA_AGENT_CA": ca_for_server}) as c:
        a = c.agent("t1", env={"CARA_TLS_CERT": cert, "CARA_TLS_KEY": key}, wait=False)
        fx.wait_until(lambda: https_ok("https://127.0.0.1:%d/healthz" % a.port, ca), timeout=30,
                      what="the agent over HTTPS")
        # plain HTTP on the TLS port gets no answer
        s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
        s.settimeout(5)
        s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        try:
            got = s.recv(100)
        except (ConnectionResetError, socket.timeout):
            got = b""
        s.close()
        assert not got.startswith(b"HTTP/1.") or b" 200 " not in got, got
        if want_logs:
            check_reload(d, a, ca)
        c.wait_node_ready(a.node)
        name = fx.unique_name("tlslogs")
        c.apply(project(name, [service("talker", command=["sh", "-c", "while true; do echo tls-tick; sleep 0.3; done"]),
                               service("echo", command=["nc", "-ll", "-p", "7000", "-e", "cat"])]))
        c.wait_phase(name, "Running", timeout=60)
        logs = "%s/api/v1/projects/%s/logs?service=talker" % (c.url, name)
        if want_logs:
            fx.wait_until(lambda: b"tls-tick" in fx.http("GET", logs)[2], timeout=20, what="logs through the server")
        else:
            status, _, body = fx.http("GET", logs)
            assert status == 502, (status, body)
        fwd = "/api/v1/projects/%s/portforward?service=echo&port=7000" % name
        if want_logs:  # port-forward: the server's WebSocket relay to the agent over https
            def echoed():
                ws = WebSocket("127.0.0.1", c.server_port, fwd)
                try:
                    if ws.status != 101:
                        return False
                    ws.send_frame(2, b"hello-tls\n")
                    return ws.recv_data(len(b"hello-tls\n")) == b"hello-tls\n"
                finally:
                    ws.close()
            fx.wait_until(echoed, timeout=20, what="port-forward through the server over TLS")
        else:
            ws = WebSocket("127.0.0.1", c.server_port, fwd)
            assert ws.status == 502, ws.status
            ws.close()
        c.api("DELETE", "/api/v1/projects/" + name)
        c.wait_gone(name, timeout=60)


def main():
    if shutil.which("openssl") is None:
        fx.skip("openssl not installed")
    d = tempfile.mkdtemp(prefix="cara-agent-tls-")
    try:
        make_ca(d, "ca")
        wrong = make_ca(d, "wrongca")
        make_cert(d, "ca", "agent", "IP:127.0.0.1")
        # half a configuration is refused
        env = dict(os.environ, CARA_TLS_CERT=os.path.join(d, "agent.crt"), CARA_AUTH="none")
        env.pop("CARA_TLS_KEY", None)
        p = subprocess.run([agent_bin(), "--config", "/nonexistent/agent.conf"], env=env, capture_output=True,
                           text=True, timeout=30)
        assert p.returncode != 0 and "tls_key" in p.stderr, (p.returncode, p.stderr)
        run(d, os.path.join(d, "ca.crt"), True)
        run(d, wrong, False)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
