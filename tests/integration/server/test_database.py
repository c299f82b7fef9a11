# SPDX-License-Identifier: Apache-2.0
"""The store against PostgreSQL going away and coming back: while it is down every request gets
503 problem+json; once it is back the server reconnects by itself (no restart) with nothing lost.
Also: two servers starting at once on a fresh database apply the migrations exactly once."""

import json

from cara_server import CaraServer, postgres, schema_version, wait_until


def project(name):
    return {"metadata": {"name": name}, "spec": {"services": [{"name": "web", "image": "busybox"}]}}


def test_two_servers_migrate(pg):
    url = pg.create_database("race")
    a = CaraServer(database_url=url, wait=False)
    b = CaraServer(database_url=url, wait=False)
    with a, b:
        a.wait_ready()
        b.wait_ready()
        v = schema_version()
        assert pg.psql("SELECT count(*), max(version) FROM schema_migrations", db="race").strip() == "%d|%d" % (v, v)
        assert a.json("POST", "/api/v1/projects", project("from-a"))[0] == 201
        status, d = b.json("GET", "/api/v1/projects/from-a")
        assert status == 200 and d["metadata"]["name"] == "from-a", (status, d)
    print("ok   two servers starting at once migrate once")


def test_restart(pg):
    url = pg.create_database("restart")
    with CaraServer(database_url=url) as srv:
        assert srv.json("POST", "/api/v1/projects", project("before"))[0] == 201
        # warm every worker's connection so the restart breaks them all
        for _ in range(20):
            assert srv.json("GET", "/api/v1/projects/before")[0] == 200

        pg.stop()
        for method, path, body in [("GET", "/api/v1/projects/before", None), ("GET", "/api/v1/nodes", None),
                                   ("POST", "/api/v1/projects", project("during"))]:
            status, hdrs, data = srv.request(method, path, body)
            assert status == 503, (method, path, status, data)
            assert hdrs["Content-Type"] == "application/problem+json"
            p = json.loads(data)
            assert p["status"] == 503 and p["title"] == "Service Unavailable", p
        assert srv.request("GET", "/api/healthz")[0] == 200  # the process itself is fine

        pg.start()
        wait_until(lambda: srv.json("GET", "/api/v1/projects/before")[0] == 200, timeout=30,
                   what="the server to reconnect")
        assert srv.proc.poll() is None, "the server restarted"
        # every worker recovers: no request fails once the database is back
        for i in range(40):
            status, d = srv.json("GET", "/api/v1/projects/before")
            assert status == 200, (i, status, d)
        assert srv.json("POST", "/api/v1/projects", project("after"))[0] == 201
        names = [p["metadata"]["name"] for p in srv.json("GET", "/api/v1/projects")[1]["items"]]
        assert names == ["after", "before"], names
    print("ok   PostgreSQL restart under a running server: 503, then recovery without restart")


def test_shutdown_with_open_streams(pg):
    """SIGTERM with watch streams open: the streams end and the server exits 0, promptly."""
    import http.client  # noqa: PLC0415
    import time  # noqa: PLC0415
    import urllib.parse  # noqa: PLC0415
    url = pg.create_database("streams")
    srv = CaraServer(database_url=url)
    u = urllib.parse.urlparse(srv.url)
    conns = []
    for _ in range(6):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        c.request("GET", "/api/v1/projects?watch=true")
        assert c.getresponse().status == 200
        conns.append(c)
    t0 = time.monotonic()
    rc = srv.close()
    assert rc == 0 and time.monotonic() - t0 < 10, (rc, time.monotonic() - t0)
    for c in conns:
        c.close()
    print("ok   SIGTERM with open watch streams: exit 0 in %.1fs" % (time.monotonic() - t0))


def main():
    with postgres() as pg:
        test_two_servers_migrate(pg)
        test_restart(pg)
        test_shutdown_with_open_streams(pg)


if __name__ == "__main__":
    main()
