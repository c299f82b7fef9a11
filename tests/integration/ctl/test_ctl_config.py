# SPDX-License-Identifier: Apache-2.0
"""Where caractrl connects and with which token (option > environment > ~/.config/caravanserai/
caractrl.conf > default; root on the server's machine falls back to the server's admin token),
401/403 -> exit 4, and systemctl's terminal conventions (pager only on a terminal, $SYSTEMD_PAGER,
$PAGER, --no-pager; colour only on a terminal, NO_COLOR, --no-color), checked on a real pty.

The server here is a tiny stand-in (http.server) that records the Authorization header, so the
client side of auth is tested whatever the real server's state; a real server with auth enabled is
covered at the end when cara-server supports it."""

import json
import os
import pty
import select
import shutil
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlkit import CTL, Ctl, check  # noqa: E402

NODES = {"apiVersion": "caravanserai/v1", "kind": "NodeList", "items": [
    {"apiVersion": "caravanserai/v1", "kind": "Node",
     "metadata": {"name": "n%d" % i, "createdAt": "2026-01-01T00:00:00Z"},
     "status": {"state": "Ready", "network": {"ip": "10.0.0.%d" % i}}} for i in range(1, 4)]}
PROJECTS = {"apiVersion": "caravanserai/v1", "kind": "ProjectList", "items": [
    {"apiVersion": "caravanserai/v1", "kind": "Project",
     "metadata": {"name": "web", "createdAt": "2026-01-01T00:00:00Z"},
     "spec": {"services": [{"name": "app", "image": "busybox"}]},
     "status": {"phase": "Running", "nodeRef": "n1"}}]}


LOG_TEXT = "app | hello\napp | world\ndb  | ready\n"


class Handler(BaseHTTPRequestHandler):
    seen = []
    queries = []

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="application/json"):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        auth = self.headers.get("Authorization")
        Handler.seen.append(auth)
        if auth not in ("Bearer good", "Bearer reader"):
            return self.reply(401, {"type": "about:blank", "title": "Unauthorized", "status": 401,
                                    "detail": "a valid bearer token is required"}, "application/problem+json")
        path = self.path.split("?")[0]
        if path == "/api/v1/version":
            return self.reply(200, {"version": "9.9.9", "apiVersion": "caravanserai/v1"})
        if path == "/api/v1/nodes":
            return self.reply(200, NODES)
        if path == "/api/v1/projects":
            return self.reply(200, PROJECTS)
        if path == "/api/v1/projects/web/logs":
            Handler.queries.append(self.path.partition("?")[2])
            data = LOG_TEXT.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for line in data.splitlines(keepends=True):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.write(b"0\r\n\r\n")
            return
        if path == "/api/v1/projects/web":
            return self.reply(200, PROJECTS["items"][0])
        return self.reply(404, {"title": "Not Found", "status": 404, "detail": "no such thing"},
                          "application/problem+json")

    def do_POST(self):
        Handler.seen.append(self.headers.get("Authorization"))
        return self.reply(403, {"title": "Forbidden", "status": 403, "detail": "read-only token"},
                          "application/problem+json")


def on_pty(ctl, args, env):
    """Run caractrl with stdout on a pseudo-terminal; return what reached the terminal."""
    master, slave = pty.openpty()
    e = dict(ctl.env)
    e.update(env)
    p = subprocess.Popen([CTL] + args, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, env=e)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], 30)
        if not r:
            p.kill()
            raise AssertionError("caractrl on a pty hung")
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    rc = p.wait(30)
    return rc, out.decode()


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    try:
        with Ctl() as ctl:
            # config file: server and token
            ctl.write_config("[caractrl]\nserver=%s\ntoken=good\n" % url)
            r = ctl.ok("version")
            check("Server Version: 9.9.9" in r.out and Handler.seen[-1] == "Bearer good", "config file", r)
            # the environment beats the file, the option beats the environment
            r = ctl.expect(4, "version", env={"CARA_TOKEN": "bad"})
            check(Handler.seen[-1] == "Bearer bad" and "caractrl: Unauthorized: a valid bearer token is required"
                  in r.err, "401 -> exit 4 with title: detail", r)
            r = ctl.ok("version", "--token", "good", env={"CARA_TOKEN": "bad"})
            check(Handler.seen[-1] == "Bearer good", "--token beats CARA_TOKEN", r)
            r = ctl.expect(7, "get", "nodes", env={"CARA_SERVER": "http://127.0.0.1:1"})
            check("127.0.0.1:1" in r.err, "CARA_SERVER beats the file", r)
            r = ctl.ok("get", "nodes", "-s", url, env={"CARA_SERVER": "http://127.0.0.1:1"})
            check(len(r.out.splitlines()) == 4, "-s beats CARA_SERVER", r)
            # 403 is "not authorized" too
            r = ctl.expect(4, "drain", "node", "n1", "--token", "reader")
            check("Forbidden: read-only token" in r.err, "403 -> exit 4", r)
            # root on the server's machine without any token: the server's generated admin token
            ctl.write_config("[caractrl]\nserver=%s\n" % url)
            tokfile = ctl.file("admin.token", "good\n")
            if os.geteuid() == 0:
                r = ctl.ok("version", env={"CARA_ADMIN_TOKEN_FILE": tokfile})
                check(Handler.seen[-1] == "Bearer good", "admin token file used", r)
                r = ctl.expect(4, "version", env={"CARA_ADMIN_TOKEN_FILE": tokfile, "CARA_TOKEN": "bad"})
                check(Handler.seen[-1] == "Bearer bad", "an explicit token wins over the admin token", r)
            r = ctl.expect(4, "version")
            check(Handler.seen[-1] is None, "no token at all: no Authorization header", r)
            # a broken config file is named with its line
            ctl.write_config("[caractrl\nserver=x\n")
            r = ctl.expect(2, "version")
            check("caractrl.conf" in r.err, "broken config file named", r)
            ctl.write_config("[caractrl]\nserver=%s\ntoken=good\n" % url)

            # logs: the server's chunked text, with the query the options make
            r = ctl.ok("logs", "web")
            check(r.out == LOG_TEXT and Handler.queries[-1] == "", "logs", r, Handler.queries)
            r = ctl.ok("logs", "web/app", "-f", "--tail", "5", "--timestamps")
            check(Handler.queries[-1] == "service=app&follow=true&tail=5&timestamps=true", "logs query",
                  Handler.queries[-1])
            r = ctl.expect(1, "logs", "ghost")
            check("Not Found" in r.err, "logs of a missing project", r)
            ctl.expect(2, "logs", "web", "--tail", "lots")
            ctl.expect(2, "logs", "web/")
            # status ends with the last log lines (-n, default 10; -n 0: none)
            r = ctl.ok("status", "web")
            check(r.out.endswith("\n\n" + LOG_TEXT) and Handler.queries[-1] == "tail=10", "status shows logs", r)
            n = len(Handler.queries)
            r = ctl.ok("status", "web", "-n", "0")
            check(LOG_TEXT not in r.out and len(Handler.queries) == n, "status -n 0", r)
            r = ctl.ok("status", "web", "--lines=3")
            check(Handler.queries[-1] == "tail=3", "status --lines", Handler.queries)

            # TLS: https:// with our own CA via --ca, $CARA_CA or the config file
            if shutil.which("openssl"):
                cert, key = os.path.join(ctl.home, "cert.pem"), os.path.join(ctl.home, "key.pem")
                subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                                "-keyout", key, "-out", cert], check=True, capture_output=True)
                tls = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(cert, key)
                tls.socket = context.wrap_socket(tls.socket, server_side=True)
                threading.Thread(target=tls.serve_forever, daemon=True).start()
                try:
                    https = "https://127.0.0.1:%d" % tls.server_address[1]
                    r = ctl.ok("version", "-s", https, "--ca", cert)
                    check("Server Version: 9.9.9" in r.out, "https with --ca", r)
                    r = ctl.expect(1, "version", "-s", https)
                    check(r.err.count("\n") == 1 and "certificate" in r.err.lower(), "unknown CA refused", r)
                    ctl.ok("version", "-s", https, env={"CARA_CA": cert})
                    ctl.write_config("[caractrl]\nserver=%s\ntoken=good\nca=%s\n" % (https, cert))
                    ctl.ok("get", "nodes")
                    ctl.write_config("[caractrl]\nserver=%s\ntoken=good\n" % url)
                finally:
                    tls.shutdown()

            # terminal conventions on a real pty
            paged = os.path.join(ctl.home, "paged")
            rc, out = on_pty(ctl, ["get", "nodes"], {"SYSTEMD_PAGER": "cat > " + paged, "PAGER": "false"})
            with open(paged) as f:
                text = f.read()
            check(rc == 0 and text.splitlines()[0].split() == ["NAME", "STATE", "IP", "AGE"] and out == "",
                  "on a terminal the output goes through $SYSTEMD_PAGER", rc, out, text)
            os.unlink(paged)
            rc, out = on_pty(ctl, ["get", "nodes"], {"PAGER": "cat > " + paged})
            check(rc == 0 and os.path.exists(paged), "$PAGER when $SYSTEMD_PAGER is unset", rc, out)
            os.unlink(paged)
            rc, out = on_pty(ctl, ["get", "nodes", "--no-pager"], {"SYSTEMD_PAGER": "cat > " + paged})
            check(rc == 0 and not os.path.exists(paged) and "n3" in out, "--no-pager", rc, out)
            rc, out = on_pty(ctl, ["get", "nodes"], {"SYSTEMD_PAGER": ""})
            check(rc == 0 and "n3" in out, "empty $SYSTEMD_PAGER: no pager", rc, out)
            # not a terminal: never a pager
            r = ctl.ok("get", "nodes", env={"SYSTEMD_PAGER": "cat > " + paged})
            check(not os.path.exists(paged) and "n3" in r.out, "no pager when stdout is not a terminal", r)
            # colour on a terminal, not with NO_COLOR / --no-color / TERM=dumb
            rc, out = on_pty(ctl, ["status", "web", "--no-pager"], {"TERM": "xterm"})
            check("\x1b[0;1;32m●" in out, "green bullet on a terminal", out)
            for env, args in (({"TERM": "xterm", "NO_COLOR": "1"}, []), ({"TERM": "xterm"}, ["--no-color"]),
                              ({"TERM": "dumb"}, [])):
                rc, out = on_pty(ctl, ["status", "web", "--no-pager"] + args, env)
                check(rc == 0 and "\x1b[" not in out and "● web - Project" in out, "no colour", env, args, out)
    finally:
        srv.shutdown()
    print("ok")


if __name__ == "__main__":
    main()
