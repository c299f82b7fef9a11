# SPDX-License-Identifier: Apache-2.0
"""TLS end to end with real processes and certificates made by openssl in a temp dir:
cara-server serves HTTPS (--tls-cert/--tls-key, and CARA_TLS_CERT/CARA_TLS_KEY), refuses to start
with a missing or invalid certificate, plain HTTP clients are not served; caractrl with the right
CA works and with a wrong CA is refused (exit 1: the server was reached but is not trusted, a
configuration error; 7 is kept for an unreachable server);
cara-agent with --ca/CARA_CA registers and heartbeats over HTTPS."""

import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ctl"))
from cara_server import CaraServer, postgres, skip, wait_until  # noqa: E402
from ctlkit import Ctl, check  # noqa: E402


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=%s" % name, "-keyout", name + ".key", "-out", name + ".crt", cwd=d)
    return os.path.join(d, name + ".crt")


def make_cert(d, ca, name, san):
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=%s" % name,
            "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % san)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key", "-CAcreateserial",
            "-days", "2", "-extfile", name + ".ext", "-out", name + ".crt", cwd=d)
    return os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")


def https_status(url, cafile, timeout=5):
    ctx = ssl.create_default_context(cafile=cafile)
    with urllib.request.urlopen(url, timeout=timeout, context=ctx) as r:
        return r.status


def start_fails(pg, args, env, want):
    srv = CaraServer(database_url=pg.url, args=args, env=env, start=False)
    try:
        p = subprocess.run([srv.bin] + srv.args, env=srv.env, capture_output=True, text=True, timeout=60)
        out = p.stdout + p.stderr
        check(p.returncode != 0 and want in out, "server refuses to start (%s)" % want, p.returncode, out)
    finally:
        srv.close()


def socket_activated(pg, d, ca, cert, key):
    """systemd-socket-activate passes the listening socket; the server runs TLS on it."""
    if shutil.which("systemd-socket-activate") is None:
        print("note: systemd-socket-activate not installed; socket activation with TLS not checked")
        return
    from cara_server import free_port  # noqa: PLC0415
    port = free_port()
    argv = ["systemd-socket-activate", "-l", "127.0.0.1:%d" % port]
    for k, v in {"DATABASE_URL": pg.url, "CARA_AUTH": "none", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                 "CARA_TLS_CERT": cert, "CARA_TLS_KEY": key}.items():
        argv += ["-E", "%s=%s" % (k, v)]
    argv += [os.environ.get("CARA_SERVER_BIN", "cara-server"), "--config", os.path.join(d, "none.conf"),
             "--data-dir", os.path.join(d, "sa-state"), "--port", "1"]
    log_path = os.path.join(d, "sa.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        # the first connection starts the server, which accepts it from the passed socket
        wait_until(lambda: https_status("https://127.0.0.1:%d/api/healthz" % port, ca, timeout=60) == 200,
                   timeout=60, what="the socket-activated server over HTTPS")
    except Exception:
        sys.stderr.write(open(log_path, errors="replace").read())
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    if shutil.which("openssl") is None:
        skip("openssl not installed")
    d = tempfile.mkdtemp(prefix="cara-tls-")
    try:
        ca = make_ca(d, "ca")
        wrong_ca = make_ca(d, "wrongca")
        cert, key = make_cert(d, "ca", "server", "IP:127.0.0.1,DNS:localhost")
        with open(os.path.join(d, "garbage.pem"), "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
        with postgres() as pg:
            # clear errors: missing key file, only one of the two, invalid certificate
            start_fails(pg, ["--tls-cert", cert, "--tls-key", os.path.join(d, "missing.key")], None, "missing.key")
            start_fails(pg, ["--tls-cert", cert], None, "tls_key")
            start_fails(pg, ["--tls-cert", os.path.join(d, "garbage.pem"), "--tls-key", key], None, "TLS certificate")
            start_fails(pg, ["--tls-cert", key, "--tls-key", key], None, "no PEM certificate")

            socket_activated(pg, d, ca, cert, key)

            srv = CaraServer(database_url=pg.url, env={"CARA_TLS_CERT": cert, "CARA_TLS_KEY": key}, start=False,
                             wait=False)
            srv.url = srv.url.replace("http://", "https://")
            with srv:
                srv.start()
                wait_until(lambda: https_status(srv.url + "/api/healthz", ca) == 200, timeout=60,
                           what="cara-server over HTTPS")
                # a plain-HTTP client gets no API answer
                try:
                    status, _, _ = srv.request("GET", "/api/healthz", timeout=5)
                    plain_ok = status == 200
                except Exception:  # noqa: BLE001 - connection reset / bad status line is the point
                    plain_ok = False
                check(not plain_ok, "plain HTTP is not served on the TLS port")

                with Ctl(srv.url) as ctl:
                    r = ctl.ok("get", "nodes", "--ca", ca)
                    ctl.ok("get", "nodes", env={"CARA_CA": ca})
                    # exit 1, not 7: the server was reached but is not trusted; retrying cannot help
                    r = ctl.expect(1, "get", "nodes", "--ca", wrong_ca)
                    check("certificate verification failed" in r.err, "wrong CA: clear message", r)
                    ctl.expect(1, "get", "nodes", env={"CARA_CA": None})  # system CAs do not know ours

                # the agent registers and heartbeats over HTTPS with --ca (CARA_CA)
                import cara_agent  # noqa: PLC0415 - needs dockerd only from here on
                import cara_fixtures as fx  # noqa: PLC0415
                fx.ensure_dockerd()
                node = "tls-%d" % os.getpid()
                agent = cara_agent.Agent(node, srv.url, env={"CARA_CA": ca})
                try:
                    def hb():
                        ctx = ssl.create_default_context(cafile=ca)
                        with urllib.request.urlopen(srv.url + "/api/v1/nodes/" + node, timeout=5, context=ctx) as r:
                            n = json.loads(r.read())
                        t = n.get("status", {}).get("lastHeartbeat")
                        return t if t and not t.startswith("0001") else None
                    first = wait_until(hb, timeout=30, what="the agent's node over HTTPS")
                    wait_until(lambda: hb() != first, timeout=30, what="a second heartbeat over HTTPS")
                finally:
                    agent.stop()
                # an agent with the wrong CA never registers
                node2 = node + "-w"
                bad = cara_agent.Agent(node2, srv.url, env={"CARA_CA": wrong_ca})
                try:
                    def seen():
                        return "certificate" in bad.log().lower() or "SSL" in bad.log()
                    wait_until(seen, timeout=30, what="the agent to report the TLS failure")
                    status, _, _ = 0, None, None
                    ctx = ssl.create_default_context(cafile=ca)
                    try:
                        urllib.request.urlopen(srv.url + "/api/v1/nodes/" + node2, timeout=5, context=ctx)
                        status = 200
                    except urllib.error.HTTPError as e:
                        status = e.code
                    check(status == 404, "an agent with the wrong CA did not register", status)
                finally:
                    bad.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
