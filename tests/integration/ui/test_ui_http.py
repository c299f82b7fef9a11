#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The dashboard's files as cara-server serves them (SPEC §15): /ui redirects to /ui/, every
file compiled into the binary with its content type, a strict Content-Security-Policy,
X-Frame-Options DENY, nosniff, an ETag that gives 304, 404 for what is not there, no token needed
for the files while the API stays closed; the page has no inline script or style and refers only
to its own files; every text the scripts translate is in the zh_TW catalogue."""

import glob
import http.client
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET

from cara_server import CaraServer, postgres

SRC = os.environ.get("CARA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
UI = os.path.join(SRC, "src", "server", "ui")
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml"}


def get(srv, path, headers=None, method="GET"):
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


def resource_files():
    root = ET.parse(os.path.join(UI, "cara-ui.gresource.xml")).getroot()
    return [f.text for f in root.iter("file")]


def check_sources(files):
    """What the browser test cannot see from outside: the sources themselves."""
    on_disk = {f for f in os.listdir(UI) if os.path.splitext(f)[1] in TYPES}
    assert on_disk == set(files), "files in src/server/ui/ and the GResource differ: %s" % (on_disk ^ set(files))
    with open(os.path.join(UI, "index.html")) as f:
        html = f.read()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script in index.html"
    assert "<style" not in html and " style=" not in html and not re.search(r"\son[a-z]+=", html), \
        "inline style or event handler in index.html"
    for ref in re.findall(r'(?:src|href)="([^"#][^"]*)"', html):
        assert ref in files, "index.html refers to %s, which is not served" % ref
    # every t('...') text and data-i18n attribute has a zh_TW translation, and nothing stale
    with open(os.path.join(UI, "i18n-zh_TW.json")) as f:
        zh = json.load(f)
    wanted = set(re.findall(r'data-i18n="([^"]+)"', html))
    for name in files:
        if name.endswith(".js"):
            with open(os.path.join(UI, name)) as f:
                wanted |= set(re.findall(r"\b(?:t|N_)\('((?:[^'\\]|\\.)*)'", f.read()))
    missing = sorted(w for w in wanted if w not in zh)
    assert not missing, "not in i18n-zh_TW.json: %s" % missing
    unused = sorted(k for k in zh if k not in wanted)
    assert not unused, "i18n-zh_TW.json has texts nobody uses: %s" % unused
    for k, v in zh.items():
        assert set(re.findall(r"\{\w+\}", k)) == set(re.findall(r"\{\w+\}", v)), "placeholders differ: %r %r" % (k, v)
    return len(wanted)


def main():
    files = resource_files()
    n_texts = check_sources(files)
    with postgres() as pg, CaraServer(database_url=pg.url, env={"CARA_AUTH": "token",
                                                                "CARA_ADMIN_TOKEN": "ui-admin-" + "0" * 32}) as srv:
        status, hdrs, _ = get(srv, "/ui")
        assert status == 308 and hdrs["location"] == "/ui/", (status, hdrs)
        status, hdrs, index = get(srv, "/ui/")
        assert status == 200, status
        with open(os.path.join(UI, "index.html"), "rb") as f:
            assert index == f.read()
        for name in files:
            status, hdrs, body = get(srv, "/ui/" + name)
            assert status == 200, (name, status)
            with open(os.path.join(UI, name), "rb") as f:
                assert body == f.read(), name + " differs from its source"
            assert hdrs["content-type"] == TYPES[os.path.splitext(name)[1]], (name, hdrs)
            csp = hdrs["content-security-policy"]
            for d in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"):
                assert d in csp, (name, csp)
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
            assert hdrs["x-frame-options"] == "DENY" and hdrs["x-content-type-options"] == "nosniff", hdrs
            assert hdrs["cache-control"] == "no-cache", hdrs
            etag = hdrs["etag"]
            assert re.fullmatch(r'"[0-9a-f]{32}"', etag), etag
            status, hdrs2, body = get(srv, "/ui/" + name, {"If-None-Match": etag})
            assert status == 304 and body == b"" and hdrs2["etag"] == etag, (name, status, hdrs2)
            for tags in ('W/' + etag, '"other", ' + etag, "*"):
                status, _, body = get(srv, "/ui/" + name, {"If-None-Match": tags})
                assert status == 304 and body == b"", (name, tags, status)
            status, _, body = get(srv, "/ui/" + name, {"If-None-Match": '"other"'})
            assert status == 200 and body, (name, status)
            status, hdrs, body = get(srv, "/ui/" + name, method="HEAD")
            assert status == 200 and body == b"", (name, status)
        for bad in ("/ui/nope.js", "/ui/cara-ui.gresource.xml", "/ui/meson.build", "/ui/..%2fapp.js", "/ui/a/b"):
            status, _, _ = get(srv, bad)
            assert status == 404, (bad, status)
        status, _, _ = get(srv, "/ui/app.js", method="POST")
        assert status == 405, status
        # the files are public, the API is not
        status, _, _ = get(srv, "/api/v1/nodes")
        assert status == 401, status
        status, _, body = get(srv, "/api/v1/whoami", {"Authorization": "Bearer ui-admin-" + "0" * 32})
        assert status == 200 and json.loads(body) == {"role": "admin"}, (status, body)
        total = sum(os.path.getsize(os.path.join(UI, f)) for f in files)
        assert total < 1024 * 1024, "the dashboard's files take %d bytes, over 1 MiB" % total
        # what the UI adds to the binary: the compiled resource object, all of it (size(1): text + data)
        obj = glob.glob(os.path.join(os.environ.get("CARA_BUILD_DIR", ""), "src", "server", "cara-server.p",
                                     "*cara-ui-resources.c.o"))
        if obj:
            text, data = subprocess.run(["size", obj[0]], capture_output=True, text=True,
                                        check=True).stdout.splitlines()[1].split()[:2]
            added = int(text) + int(data)
            assert added < 1024 * 1024, "the UI adds %d bytes to cara-server, over 1 MiB" % added
            print("ok   the UI adds %d bytes to the cara-server binary" % added)
        # serving them costs the server little memory: they are the binary's own bytes
        for _ in range(50):
            get(srv, "/api/v1/version")
        before = rss_kib(srv.proc.pid)
        for _ in range(50):
            for name in files:
                assert get(srv, "/ui/" + name)[0] == 200
        grown = rss_kib(srv.proc.pid) - before
        assert grown < 1024, "serving the dashboard grew the server's RSS by %d KiB" % grown
    print("ok   %d files (%d bytes) with their types, CSP, X-Frame-Options, nosniff, ETag/304, 404s; "
          "%d texts translated; RSS +%d KiB after serving every file 50 times" % (len(files), total, n_texts, grown))


if __name__ == "__main__":
    main()
