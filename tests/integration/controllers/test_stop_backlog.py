# SPDX-License-Identifier: Apache-2.0
"""A clean stop does not wait for the controllers' backlog: with 8,000 Pending projects and no node,
the scheduler has minutes of passes ahead (list all Pending, write Unschedulable in batches); SIGTERM
must still end the server cleanly (exit 0) within seconds, far inside systemd's stop timeout.  It
took 34 s before the manager checked for a stop between passes and bounded its batches in time."""

import http.client
import json
import signal
import threading
import time

from cara_server import CaraServer, postgres

N = 8000
LIMIT = 10.0  # seconds; systemd's default TimeoutStopSec is 90


def main():
    with postgres() as pg:
        srv = CaraServer(database_url=pg.url)

        def create(k):
            c = http.client.HTTPConnection(srv.host, srv.port, timeout=60)
            for i in range(k, N, 8):
                body = json.dumps({"metadata": {"name": "b%05d" % i},
                                   "spec": {"services": [{"name": "web", "image": "busybox"}]}})
                c.request("POST", "/api/v1/projects", body, {"Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
                assert r.status == 201, r.status
        threads = [threading.Thread(target=create, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(1)  # the scheduler is in its passes now
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        rc = srv.proc.wait(120)
        took = time.monotonic() - t0
        log = srv.log()
        srv.proc = None
        srv.close()
        assert rc == 0, (rc, log[-3000:])
        assert "unschedulable" in log, "the scheduler never ran: the test proves nothing"
        assert took < LIMIT, "stopping with a backlog took %.1f s" % took
        print("ok: stopped in %.2f s with %d Pending projects" % (took, N))


if __name__ == "__main__":
    main()
