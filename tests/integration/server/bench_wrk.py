# SPDX-License-Identifier: Apache-2.0
"""Requests/s of GET /api/v1/projects/{name} with wrk (not part of the test suite):
    CARA_SERVER_BIN=build/src/server/cara-server PYTHONPATH=tests/lib python3 tests/integration/server/bench_wrk.py
Environment: WRK_ARGS (default "-t2 -c16 -d10s"), CARA_THREADS (server worker threads)."""

import os
import shutil
import subprocess
import sys

from cara_server import CaraServer, postgres, skip


def main():
    if shutil.which("wrk") is None:
        skip("wrk not installed")
    env = {"CARA_THREADS": os.environ.get("CARA_THREADS", "4")}
    with postgres() as pg, CaraServer(database_url=pg.url, env=env) as srv:
        body = {"metadata": {"name": "bench", "labels": {"app": "bench"}},
                "spec": {"services": [{"name": "web", "image": "busybox", "env": [{"name": "A", "value": "1"}],
                                       "ports": [{"containerPort": 80}]}]}}
        assert srv.json("POST", "/api/v1/projects", body)[0] == 201
        args = os.environ.get("WRK_ARGS", "-t2 -c16 -d10s").split()
        out = subprocess.run(["wrk"] + args + [srv.url + "/api/v1/projects/bench"], capture_output=True,
                             text=True, check=True).stdout
        print(out)
        rps = [l for l in out.splitlines() if l.startswith("Requests/sec")]
        print("RESULT GET /api/v1/projects/{name}: %s (server threads %s)" % (rps[0].split()[-1], env["CARA_THREADS"]))
        if "Non-2xx" in out:
            sys.exit("non-2xx responses during the benchmark")


if __name__ == "__main__":
    main()
