# SPDX-License-Identifier: Apache-2.0
"""Ingress TLS (SPEC §13) against a real agent, dockerd and its proxy: HTTPS on
PROXY_TLS_LISTEN_ADDR with the certificate of the ingress entry's tls.secret chosen by SNI (none
for an unknown name), 308 from plain HTTP to HTTPS for that host, and a changed certificate
reloaded without dropping a connection made with the old one.  The certificate is a Secret (SPEC
§12) with tls.crt and tls.key: the agent fetches it with its node token, and a PUT of the Secret is
what makes it reload (no change of the project)."""

import hashlib
import http.client
import os
import shutil
import socket
import ssl
import tempfile
import time

import cara_fixtures as fx
from cara_agent import AgentCluster, project, service


class SNIConnection(http.client.HTTPSConnection):
    def __init__(self, port, sni, context):
        super().__init__("127.0.0.1", port, context=context, timeout=10)
        self.sni = sni

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.sni)

    def fingerprint(self):
        return hashlib.sha256(self.sock.getpeercert(binary_form=True)).hexdigest()


def make_cert(directory, host):
    os.makedirs(directory, exist_ok=True)
    crt, key = os.path.join(directory, "tls.crt.new"), os.path.join(directory, "tls.key.new")
    fx.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", "2", "-subj", "/CN=" + host, "-addext", "subjectAltName=DNS:" + host, "-keyout", key, "-out", crt])
    # both files at once, as far as a reader can tell
    os.replace(key, os.path.join(directory, "tls.key"))
    os.replace(crt, os.path.join(directory, "tls.crt"))
    return os.path.join(directory, "tls.crt")


def put_secret(c, name, directory):
    with open(os.path.join(directory, "tls.crt")) as f, open(os.path.join(directory, "tls.key")) as g:
        doc = {"apiVersion": "caravanserai/v1", "kind": "Secret", "metadata": {"name": name},
               "stringData": {"tls.crt": f.read(), "tls.key": g.read()}}
    s, body = c.api("PUT", "/api/v1/secrets/" + name, doc)
    if s == 404:
        s, body = c.api("POST", "/api/v1/secrets", doc)
    assert s in (200, 201), (s, body)


def get(conn, path="/"):
    conn.request("GET", path, headers={"Host": conn.sni})
    r = conn.getresponse()
    return r.status, r.read()


def main():
    if shutil.which("openssl") is None:
        fx.skip("openssl is not installed")
    certs = tempfile.mkdtemp(prefix="cara-tls-certs-")
    fx.on_exit(lambda: shutil.rmtree(certs, ignore_errors=True))
    with AgentCluster() as c:
        tls_port = fx.free_port()
        a = c.agent("tls", env={"PROXY_TLS_LISTEN_ADDR": "127.0.0.1:%d" % tls_port})
        name = fx.unique_name("tls")
        host = "web.%s.local" % name
        ca = make_cert(os.path.join(certs, "web-tls"), host)
        put_secret(c, "web-tls", os.path.join(certs, "web-tls"))
        # a project naming a Secret without tls.crt/tls.key is refused, naming the field
        s, body = c.api("POST", "/api/v1/secrets", {"kind": "Secret", "metadata": {"name": "not-tls"},
                                                    "stringData": {"password": "x"}})
        assert s == 201, (s, body)
        bad = project(fx.unique_name("tls"), [service("web")])
        bad["spec"]["ingress"] = [{"name": "web", "host": "web", "target": {"service": "web", "port": 80},
                                   "tls": {"secret": "not-tls"}}]
        s, body = c.api("POST", "/api/v1/projects", bad)
        assert s == 400 and "spec.ingress[0].tls.secret" in body["detail"] and "tls.crt" in body["detail"], (s, body)
        p = project(name, [service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"])])
        p["spec"]["ingress"] = [{"name": "web", "host": "web", "target": {"service": "web", "port": 80},
                                 "tls": {"secret": "web-tls"}},
                                {"name": "plain", "host": "plain", "target": {"service": "web", "port": 80}}]
        c.apply(p)
        c.wait_phase(name, "Running", timeout=60)
        verified = ssl.create_default_context(cafile=ca)

        def https_ok():
            conn = SNIConnection(tls_port, host, verified)
            try:
                return get(conn)
            finally:
                conn.close()
        status, body = fx.wait_until(https_ok, timeout=20, what="HTTPS through the ingress")
        assert status == 200 and b"cara-test busybox" in body, (status, body)

        # the one TLS policy (SPEC §9): TLS 1.1 refused on the ingress too, TLS 1.2 served
        old = ssl.create_default_context(cafile=ca)
        old.minimum_version, old.maximum_version = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
        try:
            conn = SNIConnection(tls_port, host, old)
            get(conn)
            raise AssertionError("the ingress accepted TLS 1.1")
        except (ssl.SSLError, ConnectionError, OSError):
            pass
        v12 = ssl.create_default_context(cafile=ca)
        v12.maximum_version = ssl.TLSVersion.TLSv1_2
        conn = SNIConnection(tls_port, host, v12)
        assert get(conn)[0] == 200 and conn.sock.version() == "TLSv1.2"
        conn.close()

        # headers that never finish: the connection is closed after the short header timeout (10 s)
        slow = SNIConnection(tls_port, host, verified)
        slow.connect()
        slow.sock.sendall(b"GET / HTTP/1.1\r\nHost: " + host.encode() + b"\r\n")
        slow.sock.settimeout(30)
        t0 = time.monotonic()
        try:
            rest = slow.sock.recv(4096)
        except (ssl.SSLError, ConnectionError, OSError):
            rest = b""
        waited = time.monotonic() - t0
        slow.close()
        assert rest == b"" and waited < 20, (rest, waited)

        # plain HTTP to a tls host: 308 to https, path and query kept; another host is served as before
        proxy = "http://127.0.0.1:%d" % a.proxy_port
        plain = http.client.HTTPConnection("127.0.0.1", a.proxy_port, timeout=10)  # no redirect following
        plain.request("GET", "/index.html?x=1", headers={"Host": host})
        r = plain.getresponse()
        r.read()
        plain.close()
        assert r.status == 308 and r.getheader("Location") == "https://%s:%d/index.html?x=1" % (host, tls_port), \
            (r.status, r.getheaders())
        status, _, body = fx.http("GET", proxy + "/", headers={"Host": "plain.%s.local" % name})
        assert status == 200 and b"cara-test busybox" in body, status

        # an unknown name: no certificate, no handshake
        try:
            conn = SNIConnection(tls_port, "nobody.example", ssl._create_unverified_context())
            get(conn)
            raise AssertionError("a handshake for an unknown name succeeded")
        except (ssl.SSLError, ConnectionError, OSError):
            pass

        # reload: a connection made with the old certificate keeps working; new ones get the new one
        loose = ssl._create_unverified_context()
        old_conn = SNIConnection(tls_port, host, loose)
        assert get(old_conn)[0] == 200
        old_fp = old_conn.fingerprint()
        make_cert(os.path.join(certs, "web-tls"), host)
        put_secret(c, "web-tls", os.path.join(certs, "web-tls"))  # the Secret's change alone

        def new_fp():
            conn = SNIConnection(tls_port, host, loose)
            try:
                status = get(conn)[0]
                fp = conn.fingerprint()
                return fp if status == 200 and fp != old_fp else None
            finally:
                conn.close()
        fx.wait_until(new_fp, timeout=20, what="the new certificate")
        for _ in range(3):
            status, body = get(old_conn)
            assert status == 200 and b"cara-test busybox" in body, status
        assert old_conn.fingerprint() == old_fp
        old_conn.close()
        assert "reloaded the certificate" in a.log(), "no reload in the agent's log"
    print("ok   HTTPS by SNI, 308 from HTTP, reload without dropping a connection")


if __name__ == "__main__":
    main()
