# SPDX-License-Identifier: Apache-2.0
"""TLS policy and certificate reload, with real processes, sockets and openssl-made certificates:
- cara-server refuses TLS 1.0/1.1 handshakes and static-RSA suites (default GnuTLS priority string,
  TLS 1.2 minimum), serves TLS 1.2 and 1.3, and takes --tls-priority (a bad string is refused at
  start, naming the option);
- caractrl refuses a server that offers only TLS 1.1 (the clients' minimum is TLS 1.2 too);
- the certificate files replaced + SIGHUP: new handshakes get the new certificate while a watch
  stream opened before stays open and keeps delivering."""

import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import shutil
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cara_server import CaraServer, postgres, wait_until  # noqa: E402
from test_tls import make_ca, make_cert  # noqa: E402

CTL = os.environ.get("CARACTRL_BIN", "caractrl")


def client_ctx(ca, version=None, ciphers=None):
    ctx = ssl.create_default_context(cafile=ca)
    if version is not None:
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = version
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def handshake(port, ctx):
    """(TLS version, peer certificate DER) or the error."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                return s.version(), s.getpeercert(binary_form=True)
        except (ssl.SSLError, ConnectionResetError, OSError) as e:
            return e


def check_versions(srv, ca):
    old = client_ctx(ca, ssl.TLSVersion.TLSv1_1, "DEFAULT:@SECLEVEL=0")
    r = handshake(srv.port, old)
    assert isinstance(r, Exception), "TLS 1.1 accepted: %r" % (r,)
    r = handshake(srv.port, client_ctx(ca, ssl.TLSVersion.TLSv1_2))
    assert not isinstance(r, Exception) and r[0] == "TLSv1.2", r
    r = handshake(srv.port, client_ctx(ca, ssl.TLSVersion.TLSv1_2, "AES128-SHA256:AES256-GCM-SHA384:@SECLEVEL=0"))
    assert isinstance(r, Exception), "a static-RSA suite was accepted: %r" % (r,)
    r = handshake(srv.port, client_ctx(ca))
    assert not isinstance(r, Exception) and r[0] == "TLSv1.3", r
    print("ok   server: TLS 1.1 and static RSA refused, TLS 1.2/1.3 served")


def tls11_server(d):
    """A TLS 1.1-only HTTPS server (Python's ssl); returns its port."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.load_cert_chain(os.path.join(d, "srv.crt"), os.path.join(d, "srv.key"))
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    state = {"handshakes": 0}

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(c, server_side=True) as s:
                    state["handshakes"] += 1
                    s.recv(4096)
                    body = b'{"version": "x", "apiVersion": "caravanserai/v1"}'
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                              b"Connection: close\r\n\r\n%s" % (len(body), body))
            except (ssl.SSLError, OSError):
                pass
    threading.Thread(target=serve, daemon=True).start()
    return ls, state


def check_client(d, ca):
    ls, state = tls11_server(d)
    try:
        port = ls.getsockname()[1]
        # the Python client itself can talk to it (so the refusal below is caractrl's own)
        r = handshake(port, client_ctx(ca, ssl.TLSVersion.TLSv1_1, "DEFAULT:@SECLEVEL=0"))
        assert not isinstance(r, Exception) and r[0] == "TLSv1.1", r
        p = subprocess.run([CTL, "-s", "https://127.0.0.1:%d" % port, "--ca", ca, "--token", "x" * 40, "version"],
                           capture_output=True, text=True, timeout=30, env=dict(os.environ, LANG="C"))
        assert p.returncode != 0 and "caravanserai/v1" not in p.stdout, (p.returncode, p.stdout, p.stderr)
        assert state["handshakes"] == 1, state
    finally:
        ls.close()
    print("ok   caractrl refuses a TLS 1.1-only server")


def check_priority_option(url, d):
    srv = CaraServer(database_url=url, args=["--tls-cert", os.path.join(d, "srv.crt"), "--tls-key",
                                             os.path.join(d, "srv.key"), "--tls-priority", "NORMAL:+BOGUS"],
                     wait=False)
    try:
        rc = srv.proc.wait(30)
        assert rc != 0 and "tls_priority" in srv.log(), (rc, srv.log())
    finally:
        srv.close()
    # a stricter one is taken: TLS 1.3 only
    with CaraServer(database_url=url, args=["--tls-cert", os.path.join(d, "srv.crt"), "--tls-key",
                                            os.path.join(d, "srv.key"), "--tls-priority",
                                            "NORMAL:-VERS-ALL:+VERS-TLS1.3"], wait=False) as srv:
        ca = os.path.join(d, "ca.crt")
        wait_until(lambda: not isinstance(handshake(srv.port, client_ctx(ca)), Exception), timeout=30,
                   what="TLS 1.3 handshake")
        r = handshake(srv.port, client_ctx(ca, ssl.TLSVersion.TLSv1_2))
        assert isinstance(r, Exception), "TLS 1.2 accepted with a TLS 1.3-only priority: %r" % (r,)
    print("ok   --tls-priority: checked at start, applied")


def check_reload(srv, d, ca):
    ctx = client_ctx(ca)
    first = handshake(srv.port, ctx)[1]
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    watch = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    watch.sendall(b"GET /api/v1/nodes?watch=true HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = watch.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head
    # a new certificate (new key) into the same files, then SIGHUP
    make_cert(d, "ca", "srv2", "IP:127.0.0.1")
    shutil.copy(os.path.join(d, "srv2.crt"), os.path.join(d, "srv.crt"))
    shutil.copy(os.path.join(d, "srv2.key"), os.path.join(d, "srv.key"))
    srv.proc.send_signal(signal.SIGHUP)
    second = wait_until(lambda: (lambda r: r[1] if not isinstance(r, Exception) and r[1] != first else None)(
        handshake(srv.port, ctx)), timeout=15, what="the new certificate served")
    assert second != first
    with open(os.path.join(d, "srv2.crt")) as f:
        assert ssl.DER_cert_to_PEM_cert(second).strip() == f.read().strip()
    # the stream opened before the reload is still there and delivers
    req = urllib.request.Request("https://127.0.0.1:%d/api/v1/nodes" % srv.port, method="POST",
                                 data=b'{"metadata": {"name": "after-reload"}}',
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=client_ctx(ca), timeout=10) as resp:
        assert resp.status == 201, resp.status
    got = head
    watch.settimeout(10)
    while b"after-reload" not in got:
        chunk = watch.recv(65536)
        assert chunk, "the watch stream was closed by the reload"
        got += chunk
    watch.close()
    # a broken file on the next reload keeps the current certificate
    with open(os.path.join(d, "srv.key"), "w") as f:
        f.write("garbage\n")
    srv.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "keeping the old one" in srv.log(), timeout=15, what="the reload failure logged")
    r = handshake(srv.port, ctx)
    assert not isinstance(r, Exception) and r[1] == second, r
    print("ok   SIGHUP: new certificate for new handshakes, the open watch stream kept")


def main():
    if shutil.which("openssl") is None:
        from cara_server import skip  # noqa: PLC0415
        skip("openssl not installed")
    d = tempfile.mkdtemp(prefix="cara-tls-policy-")
    try:
        make_ca(d, "ca")
        make_cert(d, "ca", "srv", "IP:127.0.0.1")
        ca = os.path.join(d, "ca.crt")
        with postgres() as pg:
            url = pg.create_database("tlspolicy")
            check_client(d, ca)
            check_priority_option(url, d)
            srv = CaraServer(database_url=url, args=["--tls-cert", os.path.join(d, "srv.crt"), "--tls-key",
                                                     os.path.join(d, "srv.key")], wait=False)
            with srv:
                wait_until(lambda: not isinstance(handshake(srv.port, client_ctx(ca)), Exception), timeout=30,
                           what="cara-server over TLS")
                check_versions(srv, ca)
                check_reload(srv, d, ca)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
