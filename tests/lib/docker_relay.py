# SPDX-License-Identifier: Apache-2.0
"""A unix-socket relay in front of dockerd that records every request line passing through it:
point an agent's DOCKER_HOST at it to see which Docker calls it makes (and how many).

    with DockerRelay() as relay:          # relay.url: unix:///tmp/.../docker.sock
        ...
        relay.calls()                      # [("POST", "/v1.41/networks/create"), ...]
        relay.reset()
"""

import os
import re
import socket
import tempfile
import threading

import cara_fixtures as fx



class _RequestParser:
    """HTTP/1.1 requests of one connection, one after the other: request line and headers, then a
    body of Content-Length bytes or chunks; after an upgrade (a hijacked exec or attach) the rest
    is a raw stream."""

    def __init__(self, on_request):
        self.on_request = on_request
        self.buf = b""
        self.body_left = 0      # bytes of a Content-Length body still to skip
        self.chunked = False
        self.raw = False

    def feed(self, data):
        if self.raw:
            return
        self.buf += data
        while True:
            if self.body_left:
                take = min(self.body_left, len(self.buf))
                self.buf, self.body_left = self.buf[take:], self.body_left - take
                if self.body_left:
                    return
            if self.chunked:
                line_end = self.buf.find(b"\r\n")
                if line_end < 0:
                    return
                size = int(self.buf[:line_end].split(b";")[0] or b"0", 16)
                if len(self.buf) < line_end + 2 + size + 2:
                    return
                self.buf = self.buf[line_end + 2 + size + 2:]
                if size == 0:
                    self.chunked = False
                continue
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buf = self.buf[:end].decode("latin-1"), self.buf[end + 4:]
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) >= 2:
                self.on_request(parts[0], parts[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
            if "upgrade" in headers.get("connection", "").lower():
                self.raw = True
                return
            if headers.get("transfer-encoding", "").lower() == "chunked":
                self.chunked = True
            else:
                self.body_left = int(headers.get("content-length", "0") or 0)


class DockerRelay:
    def __init__(self, target=None):
        self.target = target or fx.ensure_dockerd()
        self.dir = tempfile.mkdtemp(prefix="cara-relay-")
        self.path = os.path.join(self.dir, "docker.sock")
        self.url = "unix://" + self.path
        self._lock = threading.Lock()
        self._calls = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        self._sock.listen(128)
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()
        fx.on_exit(self.close)

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.target)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src, dst, record):
        parser = _RequestParser(self._record) if record else None
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if parser:
                    parser.feed(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _record(self, method, path):
        with self._lock:
            self._calls.append((method, re.sub(r"^/v[0-9.]+", "", path)))

    def calls(self):
        with self._lock:
            return list(self._calls)

    def reset(self):
        with self._lock:
            self._calls = []

    def close(self):
        if self._closed:
            return
        self._closed = True
        self._sock.close()
        try:
            os.unlink(self.path)
            os.rmdir(self.dir)
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
